// The README's sweep snippet, kept compiling and running here (fewer epochs). When the README changes, change this
// file with it. (Split from ReadmeQuickStartTests, whose quick start now runs as a program; this is the mlnet branch's version.)
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Transformer.AutoML;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.TestKit;

namespace MLNet.Transformer.Tests;

[Collection(TrainedCliModelGroup.Name)]
public sealed class ReadmeSweepSnippetTests : IDisposable
{
    private readonly TempFolder _folder = new();

    [Fact]
    public void SweepSnippet_SweepsAndRefits()
    {
        var ml = new MLContext(seed: 1);
        IDataView names = ml.Data.TakeRows(ml.Data.LoadFromTextFile(RepoPaths.Combine("data", "names.txt"), [new TextLoader.Column("Text", DataKind.String, 0)]), 300);
        var space = ml.TransformerSweep().CreateSearchSpace(new TransformerDecoderTrainerOptions { ModelDimension = 32, FeedForwardDimension = 64 })
            .Choice(o => o.Heads, 1, 2, 4)
            .Choice(o => o.Layers, 1, 2, 3)
            .LogUniform(o => o.LearningRate, 3e-4, 3e-3)
            .Constraint("heads must divide the model dimension", o => o.ModelDimension % o.Heads == 0);
        var sweep = ml.TransformerSweep().NextCharacterSweep(space, new SweepOptions
        {
            MaxEpochs = 2, MaxTrials = 9, Seed = 11, ThreadsPerTrial = 1, EarlyStoppingPatience = 5, RepeatTopConfigurations = 3, RepeatSeeds = 2,
        });
        sweep.Tuner = new TpeTuner();
        sweep.Pruner = new AshaPruner(minEpochs: 2, reductionFactor: 3);
        sweep.Refit = SweepRefit.AllData;
        sweep.EnsembleSize = 3;
        var best = sweep.Fit(names);
        string csv = Path.Combine(_folder.Path, "sweep.csv");
        sweep.LastResult!.Report.WriteCsv(csv);

        Assert.Equal(9 + (3 * 2), sweep.LastResult.Trials.Count);
        Assert.Equal(16, File.ReadAllLines(csv).Length);
        var winner = sweep.LastResult.BestConfiguration!;
        Assert.Equal(3, winner.Runs.Count);
        Assert.Equal((int)Math.Round(winner.MeanBestEpoch, MidpointRounding.AwayFromZero), best.History!.Epochs.Count);
        Assert.Equal(winner.Parameters.Get<int>("Heads"), best.Info.Architecture.Heads);
        Assert.Equal(sweep.LastResult.Leaderboard.Configurations.Take(3).Select(c => c.Parameters.Get<int>("Layers")), best.Architectures.Select(a => a.Layers));
    }

    public void Dispose() => _folder.Dispose();
}
