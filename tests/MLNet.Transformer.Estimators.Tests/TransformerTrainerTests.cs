// Behaviour of the next-character trainers: schema conformance, determinism, validation, early stopping,
// devices, cancellation, and the honest encoder-decoder.
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Transformer.Engine;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.TestKit;
using Xunit;

namespace MLNet.Transformer.Tests;

[Collection(nameof(SerialEngine))]
public class TransformerTrainerTests
{
    private static readonly string[] Small = NamesData.All.Take(120).ToArray();

    [Fact]
    public void DecoderTrainer_Conformance_SchemaRejectionAndSaveLoadRoundTrip()
    {
        var ml = new MLContext(7);
        var options = NamesData.MiniFormer(epochs: 2);
        var trainer = ml.MulticlassClassification.Trainers.TransformerDecoder(options);

        // Invalid inputs: the Text column missing, and a number where text is expected.
        var noText = ml.Data.LoadFromEnumerable(Small.Select(w => new OtherColumn { Name = w }).ToArray());
        var wrongType = ml.Data.LoadFromEnumerable(Small.Select(w => new NumberText { Text = w.Length }).ToArray());
        var fitted = EstimatorConformance.Check(trainer, NamesData.View(ml, Small), NamesData.View(ml, NamesData.All.Skip(900)), (noText, "Text"), (wrongType, "Text"));
        Assert.Equal(NamesData.All.Take(120).SelectMany(w => w).Distinct().Count() + 4, fitted.Info.Vocabulary.Count);
    }

    [Fact]
    public void EncoderDecoderTrainer_Conformance_SchemaRejectionAndSaveLoadRoundTrip()
    {
        var ml = new MLContext(7);
        var trainer = ml.MulticlassClassification.Trainers.TransformerEncoderDecoder(new TransformerEncoderDecoderTrainerOptions
        {
            Layers = 1, Heads = 2, ModelDimension = 16, FeedForwardDimension = 16, Epochs = 1, Seed = 3, Device = "cpu",
        });
        var noText = ml.Data.LoadFromEnumerable(Small.Select(w => new OtherColumn { Name = w }).ToArray());
        EstimatorConformance.Check(trainer, NamesData.View(ml, Small), NamesData.View(ml, NamesData.All.Skip(950)), (noText, "Text"));

        // With a source column (word -> reversed word): both columns are checked.
        var pairs = ml.Data.LoadFromEnumerable(Small.Select(w => new Pair { Text = new string(w.Reverse().ToArray()), Source = w }).ToArray());
        var other = ml.Data.LoadFromEnumerable(NamesData.All.Skip(950).Select(w => new Pair { Text = new string(w.Reverse().ToArray()), Source = w }).ToArray());
        var withSource = ml.MulticlassClassification.Trainers.TransformerEncoderDecoder(new TransformerEncoderDecoderTrainerOptions
        {
            SourceColumnName = "Source", Layers = 1, Heads = 2, ModelDimension = 16, FeedForwardDimension = 16, Epochs = 1, Seed = 3, Device = "cpu",
        });
        EstimatorConformance.Check(withSource, pairs, other, (NamesData.View(ml, Small), "Source"));
    }

    [Fact]
    public void Fit_SameSeedTwice_IdenticalLossCurves_DifferentSeedDiffers()
    {
        double[] Curve(int seed)
        {
            var ml = new MLContext(1);
            var o = NamesData.MiniFormer(epochs: 3, seed);
            o.ValidationFraction = 0.2;
            o.Dropout = 0.1f; // dropout draws from the seeded generator too
            var m = NamesData.Trainer(ml, o).Fit(NamesData.View(ml, NamesData.All));
            return m.History!.Epochs.SelectMany(e => new[] { e.TrainLoss, e.ValidationLoss!.Value }).ToArray();
        }

        double[] a = Curve(11), b = Curve(11), c = Curve(12);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.True(a[^2] < a[0], "training loss must decrease");
    }

