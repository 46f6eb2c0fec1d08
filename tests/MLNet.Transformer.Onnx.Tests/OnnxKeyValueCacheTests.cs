// The key/value-cache export (OnnxExportOptions.Incremental) against the full graph: fed a sequence in chunks (the
// prefix at once, then one token at a time, then two), its next-token probabilities equal the full graph's on the
// same prefix within 1e-5 at every step, for every architecture the parity tests cover and an ensemble; the cache
// outputs grow by the new positions; the options it cannot honour are refused.

using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNet.Transformer.Engine;
using Xunit.Abstractions;
using static MLNet.Transformer.Onnx.Tests.OnnxTestKit;
using static MLNet.Transformer.TestKit.SmallModels;

namespace MLNet.Transformer.Onnx.Tests;

public sealed class OnnxKeyValueCacheTests(ITestOutputHelper output) : IDisposable
{
    private const double Tolerance = 1e-5;

    private static readonly Dictionary<string, (TransformerModelConfig Config, bool SelfSource)> Architectures = new()
    {
        ["decoder_postln_h1_relu"] = (SmallDecoder() with { Heads = 1, Activation = Activation.Relu }, false),
        ["decoder_postln_h4_gelu"] = (SmallDecoder() with { Heads = 4, Activation = Activation.Gelu }, false),
        ["decoder_preln_h2_relu_pad3"] = (SmallDecoder() with { Heads = 2, NormFirst = true, PadId = 3 }, false),
        ["encdec_postln_h4_relu_source"] = (SmallEncoderDecoder(), false),
        ["encdec_preln_h4_gelu_source_causal"] = (SmallEncoderDecoder() with { NormFirst = true, Activation = Activation.Gelu, CausalEncoder = true, CausalCross = true }, false),
        ["encdec_postln_h4_gelu_causal_single_column"] = (SmallEncoderDecoder() with { Activation = Activation.Gelu, CausalEncoder = true, CausalCross = true }, true),
        ["encdec_preln_h2_relu_causal_single_column"] = (SmallEncoderDecoder() with { Heads = 2, NormFirst = true, CausalEncoder = true, CausalCross = true }, true),
    };

    private readonly string _folder = Directory.CreateTempSubdirectory("mlt-onnx-kv-").FullName;

    public static TheoryData<string> ArchitectureNames() => [.. Architectures.Keys];

    [Theory]
    [MemberData(nameof(ArchitectureNames))]
    public void Incremental_Architecture_MatchesFullGraphAtEveryStep(string name)
    {
        var seed = RunSeed();
        output.WriteLine($"case {name}: weights seed {seed} (replay with MLT_PARITY_SEED={seed})");
        var (architecture, selfSource) = Architectures[name];
        var cfg = architecture with { Seed = seed };
        var info = Info(cfg, selfSource);
        using var model = TransformerModel.Create(cfg);
        var members = new[] { new OnnxModelMember(info, model.ExportState().AsReadOnly()) };
        CheckSteps(members, seed, $"{name} (seed {seed})");
    }

    [Fact]
    public void Incremental_Ensemble_MatchesFullGraphAndCachesEachMember()
    {
        var seed = RunSeed();
        output.WriteLine($"weights seed {seed} (replay with MLT_PARITY_SEED={seed})");
        var first = SmallDecoder() with { Seed = seed, Heads = 2 };
        var second = first with { Seed = seed + 1, Heads = 4, Layers = 1, NormFirst = true };
        using var a = TransformerModel.Create(first);
        using var b = TransformerModel.Create(second);
        var members = new[]
        {
            new OnnxModelMember(Info(first), a.ExportState().AsReadOnly()),
            new OnnxModelMember(Info(second), b.ExportState().AsReadOnly()),
        };
        var names = CheckSteps(members, seed, $"ensemble (seed {seed})");
        Assert.Contains(OnnxNames.PastKey("layers.1.self_attn"), names);
        Assert.Contains(OnnxNames.PastValue("ensemble.1.layers.0.self_attn"), names);
        Assert.DoesNotContain(OnnxNames.PastKey("ensemble.1.layers.1.self_attn"), names);
    }

    [Fact]
    public void Incremental_PassesTheOnnxChecker()
    {
        var cfg = SmallEncoderDecoder() with { Seed = 4, CausalEncoder = true, CausalCross = true };
        using var model = TransformerModel.Create(cfg);
        string path = Path.Combine(_folder, "cached.onnx");
        File.WriteAllBytes(path, ExportBytes(model, Info(cfg, selfSource: true), OnnxExportOptions.Incremental));
        AssertCheckerAccepts(path);
        var file = OnnxModelFile.Read(path);
        Assert.Contains(file.Inputs, i => i.StartsWith(OnnxNames.PastKey("decoder.layers.0.multihead_attn"), StringComparison.Ordinal));
        Assert.Contains(file.Outputs, o => o.StartsWith(OnnxNames.PresentValue("encoder.layers.0.self_attn"), StringComparison.Ordinal));
    }

