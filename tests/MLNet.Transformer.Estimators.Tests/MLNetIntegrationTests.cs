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

        using var json = RunScoringProbe(_fitted.ZipPath, Probes);
        var root = json.RootElement;
        int[][] Ints(string name) => [.. root.GetProperty(name).EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetInt32()).ToArray())];
        Assert.Equal(expected, Ints("scores"));
        Assert.Equal(expected, Ints("predicted"));
        Assert.Equal(expectedNext, root.GetProperty("next").EnumerateArray().Select(x => x.GetString()));
        Assert.Equal(_fitted.Model.Generate(ProbeGeneration), root.GetProperty("generated").EnumerateArray().Select(x => x.GetString()));
        Assert.Empty(root.GetProperty("native").EnumerateArray());
    }

    /// <summary>What tests/ScoringProbe generates through NextCharacterModel.Load.</summary>
    private static readonly GenerationOptions ProbeGeneration = new() { Count = 2, MaximumLength = 12, Seed = 7 };

    /// <summary>Runs tests/ScoringProbe over <paramref name="zip"/> in a process that cannot find the engine.</summary>
    private static JsonDocument RunScoringProbe(string zip, IEnumerable<string> texts)
    {
        string probe = RepoPaths.Combine("tests", "ScoringProbe", "bin", Configuration, "net10.0", "mlt-scoring-probe.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { probe, zip }.Concat(texts))
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["MLT_NATIVE_LIBRARY"] = Path.Combine(Path.GetTempPath(), "no-such-engine", "libmlt.so");
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(120_000), "the probe did not finish");
        Assert.True(p.ExitCode == 0, stderr.Result);
        return JsonDocument.Parse(stdout);
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
    public void MulticlassEvaluate_PrefixNextCharacterPairs_EqualsEvaluateNextCharacter()
    {
        // Each held-out name gives (prefix, next character) pairs: every target EvaluateNextCharacter counts on the
        // names themselves, EOS included. ML.NET's own evaluator reads Score, PredictedLabel and the one-call label.
        var ml = new MLContext(1);
        var names = NamesData.All.Skip(950).ToArray();
        var pairs = ml.Data.LoadFromEnumerable(Pairs(names));
        var scored = _fitted.Model.Transform(pairs);
        var labelled = ml.Transforms.Conversion.MapNextCharacterToKey("Label", "NextChar").Fit(scored).Transform(scored);
        var metrics = ml.MulticlassClassification.Evaluate(labelled);

        var reference = ml.MulticlassClassification.EvaluateNextCharacter(_fitted.Model.Transform(View(ml, names)));
        Assert.Equal(Pairs(names).Length, reference.Tokens);
        Assert.Equal(reference.LogLoss, metrics.LogLoss, 4);
        Assert.Equal(reference.Accuracy, metrics.MicroAccuracy, 6);
    }

    [Fact]
    public void Score_FittedAndLoaded_OneDimensionWithPredictedLabelKeyOverTheVocabulary()
    {
        var ml = new MLContext(1);
        var vocab = _fitted.Model.Info.Vocabulary;
        var loaded = NextCharacterModel.Load(ml, _fitted.ZipPath);
        foreach (var scored in new[] { _fitted.Chain.Transform(View(ml, Probes)), loaded.Model.Transform(View(ml, Probes)) })
        {
            var score = Assert.IsType<VectorDataViewType>(scored.Schema[NextCharacterColumns.Score].Type);
            Assert.Equal([vocab.Count], score.Dimensions.ToArray());
            var key = Assert.IsType<KeyDataViewType>(scored.Schema[NextCharacterColumns.PredictedLabel].Type);
            Assert.Equal((ulong)vocab.Count, key.Count);
            Assert.Equal(vocab, NextCharacterLabelEstimator.Vocabulary(scored.Schema));

            var scores = scored.GetColumn<float[]>(NextCharacterColumns.Score).ToArray();
            var labels = scored.GetColumn<uint>(NextCharacterColumns.PredictedLabel).ToArray();
            var next = scored.GetColumn<string>(NextCharacterColumns.PredictedNextChar).ToArray();
            var mapped = ml.Transforms.Conversion.MapKeyToValue("Character", NextCharacterColumns.PredictedLabel).Fit(scored).Transform(scored)
                .GetColumn<string>("Character").ToArray();
            for (int i = 0; i < Probes.Length; i++)
            {
                Assert.Equal(Array.IndexOf(scores[i], scores[i].Max()) + 1, (int)labels[i]);   // key k = slot k - 1
                Assert.Equal(next[i], mapped[i]);
                Assert.Equal(vocab[(int)labels[i] - 1], next[i]);
            }
        }
    }

    [Fact]
    public void CrossValidate_LabelAfterTheTrainer_EveryFoldEvaluatedOverItsOwnVocabulary()
    {
        var ml = new MLContext(5);
        var data = ml.Data.LoadFromEnumerable(Pairs(NamesData.All.Take(120)));
        var pipeline = ml.MulticlassClassification.Trainers.TransformerDecoder(Tiny(epochs: 1))
            .Append(ml.Transforms.Conversion.MapNextCharacterToKey());
        var folds = ml.MulticlassClassification.CrossValidate(data, pipeline, numberOfFolds: 2, labelColumnName: "Label");
        Assert.Equal(2, folds.Count);
        foreach (var fold in folds)
        {
            // ML.NET's figures against the fold's own scores: mean -ln p(label) and argmax hits. A character the
            // fold's training part never had is outside its vocabulary: the missing key, which the evaluator skips.
            var allScores = fold.ScoredHoldOutSet.GetColumn<float[]>(NextCharacterColumns.Score).ToArray();
            var allLabels = fold.ScoredHoldOutSet.GetColumn<uint>("Label").ToArray();
            Assert.All(allLabels, l => Assert.InRange(l, 0u, (uint)allScores[0].Length));
            var scores = allScores.Where((_, i) => allLabels[i] > 0).ToArray();
            var labels = allLabels.Where(l => l > 0).ToArray();
            Assert.True(labels.Length > allLabels.Length * 0.95);
            double logLoss = scores.Select((s, i) => -Math.Log(s[labels[i] - 1])).Average();
            double accuracy = scores.Select((s, i) => Array.IndexOf(s, s.Max()) + 1 == labels[i] ? 1.0 : 0.0).Average();
            Assert.Equal(logLoss, fold.Metrics.LogLoss, 4);
            Assert.Equal(accuracy, fold.Metrics.MicroAccuracy, 6);
        }
    }

    [Fact]
    public void CrossValidate_MissingLabelColumn_FailsBeforeTrainingNamingIt()
    {
        var ml = new MLContext(5);
        var data = ml.Data.LoadFromEnumerable(Pairs(NamesData.All.Take(40)));
        var progress = new CountingProgress();
        var options = Tiny(epochs: 1);
        options.Progress = progress;
        var pipeline = ml.MulticlassClassification.Trainers.TransformerDecoder(options)
            .Append(ml.Transforms.Conversion.MapNextCharacterToKey("Label", "Next"));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.CrossValidate(data, pipeline, numberOfFolds: 2));
        Assert.Contains("'Next'", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, progress.Reports);
    }

    [Fact]
    public void NextCharacterOutputs_LeanProfile_OnlyTheMulticlassColumnsWithTheSameScores()
    {
        var ml = new MLContext(1);
        var state = Onnx.OnnxModelFile.Read(_fitted.Model.GetOnnxModel(), "the fitted model").State;
        var lean = NextCharacterModel.FromWeights(ml, _fitted.Model.Info, state, NextCharacterOutputs.NextCharacter);
        var input = View(ml, Probes);
        var leanScored = lean.Transform(input);
        Assert.Equal(
            ["Text", NextCharacterColumns.PredictedNextChar, NextCharacterColumns.Score, NextCharacterColumns.PredictedLabel],
            leanScored.Schema.Where(c => !c.IsHidden).Select(c => c.Name).ToArray());
        var full = _fitted.Model.Transform(input);
        Assert.Equal(full.GetColumn<float[]>(NextCharacterColumns.Score), leanScored.GetColumn<float[]>(NextCharacterColumns.Score));
        Assert.Equal(full.GetColumn<uint>(NextCharacterColumns.PredictedLabel), leanScored.GetColumn<uint>(NextCharacterColumns.PredictedLabel));
        var noMetrics = Assert.Throws<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.EvaluateNextCharacter(leanScored));
        Assert.Contains("CreateChain(mlContext, NextCharacterOutputs.All)", noMetrics.Message, StringComparison.Ordinal);

        string zip = Path.Combine(Path.GetTempPath(), $"mlt-lean-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(lean, input.Schema, zip);
            var loaded = NextCharacterModel.Load(new MLContext(2), zip);
            var reloaded = loaded.Model.Transform(input);
            Assert.Equal(full.GetColumn<string>(NextCharacterColumns.PredictedNextChar), reloaded.GetColumn<string>(NextCharacterColumns.PredictedNextChar));
            Assert.Equal(_fitted.Model.Info.Vocabulary, NextCharacterLabelEstimator.Vocabulary(reloaded.Schema));
            Assert.Null(reloaded.Schema.GetColumnOrNull(NextCharacterColumns.Attention));

            // The zip keeps the graph cut to the two outputs the chain fetches; Load hands back the whole graph,
            // rebuilt from the same weights, so every column can still be had.
            using (var zipFile = System.IO.Compression.ZipFile.OpenRead(zip))
            {
                var entry = zipFile.Entries.Single(e => e.FullName.EndsWith("OnnxModel", StringComparison.Ordinal));
                using var stream = entry.Open();
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                var saved = global::Onnx.ModelProto.Parser.ParseFrom(copy.ToArray().AsSpan(4));
                Assert.Equal([MLNet.Transformer.Onnx.OnnxNames.Score, MLNet.Transformer.Onnx.OnnxNames.PredictedToken], saved.Graph.Output.Select(o => o.Name));
            }

            Assert.Equal(_fitted.Model.GetOnnxModel(), loaded.GetOnnxModel());

            // The same in a process without the engine: scores, and generation through the rebuilt graph.
            using var json = RunScoringProbe(zip, Probes);
            Assert.Equal(
                full.GetColumn<float[]>(NextCharacterColumns.Score).Select(r => r.Select(BitConverter.SingleToInt32Bits)),
                json.RootElement.GetProperty("scores").EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetInt32())));
            Assert.Equal(_fitted.Model.Generate(ProbeGeneration), json.RootElement.GetProperty("generated").EnumerateArray().Select(x => x.GetString()));
            Assert.Empty(json.RootElement.GetProperty("native").EnumerateArray());
            var everything = loaded.CreateChain(new MLContext(3), NextCharacterOutputs.All).Transform(input);
            Assert.Equal(full.GetColumn<float[]>(NextCharacterColumns.Attention), everything.GetColumn<float[]>(NextCharacterColumns.Attention));
        }
        finally
        {
            File.Delete(zip);
        }
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

    /// <summary>Every (prefix, next character) pair of <paramref name="words"/>, "&lt;EOS&gt;" after the last.</summary>
    private static Pair[] Pairs(IEnumerable<string> words) => [.. words.SelectMany(w => Enumerable.Range(0, w.Length + 1)
        .Select(k => new Pair { Text = w[..k], NextChar = k < w.Length ? w[k].ToString() : "<EOS>" }))];

    private static TransformerDecoderTrainerOptions Tiny(int epochs) => new()
    {
        Layers = 1, Heads = 1, ModelDimension = 16, FeedForwardDimension = 16, Epochs = epochs, Seed = 3, Device = "cpu",
    };

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

    private sealed class CountingProgress : IProgress<TrainingProgress>
    {
        public int Reports { get; private set; }

        public void Report(TrainingProgress value) => Reports++;
    }

    public sealed class NumberText
    {
        public int Text { get; set; }
    }
}
