// The real runner end to end on a slice of data/names.txt: a small pruned sweep over the decoder trainer, early
// stopping inside a trial (the trainer stops where the sweep says and keeps that epoch's weights), and the refits.
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Transformer.AutoML;
using MLNet.Transformer.LanguageModeling;
using Xunit;
using Xunit.Abstractions;

namespace MLNet.Transformer.AutoML.Tests;

[CollectionDefinition(nameof(NativeEngineSweeps), DisableParallelization = true)]
public sealed class NativeEngineSweeps;

[Collection(nameof(NativeEngineSweeps))]
public class NextCharacterTrialRunnerTests
{
    private readonly ITestOutputHelper _output;

    public NextCharacterTrialRunnerTests(ITestOutputHelper output) => _output = output;

    private static (IDataView Train, IDataView Valid) Names(MLContext ml)
    {
        var all = NamesData.Lines(360);
        return (NamesData.View(ml, all.Take(300)), NamesData.View(ml, all.Skip(300)));
    }

    private static TransformerDecoderTrainerOptions BaseOptions() => new()
    {
        Layers = 1, Heads = 1, ModelDimension = 16, FeedForwardDimension = 16, BatchSize = 32, LearningRate = 3e-3f,
    };

    [Fact]
    public async Task RunAsync_DecoderSweepWithAsha_TrainsRealTrialsAndRanksThem()
    {
        var ml = new MLContext(seed: 1);
        var (train, valid) = Names(ml);
        var runner = new NextCharacterTrialRunner<TransformerDecoderTrainerOptions>(ml, train, valid);
        var trained = new List<long>();
        runner.OnTrained = (_, model) => trained.Add(model.ParameterCount);
        var space = ml.TransformerSweep().CreateSearchSpace(BaseOptions())
            .Choice(o => o.Heads, 1, 2, 3)
            .Range(o => o.Layers, 1, 2)
            .Constraint("heads must divide the model dimension", o => o.ModelDimension % o.Heads == 0);

        var result = await ml.TransformerSweep().CreateSweep(space, runner, new SweepOptions { MaxEpochs = 3, MaxTrials = 4, Seed = 5, ThreadsPerTrial = 1 })
            .WithTuner(new GridTuner())
            .WithPruner(new AshaPruner(minEpochs: 1, reductionFactor: 2))
            .RunAsync();

        foreach (var t in result.Trials)
        {
            _output.WriteLine(t.ToString());
        }

        Assert.All(result.WithStatus(TrialStatus.Skipped), t => Assert.Equal(3, t.Parameters.Get<int>("Heads")));
        var ran = result.Trials.Where(t => t.Status != TrialStatus.Skipped).ToList();
        Assert.Equal(4, ran.Count);
        Assert.All(ran, t =>
        {
            Assert.True(t.Status is TrialStatus.Completed or TrialStatus.Pruned, t.ToString());
            Assert.True(double.IsFinite(t.ValidationLoss) && t.ValidationLoss > 0, t.ToString());
            Assert.Equal(t.EpochsRun, t.EpochLosses.Count);
            Assert.Equal(t.EpochLosses[^1], t.LastValidationLoss);
            Assert.Equal(t.EpochLosses[t.BestEpoch - 1], t.ValidationLoss);
        });
        Assert.All(result.WithStatus(TrialStatus.Completed), t => Assert.Equal(3, t.EpochsRun));
        Assert.All(result.WithStatus(TrialStatus.Pruned), t => Assert.Contains(t.EpochsRun, new[] { 1, 2 }));
        Assert.NotNull(result.Best);
        Assert.Equal(result.WithStatus(TrialStatus.Completed).Count, trained.Count);
        Assert.True(result.Best.Metrics["ParameterCount"] > 0);
    }

