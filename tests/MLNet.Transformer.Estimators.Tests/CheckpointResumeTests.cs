// The trainers' checkpoints: a Fit cancelled after a periodic checkpoint and resumed with ResumeFrom ends with the
// weights of an uninterrupted Fit, bit for bit (dropout on, early stopping's best weights kept); the checkpoint Fit
// returns rebuilds the same scoring model and starts fine-tuning through InitialModelPath.
using Microsoft.ML;
using MLNet.Transformer.Checkpoints;
using MLNet.Transformer.LanguageModeling;
using Xunit;

namespace MLNet.Transformer.Tests;

[Collection(nameof(SerialEngine))]
public sealed class CheckpointResumeTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "mlt-ckpt-tests-" + Guid.NewGuid().ToString("N"));

    private static TransformerDecoderTrainerOptions Options(string checkpoints) => new()
    {
        Layers = 1, Heads = 2, ModelDimension = 16, FeedForwardDimension = 32, Dropout = 0.2f, Epochs = 4, BatchSize = 16,
        Seed = 5, Device = "cpu", ValidationFraction = 0.2, KeepBestWeights = true, CheckpointEvery = 9, CheckpointDirectory = checkpoints,
    };

    [Fact]
    public void Fit_CancelledAfterACheckpointThenResumed_SameWeightsBitForBit()
    {
        var ml = new MLContext(1);
        var data = NamesData.View(ml, NamesData.All.Take(400));
        var straight = ml.MulticlassClassification.Trainers.TransformerDecoder(Options(Path.Combine(_folder, "a"))).Fit(data);

        string interrupted = Path.Combine(_folder, "b");
        using var cts = new CancellationTokenSource();
        var stopping = Options(interrupted);
        stopping.CancellationToken = cts.Token;
        stopping.Progress = new CancelAt(30, cts); // mid-epoch 2, after the checkpoint of step 27
        Assert.ThrowsAny<OperationCanceledException>(() => ml.MulticlassClassification.Trainers.TransformerDecoder(stopping).Fit(data));
        Assert.Equal(27, Checkpoint.Load(interrupted).Training!.Step);

        var resuming = Options(interrupted);
        resuming.ResumeFrom = interrupted;
        var resumed = ml.MulticlassClassification.Trainers.TransformerDecoder(resuming).Fit(data);

        foreach (var (name, (_, weights)) in straight.Checkpoint!.Weights)
        {
            Assert.True(weights.AsSpan().SequenceEqual(resumed.Checkpoint!.Weights[name].Data), $"{name} differs");
        }

        Assert.Equal(straight.History!.Epochs.Select(e => e.ValidationLoss), resumed.History!.Epochs.Select(e => e.ValidationLoss));
    }

    [Fact]
    public void Fit_ResumeWithAnotherLearningRate_ThrowsNamingTheOption()
    {
        var ml = new MLContext(1);
        var data = NamesData.View(ml, NamesData.All.Take(100));
        string dir = Path.Combine(_folder, "c");
        ml.MulticlassClassification.Trainers.TransformerDecoder(Options(dir)).Fit(data);

        var other = Options(dir);
        other.ResumeFrom = dir;
        other.LearningRate = 3e-3f;
        var e = Assert.Throws<ArgumentException>(() => ml.MulticlassClassification.Trainers.TransformerDecoder(other).Fit(data));
        Assert.Equal(nameof(TransformerTrainerOptions.LearningRate), e.ParamName);
    }

    [Fact]
    public void FromCheckpoint_FittedModelsCheckpoint_ScoresAsTheFittedModel()
    {
        var ml = new MLContext(1);
        var data = NamesData.View(ml, NamesData.All.Take(100));
        var fitted = ml.MulticlassClassification.Trainers.TransformerDecoder(Options(Path.Combine(_folder, "d"))).Fit(data);
        string saved = Path.Combine(_folder, "model");
        fitted.Checkpoint!.Save(saved);

        var rebuilt = NextCharacterModel.FromCheckpoint(ml, Checkpoint.Load(saved));

        var probe = NamesData.View(ml, NamesData.All.Skip(900).Take(20));
        Assert.Equal(
            NamesData.Column<double>(fitted.Transform(probe), "LogLoss"),
            NamesData.Column<double>(rebuilt.Transform(probe), "LogLoss"));
        Assert.Equal(fitted.GetOnnxModel(), rebuilt.GetOnnxModel());
    }

    [Fact]
    public void InitialModelPath_Checkpoint_StartsFromItsWeights()
    {
        var ml = new MLContext(1);
        var data = NamesData.View(ml, NamesData.All.Take(100));
        var fitted = ml.MulticlassClassification.Trainers.TransformerDecoder(Options(Path.Combine(_folder, "e"))).Fit(data);
        string saved = Path.Combine(_folder, "start");
        fitted.Checkpoint!.Save(saved);

        // A fine-tuning run whose learning rate is tiny keeps the checkpoint's weights almost exactly; from fresh
        // weights its validation loss would be near ln(V).
        var o = Options(Path.Combine(_folder, "f"));
        o.InitialModelPath = saved;
        o.LearningRate = 1e-9f;
        o.Epochs = 1;
        var tuned = ml.MulticlassClassification.Trainers.TransformerDecoder(o).Fit(data);

        Assert.Equal(fitted.Info.Vocabulary, tuned.Info.Vocabulary);
        Assert.True(Math.Abs(tuned.History!.Epochs[0].ValidationLoss!.Value - fitted.History!.BestValidationLoss!.Value) < 1e-3);
    }

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    /// <summary>Cancels synchronously once a progress report reaches a step (reports come every 10 steps).</summary>
    private sealed class CancelAt(long step, CancellationTokenSource cts) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Step >= step)
            {
                cts.Cancel();
            }
        }
    }
}
