// Issue 5's acceptance on the bundled names with the real engine: a heads {1,2,4} x layers {1,2,3} sweep beats the
// 1-layer, 1-head baseline; ASHA reaches the plain grid's best validation loss (within 0.02 nats: asynchronous
// halving may stop the grid's winner early and keep a runner-up of nearly equal loss) in clearly fewer epochs; an
// interrupted sweep keeps its finished trials.
using MLNet.Transformer.AutoML;
using MLNet.Transformer.Data;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.TestKit;
using MLNet.Transformer.Text;
using Xunit;
using Xunit.Abstractions;

namespace MLNet.Transformer.AutoML.Tests;

[Collection(nameof(NativeEngineSweeps))]
public class NamesSweepTests(ITestOutputHelper output)
{
    private const int Epochs = 18;

    private static (IDataView Train, IDataView Valid) Names(MLContext ml)
    {
        var all = File.ReadAllLines(RepoPaths.Combine("data", "names.txt")).Where(l => l.Length > 0).ToArray();
        IDataView View(IEnumerable<string> words) => ml.Data.LoadFromEnumerable(words.Select(w => new TextRow { Text = w }).ToArray());
        var tokenizer = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text").Fit(View(all));
        return (tokenizer.Transform(View(all.Where((_, i) => i % 5 != 0))), tokenizer.Transform(View(all.Where((_, i) => i % 5 == 0))));
    }

    private static Task<SweepResult> Sweep(MLContext ml, IPruner pruner, ISweepMonitor? monitor = null, CancellationToken ct = default)
    {
        var (train, valid) = Names(ml);
        var runner = new NextCharacterTrialRunner<TransformerDecoderTrainerOptions>(ml, train, valid);
        var space = ml.Auto().CreateSearchSpace(new TransformerDecoderTrainerOptions { ModelDimension = 32, FeedForwardDimension = 64, LearningRate = 3e-3f })
            .Choice(o => o.Heads, 1, 2, 4)
            .Choice(o => o.Layers, 1, 2, 3)
            .Constraint("heads must divide the model dimension", o => o.ModelDimension % o.Heads == 0);
        return ml.Auto().CreateSweep(space, runner, new SweepOptions { MaxEpochs = Epochs, MaxTrials = 9, Seed = 11, ThreadsPerTrial = 1 })
            .WithTuner(new GridTuner())
            .WithPruner(pruner)
            .WithMonitor(monitor)
            .RunAsync(ct);
    }

    [Fact]
    public async Task GridSweep_BeatsBaseline_AndAshaReachesItsBestInFewerEpochs()
    {
        var grid = await Sweep(new MLContext(1), new NoPruner());
        var asha = await Sweep(new MLContext(1), new AshaPruner(minEpochs: 2, reductionFactor: 3));
        foreach (var t in grid.Trials.Concat(asha.Trials))
        {
            output.WriteLine(t.ToString());
        }

        var baseline = grid.Trials.Single(t => t.Parameters.Key == "Heads=1,Layers=1");
        Assert.Equal(9, grid.WithStatus(TrialStatus.Completed).Count);
        Assert.True(grid.Best!.ValidationLoss < baseline.ValidationLoss - 0.01,
            $"best {grid.Best} should beat the 1x1 baseline ({baseline.ValidationLoss:F4})");

        double ratio = (double)asha.TotalEpochs / grid.TotalEpochs;
        output.WriteLine($"grid: {grid.TotalEpochs} epochs, best {grid.Best}; ASHA: {asha.TotalEpochs} epochs ({ratio:F2} of the grid), best {asha.Best}");
        Assert.InRange(asha.Best!.ValidationLoss - grid.Best.ValidationLoss, 0, 0.02);
        Assert.True(asha.Best.ValidationLoss < baseline.ValidationLoss, "ASHA's best must also beat the baseline");
        Assert.True(ratio < 0.7, $"ASHA used {ratio:P0} of the grid's epochs");
    }

    [Fact]
    public async Task Sweep_CancelledAfterThreeTrials_KeepsTheFinishedOnes()
    {
        using var cts = new CancellationTokenSource();
        var monitor = new CancelAfter(3, cts);
        var result = await Sweep(new MLContext(1), new NoPruner(), monitor, cts.Token);
        Assert.Equal(SweepStopReason.Cancelled, result.StopReason);
        Assert.True(result.WithStatus(TrialStatus.Completed).Count >= 3);
        Assert.All(result.WithStatus(TrialStatus.Completed), t => Assert.Equal(Epochs, t.EpochsRun));
        Assert.True(result.Trials.Count < 9);
        Assert.NotNull(result.Best);
    }

    private sealed class CancelAfter(int completed, CancellationTokenSource cts) : ISweepMonitor
    {
        private int _done;

        public void OnTrialCompleted(TrialResult result)
        {
            if (Interlocked.Increment(ref _done) >= completed)
            {
                cts.Cancel();
            }
        }
    }
}

internal sealed class TextRow
{
    public string Text { get; set; } = "";
}
