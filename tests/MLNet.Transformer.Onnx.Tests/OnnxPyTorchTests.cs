// The direct check against PyTorch: python/onnx_vs_torch.py reads the exported file with the onnx package alone,
// loads its initializers into nn.TransformerEncoderLayer modules by state-dict name (strict), and its outputs must
// match ONNX Runtime's at 1e-5. Fresh random weights each run (seed printed).

using MLNet.Transformer.Engine;
using MLNet.Transformer.TestKit;
using Xunit.Abstractions;
using static MLNet.Transformer.Onnx.Tests.OnnxTestKit;
using static MLNet.Transformer.TestKit.SmallModels;

namespace MLNet.Transformer.Onnx.Tests;

public sealed class OnnxPyTorchTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(false, Activation.Relu)]
    [InlineData(true, Activation.Gelu)]
    public void ExportedDecoder_LoadedIntoPyTorchModules_MatchesOnnxRuntime(bool normFirst, Activation activation)
    {
        var seed = RunSeed();
        output.WriteLine($"weights seed {seed} (replay with MLT_PARITY_SEED={seed})");
        var cfg = SmallDecoder(seed) with { NormFirst = normFirst, Activation = activation };
        using var model = TransformerModel.Create(cfg);
        using var workspace = new PyTorchWorkspace();
        var path = workspace.PathOf("model.onnx");
        File.WriteAllBytes(path, ExportBytes(model, Info(cfg)));

        int n = 4, t = 6;
        long[] tokens = Batch(new Random((int)(seed % 1000)), [6, 3, 1, 5], t, cfg.VocabSize, cfg.PadId);
        workspace.WriteJson("tokens", new { N = n, T = t, tokens });
        PyTorchReference.Run(RepoPaths.Combine("tests", "MLNet.Transformer.Onnx.Tests", "python", "onnx_vs_torch.py"), workspace);
        var torch = workspace.ReadTensors("out");

        using var scorer = OnnxNextCharacterScorer.Load(path);
        var ort = scorer.Run(tokens, n, t, null, 0, OnnxNames.Probabilities, OnnxNames.Attention);
        Assert.Equal(torch["probabilities"].Shape, ort[OnnxNames.Probabilities].Shape);
        Assert.Equal(torch["attention"].Shape, ort[OnnxNames.Attention].Shape);
        AssertClose(torch["probabilities"].Data, ort[OnnxNames.Probabilities].Data, 1e-5, $"probabilities (seed {seed})");
        AssertClose(torch["attention"].Data, ort[OnnxNames.Attention].Data, 1e-5, $"attention (seed {seed})");
    }
}
