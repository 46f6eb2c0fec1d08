// The sweep with the real engine on the bundled names: ASHA's decisions replayed on the plain grid's own learning
// curves (the same trials, bit for bit, since a trial's seed depends only on the sweep seed and its id), so the test
// checks the pruner and the sweep's bookkeeping, not how one split of the data happens to rank the models; an
// interrupted sweep keeps its finished trials. How much ASHA saves on this data is a measurement (README,
// ./build.sh bench-sweep), not an assertion.
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
    public async Task Asha_OnRealTrials_PrunesExactlyWhereTheRuleSaysOnTheGridsCurves()
    {
        const int MinEpochs = 2, Eta = 3;
        var grid = await Sweep(new MLContext(1), new NoPruner());
        var asha = await Sweep(new MLContext(1), new AshaPruner(MinEpochs, Eta));
        foreach (var t in grid.Trials.Concat(asha.Trials))
        {
            output.WriteLine(t.ToString());
        }

        Assert.Equal(9, grid.WithStatus(TrialStatus.Completed).Count);
        Assert.All(grid.Trials, t => Assert.Equal(Epochs, t.EpochLosses.Count));
        var curves = grid.Trials.ToDictionary(t => t.Parameters.Key, t => t.EpochLosses);

        // Replay the rule (rungs at 2 and 6 epochs below the 18-epoch budget; at a rung with n losses recorded so far,
        // its own included, a trial goes on only if its loss is at most the max(1, floor(n / eta))-th smallest) on the
        // grid's curves, trial by trial in the order the sweep ran them.
        int[] rungs = [MinEpochs, MinEpochs * Eta];
        var recorded = rungs.ToDictionary(r => r, _ => new List<double>());
        var expectedEpochs = new Dictionary<string, int>();
        foreach (var t in grid.Trials.OrderBy(t => t.Id))
        {
            int epochs = Epochs;
            foreach (int rung in rungs)
            {
                double loss = curves[t.Parameters.Key][rung - 1];
                var atRung = recorded[rung];
                atRung.Add(loss);
                atRung.Sort();
                if (loss > atRung[Math.Max(1, atRung.Count / Eta) - 1])
                {
                    epochs = rung;
                    break;
                }
            }

            expectedEpochs[t.Parameters.Key] = epochs;
        }

        Assert.Equal(9, asha.Trials.Count);
        foreach (var t in asha.Trials)
        {
            string key = t.Parameters.Key;
            Assert.Equal(expectedEpochs[key], t.EpochsRun);
            Assert.Equal(t.EpochsRun == Epochs ? TrialStatus.Completed : TrialStatus.Pruned, t.Status);
            Assert.Equal(curves[key].Take(t.EpochsRun), t.EpochLosses); // same training, cut short
            Assert.Equal(curves[key][t.EpochsRun - 1], t.ValidationLoss);
        }

        long expectedTotal = expectedEpochs.Values.Sum();
        output.WriteLine($"grid: {grid.TotalEpochs} epochs, best {grid.Best}; ASHA: {asha.TotalEpochs} epochs " +
            $"({(double)asha.TotalEpochs / grid.TotalEpochs:F2} of the grid), best {asha.Best}");
        Assert.Equal(expectedTotal, asha.TotalEpochs);
        Assert.Equal(9 * Epochs, grid.TotalEpochs);

        // The best of a sweep is its lowest completed loss; ASHA's completed trials are a subset of the grid's.
        var completed = asha.WithStatus(TrialStatus.Completed);
        Assert.Equal(completed.MinBy(t => t.ValidationLoss)!.Parameters, asha.Best!.Parameters);
        Assert.Equal(grid.Trials.MinBy(t => t.ValidationLoss)!.Parameters, grid.Best!.Parameters);
        Assert.True(asha.Best.ValidationLoss >= grid.Best.ValidationLoss);
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
