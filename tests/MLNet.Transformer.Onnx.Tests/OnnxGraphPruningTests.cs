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

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
