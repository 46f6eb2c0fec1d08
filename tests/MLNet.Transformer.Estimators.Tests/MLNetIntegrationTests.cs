// The library as an ML.NET user meets it: composed after ML.NET's own transforms, evaluated by ML.NET's multiclass
// evaluator, served by a PredictionEngine, saved with mlContext.Model.Save and scored in a fresh process that has no
// native training engine, bit for bit.
using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Text;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.TestKit;
using Xunit;

namespace MLNet.Transformer.Tests;

[Collection(nameof(SerialEngine))]
public sealed class MLNetIntegrationTests : IClassFixture<MLNetIntegrationTests.Fitted>
{
    private static readonly string[] Probes = ["flyca", "", "ÉMMA", "zz9!", "catherine"];
    private readonly Fitted _fitted;

    public MLNetIntegrationTests(Fitted fitted) => _fitted = fitted;

    [Fact]
    public void SaveLoad_FreshProcessWithoutNativeEngine_ScoresBitForBit()
    {
        var ml = new MLContext(1);
        var inProcess = _fitted.Chain.Transform(View(ml, Probes));
        int[][] expected = [.. inProcess.GetColumn<float[]>(NextCharacterColumns.Score).Select(s => s.Select(BitConverter.SingleToInt32Bits).ToArray())];
        string[] expectedNext = [.. inProcess.GetColumn<string>(NextCharacterColumns.PredictedNextChar)];

        string probe = RepoPaths.Combine("tests", "ScoringProbe", "bin", Configuration, "net10.0", "mlt-scoring-probe.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { probe, _fitted.ZipPath }.Concat(Probes))
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["MLT_NATIVE_LIBRARY"] = Path.Combine(Path.GetTempPath(), "no-such-engine", "libmlt.so");
        using var p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(120_000), "the probe did not finish");
        Assert.True(p.ExitCode == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        int[][] Ints(string name) => [.. root.GetProperty(name).EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetInt32()).ToArray())];
        Assert.Equal(expected, Ints("scores"));
        Assert.Equal(expected, Ints("predicted"));
        Assert.Equal(expectedNext, root.GetProperty("next").EnumerateArray().Select(x => x.GetString()));
        Assert.Empty(root.GetProperty("native").EnumerateArray());
    }

    [Fact]
    public void Transform_EmptyAndUnknownOnlyText_ScoresAFullDistribution()
    {
        var ml = new MLContext(1);
        var scored = _fitted.Model.Transform(View(ml, ["", "!!!", "9"]));
        var scores = scored.GetColumn<float[]>(NextCharacterColumns.Score).ToArray();
        var counts = scored.GetColumn<int>(NextCharacterColumns.TokenCount).ToArray();
        Assert.All(scores, s => Assert.Equal(1.0, s.Sum(x => (double)x), 5));
        Assert.Equal([1, 4, 2], counts);   // EOS only; three UNKs + EOS; one UNK + EOS
        var tokens = scored.GetColumn<string[]>(NextCharacterColumns.InputTokens).ToArray();
        Assert.Equal(["<BOS>"], tokens[0]);
        Assert.Equal(["<BOS>", "<UNK>", "<UNK>", "<UNK>"], tokens[1]);
    }

    [Fact]
    public void MulticlassEvaluator_OnPrefixNextCharacterPairs_AgreesWithTheScores()
    {
        // Each held-out name gives (prefix, next character) pairs; ML.NET's evaluator reads the model's Score as a
        // V-way classifier with the vocabulary as key values.
        var ml = new MLContext(1);
        var vocab = _fitted.Model.Info.Vocabulary;
        var pairs = NamesData.All.Skip(950).SelectMany(w => Enumerable.Range(0, w.Length + 1)
            .Select(k => new Pair { Text = w[..k], NextChar = k < w.Length ? w[k].ToString() : "<EOS>" })).ToArray();
        var keys = ml.Data.LoadFromEnumerable(vocab.Select(t => new KeyRow { Value = t }));
        var scored = ml.Transforms.Conversion.MapValueToKey("Label", "NextChar", keyData: keys)
            .Append(ml.Transforms.Conversion.MapValueToKey("PredictedLabel", NextCharacterColumns.PredictedNextChar, keyData: keys))
            .Fit(_fitted.Model.Transform(ml.Data.LoadFromEnumerable(pairs)))
            .Transform(_fitted.Model.Transform(ml.Data.LoadFromEnumerable(pairs)));
        var metrics = ml.MulticlassClassification.Evaluate(scored, "Label", NextCharacterColumns.Score, "PredictedLabel");

        var scores = scored.GetColumn<float[]>(NextCharacterColumns.Score).ToArray();
        double logLoss = 0, right = 0;
        for (int i = 0; i < pairs.Length; i++)
        {
            int label = vocab.ToList().IndexOf(pairs[i].NextChar);
            logLoss -= Math.Log(Math.Max(scores[i][label], 1e-15));
            right += Array.IndexOf(scores[i], scores[i].Max()) == label ? 1 : 0;
        }

        Assert.Equal(logLoss / pairs.Length, metrics.LogLoss, 4);
        Assert.Equal(right / pairs.Length, metrics.MicroAccuracy, 6);
    }

    [Fact]
    public void PredictionEngine_FittedModel_EqualsTransform()
    {
        var ml = new MLContext(1);
        var engine = ml.Model.CreatePredictionEngine<Row, Prediction>(_fitted.Model);
        var viaTransform = _fitted.Model.Transform(View(ml, Probes)).GetColumn<float[]>(NextCharacterColumns.Score).ToArray();
        for (int i = 0; i < Probes.Length; i++)
        {
            var p = engine.Predict(new Row { Text = Probes[i] });
            Assert.Equal(viaTransform[i], p.Score);
        }
    }

    [Fact]
    public void Load_LibraryHelper_GivesTheChainTheDescriptionAndGeneration()
    {
        var ml = new MLContext(1);
        var loaded = NextCharacterModel.Load(ml, _fitted.ZipPath);
        Assert.Equal(_fitted.Model.Info.Architecture, loaded.Info.Architecture);
        Assert.Equal(_fitted.Model.Info.Vocabulary, loaded.Info.Vocabulary);
        Assert.Equal(17, loaded.Onnx.Opset);
        var o = new GenerationOptions { Count = 4, Temperature = 0.8f, Seed = 5, Prefix = "ma" };
        Assert.Equal(_fitted.Model.Generate(o), loaded.Generate(o));
        var a = _fitted.Chain.Transform(View(ml, Probes)).GetColumn<float[]>(NextCharacterColumns.Attention).ToArray();
        var b = loaded.Model.Transform(View(ml, Probes)).GetColumn<float[]>(NextCharacterColumns.Attention).ToArray();
        Assert.Equal(a, b);
        var reshaped = AttentionLayout.Reshape(a[0], loaded.Info.Architecture.Layers, loaded.Info.Architecture.Heads);
        Assert.Equal(6, reshaped[0][0].GetLength(0));   // <BOS> f l y c a
        for (int q = 0; q < 6; q++)
        {
            Assert.Equal(1.0, Enumerable.Range(0, 6).Sum(k => (double)reshaped[^1][^1][q, k]), 5);
            Assert.All(Enumerable.Range(q + 1, 5 - q), k => Assert.Equal(0f, reshaped[^1][^1][q, k]));   // causal
        }
    }

    [Fact]
    public void Transform_MissingOrWrongColumn_MLNetSchemaMismatchNamingIt()
    {
        var ml = new MLContext(1);
        var wrong = ml.Data.LoadFromEnumerable(new[] { new NumberText { Text = 3 } });
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _fitted.Model.Transform(wrong));
        Assert.Contains("Schema mismatch for input column 'Text': expected String, got Int32", e.Message, StringComparison.Ordinal);
        var loaded = NextCharacterModel.Load(ml, _fitted.ZipPath);
        Assert.ThrowsAny<Exception>(() => loaded.Model.Transform(wrong).GetColumn<float[]>(NextCharacterColumns.Score).ToArray());
    }

    private static string Configuration => AppContext.BaseDirectory.Contains("/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";

    private static IDataView View(MLContext ml, IEnumerable<string> texts) => ml.Data.LoadFromEnumerable(texts.Select(t => new Row { Text = t }).ToArray());

    /// <summary>NormalizeText (lower-case, ML.NET's) -> decoder, trained once, saved once.</summary>
    public sealed class Fitted : IDisposable
    {
        public Fitted()
        {
            var ml = new MLContext(3);
            var data = ml.Data.LoadFromTextFile<Row>(NamesData.Path);
            var pipeline = ml.Transforms.Text.NormalizeText("Text", caseMode: TextNormalizingEstimator.CaseMode.Lower)
                .Append(ml.MulticlassClassification.Trainers.TransformerDecoder(new TransformerDecoderTrainerOptions
                {
                    Layers = 2, Heads = 2, ModelDimension = 32, FeedForwardDimension = 64, Epochs = 4, Seed = 3, Device = "cpu",
                }));
            Chain = pipeline.Fit(data);
            Model = Chain.LastTransformer;
            ZipPath = Path.Combine(Path.GetTempPath(), $"mlt-integration-{Guid.NewGuid():N}.zip");
            ml.Model.Save(Chain, data.Schema, ZipPath);
        }

        public TransformerChain<NextCharacterPredictionTransformer> Chain { get; }

        public NextCharacterPredictionTransformer Model { get; }

        public string ZipPath { get; }

        public void Dispose() => File.Delete(ZipPath);
    }

    public sealed class Row
    {
        [LoadColumn(0)]
        public string Text { get; set; } = "";
    }

    public sealed class Prediction
    {
        public float[] Score { get; set; } = [];
    }

    public sealed class Pair
    {
        public string Text { get; set; } = "";

        public string NextChar { get; set; } = "";
    }

    public sealed class KeyRow
    {
        public string Value { get; set; } = "";
    }

    public sealed class NumberText
    {
        public int Text { get; set; }
    }
}
