// Parity of exported models scored by ONNX Runtime with the native engine's evaluation forward (itself tested
// against PyTorch at 1e-5): probabilities at every position, next-token probabilities and every head's attention,
// on padded batches, with fresh random weights each run (seed printed; MLT_PARITY_SEED replays one). Every
// exported file also passes python3-onnx's full checker.

using MLNet.Transformer.Engine;
using Xunit.Abstractions;
using static MLNet.Transformer.Onnx.Tests.OnnxTestKit;
using static MLNet.Transformer.TestKit.SmallModels;

namespace MLNet.Transformer.Onnx.Tests;

public sealed class OnnxParityTests(ITestOutputHelper output) : IDisposable
{
    private const double Tolerance = 1e-5;

    private static readonly Dictionary<string, (TransformerModelConfig Config, bool SelfSource)> Architectures = new()
    {
        ["decoder_postln_h1_relu"] = (SmallDecoder() with { Heads = 1, Activation = Activation.Relu }, false),
        ["decoder_postln_h4_gelu"] = (SmallDecoder() with { Heads = 4, Activation = Activation.Gelu }, false),
        ["decoder_preln_h1_gelu_pad3"] = (SmallDecoder() with { Heads = 1, NormFirst = true, Activation = Activation.Gelu, PadId = 3 }, false),
        ["decoder_preln_h4_relu"] = (SmallDecoder() with { Heads = 4, NormFirst = true }, false),
        ["encdec_postln_h4_relu_source"] = (SmallEncoderDecoder(), false),
        ["encdec_preln_h4_gelu_source13"] = (SmallEncoderDecoder() with { NormFirst = true, Activation = Activation.Gelu, SourceVocabSize = 13 }, false),
        ["encdec_postln_h4_gelu_causal_single_column"] = (SmallEncoderDecoder() with { Activation = Activation.Gelu, CausalEncoder = true, CausalCross = true }, true),
        ["encdec_preln_h2_relu_causal_single_column"] = (SmallEncoderDecoder() with { Heads = 2, NormFirst = true, CausalEncoder = true, CausalCross = true }, true),
    };

    private readonly string _folder = Directory.CreateTempSubdirectory("mlt-onnx-parity-").FullName;

    public static TheoryData<string> ArchitectureNames() => [.. Architectures.Keys];

    [Theory]
    [MemberData(nameof(ArchitectureNames))]
    public void Export_Architecture_OnnxRuntimeMatchesEngine(string name)
    {
        var seed = RunSeed();
        output.WriteLine($"case {name}: weights seed {seed} (replay with MLT_PARITY_SEED={seed})");
        var (architecture, selfSource) = Architectures[name];
        var cfg = architecture with { Seed = seed };
        var info = Info(cfg, selfSource);
        using var model = TransformerModel.Create(cfg);

        // Rows of different lengths, right-padded; the source (when it has its own column) likewise.
        var rng = new Random((int)(seed % int.MaxValue));
        int[] lengths = [7, 1, 4, 7, 2];
        int n = lengths.Length, t = 7, v = cfg.VocabSize;
        long[] tokens = Batch(rng, lengths, t, v, cfg.PadId);
        int s = info.HasSource ? 6 : (info.IsEncoderDecoder ? t : 0);
        long[]? source = info.HasSource ? Batch(rng, [6, 3, 1, 5, 6], s, cfg.EffectiveSourceVocabSize, cfg.PadId) : null;

        var engine = model.Forward(
            new TokenBatch(tokens, n, t, default, info.IsEncoderDecoder ? (source ?? tokens) : default, s),
            info.IsEncoderDecoder ? ForwardOutputs.All : ForwardOutputs.Logits | ForwardOutputs.SelfAttention);

        var path = Path.Combine(_folder, name + ".onnx");
        File.WriteAllBytes(path, ExportBytes(model, info));
        using var scorer = OnnxNextCharacterScorer.Load(path);
        var names = scorer.OutputNames.ToArray();
        var ort = scorer.Run(tokens, n, t, source, info.HasSource ? s : 0, names);

        string Seeded(string what) => $"{name} (seed {seed}): {what}";
        void Check(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what) =>
            output.WriteLine($"{what}: max |diff| {AssertClose(expected, actual, Tolerance, Seeded(what)):E2}");
        var expectedProbs = Softmax(engine.Logits!.GetArray(), v);
        Check(expectedProbs, ort[OnnxNames.Probabilities].Data, "probabilities");
        Assert.Equal([n, t, v], ort[OnnxNames.Probabilities].Shape);

        var expectedNext = new float[n * v];
        for (int r = 0; r < n; r++)
        {
            expectedProbs.AsSpan(((r * t) + lengths[r] - 1) * v, v).CopyTo(expectedNext.AsSpan(r * v));
        }

        Check(expectedNext, ort[OnnxNames.NextTokenProbabilities].Data, "next-token probabilities");

        int h = cfg.Heads, l = cfg.Layers;
        Check(LayerMajorToRowMajor(engine.SelfAttention!.GetArray(), l, n), ort[OnnxNames.Attention].Data, "attention");
        Assert.Equal([n, l, h, t, t], ort[OnnxNames.Attention].Shape);
        if (info.IsEncoderDecoder)
        {
            Check(LayerMajorToRowMajor(engine.EncoderAttention!.GetArray(), cfg.EncoderLayers, n), ort[OnnxNames.EncoderAttention].Data, "encoder attention");
            Check(LayerMajorToRowMajor(engine.CrossAttention!.GetArray(), l, n), ort[OnnxNames.CrossAttention].Data, "cross attention");
            Assert.Equal([n, cfg.EncoderLayers, h, s, s], ort[OnnxNames.EncoderAttention].Shape);
            Assert.Equal([n, l, h, t, s], ort[OnnxNames.CrossAttention].Shape);
        }

        // The lean export computes the same next-token probabilities and nothing else.
        var leanPath = Path.Combine(_folder, name + ".lean.onnx");
        File.WriteAllBytes(leanPath, ExportBytes(model, info, OnnxExportOptions.NextTokenOnly));
        using var lean = OnnxNextCharacterScorer.Load(leanPath);
        Assert.Equal([OnnxNames.NextTokenProbabilities], lean.OutputNames);
        var leanNext = lean.Run(tokens, n, t, source, info.HasSource ? s : 0, OnnxNames.NextTokenProbabilities);
        AssertClose(ort[OnnxNames.NextTokenProbabilities].Data, leanNext[OnnxNames.NextTokenProbabilities].Data, 1e-6, Seeded("lean next-token probabilities"));

        AssertCheckerAccepts(path, leanPath);
    }

