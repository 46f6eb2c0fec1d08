// The sweep end to end with the real engine on the bundled names. What it asserts does not depend on how one split
// ranks the models: a trial's seed depends only on the sweep seed and its id, so a sweep with early stopping and ASHA
// retrains the plain grid's trials exactly and must stop each one where the early-stopping and ASHA rules, applied to
// the grid's own full learning curves, say; each trial is worth its best epoch and the best is the lowest of those. How much ASHA saves on this data is a measurement (examples/Sweep), not an
// assertion; the pruner's gain is asserted on an analytic objective in PruningTests. An interrupted sweep keeps its
// finished trials.
using Microsoft.ML;
using MLNet.Transformer.AutoML;
using MLNet.Transformer.LanguageModeling;
using Xunit;
using Xunit.Abstractions;

namespace MLNet.Transformer.AutoML.Tests;

[Collection(nameof(NativeEngineSweeps))]
public class NamesSweepTests(ITestOutputHelper output)
{
    private const int Epochs = 18;

    private static Task<SweepResult> Sweep(IPruner pruner, int patience, ISweepMonitor? monitor = null, CancellationToken ct = default)
    {
        var ml = new MLContext(1);
        var all = NamesData.Lines();
        var train = NamesData.View(ml, all.Where((_, i) => i % 5 != 0));
        var valid = NamesData.View(ml, all.Where((_, i) => i % 5 == 0));
        var runner = new NextCharacterTrialRunner<TransformerDecoderTrainerOptions>(ml, train, valid);
        var space = ml.TransformerSweep().CreateSearchSpace(new TransformerDecoderTrainerOptions { ModelDimension = 32, FeedForwardDimension = 64, LearningRate = 3e-3f })
            .Choice(o => o.Heads, 1, 2, 4)
            .Choice(o => o.Layers, 1, 2, 3)
            .Constraint("heads must divide the model dimension", o => o.ModelDimension % o.Heads == 0);
        return ml.TransformerSweep().CreateSweep(space, runner, new SweepOptions { MaxEpochs = Epochs, MaxTrials = 9, Seed = 11, ThreadsPerTrial = 1, EarlyStoppingPatience = patience })
            .WithTuner(new GridTuner())
            .WithPruner(pruner)
            .WithMonitor(monitor)
            .RunAsync(ct);
    }

    [Fact]
    public async Task EarlyStoppingAndAsha_OnRealTrials_StopEachTrialWhereTheRulesSayOnTheGridsCurves()
    {
        const int MinEpochs = 2, Eta = 3, Patience = 3;
        const float MinDelta = 1e-4f; // SweepOptions' default
        var grid = await Sweep(new NoPruner(), patience: 0);
        var asha = await Sweep(new AshaPruner(MinEpochs, Eta), Patience);
        foreach (var t in grid.Trials.Concat(asha.Trials))
        {
            output.WriteLine(t.ToString());
        }

        Assert.Equal(9, grid.WithStatus(TrialStatus.Completed).Count);
        Assert.Equal(9 * Epochs, grid.TotalEpochs);
        var curves = grid.Trials.ToDictionary(t => t.Parameters.Key, t => t.EpochLosses);
        Assert.All(curves.Values, c => Assert.Equal(Epochs, c.Count));
        Assert.All(grid.Trials, t =>
        {
            // Worth its best epoch, not its last (a decrease under the minimum delta does not count as better).
            Assert.Equal(t.EpochLosses[t.BestEpoch - 1], t.ValidationLoss);
            Assert.InRange(t.ValidationLoss - t.EpochLosses.Min(), 0, MinDelta);
            Assert.Equal(t.EpochLosses[^1], t.LastValidationLoss);
        });
        Assert.Equal(curves.Keys.Order(), asha.Trials.Select(t => t.Parameters.Key).Order());

        // Early stopping: the best moves on a decrease of more than MinDelta; three epochs in a row without one end
        // the trial, completed. ASHA with rungs at 2 and 6 epochs (18 is the budget, not a rung): a trial reaching a
        // rung where n best-so-far losses are recorded, its own included, continues only if its best so far is
        // among the max(1, floor(n / 3)) smallest.
        var atRung = new Dictionary<int, List<double>> { [MinEpochs] = [], [MinEpochs * Eta] = [] };
        var expected = new Dictionary<string, int>();
        int stoppedEarly = 0;
        foreach (var t in asha.Trials.OrderBy(t => t.Id))
        {
            var curve = curves[t.Parameters.Key];
            int stop = Epochs, bestEpoch = 0, since = 0;
            double best = double.PositiveInfinity;
            var status = TrialStatus.Completed;
            for (int epoch = 1; epoch <= Epochs; epoch++)
            {
                if (curve[epoch - 1] < best - MinDelta)
                {
                    (best, bestEpoch, since) = (curve[epoch - 1], epoch, 0);
                }
                else if (++since >= Patience)
                {
                    stop = epoch;
                    break;
                }

                if (atRung.TryGetValue(epoch, out var losses))
                {
                    losses.Add(best);
                    if (losses.Count(l => l < best) >= Math.Max(1, losses.Count / Eta))
                    {
                        (stop, status) = (epoch, TrialStatus.Pruned);
                        break;
                    }
                }
            }

            expected[t.Parameters.Key] = stop;
            Assert.Equal(stop, t.EpochsRun);
            Assert.Equal(status, t.Status);
            Assert.Equal(best, t.ValidationLoss);
            Assert.Equal(bestEpoch, t.BestEpoch);
            Assert.Equal(curve.Take(stop), t.EpochLosses); // the grid's training, cut short
            stoppedEarly += t.StoppedEarly ? 1 : 0;
        }

        output.WriteLine($"grid: {grid.TotalEpochs} epochs, best {grid.Best}; early stopping + ASHA: {asha.TotalEpochs} epochs, best {asha.Best}");
        Assert.Equal(expected.Values.Sum(), asha.TotalEpochs);
        Assert.True(asha.TotalEpochs < grid.TotalEpochs, "with nine trials and a keep of one in three, ASHA must stop some");
        Assert.Equal(grid.Trials.MinBy(t => t.ValidationLoss)!.Parameters, grid.Best!.Parameters);
        var completed = asha.WithStatus(TrialStatus.Completed);
        Assert.Equal(completed.MinBy(t => t.ValidationLoss)!.Parameters, asha.Best!.Parameters);
        Assert.True(asha.Best.ValidationLoss >= grid.Best.ValidationLoss);
    }

    [Fact]
    public async Task Sweep_CancelledAfterThreeTrials_KeepsTheFinishedOnes()
    {
        using var cts = new CancellationTokenSource();
        var monitor = new CancelAfter(3, cts);
        var result = await Sweep(new NoPruner(), patience: 0, monitor, cts.Token);
        Assert.Equal(SweepStopReason.Cancelled, result.StopReason);
        Assert.True(result.WithStatus(TrialStatus.Completed).Count >= 3);
        Assert.All(result.WithStatus(TrialStatus.Completed), t => Assert.Equal(Epochs, t.EpochsRun));
        Assert.True(result.Trials.Count < 9);
        Assert.NotNull(result.Best);
    }

    private sealed class CancelAfter(int completed, CancellationTokenSource cts) : ISweepMonitor
    {
        private int _done;

        public void OnTrialCompleted(SweepTrialResult result)
        {
            if (Interlocked.Increment(ref _done) >= completed)
            {
                cts.Cancel();
            }
        }
    }
}