    [Fact]
    public void Fit_ValidationLoss_IsMeanOverEveryValidationToken()
    {
        var ml = new MLContext(1);
        var (train, valid) = NamesData.Split(ml, NamesData.All.Take(800), NamesData.All.Skip(800));
        var o = NamesData.MiniFormer(epochs: 2);
        o.ValidationSet = valid;
        o.KeepBestWeights = false;
        var m = ml.MulticlassClassification.Trainers.TransformerDecoder(o).Fit(train);
        double reported = m.History!.Epochs[^1].ValidationLoss!.Value;

        // Independent path: the exported ONNX model scored by ML.NET's OnnxTransformer, row losses token-weighted.
        var metrics = ml.MulticlassClassification.EvaluateNextCharacter(m.Transform(valid));
        Assert.Equal(reported, metrics.LogLoss, 4);
        long chars = NamesData.All.Skip(800).Sum(w => w.Length + 1); // characters + EOS
        Assert.Equal(chars, metrics.Tokens);
    }

    [Fact]
    public void Fit_EarlyStopping_StopsAndKeepsBestWeights()
    {
        var ml = new MLContext(1);
        var (train, valid) = NamesData.Split(ml, NamesData.All.Take(100), NamesData.All.Skip(900));
        var o = NamesData.MiniFormer(epochs: 60);
        o.ModelDimension = 64;
        o.FeedForwardDimension = 256;
        o.LearningRate = 1e-2f; // overfits and wobbles quickly on 100 words
        o.ValidationSet = valid;
        o.EarlyStoppingPatience = 3;
        var m = ml.MulticlassClassification.Trainers.TransformerDecoder(o).Fit(train);
        var h = m.History!;
        Assert.True(h.StoppedEarly);
        Assert.True(h.Epochs.Count < 60);
        Assert.Equal(h.BestValidationLoss!.Value, h.Epochs.Min(e => e.ValidationLoss!.Value), 10);
        var metrics = ml.MulticlassClassification.EvaluateNextCharacter(m.Transform(valid));
        Assert.Equal(h.BestValidationLoss!.Value, metrics.LogLoss, 4);
    }

    [Fact]
    public void Fit_CudaRequestedWithoutCuda_ThrowsDeviceUnavailable()
    {
        // One past the last device is absent everywhere (cuda:0 on a machine without CUDA).
        string absent = $"cuda:{EngineRuntime.CudaDeviceCount}";
        var ml = new MLContext(1);
        var o = NamesData.MiniFormer(epochs: 1);
        o.Device = absent;
        var e = Assert.Throws<DeviceUnavailableException>(() => NamesData.Trainer(ml, o).Fit(NamesData.View(ml, Small)));
        Assert.Contains(absent, e.Message, StringComparison.Ordinal);
        Assert.Equal(CudaMachine.ShouldHaveCuda ? "cuda:0" : "cpu", EngineRuntime.ResolveDevice("auto"));
    }

    [Fact]
    public void Fit_LearningRateFarTooHigh_ThrowsTrainingDivergedNamingEpochAndStep()
    {
        // Adam moves every weight by about the learning rate per step: 1e30 overflows the next forward pass.
        var ml = new MLContext(1);
        var o = NamesData.MiniFormer(epochs: 2);
        o.LearningRate = 1e30f;
        var e = Assert.Throws<TrainingDivergedException>(() => NamesData.Trainer(ml, o).Fit(NamesData.View(ml, Small)));
        Assert.Matches(@"^Training diverged at epoch 1, step \d+ of 16: ", e.Message);
        Assert.Contains("peak LearningRate 1E+30", e.Message, StringComparison.Ordinal);
        Assert.False(float.IsFinite(e.Loss) && float.IsFinite(e.GradientNorm), $"loss {e.Loss}, gradient norm {e.GradientNorm}");
    }

    [Fact]
    public void Fit_Cancelled_ThrowsOperationCanceled()
    {
        var ml = new MLContext(1);
        using var cts = new CancellationTokenSource();
        var o = NamesData.MiniFormer(epochs: 50);
        o.CancellationToken = cts.Token;
        o.Progress = new SyncProgress(p => { if (p.Step >= 20) { cts.Cancel(); } });
        Assert.ThrowsAny<OperationCanceledException>(() => NamesData.Trainer(ml, o).Fit(NamesData.View(ml, NamesData.All)));
    }

