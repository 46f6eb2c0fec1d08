// Ensemble exports: members of different architectures in one graph whose probabilities are the mean of the
// members' (each member's reference is the native engine's forward, itself tested against PyTorch at 1e-5); the row
// metrics and predicted tokens come from the averaged probabilities, computed here by hand; attention is member 0's.
// The file reads back member by member, and members that cannot share a graph are refused naming the member.

using Google.Protobuf;
using MLNet.Transformer.Engine;
using Xunit.Abstractions;
using static MLNet.Transformer.Onnx.Tests.OnnxTestKit;
using static MLNet.Transformer.TestKit.SmallModels;

namespace MLNet.Transformer.Onnx.Tests;

public sealed class OnnxEnsembleTests(ITestOutputHelper output) : IDisposable
{
    private const double Tolerance = 1e-5;
    private readonly string _folder = Directory.CreateTempSubdirectory("mlt-onnx-ensemble-").FullName;

    /// <summary>Three members that differ in heads, layers, width, feed-forward, norm placement and activation.</summary>
    private static TransformerModelConfig[] Members(TransformerModelConfig baseline, ulong seed) =>
    [
        baseline with { Seed = seed },
        baseline with { Seed = seed + 1, Heads = 1, Layers = 1, NormFirst = !baseline.NormFirst, Activation = Activation.Gelu },
        baseline with { Seed = seed + 2, ModelDim = 24, Heads = 2, FeedForwardDim = 40, EncoderLayers = 1 },
    ];