    [Fact]
    public async Task RunAsync_NoValidationData_FailsTheTrialNamingValidation()
    {
        var ml = new MLContext(seed: 1);
        var (train, _) = Names(ml);
        var runner = new NextCharacterTrialRunner<TransformerDecoderTrainerOptions>(ml, train);
        var space = SweepSearchSpace.Create(BaseOptions()).Choice(o => o.Heads, 1);

        var result = await ml.TransformerSweep().CreateSweep(space, runner, new SweepOptions { MaxEpochs = 1, Seed = 2 }).WithTuner(new GridTuner()).RunAsync();

        var trial = Assert.Single(result.Trials);
        Assert.Equal(TrialStatus.Failed, trial.Status);
        Assert.Contains("validation", trial.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task RunAsync_OverfittingTrial_StopsEarlyWhereTheSweepSaysAndKeepsTheBestEpochsWeights()
    {
        // 60 names and a high learning rate: the validation loss turns up within a few epochs.
        var ml = new MLContext(seed: 1);
        var all = NamesData.Lines(120);
        var train = NamesData.View(ml, all.Take(60));
        var valid = NamesData.View(ml, all.Skip(60));
        var runner = new NextCharacterTrialRunner<TransformerDecoderTrainerOptions>(ml, train, valid);
        TrainingHistory? history = null;
        double? rescored = null;
        runner.OnTrained = (_, model) =>
        {
            history = model.History;
            rescored = ml.MulticlassClassification.EvaluateNextCharacter(model.Transform(valid)).LogLoss;
        };
        var options = new TransformerDecoderTrainerOptions
        {
            Layers = 2, Heads = 2, ModelDimension = 32, FeedForwardDimension = 128, BatchSize = 8, LearningRate = 1e-2f,
        };
        var space = ml.TransformerSweep().CreateSearchSpace(options).Choice(o => o.Layers, 2);

        var result = await ml.TransformerSweep().CreateSweep(space, runner,
                new SweepOptions { MaxEpochs = 40, Seed = 3, ThreadsPerTrial = 1, EarlyStoppingPatience = 2 })
            .WithTuner(new GridTuner())
            .RunAsync();

        var trial = Assert.Single(result.Trials);
        _output.WriteLine(trial.ToString());
        Assert.Equal(TrialStatus.Completed, trial.Status);
        Assert.True(trial.StoppedEarly, trial.ToString());
        Assert.Equal(trial.BestEpoch + 2, trial.EpochsRun); // two epochs without improvement after the best
        Assert.Equal(trial.EpochLosses.Min(), trial.ValidationLoss);
        Assert.True(trial.LastValidationLoss > trial.ValidationLoss);

        // The trainer stopped at the same epoch by the same rule and restored the best epoch's weights: scoring the
        // validation names with the returned model gives the best epoch's loss, not the last one's.
        Assert.NotNull(history);
        Assert.Equal(trial.EpochsRun, history.Epochs.Count);
        Assert.True(history.StoppedEarly && history.RestoredBestWeights);
        Assert.Equal(trial.BestEpoch, history.BestEpoch);
        Assert.Equal(trial.ValidationLoss, history.BestValidationLoss);
        Assert.Equal(trial.ValidationLoss, rescored!.Value, 1e-4);
    }

    [Fact]
    public async Task RunAsync_SearchedPatience_EachTrialStopsWithItsOwnPatience()
    {
        var ml = new MLContext(seed: 1);
        var all = NamesData.Lines(120);
        var runner = new NextCharacterTrialRunner<TransformerDecoderTrainerOptions>(ml, NamesData.View(ml, all.Take(60)), NamesData.View(ml, all.Skip(60)));
        var options = new TransformerDecoderTrainerOptions
        {
            Layers = 2, Heads = 2, ModelDimension = 32, FeedForwardDimension = 128, BatchSize = 8, LearningRate = 1e-2f,
        };
        var space = ml.TransformerSweep().CreateSearchSpace(options).Choice(o => o.EarlyStoppingPatience, 1, 3);

        // The sweep's own patience is off: each configuration's searched value rules its trial.
        var result = await ml.TransformerSweep().CreateSweep(space, runner,
                new SweepOptions { MaxEpochs = 40, Seed = 3, ThreadsPerTrial = 1, EarlyStoppingPatience = 0 })
            .WithTuner(new GridTuner())
            .RunAsync();

        Assert.Equal(2, result.Trials.Count);
        Assert.All(result.Trials, t =>
        {
            Assert.True(t.StoppedEarly, t.ToString());
            Assert.Equal(t.BestEpoch + t.Parameters.Get<int>("EarlyStoppingPatience"), t.EpochsRun);
        });
    }

    [Fact]
    public void NextCharacterSweep_Fit_RefitsTheWinnerOnAllTheDataForItsBestEpochCount()
    {
        var ml = new MLContext(seed: 1);
        var data = NamesData.View(ml, NamesData.Lines(300));
        var space = ml.TransformerSweep().CreateSearchSpace(BaseOptions()).Choice(o => o.Heads, 1, 2);
        var sweep = ml.TransformerSweep().NextCharacterSweep(space,
            new SweepOptions { MaxEpochs = 6, Seed = 4, ThreadsPerTrial = 1, RepeatTopConfigurations = 1, RepeatSeeds = 1 });
        sweep.Tuner = new GridTuner();
        sweep.Pruner = new NoPruner();

        var model = FitAsEstimator(sweep, data);

        var result = sweep.LastResult!;
        Assert.Equal(3, result.WithStatus(TrialStatus.Completed).Count); // two configurations, the better one twice
        var winner = result.BestConfiguration!;
        Assert.Equal(2, winner.Runs.Count);
        Assert.Equal(winner.Parameters.Get<int>("Heads"), model.Info.Architecture.Heads);
        int epochs = (int)Math.Round(winner.Runs.Average(t => t.BestEpoch), MidpointRounding.AwayFromZero);
        Assert.Equal(epochs, model.History!.Epochs.Count);
        Assert.All(model.History.Epochs, e => Assert.Null(e.ValidationLoss)); // nothing held out
        var refit = sweep.LastRefit!;
        Assert.Equal(SweepRefit.AllData, refit.Mode);
        Assert.Equal(300, refit.Rows);
        Assert.Equal(epochs, refit.Epochs);
        Assert.Equal(winner.BestRun, refit.Trial);
        var metrics = ml.MulticlassClassification.EvaluateNextCharacter(model.Transform(data));
        Assert.True(double.IsFinite(metrics.LogLoss) && metrics.LogLoss > 0, metrics.ToString());
        Assert.Equal(300, metrics.Rows);
    }

    [Fact]
    public void NextCharacterSweep_FitKeepingTheBestTrial_ReturnsThatTrialsModel()
    {
        var ml = new MLContext(seed: 1);
        var data = NamesData.View(ml, NamesData.Lines(300));
        var space = ml.TransformerSweep().CreateSearchSpace(BaseOptions()).Choice(o => o.Heads, 1, 2);
        var sweep = ml.TransformerSweep().NextCharacterSweep(space, new SweepOptions { MaxEpochs = 4, Seed = 4, ThreadsPerTrial = 1 });
        sweep.Tuner = new GridTuner();
        sweep.Pruner = new NoPruner();
        sweep.Refit = SweepRefit.BestTrial;

        var model = FitAsEstimator(sweep, data);

        var best = sweep.LastResult!.Best!;
        Assert.Equal(best.Parameters.Get<int>("Heads"), model.Info.Architecture.Heads);
        Assert.Equal(best.EpochsRun, model.History!.Epochs.Count);
        Assert.Equal(best.EpochLosses, model.History.Epochs.Select(e => e.ValidationLoss!.Value));
        Assert.Equal(best.ValidationLoss, model.History.BestValidationLoss);
        Assert.Equal(SweepRefit.BestTrial, sweep.LastRefit!.Mode);
        Assert.InRange(sweep.LastRefit.Rows, 200, 280); // the trial trained on the 4/5 that the split kept
    }

    [Fact]
    public void SharedStudy_FinalizedByAWorkerThatRanNoTrial_ReturnsTheBestTrialsOwnModelWithoutTrainingIt()
    {
        var ml = new MLContext(seed: 1);
        var data = NamesData.View(ml, NamesData.Lines(300));
        using var folder = new StudyFolder();
        string url = $"sqlite:///{folder.File("study.db")}";
        var space = ml.TransformerSweep().CreateSearchSpace(BaseOptions()).Choice(o => o.Heads, 1, 2);
        SweepableTransformerTrainer<TransformerDecoderTrainerOptions> Worker(bool finalizeOnly)
        {
            var sweep = ml.TransformerSweep().NextCharacterSweep(space, new SweepOptions
            {
                MaxEpochs = 3, Seed = 4, ThreadsPerTrial = 1, Storage = url, StudyName = "kept", FinalizeOnly = finalizeOnly,
            });
            sweep.Tuner = new GridTuner();
            sweep.Pruner = new NoPruner();
            sweep.Refit = SweepRefit.BestTrial;
            return sweep;
        }

        var ran = Worker(finalizeOnly: false);
        var trained = FitAsEstimator(ran, data);   // runs both trials and finalizes with the winner it holds
        var finalizer = Worker(finalizeOnly: true);
        var kept = FitAsEstimator(finalizer, data); // runs no trial: the winner comes from the store

        var member = Assert.Single(finalizer.LastRefit!.Members);
        Assert.Equal(ran.LastRefit!.Members[0].Trial.Id, member.Trial.Id);
        Assert.Equal(0, member.Seconds); // not trained again
        Assert.Equal(trained.History!.Epochs, kept.History!.Epochs);
        foreach (var (name, (_, weights)) in trained.Checkpoint!.Weights)
        {
            Assert.True(weights.AsSpan().SequenceEqual(kept.Checkpoint!.Weights[name].Data), $"{name} differs");
        }

        float[] Scores(NextCharacterPredictionTransformer m) =>
            [.. m.Transform(data).GetColumn<float[]>(NextCharacterColumns.Score).SelectMany(r => r)];
        Assert.Equal(Scores(trained), Scores(kept));
    }

    [Fact]
    public void NextCharacterSweep_FitWithAnEnsemble_ScoresTheMeanOfTheTopConfigurationsRefits()
    {
        var ml = new MLContext(seed: 1);
        var data = NamesData.View(ml, NamesData.Lines(300));
        var space = ml.TransformerSweep().CreateSearchSpace(BaseOptions()).Choice(o => o.Heads, 1, 2);
        var sweep = ml.TransformerSweep().NextCharacterSweep(space,
            new SweepOptions { MaxEpochs = 5, Seed = 4, ThreadsPerTrial = 1, RepeatTopConfigurations = 1, RepeatSeeds = 1 });
        sweep.Tuner = new GridTuner();
        sweep.Pruner = new NoPruner();
        sweep.EnsembleSize = 3;                 // two configurations give two members

        var ensemble = FitAsEstimator(sweep, data);

        var refit = sweep.LastRefit!;
        var ranked = sweep.LastResult!.Leaderboard.Configurations;
        Assert.Equal(ranked.Select(c => c.Parameters.Key), refit.Members.Select(m => m.Configuration.Parameters.Key));
        Assert.Equal(ranked.Select(c => c.Parameters.Get<int>("Heads")), ensemble.Architectures.Select(a => a.Heads));
        Assert.Equal(ranked[0].Parameters.Get<int>("Heads"), ensemble.Info.Architecture.Heads);
        Assert.Equal(refit.Members[0].Epochs, ensemble.History!.Epochs.Count);

        // Each member again, by hand, as the refit describes it: the ensemble scores the mean of their probabilities.
        var scores = refit.Members.Select(m =>
        {
            var options = space.Materialize(m.Trial.Parameters);
            options.Epochs = m.Epochs;
            options.Seed = m.Trial.Seed;
            options.ValidationFraction = 0;
            options.EarlyStoppingPatience = 0;
            options.Threads = 1;
            return Scores(ml.MulticlassClassification.Trainers.Transformer(options).Fit(data), data);
        }).ToArray();
        var together = Scores(ensemble, data);
        Assert.Equal(300, together.Length);
        for (int r = 0; r < together.Length; r++)
        {
            for (int k = 0; k < together[r].Length; k++)
            {
                double mean = (scores[0][r][k] + scores[1][r][k]) / 2.0;
                Assert.True(Math.Abs(together[r][k] - mean) <= 1e-5, $"row {r}, token {k}: ensemble {together[r][k]}, mean of the refits {mean}");
            }
        }

        static float[][] Scores(ITransformer model, IDataView data) =>
            [.. model.Transform(data).GetColumn<float[]>(NextCharacterColumns.Score)];
    }

    private static NextCharacterPredictionTransformer FitAsEstimator(IEstimator<NextCharacterPredictionTransformer> estimator, IDataView data) => estimator.Fit(data);

    [Fact]
    public void NextCharacterSweep_Fit_EveryTrialFailed_TheErrorGivesAFailedTrialsCause()
    {
        var ml = new MLContext(seed: 1);
        var data = NamesData.View(ml, NamesData.Lines(60));
        var options = BaseOptions();
        options.InitialModelPath = Path.Combine(Path.GetTempPath(), "mlt-no-such-model-" + Guid.NewGuid().ToString("N") + ".zip");
        var space = ml.TransformerSweep().CreateSearchSpace(options).Choice(o => o.Heads, 1, 2);
        var sweep = ml.TransformerSweep().NextCharacterSweep(space, new SweepOptions { MaxEpochs = 1, Seed = 4, ThreadsPerTrial = 1 });
        sweep.Tuner = new GridTuner();

        var e = Assert.ThrowsAny<TransformerException>(() => FitAsEstimator(sweep, data));

        Assert.Contains("2 Failed", e.Message);
        Assert.Contains(Path.GetFileName(options.InitialModelPath), e.Message); // the cause, not only the count
    }

    [Fact]
    public void SharedStudy_GridOverAContinuousParameter_RefusedWithoutCreatingTheStore()
    {
        var ml = new MLContext(seed: 1);
        var data = NamesData.View(ml, NamesData.Lines(60));
        using var folder = new StudyFolder();
        string db = folder.File("study.db");
        var space = ml.TransformerSweep().CreateSearchSpace(BaseOptions()).Uniform(o => o.Dropout, 0.0, 0.2);
        var sweep = ml.TransformerSweep().NextCharacterSweep(space, new SweepOptions { MaxEpochs = 1, Seed = 4, Storage = $"sqlite:///{db}", StudyName = "s" });
        sweep.Tuner = new GridTuner();
        sweep.Refit = SweepRefit.BestTrial;

        var e = Assert.Throws<TransformerArgumentException>(() => FitAsEstimator(sweep, data));

        Assert.Contains("'Dropout'", e.Message, StringComparison.Ordinal);
        Assert.Empty(folder.Folder.GetFiles());
    }

    [Fact]
    public void NextCharacterSweep_Fit_WithoutTheTextColumn_ThrowsNamingItBeforeAnyTrial()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new { Name = "anna" } });
        var space = ml.TransformerSweep().CreateSearchSpace(BaseOptions()).Choice(o => o.Heads, 1, 2);
        var sweep = ml.TransformerSweep().NextCharacterSweep(space, new SweepOptions { MaxEpochs = 1, Seed = 4 });

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => sweep.Fit(data));
        Assert.Contains("'Text'", e.Message, StringComparison.Ordinal);
        Assert.Null(sweep.LastResult);
    }
}