    [Theory]
    [InlineData(0, "Layers")]
    [InlineData(3, "Heads")]
    public void Options_Invalid_ThrowsNamingTheOption(int value, string option)
    {
        var ml = new MLContext(1);
        var o = NamesData.MiniFormer(1);
        if (option == "Layers") { o.Layers = value; } else { o.Heads = value; }
        var e = Assert.ThrowsAny<ArgumentException>(() => ml.MulticlassClassification.Trainers.TransformerDecoder(o));
        Assert.Contains(option, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TransformerDecoder_FlatOverloadWithSeed_FitsTheSameModelTwice()
    {
        var ml = new MLContext(1);
        var data = NamesData.View(ml, NamesData.All.Take(100));
        var probes = NamesData.View(ml, ["ma", "jo"]);
        float[][] Fit(int seed) => NamesData.Column<float[]>(
            ml.MulticlassClassification.Trainers.TransformerDecoder(epochs: 1, device: "cpu", seed: seed).Fit(data).Transform(probes), NextCharacterColumns.Score);
        Assert.Equal(Fit(7), Fit(7));
        Assert.NotEqual(Fit(7), Fit(8));
    }

    [Fact]
    public void Fit_RowLongerThanMaximumLength_ThrowsNamingColumnAndRow_OrTruncatesOrSkipsWithACount()
    {
        var ml = new MLContext(1);
        var o = NamesData.MiniFormer(1);
        o.MaximumLength = 6;   // BOS + 5 characters
        string[] words = ["cat", "caterpillar", "dog", "hippopotamus"];
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => NamesData.Trainer(ml, o).Fit(NamesData.View(ml, words)));
        Assert.Contains("Row 1 of the training data, column 'Text', has 11 characters", e.Message, StringComparison.Ordinal);
        Assert.Contains("MaximumLength", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", e.Message, StringComparison.Ordinal);   // options and columns, no C# names

        o.LengthPolicy = LengthPolicy.Skip;
        var skipped = NamesData.Trainer(ml, o).Fit(NamesData.View(ml, words));
        Assert.Equal((2, 0), (skipped.History!.SkippedRows, skipped.History.TruncatedRows));
        Assert.Equal(["a", "c", "d", "g", "o", "t"], skipped.Info.Vocabulary.Skip(4));   // skipped rows add no character

        var allLong = Assert.Throws<ArgumentException>(() => NamesData.Trainer(ml, o).Fit(NamesData.View(ml, ["caterpillar", "hippopotamus"])));
        Assert.Contains("Every training row is longer than MaximumLength (6)", allLong.Message, StringComparison.Ordinal);

        o.LengthPolicy = LengthPolicy.Truncate;
        var truncated = NamesData.Trainer(ml, o).Fit(NamesData.View(ml, words));
        Assert.Equal((0, 2), (truncated.History!.SkippedRows, truncated.History.TruncatedRows));
        // Scoring reads at most MaximumLength positions: a long text scores like its first five characters.
        var scored = truncated.Transform(NamesData.View(ml, ["caterpillar", "cater"]));
        var scores = scored.GetColumn<float[]>(NextCharacterColumns.Score).ToArray();
        Assert.Equal(scores[1], scores[0]);
    }

    [Fact]
    public void Fit_InitialModelPath_ResumesFromTheSavedWeights()
    {
        var ml = new MLContext(1);
        var data = NamesData.View(ml, NamesData.All);
        var o = NamesData.MiniFormer(epochs: 3, seed: 4);
        var first = NamesData.Trainer(ml, o).Fit(data);
        string zip = Path.Combine(Path.GetTempPath(), $"mlt-resume-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(first, data.Schema, zip);

            // The saved weights, loaded back into an ML.NET model without training, score like the fitted model.
            var (file, _) = NextCharacterModel.ReadOnnxModel(zip);
            var rebuilt = NextCharacterModel.FromWeights(ml, file.Info, file.State);
            Assert.Equal(first.Transform(data).GetColumn<float[]>(NextCharacterColumns.Score).Take(50), rebuilt.Transform(data).GetColumn<float[]>(NextCharacterColumns.Score).Take(50));

            // Resumed training starts where the first run ended: its first epoch beats a fresh model's first epoch by far.
            var resume = NamesData.MiniFormer(epochs: 1, seed: 9);
            resume.InitialModelPath = zip;
            var resumed = NamesData.Trainer(ml, resume).Fit(data);
            var fresh = NamesData.Trainer(ml, NamesData.MiniFormer(epochs: 1, seed: 9)).Fit(data);
            Assert.Equal(first.Info.Vocabulary, resumed.Info.Vocabulary);
            Assert.True(resumed.History!.Epochs[0].TrainLoss < first.History!.Epochs[0].TrainLoss - 0.05,
                $"resumed {resumed.History.Epochs[0].TrainLoss:F4} vs the first run's first epoch {first.History.Epochs[0].TrainLoss:F4}");
            Assert.True(resumed.History.Epochs[0].TrainLoss < fresh.History!.Epochs[0].TrainLoss - 0.05);

            // An architecture that disagrees with the saved model is an error naming the option.
            var wrong = NamesData.MiniFormer(epochs: 1);
            wrong.InitialModelPath = zip;
            wrong.ModelDimension = 64;
            var e = Assert.Throws<ArgumentException>(() => NamesData.Trainer(ml, wrong).Fit(data));
            Assert.Equal("ModelDimension", e.ParamName);
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [Fact]
    public void Fit_TrainingDataWithoutRows_ThrowsNamingIt()
    {
        var ml = new MLContext(1);
        var e = Assert.Throws<ArgumentException>(() => NamesData.Trainer(ml, NamesData.MiniFormer(1)).Fit(NamesData.View(ml, [])));
        Assert.Contains("no rows", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// The seed's FullTransformer let each position read its own target through an unmasked encoder; ours must not.
    /// The honest single-column encoder-decoder lands in the decoder-only model's range on held-out words, while the
    /// same network with the masks removed (the seed's leak) drives held-out loss towards zero, which proves this
    /// test can tell the two apart.
    /// </summary>
    [Fact]
    public void EncoderDecoder_SingleColumn_DoesNotSeeTheFuture()
    {
        var ml = new MLContext(1);
        var (train, valid) = NamesData.Split(ml, NamesData.All.Take(780), NamesData.All.Skip(780));
        var ed = new TransformerEncoderDecoderTrainerOptions
        {
            Layers = 1, Heads = 2, ModelDimension = 32, FeedForwardDimension = 64, Epochs = 12, Seed = 5, Device = "cpu", ValidationSet = valid,
        };
        var honest = ml.MulticlassClassification.Trainers.TransformerEncoderDecoder(ed).Fit(train);
        var dec = NamesData.MiniFormer(epochs: 12, seed: 5);
        dec.ValidationSet = valid;
        var decoder = ml.MulticlassClassification.Trainers.TransformerDecoder(dec).Fit(train);
        double honestLoss = honest.History!.BestValidationLoss!.Value;
        double decoderLoss = decoder.History!.BestValidationLoss!.Value;
        Assert.InRange(honestLoss, 1.8, 3.2);
        Assert.InRange(honestLoss / decoderLoss, 0.8, 1.25);

        // The leaky variant: same weights layout, masks off.
        var leaky = honest.Info.Architecture with { CausalEncoder = false, CausalCross = false, Seed = 5 };
        double leakyLoss = LeakyRun(leaky, honest.Info, NamesData.All.Take(780), NamesData.All.Skip(780));
        Assert.True(leakyLoss < 0.6, $"the leaky model should read its targets (held-out loss {leakyLoss:F3})");
    }

    private static double LeakyRun(TransformerModelConfig config, NextCharacterModelInfo info, IEnumerable<string> train, IEnumerable<string> valid)
    {
        var index = info.Vocabulary.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i);
        TokenRow Row(string w) => new([info.BosId, .. w.Select(c => index[c.ToString()]), info.EosId], null);
        var trainRows = train.Select(Row).ToList();
        var validRows = valid.Select(Row).ToList();
        using var model = TransformerModel.Create(config, "cpu");
        var o = new TransformerEncoderDecoderTrainerOptions { Epochs = 12, BatchSize = 16 };
        var loop = new TrainingLoop(o, info.PadId, selfSource: true);
        return loop.Run(model, trainRows, validRows, seed: 5).BestValidationLoss!.Value;
    }

    private sealed class OtherColumn
    {
        public string Name { get; set; } = "";
    }

    private sealed class NumberText
    {
        public int Text { get; set; }
    }

    private sealed class Pair
    {
        public string Text { get; set; } = "";

        public string Source { get; set; } = "";
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}

[CollectionDefinition(nameof(SerialEngine), DisableParallelization = true)]
public sealed class SerialEngine;
