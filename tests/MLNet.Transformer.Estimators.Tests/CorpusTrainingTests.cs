// Corpus training (TrainingMode.Corpus): the window generator is SplitMix64 (checked against its published first
// output), windows and the validation tail cover the stream as specified, a Fit learns running text and reports
// per-evaluation records, and a cancelled corpus run resumes bit for bit.
using Microsoft.ML;
using MLNet.Transformer.Checkpoints;
using MLNet.Transformer.LanguageModeling;
using Xunit;

namespace MLNet.Transformer.Tests;

[Collection(nameof(SerialEngine))]
public sealed class CorpusTrainingTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "mlt-corpus-tests-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Draw_SeedZero_IsSplitMix64sFirstOutputs()
    {
        // SplitMix64 (Steele, Lea and Flood 2014) seeded with 0: 0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F.
        Assert.Equal(0xE220A8397B1DCDAFUL, CorpusWindows.Draw(0, 0));
        Assert.Equal(0x6E789E6AA1B965F4UL, CorpusWindows.Draw(0, 1));
        Assert.Equal(0x06C45D188009454FUL, CorpusWindows.Draw(0, 2));
    }

    [Fact]
    public void Batch_Windows_StartWithBosAndTargetsAreTheInputsShiftedByOneInsideTheTrainingHead()
    {
        var tokens = Enumerable.Range(0, 1000).Select(i => (ushort)(4 + (i % 50))).ToArray();
        var corpus = new CorpusStream(tokens, tokens.Length, 0.1);
        Assert.Equal(900, corpus.TrainLength);

        var batch = CorpusWindows.Batch(corpus, 42, step: 3, batch: 8, context: 16, bosId: 1);
        var x = batch.Tokens.ToArray();
        var y = batch.Targets.ToArray();
        for (int b = 0; b < 8; b++)
        {
            int start = (int)(CorpusWindows.Draw(42, (3 * 8) + (ulong)b) % (900 - 16));
            for (int t = 0; t < 16; t++)
            {
                Assert.Equal(t == 0 ? 1 : tokens[start + t], x[(b * 16) + t]);
                Assert.Equal(tokens[start + t + 1], y[(b * 16) + t]);
            }
        }
    }

    [Fact]
    public void Validation_Tail_EveryCharacterButTheFirstIsATargetOnce()
    {
        var tokens = Enumerable.Range(0, 1000).Select(i => (ushort)(4 + (i % 50))).ToArray();
        var corpus = new CorpusStream(tokens, tokens.Length, 0.1);

        var batches = CorpusWindows.Validation(corpus, context: 16, padId: 0, bosId: 1, rowsPerBatch: 3);
        Assert.All(batches, b => Assert.All(Enumerable.Range(0, b.BatchSize), r => Assert.Equal(1, b.Tokens.Span[r * 16])));

        var targets = batches.SelectMany(b => b.Targets.ToArray()).Where(t => t != 0).ToArray();
        Assert.Equal(tokens[901..].Select(t => (long)t), targets);
    }

    [Fact]
    public void Fit_Corpus_LearnsRunningTextAndEvaluatesEveryKSteps()
    {
        var ml = new MLContext(1);
        var data = NamesData.View(ml, NamesData.All.Take(600));
        var options = Options(steps: 60);
        var model = ml.MulticlassClassification.Trainers.TransformerDecoder(options).Fit(data);

        var h = model.History!;
        Assert.Equal(3, h.Epochs.Count); // steps 20, 40, 60
        Assert.Equal(60, h.Steps);
        double uniform = Math.Log(model.Info.Vocabulary.Count - 4);
        Assert.True(h.Epochs[^1].ValidationLoss < uniform - 0.3, $"validation {h.Epochs[^1].ValidationLoss} against uniform {uniform}");
        Assert.True(h.Epochs[^1].ValidationLoss < h.Epochs[0].ValidationLoss);
        Assert.Equal(16, model.Info.Architecture.MaxLength);
        Assert.Contains("\n", model.Info.Vocabulary); // the separator is a character of the stream
    }

    [Fact]
    public void Fit_CorpusCancelledThenResumed_SameWeightsBitForBit()
    {
        var ml = new MLContext(1);
        var data = NamesData.View(ml, NamesData.All.Take(300));
        var straight = ml.MulticlassClassification.Trainers.TransformerDecoder(Options(steps: 50, Path.Combine(_folder, "a"))).Fit(data);

        string dir = Path.Combine(_folder, "b");
        using var cts = new CancellationTokenSource();
        var stopping = Options(steps: 50, dir);
        stopping.CancellationToken = cts.Token;
        stopping.Progress = new CancelAt(30, cts);
        Assert.ThrowsAny<OperationCanceledException>(() => ml.MulticlassClassification.Trainers.TransformerDecoder(stopping).Fit(data));
        Assert.Equal(28, Checkpoint.Load(dir).Training!.Step);

        var resuming = Options(steps: 50, dir);
        resuming.ResumeFrom = dir;
        var resumed = ml.MulticlassClassification.Trainers.TransformerDecoder(resuming).Fit(data);

        foreach (var (name, (_, weights)) in straight.Checkpoint!.Weights)
        {
            Assert.True(weights.AsSpan().SequenceEqual(resumed.Checkpoint!.Weights[name].Data), $"{name} differs");
        }
    }

    [Fact]
    public void Fit_CorpusWithEncoderDecoder_ThrowsNamingMode()
    {
        var ml = new MLContext(1);
        var options = new TransformerEncoderDecoderTrainerOptions { Mode = TrainingMode.Corpus, Device = "cpu" };
        var e = Assert.Throws<ArgumentException>(() => ml.MulticlassClassification.Trainers.TransformerEncoderDecoder(options).Fit(NamesData.View(ml, NamesData.All.Take(50))));
        Assert.Equal(nameof(TransformerTrainerOptions.Mode), e.ParamName);
    }

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private static TransformerDecoderTrainerOptions Options(int steps, string? checkpoints = null) => new()
    {
        Mode = TrainingMode.Corpus, ContextLength = 16, MaxSteps = steps, EvaluateEvery = 20, BatchSize = 8,
        Layers = 1, Heads = 2, ModelDimension = 32, FeedForwardDimension = 64, Dropout = 0.1f, LearningRate = 3e-3f,
        Seed = 9, Device = "cpu", ValidationFraction = 0.1,
        CheckpointEvery = checkpoints is null ? 0 : 7, CheckpointDirectory = checkpoints,
    };

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
