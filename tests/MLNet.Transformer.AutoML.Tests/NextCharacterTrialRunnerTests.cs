// The real runner end to end on a slice of data/names.txt: a small pruned sweep over the decoder trainer.
using Microsoft.ML;
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
            Assert.Equal(t.EpochLosses[^1], t.ValidationLoss);
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
    public void NextCharacterSweep_Fit_SweepsThenRefitsTheBestAsAnMLNetModel()
    {
        var ml = new MLContext(seed: 1);
        var data = NamesData.View(ml, NamesData.Lines(300));
        var space = ml.TransformerSweep().CreateSearchSpace(BaseOptions()).Choice(o => o.Heads, 1, 2);
        var sweep = ml.TransformerSweep().NextCharacterSweep(space, new SweepOptions { MaxEpochs = 2, Seed = 4, ThreadsPerTrial = 1 });
        sweep.Tuner = new GridTuner();
        sweep.Pruner = new NoPruner();

        var model = FitAsEstimator(sweep, data);

        var result = sweep.LastResult!;
        Assert.Equal(2, result.WithStatus(TrialStatus.Completed).Count);
        Assert.Equal(result.Best!.Parameters.Get<int>("Heads"), model.Info.Architecture.Heads);
        Assert.Equal(2, model.History!.Epochs.Count);
        Assert.All(model.History.Epochs, e => Assert.True(e.ValidationLoss is > 0, e.ToString()));
        var metrics = ml.MulticlassClassification.EvaluateNextCharacter(model.Transform(data));
        Assert.True(double.IsFinite(metrics.LogLoss) && metrics.LogLoss > 0, metrics.ToString());
        Assert.Equal(300, metrics.Rows);
    }

    private static NextCharacterPredictionTransformer FitAsEstimator(IEstimator<NextCharacterPredictionTransformer> estimator, IDataView data) => estimator.Fit(data);

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