    [Fact]
    public void Export_CacheWithOtherOutputs_IsRefusedNamingThem()
    {
        var cfg = SmallDecoder() with { Seed = 2 };
        using var model = TransformerModel.Create(cfg);
        var e = Assert.Throws<TransformerArgumentException>(() => ExportBytes(model, Info(cfg), new OnnxExportOptions { KeyValueCache = true }));
        Assert.Contains("IncludePositionProbabilities", e.Message, StringComparison.Ordinal);
        Assert.Contains("IncludeAttention", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Export_NonCausalSingleColumnEncoderDecoder_CannotBeCached()
    {
        var cfg = SmallEncoderDecoder() with { Seed = 2 };   // reads its own tokens with a non-causal encoder
        using var model = TransformerModel.Create(cfg);
        var info = Info(cfg, selfSource: true);
        Assert.False(OnnxExporter.CanCache(info));
        Assert.True(OnnxExporter.CanCache(Info(cfg)));       // with a source column the encoder is not cached
        var e = Assert.Throws<TransformerArgumentException>(() => ExportBytes(model, info, OnnxExportOptions.Incremental));
        Assert.Contains("key/value cache", e.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>
    /// Feeds two rows of random non-PAD ids to the cached graph in chunks (3, then 1, 1, 1, then 2, then 1) and
    /// compares each step with the full graph on the whole prefix; returns the cached graph's input names.
    /// </summary>
    private string[] CheckSteps(OnnxModelMember[] members, ulong seed, string what)
    {
        var info = members[0].Info;
        var cfg = info.Architecture;
        var rng = new Random((int)(seed % int.MaxValue));
        const int n = 2, length = 9;
        long[] tokens = Batch(rng, [length, length], length, cfg.VocabSize, cfg.PadId);
        int s = info.HasSource ? 6 : 0;
        long[]? source = info.HasSource ? Batch(rng, [6, 4], s, cfg.EffectiveSourceVocabSize, cfg.PadId) : null;

        using var full = new OnnxNextCharacterScorer(OnnxExporter.Export(members).ToByteArray(), "full graph");
        using var cached = new InferenceSession(OnnxExporter.Export(members, OnnxExportOptions.Incremental).ToByteArray());
        string[] past = [.. cached.InputMetadata.Keys.Where(k => k.StartsWith(OnnxNames.PastPrefix, StringComparison.Ordinal))];
        Assert.NotEmpty(past);
        string[] outputs = [OnnxNames.NextTokenProbabilities, .. past.Select(k => OnnxNames.PresentPrefix + k[OnnxNames.PastPrefix.Length..])];

        var state = past.Select(k => OrtValue.CreateAllocatedTensorValue(
            OrtAllocator.DefaultInstance, TensorElementType.Float, [n, cached.InputMetadata[k].Dimensions[1], 0, cached.InputMetadata[k].Dimensions[3]])).ToList();
        var empty = state;
        IDisposableReadOnlyCollection<OrtValue>? previous = null;
        int done = 0;
        double worst = 0;
        try
        {
            foreach (int chunk in new[] { 3, 1, 1, 1, 2, 1 })
            {
                var fresh = new long[n * chunk];
                for (int r = 0; r < n; r++)
                {
                    Array.Copy(tokens, (r * length) + done, fresh, r * chunk, chunk);
                }

                var names = new List<string> { OnnxNames.Tokens };
                using var tokenValue = OrtValue.CreateTensorValueFromMemory(fresh, [n, chunk]);
                using var sourceValue = source is null ? null : OrtValue.CreateTensorValueFromMemory(source, [n, s]);
                var values = new List<OrtValue> { tokenValue };
                if (sourceValue is not null)
                {
                    names.Add(OnnxNames.Source);
                    values.Add(sourceValue);
                }

                names.AddRange(past);
                values.AddRange(state);
                using var run = new RunOptions();
                var results = cached.Run(run, names, values, outputs);
                done += chunk;

                // The full graph on the prefix of `done` tokens per row.
                var prefix = new long[n * done];
                for (int r = 0; r < n; r++)
                {
                    Array.Copy(tokens, r * length, prefix, r * done, done);
                }

                var expected = full.Run(prefix, n, done, source, s, OnnxNames.NextTokenProbabilities)[OnnxNames.NextTokenProbabilities].Data;
                worst = Math.Max(worst, AssertClose(expected, results[0].GetTensorDataAsSpan<float>(), Tolerance, $"{what}: after {done} tokens"));
                for (int i = 0; i < past.Length; i++)
                {
                    var shape = results[i + 1].GetTensorTypeAndShape().Shape;
                    Assert.Equal(done, shape[2]);
                    Assert.Equal(n, shape[0]);
                }

                previous?.Dispose();
                previous = results;
                state = [.. Enumerable.Range(1, past.Length).Select(i => results[i])];
            }
        }
        finally
        {
            previous?.Dispose();
            empty.ForEach(v => v.Dispose());
        }

        output.WriteLine($"{what}: max |diff| over {done} steps' next-token probabilities {worst:E2}");
        return past;
    }
}
