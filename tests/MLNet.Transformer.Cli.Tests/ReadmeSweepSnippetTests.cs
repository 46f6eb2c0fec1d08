// The README's sweep snippet, kept compiling and running here (fewer epochs). When the README changes, change this
// file with it. (Split from ReadmeQuickStartTests: it belongs with src/AutoML, which migrates to Microsoft.ML separately.)
using MLNet.Transformer.AutoML;
using MLNet.Transformer.Data;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.TestKit;
using MLNet.Transformer.Text;

namespace MLNet.Transformer.Tests;

[Collection(TrainedCliModelGroup.Name)]
public sealed class ReadmeSweepSnippetTests : IDisposable
{
    private readonly TempFolder _folder = new();

    [Fact]
    public void SweepSnippet_SweepsAndRefits()
    {
        var ml = new MLContext(seed: 1);
        IDataView names = ml.Data.TakeRows(ml.Data.LoadFromTextLines(RepoPaths.Combine("data", "names.txt"), columnName: "Text"), 300);
        var space = ml.Auto().CreateSearchSpace(new TransformerDecoderTrainerOptions { ModelDimension = 32, FeedForwardDimension = 64 })
            .Choice(o => o.Heads, 1, 2, 4)
            .Choice(o => o.Layers, 1, 2, 3)
            .Constraint("heads must divide the model dimension", o => o.ModelDimension % o.Heads == 0);
        var sweep = ml.Auto().NextCharacterSweep(space, new SweepOptions { MaxEpochs = 2, MaxTrials = 9, Parallelism = 1, ThreadsPerTrial = 1 });
        sweep.Tuner = new GridTuner();
        sweep.Pruner = new AshaPruner(minEpochs: 1, reductionFactor: 3);
        using var best = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text")
            .Append(sweep).Fit(names);
        string csv = Path.Combine(_folder.Path, "sweep.csv");
        sweep.LastResult!.Report.WriteCsv(csv);

        Assert.Equal(9, sweep.LastResult.Trials.Count);
        Assert.Equal(10, File.ReadAllLines(csv).Length);
        Assert.NotNull(best.LastTransformer.History);
    }

    public void Dispose() => _folder.Dispose();
}
