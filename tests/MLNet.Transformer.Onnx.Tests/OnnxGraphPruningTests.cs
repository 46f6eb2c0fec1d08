// Cutting the chain's graph to the next-character outputs (what a NextCharacterOutputs.NextCharacter chain runs): the
// kept outputs are the whole graph's, bit for bit, from fewer nodes; the weights and a valid content hash survive, so
// the cut graph reads back as the same model; python3-onnx's checker accepts it.

using Google.Protobuf;
using MLNet.Transformer.Engine;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.Text;
using Onnx;
using Xunit.Abstractions;
using static MLNet.Transformer.Onnx.Tests.OnnxTestKit;
using static MLNet.Transformer.TestKit.SmallModels;

namespace MLNet.Transformer.Onnx.Tests;

public sealed class OnnxGraphPruningTests(ITestOutputHelper output) : IDisposable
{
    private static readonly CharacterVocabulary Vocab = CharacterVocabulary.FromCharacters("abcdeé".EnumerateRunes());
    private static readonly string[] Texts = ["abc", "", "e?é", "ddddddd"];
    private readonly string _folder = Directory.CreateTempSubdirectory("mlt-onnx-prune-").FullName;

    public static TheoryData<string> Kinds() => ["decoder", "encdec_single_column"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void KeepOutputs_ChainGraph_SameOutputsFromFewerNodes(string kind)
    {
        var seed = RunSeed();
        output.WriteLine($"weights seed {seed} (replay with MLT_PARITY_SEED={seed})");
        var cfg = (kind == "decoder" ? SmallDecoder(seed) : SmallEncoderDecoder(seed)) with { VocabSize = Vocab.Count };
        var info = CharacterInfo(cfg, Vocab);
        using var model = TransformerModel.Create(cfg);
        var whole = ModelProto.Parser.ParseFrom(ExportBytes(model, info, NextCharacterModel.ChainExport));
        string[] kept = [OnnxNames.Score, OnnxNames.PredictedToken];
        var before = whole.Clone();
        var cut = OnnxGraphPruning.KeepOutputs(whole, kept);
        Assert.Equal(before, whole);   // a copy is cut; the argument is untouched

        Assert.Equal(kept, cut.Graph.Output.Select(o => o.Name));
        Assert.Equal(whole.Graph.Input.Select(i => i.Name), cut.Graph.Input.Select(i => i.Name));
        output.WriteLine($"nodes {whole.Graph.Node.Count} -> {cut.Graph.Node.Count}");
        Assert.True(cut.Graph.Node.Count < whole.Graph.Node.Count * 0.9, $"{whole.Graph.Node.Count} -> {cut.Graph.Node.Count} nodes");
        Assert.DoesNotContain(cut.Graph.Node, n => n.Output.Any(o => o == OnnxNames.Attention));

        // Read back: the hash is the cut graph's own, and every weight is still there.
        string cutPath = Path.Combine(_folder, kind + ".cut.onnx");
        File.WriteAllBytes(cutPath, cut.ToByteArray());
        var read = OnnxModelFile.Read(cutPath);
        var state = model.ExportState();
        Assert.Equal(state.Keys.Order(), read.State.Keys.Order());
        Assert.All(state, kv => Assert.Equal(kv.Value.Data, read.State[kv.Key].Data));

        using var wholeScorer = new OnnxNextCharacterScorer(whole.ToByteArray(), "whole graph");
        using var cutScorer = new OnnxNextCharacterScorer(cut.ToByteArray(), "cut graph");
        foreach (var text in Texts)
        {
            long[] cps = [OnnxCodePoints.Bos, .. text.EnumerateRunes().Select(r => (long)r.Value)];
            var a = wholeScorer.Run(cps, 1, cps.Length, null, 0, kept);
            var b = cutScorer.Run(cps, 1, cps.Length, null, 0, kept);
            Assert.Equal(a[OnnxNames.Score].Data, b[OnnxNames.Score].Data);
            Assert.Equal(a.Strings(OnnxNames.PredictedToken).Data, b.Strings(OnnxNames.PredictedToken).Data);
        }

        AssertCheckerAccepts(cutPath);
    }

    [Fact]
    public void KeepOutputs_UnknownOutput_NamesItAndTheGraphsOutputs()
    {
        var cfg = SmallDecoder(1) with { VocabSize = Vocab.Count };
        var info = CharacterInfo(cfg, Vocab);
        using var model = TransformerModel.Create(cfg);
        var whole = ModelProto.Parser.ParseFrom(ExportBytes(model, info, NextCharacterModel.ChainExport));
        var e = Assert.Throws<ArgumentException>(() => OnnxGraphPruning.KeepOutputs(whole, [OnnxNames.Score, "logits"]));
        Assert.Contains("'logits'", e.Message, StringComparison.Ordinal);
        Assert.Contains($"'{OnnxNames.Score}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void KeepOutputs_TwoBranches_KeepsOnlyTheKeptBranchAndItsWeights()
    {
        // y1 = x + w1 and y2 = x * w2, with the weights also listed as graph inputs (as ONNX IR 3 graphs do).
        static ValueInfoProto Value(string name) => new() { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } } };
        static TensorProto Weight(string name, float v) => new() { Name = name, DataType = (int)TensorProto.Types.DataType.Float, Dims = { 1 }, FloatData = { v } };
        var model = new ModelProto
        {
            IrVersion = 3,
            OpsetImport = { new OperatorSetIdProto { Version = 17 } },
            Graph = new GraphProto
            {
                Name = "two",
                Input = { Value("x"), Value("w1"), Value("w2") },
                Initializer = { Weight("w1", 1f), Weight("w2", 2f) },
                Node =
                {
                    new NodeProto { OpType = "Add", Input = { "x", "w1" }, Output = { "y1" } },
                    new NodeProto { OpType = "Mul", Input = { "x", "w2" }, Output = { "t" } },
                    new NodeProto { OpType = "Neg", Input = { "t" }, Output = { "y2" } },
                },
                ValueInfo = { Value("t") },
                Output = { Value("y1"), Value("y2") },
            },
        };

        var y1 = OnnxGraphPruning.KeepOutputs(model, ["y1"]).Graph;
        Assert.Equal(["Add"], y1.Node.Select(n => n.OpType));
        Assert.Equal(["w1"], y1.Initializer.Select(t => t.Name));
        Assert.Equal(["x", "w1"], y1.Input.Select(i => i.Name));
        Assert.Empty(y1.ValueInfo);
        Assert.Equal(["y1"], y1.Output.Select(o => o.Name));

        var y2 = OnnxGraphPruning.KeepOutputs(model, ["y2"]).Graph;
        Assert.Equal(["Mul", "Neg"], y2.Node.Select(n => n.OpType));
        Assert.Equal(["w2"], y2.Initializer.Select(t => t.Name));
        Assert.Equal(["x", "w2"], y2.Input.Select(i => i.Name));
        Assert.Equal(["t"], y2.ValueInfo.Select(v => v.Name));
        Assert.Equal(3, model.Graph.Node.Count);   // the argument is untouched
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