    public static TheoryData<string> Kinds() => ["decoder", "encdec_source"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Export_ThreeMembers_AveragesProbabilitiesAndScoresTheAverage(string kind)
    {
        var seed = RunSeed();
        output.WriteLine($"case {kind}: weights seed {seed} (replay with MLT_PARITY_SEED={seed})");
        var configs = Members(kind == "decoder" ? SmallDecoder() : SmallEncoderDecoder(), seed);
        var models = configs.Select(c => TransformerModel.Create(c)).ToArray();
        try
        {
            var members = models.Select((m, i) => new OnnxModelMember(Info(configs[i]), m.ExportState().AsReadOnly())).ToArray();
            var info = members[0].Info;
            var rng = new Random((int)(seed % int.MaxValue));
            int[] lengths = [6, 1, 3, 6];
            int n = lengths.Length, t = 6, v = configs[0].VocabSize, s = info.HasSource ? 5 : 0;
            long[] tokens = Batch(rng, lengths, t, v, configs[0].PadId);
            long[]? source = info.HasSource ? Batch(rng, [5, 2, 1, 4], s, configs[0].EffectiveSourceVocabSize, configs[0].PadId) : null;

            // The reference: each member's engine forward, softmax, then the mean in double.
            var mean = new double[n * t * v];
            float[]? attention0 = null;
            foreach (var (model, cfg) in models.Zip(configs))
            {
                var forward = model.Forward(
                    new TokenBatch(tokens, n, t, default, info.IsEncoderDecoder ? source! : default, s),
                    ForwardOutputs.Logits | ForwardOutputs.SelfAttention);
                var p = Softmax(forward.Logits!.GetArray(), v);
                for (int i = 0; i < p.Length; i++)
                {
                    mean[i] += p[i] / (double)models.Length;
                }

                attention0 ??= LayerMajorToRowMajor(forward.SelfAttention!.GetArray(), cfg.Layers, n);
            }

            var path = Path.Combine(_folder, kind + ".ensemble.onnx");
            var options = new OnnxExportOptions { IncludeRowMetrics = true, IncludeTokenText = true };
            File.WriteAllBytes(path, OnnxExporter.Export(members, options).ToByteArray());
            using var scorer = OnnxNextCharacterScorer.Load(path);
            var ort = scorer.Run(tokens, n, t, source, s, [.. scorer.OutputNames]);

            float[] expected = [.. mean.Select(x => (float)x)];
            output.WriteLine($"probabilities: max |diff| {AssertClose(expected, ort[OnnxNames.Probabilities].Data, Tolerance, $"{kind} (seed {seed}): probabilities"):E2}");
            var expectedNext = new float[n * v];
            for (int r = 0; r < n; r++)
            {
                expected.AsSpan(((r * t) + lengths[r] - 1) * v, v).CopyTo(expectedNext.AsSpan(r * v));
            }

            AssertClose(expectedNext, ort[OnnxNames.NextTokenProbabilities].Data, Tolerance, $"{kind} (seed {seed}): next-token probabilities");
            AssertClose(attention0, ort[OnnxNames.Attention].Data, Tolerance, $"{kind} (seed {seed}): member 0's attention");
            Assert.Equal([n, configs[0].Layers, configs[0].Heads, t, t], ort[OnnxNames.Attention].Shape);

            // Row metrics of the averaged probabilities, by hand: targets are the next ids, then EOS.
            var loss = ort[OnnxNames.RowLogLoss].Data;
            var correct = ort.Counts(OnnxNames.RowCorrect).Data;
            var topK = ort.Counts(OnnxNames.RowTopKCorrect).Data;
            var predicted = ort.Strings(OnnxNames.PredictedTokens).Data;
            for (int r = 0; r < n; r++)
            {
                double nll = 0;
                int right = 0, inTop = 0;
                for (int j = 0; j < lengths[r]; j++)
                {
                    long target = j + 1 < lengths[r] ? tokens[(r * t) + j + 1] : info.EosId;
                    var row = mean.AsSpan(((r * t) + j) * v, v).ToArray();
                    nll -= Math.Log(row[target]);
                    var order = Enumerable.Range(0, v).OrderByDescending(i => row[i]).ToArray();
                    right += order[0] == target ? 1 : 0;
                    inTop += order.Take(OnnxExporter.TopK).Contains((int)target) ? 1 : 0;
                    Assert.Equal(info.Vocabulary[order[0]], predicted[(r * t) + j]);
                }

                Assert.True(Math.Abs((nll / lengths[r]) - loss[r]) <= Tolerance, $"row {r} (seed {seed}): hand {nll / lengths[r]}, onnx {loss[r]}");
                Assert.Equal(right, correct[r]);
                Assert.Equal(inTop, topK[r]);
            }

            // Read back member by member; exporting what was read gives the same bytes.
            var file = OnnxModelFile.Read(path);
            Assert.True(file.IsEnsemble);
            Assert.Equal(configs, file.Members.Select(m => m.Info.Architecture));
            for (int i = 0; i < members.Length; i++)
            {
                foreach (var (name, tensor) in members[i].State)
                {
                    Assert.Equal(tensor.Data, file.Members[i].State[name].Data);
                }
            }

            Assert.Equal(members.Sum(m => m.ParameterCount), file.ParameterCount);
            Assert.Equal(File.ReadAllBytes(path), OnnxExporter.Export(file.Members, options).ToByteArray());
            AssertCheckerAccepts(path);
        }
        finally
        {
            foreach (var model in models)
            {
                model.Dispose();
            }
        }
    }

    [Fact]
    public void Export_OneMember_IsTheSingleModelExport()
    {
        var cfg = SmallDecoder(7);
        using var model = TransformerModel.Create(cfg);
        var info = Info(cfg);
        var single = OnnxExporter.Export(info, model.ExportState().AsReadOnly());
        var one = OnnxExporter.Export([new OnnxModelMember(info, model.ExportState().AsReadOnly())]);
        Assert.Equal(single.ToByteArray(), one.ToByteArray());
        Assert.Equal("1", single.MetadataProps.Single(p => p.Key == OnnxNames.FormatVersionKey).Value);
        Assert.DoesNotContain(single.MetadataProps, p => p.Key == OnnxNames.EnsembleKey);
        Assert.False(OnnxModelFile.Read(single.ToByteArray(), "single").IsEnsemble);
    }

    public static TheoryData<string, string> Mismatches() => new()
    {
        { "vocabulary", "its vocabulary" },
        { "max_length", "its maximum length (16, member 0: 12)" },
        { "kind", "kind (decoder-only or encoder-decoder)" },
        { "vocab_size", "vocabulary size (12, member 0: 11)" },
        { "column", "its columns" },
        { "weights", "Ensemble member 1: State tensor '" },
    };

    [Theory]
    [MemberData(nameof(Mismatches))]
    public void Export_MembersThatCannotShareAGraph_AreRefusedNamingTheMember(string mismatch, string message)
    {
        var cfg = SmallDecoder(3);
        using var first = TransformerModel.Create(cfg);
        var other = mismatch switch
        {
            "max_length" => cfg with { MaxLength = 16 },
            "kind" => SmallEncoderDecoder(3),
            "weights" => cfg with { ModelDim = 8, Heads = 2 },
            "vocab_size" => cfg with { VocabSize = 12 },
            _ => cfg,
        };
        using var second = TransformerModel.Create(mismatch == "weights" ? cfg : other);
        var secondInfo = Info(other, selfSource: true) with
        {
            Vocabulary = mismatch switch
            {
                "vocabulary" => [.. Info(cfg).Vocabulary.Reverse()],
                "vocab_size" => Info(cfg).Vocabulary,     // the same tokens, an architecture with one more
                _ => Info(other).Vocabulary,
            },
            TextColumnName = mismatch == "column" ? "Name" : "Text",
        };
        var e = Assert.Throws<TransformerArgumentException>(() => OnnxExporter.Export(
            [new OnnxModelMember(Info(cfg), first.ExportState().AsReadOnly()), new OnnxModelMember(secondInfo, second.ExportState().AsReadOnly())]));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.Contains(mismatch == "weights" ? "member 1" : "Ensemble member 1 differs from member 0", e.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> Damages() => new()
    {
        { "missing_member_weight", "graph.initializer[ensemble.1.lm_head.weight]" },
        { "bad_member_architecture", "metadata_props[mlnet_transformer.ensemble]" },
        { "ensemble_in_version_1", "metadata_props[mlnet_transformer.ensemble]" },
    };

    [Theory]
    [MemberData(nameof(Damages))]
    public void Read_DamagedEnsemble_ThrowsTypedErrorNamingTheField(string damage, string field)
    {
        var cfg = SmallDecoder(5);
        using var a = TransformerModel.Create(cfg);
        using var b = TransformerModel.Create(cfg with { Seed = 6, Layers = 1 });
        var proto = OnnxExporter.Export([new OnnxModelMember(Info(cfg), a.ExportState().AsReadOnly()), new OnnxModelMember(Info(cfg with { Layers = 1 }), b.ExportState().AsReadOnly())]);
        var ensemble = proto.MetadataProps.Single(p => p.Key == OnnxNames.EnsembleKey);
        switch (damage)
        {
            case "missing_member_weight":
                proto.Graph.Initializer.Remove(proto.Graph.Initializer.Single(t => t.Name == "ensemble.1.lm_head.weight"));
                break;
            case "bad_member_architecture":
                ensemble.Value = ensemble.Value.Replace("\"heads\":4", "\"heads\":3", StringComparison.Ordinal);
                break;
            case "ensemble_in_version_1":
                proto.MetadataProps.Single(p => p.Key == OnnxNames.FormatVersionKey).Value = "1";
                break;
        }

        var e = Assert.Throws<OnnxModelFormatException>(() => OnnxModelFile.Read(proto.ToByteArray(), "damaged.onnx"));
        Assert.Equal(field, e.Field);
        Assert.StartsWith("damaged.onnx: ", e.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