    [Fact]
    public void ScoreNext_BatchesOfOneAndMany_AgreeWithTheEngine()
    {
        var cfg = SmallDecoder(seed: 5) with { NormFirst = true };
        var info = Info(cfg);
        using var model = TransformerModel.Create(cfg);
        using var scorer = new OnnxNextCharacterScorer(ExportBytes(model, info, OnnxExportOptions.NextTokenOnly), "test model");
        var rng = new Random(3);
        var rows = Enumerable.Range(0, 37).Select(_ => Enumerable.Range(0, rng.Next(1, cfg.MaxLength + 1)).Select(_ => rng.Next(1, cfg.VocabSize)).ToArray()).ToList();

        var one = scorer.ScoreNext(rows, batchSize: 1);
        var many = scorer.ScoreNext(rows, batchSize: 16);
        for (int r = 0; r < rows.Count; r++)
        {
            var ids = rows[r].Select(i => (long)i).ToArray();
            var logits = model.Forward(new TokenBatch(ids, 1, ids.Length)).Logits!.GetArray();
            var expected = Softmax(logits.AsSpan((ids.Length - 1) * cfg.VocabSize, cfg.VocabSize), cfg.VocabSize);
            AssertClose(expected, one[r], Tolerance, $"row {r}, batch 1");
            AssertClose(one[r], many[r], 1e-6, $"row {r}, batch 16 vs batch 1");
            Assert.Equal(1.0, many[r].Sum(x => (double)x), 5);
        }
    }

    [Fact]
    public void Run_SeveralThreadsOnOneScorer_GiveTheSerialResults()
    {
        var cfg = SmallDecoder(seed: 9);
        using var model = TransformerModel.Create(cfg);
        using var scorer = new OnnxNextCharacterScorer(ExportBytes(model, Info(cfg)), "test model");
        var rng = new Random(4);
        var batches = Enumerable.Range(0, 8).Select(i => Batch(rng, [5, 3, 1], 5, cfg.VocabSize, cfg.PadId)).ToArray();
        var serial = batches.Select(b => scorer.Run(b, 3, 5, null, 0, OnnxNames.Probabilities)[OnnxNames.Probabilities].Data).ToArray();

        var parallel = new float[batches.Length][];
        Parallel.For(0, batches.Length * 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            int b = i % batches.Length;
            parallel[b] = scorer.Run(batches[b], 3, 5, null, 0, OnnxNames.Probabilities)[OnnxNames.Probabilities].Data;
        });

        for (int b = 0; b < batches.Length; b++)
        {
            Assert.Equal(serial[b], parallel[b]);
        }
    }

    [Fact]
    public void Run_RowOfPaddingOnly_GivesFiniteProbabilitiesAndZeroAttention()
    {
        // A row with no visible key: the engine (and so the export) gives attention 0, not NaN.
        var cfg = SmallDecoder(seed: 2);
        using var model = TransformerModel.Create(cfg);
        using var scorer = new OnnxNextCharacterScorer(ExportBytes(model, Info(cfg)), "test model");
        long[] tokens = [1, 4, 5, 0, 0, 0];   // row 1 is all PAD
        var result = scorer.Run(tokens, 2, 3, null, 0, OnnxNames.Probabilities, OnnxNames.Attention);
        var engine = model.Forward(new TokenBatch(tokens, 2, 3), ForwardOutputs.Logits | ForwardOutputs.SelfAttention);
        AssertClose(Softmax(engine.Logits!.GetArray(), cfg.VocabSize), result[OnnxNames.Probabilities].Data, Tolerance, "probabilities");
        var attention = result[OnnxNames.Attention].Data;
        Assert.All(attention, a => Assert.True(float.IsFinite(a)));
        int perRow = attention.Length / 2;
        Assert.All(attention.AsSpan(perRow).ToArray(), a => Assert.Equal(0f, a));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
