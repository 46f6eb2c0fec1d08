// The code-point export (what ML.NET's OnnxTransformer runs): the vocabulary lookup inside the graph gives the
// same ids as the tokenizer, so the probabilities equal the id export's; the token texts come from the vocabulary;
// the per-row metrics equal the engine's loss over the same targets (next id, EOS after the last).

using MLNet.Transformer.Engine;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.Text;
using Xunit.Abstractions;
using static MLNet.Transformer.Onnx.Tests.OnnxTestKit;
using static MLNet.Transformer.TestKit.SmallModels;

namespace MLNet.Transformer.Onnx.Tests;

public sealed class OnnxCodePointTests(ITestOutputHelper output) : IDisposable
{
    private static readonly CharacterVocabulary Vocab = CharacterVocabulary.FromCharacters("abcdeé".EnumerateRunes());
    private static readonly string[] Texts = ["abc", "", "e?é", "ddddddd", "x"];   // '?' and 'x' are unknown
    private readonly string _folder = Directory.CreateTempSubdirectory("mlt-onnx-cp-").FullName;

    public static TheoryData<string> Kinds() => ["decoder", "encdec_single_column"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void CodePointExport_Rows_MatchIdExportTokenTextAndEngineLoss(string kind)
    {
        var seed = RunSeed();
        output.WriteLine($"weights seed {seed} (replay with MLT_PARITY_SEED={seed})");
        var cfg = (kind == "decoder" ? SmallDecoder(seed) : SmallEncoderDecoder(seed) with { CausalEncoder = true, CausalCross = true })
            with { VocabSize = Vocab.Count, NormFirst = true };
        var info = CharacterInfo(cfg, Vocab);
        using var model = TransformerModel.Create(cfg);
        var options = new OnnxExportOptions { Input = OnnxInput.CodePoints, IncludeTokenText = true, IncludeRowMetrics = true };
        var path = Path.Combine(_folder, kind + ".cp.onnx");
        File.WriteAllBytes(path, ExportBytes(model, info, options));
        using var cp = OnnxNextCharacterScorer.Load(path);
        using var ids = new OnnxNextCharacterScorer(ExportBytes(model, info), "id export");
        Assert.Equal(OnnxInput.CodePoints, cp.Input);

        int n = Texts.Length, t = 1 + Texts.Max(x => x.EnumerateRunes().Count()), v = cfg.VocabSize;
        var codePoints = new long[n * t];
        var tokenIds = new long[n * t];
        Array.Fill(codePoints, OnnxCodePoints.Pad);
        var rows = new int[n][];
        for (int r = 0; r < n; r++)
        {
            rows[r] = Vocab.Encode(Texts[r], addBos: true);
            long[] cps = [OnnxCodePoints.Bos, .. Texts[r].EnumerateRunes().Select(x => (long)x.Value)];
            cps.CopyTo(codePoints, r * t);
            rows[r].Select(x => (long)x).ToArray().CopyTo(tokenIds, r * t);
        }

        var a = cp.Run(codePoints, n, t, null, 0, [.. cp.OutputNames]);
        var b = ids.Run(tokenIds, n, t, null, 0, OnnxNames.Probabilities, OnnxNames.NextTokenProbabilities);
        Assert.Equal(b[OnnxNames.Probabilities].Data, a[OnnxNames.Probabilities].Data);
        Assert.Equal(b[OnnxNames.NextTokenProbabilities].Data, a[OnnxNames.NextTokenProbabilities].Data);

        var next = a[OnnxNames.NextTokenProbabilities].Data;
        var inputTokens = a.Strings(OnnxNames.InputTokens).Data;
        var predictedToken = a.Strings(OnnxNames.PredictedToken).Data;
        var loss = a[OnnxNames.RowLogLoss].Data;
        var count = a.Counts(OnnxNames.RowTokenCount).Data;
        var correct = a.Counts(OnnxNames.RowCorrect).Data;
        var topK = a.Counts(OnnxNames.RowTopKCorrect).Data;
        for (int r = 0; r < n; r++)
        {
            int len = rows[r].Length;
            Assert.Equal(rows[r].Select(Vocab.GetToken), inputTokens.Skip(r * t).Take(len));
            Assert.All(inputTokens.Skip((r * t) + len).Take(t - len), x => Assert.Equal(CharacterVocabulary.PadToken, x));
            var row = next.AsSpan(r * v, v).ToArray();
            Assert.Equal(Vocab.GetToken(Array.IndexOf(row, row.Max())), predictedToken[r]);

            // The engine's loss over the same row: targets are the next ids, then EOS.
            long[] tokens = [.. rows[r].Select(x => (long)x)];
            long[] targets = [.. rows[r].Skip(1).Select(x => (long)x), CharacterVocabulary.EosId];
            var batch = cfg.Kind == ModelKind.Decoder
                ? new TokenBatch(tokens, 1, len, targets)
                : new TokenBatch(tokens, 1, len, targets, tokens, len);
            var (sum, engineCount) = model.EvaluateLoss(batch);
            Assert.Equal(engineCount, count[r]);
            Assert.True(Math.Abs((sum / engineCount) - loss[r]) <= 1e-5, $"row {r} (seed {seed}): engine {sum / engineCount}, onnx {loss[r]}");

            var logits = model.Forward(batch).Logits!.GetArray();
            int right = 0, inTop = 0;
            for (int j = 0; j < len; j++)
            {
                var lj = logits.AsSpan(j * v, v).ToArray();
                var order = Enumerable.Range(0, v).OrderByDescending(i => lj[i]).ToArray();
                right += order[0] == targets[j] ? 1 : 0;
                inTop += order.Take(OnnxExporter.TopK).Contains((int)targets[j]) ? 1 : 0;
            }

            Assert.Equal(right, correct[r]);
            Assert.Equal(inTop, topK[r]);
        }

        // ML.NET's shape: batch of one, fixed-size next-token output.
        var onePath = Path.Combine(_folder, kind + ".cp1.onnx");
        File.WriteAllBytes(onePath, ExportBytes(model, info, options with { BatchOfOne = true }));
        var one = OnnxModelFile.Read(onePath);
        Assert.Contains($"next_token_probabilities: float [1, {v}]", one.Outputs);
        Assert.Contains("codepoints: int64 [1, T]", one.Inputs);
        using var oneScorer = new OnnxNextCharacterScorer(File.ReadAllBytes(onePath), onePath);
        var emptyText = oneScorer.Run([OnnxCodePoints.Bos], 1, 1, null, 0, OnnxNames.NextTokenProbabilities)[OnnxNames.NextTokenProbabilities].Data;
        Assert.Equal(next.AsSpan(1 * v, v).ToArray(), emptyText);   // row 1 is the empty text: BOS alone scores
        Assert.Contains($"score: float [{v}]", one.Outputs);          // ML.NET's one-dimensional Score
        Assert.Equal(emptyText, oneScorer.Run([OnnxCodePoints.Bos], 1, 1, null, 0, OnnxNames.Score)[OnnxNames.Score].Data);

        AssertCheckerAccepts(path, onePath);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
