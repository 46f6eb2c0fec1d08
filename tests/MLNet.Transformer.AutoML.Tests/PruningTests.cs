// ASHA: rung placement, promotion rule, a pruned grid reaching the plain grid's best for fewer epochs, and the
// sweep's pruning and early-stopping decisions on crossing noisy curves matching the rules replayed independently
// (best-so-far losses at the rungs, the best epoch as the trial's value), over several seeds.
using MLNet.Transformer.AutoML;
using Xunit;
using Xunit.Abstractions;

namespace MLNet.Transformer.AutoML.Tests;

public class PruningTests
{
    private readonly ITestOutputHelper _output;

    public PruningTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void AshaPruner_Initialize_PlacesRungsGeometricallyBelowTheBudget()
    {
        var pruner = new AshaPruner(minEpochs: 1, reductionFactor: 3);
        pruner.Initialize(27);
        Assert.Equal([1, 3, 9], pruner.Rungs);

        pruner.Initialize(10);
        Assert.Equal([1, 3, 9], pruner.Rungs);

        var two = new AshaPruner(minEpochs: 2, reductionFactor: 2);
        two.Initialize(16);
        Assert.Equal([2, 4, 8], two.Rungs);
    }

    [Fact]
    public void AshaPruner_ShouldPrune_KeepsTopThirdAtEachRung()
    {
        var pruner = new AshaPruner(minEpochs: 1, reductionFactor: 3);
        pruner.Initialize(9);

        // Rung 1 (epoch 1). n < eta: only a new best continues.
        Assert.False(pruner.ShouldPrune(0, 1, 2.0)); // first at the rung always continues
        Assert.True(pruner.ShouldPrune(1, 1, 3.0));  // worse than the only one so far
        Assert.False(pruner.ShouldPrune(2, 1, 1.5)); // new best

        // n = 4: keep floor(4/3) = 1 -> must be the best.
        Assert.True(pruner.ShouldPrune(3, 1, 1.8));

        // n = 6: keep 2 -> second best continues.
        Assert.True(pruner.ShouldPrune(4, 1, 5.0));
        Assert.False(pruner.ShouldPrune(5, 1, 1.6));

        // Between rungs nothing is pruned; at epoch 3 trial 0 is judged at rung 2 (first there: continues).
        Assert.False(pruner.ShouldPrune(0, 2, 1.9));
        Assert.False(pruner.ShouldPrune(0, 3, 1.9));
        Assert.True(pruner.ShouldPrune(2, 3, 2.5));

        // The full budget is not a rung.
        Assert.False(pruner.ShouldPrune(2, 9, 100));
    }

    [Fact]
    public void AshaPruner_NaNLoss_CountsAsWorst()
    {
        var pruner = new AshaPruner();
        pruner.Initialize(9);
        Assert.False(pruner.ShouldPrune(0, 1, 1.0));
        Assert.True(pruner.ShouldPrune(1, 1, double.NaN));
    }

    [Fact]
    public async Task Sweep_AshaOnGrid_ReachesThePlainGridsBestWithFarFewerEpochs()
    {
        var options = new SweepOptions { MaxEpochs = 27, Seed = 7, MaxTrials = 100, EarlyStoppingPatience = 0 };
        var plainRunner = new AnalyticRunner();
        var plain = await new SweepExperiment<PlainOptions>(Spaces.HeadsLayers(), plainRunner, options)
            .WithTuner(new GridTuner())
            .RunAsync();

        var prunedRunner = new AnalyticRunner();
        var pruned = await new SweepExperiment<PlainOptions>(Spaces.HeadsLayers(), prunedRunner, options)
            .WithTuner(new GridTuner())
            .WithPruner(new AshaPruner(minEpochs: 1, reductionFactor: 3))
            .RunAsync();

        double ratio = pruned.TotalEpochs / (double)plain.TotalEpochs;
        _output.WriteLine($"plain grid: {plain.TotalEpochs} epochs; ASHA grid: {pruned.TotalEpochs} epochs; ratio {ratio:F3}; " +
            $"pruned {pruned.WithStatus(TrialStatus.Pruned).Count} of {pruned.Trials.Count}");

        Assert.Equal(16 * 27, plain.TotalEpochs);
        Assert.Equal(plainRunner.EpochsTrained, plain.TotalEpochs);
        Assert.Equal(prunedRunner.EpochsTrained, pruned.TotalEpochs);
        Assert.Equal("Heads=4,Layers=2", plain.Best!.Parameters.Key);
        Assert.Equal(plain.Best.Parameters, pruned.Best!.Parameters);
        Assert.Equal(plain.Best.ValidationLoss, pruned.Best.ValidationLoss);
        Assert.Equal(27, pruned.Best.EpochsRun);
        Assert.True(ratio < 0.7, $"epoch ratio {ratio}");

        // Pruned trials stopped exactly at a rung and rank below every completed trial.
        var prunedTrials = pruned.WithStatus(TrialStatus.Pruned);
        Assert.NotEmpty(prunedTrials);
        Assert.All(prunedTrials, t => Assert.Contains(t.EpochsRun, new[] { 1, 3, 9 }));
        int lastCompletedRank = pruned.Leaderboard.Where(e => e.Trial.Status == TrialStatus.Completed).Max(e => e.Rank);
        int firstPrunedRank = pruned.Leaderboard.Where(e => e.Trial.Status == TrialStatus.Pruned).Min(e => e.Rank);
        Assert.True(lastCompletedRank < firstPrunedRank);
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 0)]
    [InlineData(3, 0)]
    [InlineData(4, 4)]
    [InlineData(5, 4)]
    [InlineData(6, 2)]
    public async Task Sweep_AshaOnCrossingNoisyCurves_StopsExactlyWhereTheRulesSay(int seed, int patience)
    {
        const int MaxEpochs = 27, Eta = 3;
        const float MinDelta = 1e-3f;
        var runner = new NoisyCurveRunner();
        var result = await new SweepExperiment<PlainOptions>(Spaces.HeadsLayers(), runner,
                new SweepOptions { MaxEpochs = MaxEpochs, Seed = seed, MaxTrials = 100, EarlyStoppingPatience = patience, EarlyStoppingMinDelta = MinDelta })
            .WithTuner(new GridTuner())
            .WithPruner(new AshaPruner(minEpochs: 1, reductionFactor: Eta))
            .RunAsync();

        // The rules, written out. Early stopping: the best loss moves only on a decrease of more than MinDelta, and
        // `patience` epochs in a row without one end the trial (completed). ASHA: rungs 1, 3, 9; at a rung with n
        // best-so-far losses recorded (its own included) a trial goes on only if its best so far is at most the
        // max(1, floor(n / eta))-th smallest. A trial that stops improving at a rung ends before ASHA sees it.
        int[] rungs = [1, 3, 9];
        var recorded = rungs.ToDictionary(r => r, _ => new List<double>());
        int pruned = 0, stoppedEarly = 0;
        foreach (var t in result.Trials.OrderBy(t => t.Id))
        {
            double[] curve = NoisyCurveRunner.Curve(t.Seed, MaxEpochs);
            int expected = MaxEpochs, bestEpoch = 0, since = 0;
            double best = double.PositiveInfinity;
            var status = TrialStatus.Completed;
            bool stopped = false;
            for (int epoch = 1; epoch <= MaxEpochs; epoch++)
            {
                if (curve[epoch - 1] < best - MinDelta)
                {
                    (best, bestEpoch, since) = (curve[epoch - 1], epoch, 0);
                }
                else if (++since >= patience && patience > 0)
                {
                    (expected, stopped) = (epoch, true); // at the last epoch too: the rule, not the budget, ended it
                    break;
                }

                if (rungs.Contains(epoch))
                {
                    var atRung = recorded[epoch];
                    atRung.Add(best);
                    atRung.Sort();
                    if (best > atRung[Math.Max(1, atRung.Count / Eta) - 1])
                    {
                        (expected, status) = (epoch, TrialStatus.Pruned);
                        break;
                    }
                }
            }

            Assert.Equal(expected, t.EpochsRun);
            Assert.Equal(status, t.Status);
            Assert.Equal(best, t.ValidationLoss);
            Assert.Equal(bestEpoch, t.BestEpoch);
            Assert.Equal(curve[expected - 1], t.LastValidationLoss);
            Assert.Equal(stopped, t.StoppedEarly);
            pruned += status == TrialStatus.Pruned ? 1 : 0;
            stoppedEarly += t.StoppedEarly ? 1 : 0;
        }

        Assert.Equal(16, result.Trials.Count);
        Assert.InRange(pruned, 1, 15); // the curves cross, so the rule has real decisions to make
        if (patience > 0)
        {
            Assert.InRange(stoppedEarly, 1, 16); // and the noise stalls some curves before the budget
        }

        Assert.Equal(result.WithStatus(TrialStatus.Completed).MinBy(t => t.ValidationLoss)!.Id, result.Best!.Id);
    }

    /// <summary>Each trial's curve depends only on its seed: a random floor, a random 1/epoch decay and per-epoch
    /// noise, so curves cross and early ranks mislead, as with real training.</summary>
    private sealed class NoisyCurveRunner : ISweepTrialRunner<PlainOptions>
    {
        public static double[] Curve(int seed, int epochs)
        {
            var rng = new Random(seed);
            double floor = 1 + rng.NextDouble(), decay = 3 * rng.NextDouble();
            return [.. Enumerable.Range(1, epochs).Select(e => floor + (decay / e) + (0.15 * rng.NextDouble()))];
        }

        public Task<TrialOutcome> RunAsync(PlainOptions options, TrialContext context, CancellationToken cancellationToken)
        {
            double[] curve = Curve(context.Seed, context.MaxEpochs);
            for (int epoch = 1; epoch <= context.MaxEpochs && context.ReportEpoch(epoch, curve[epoch - 1]); epoch++)
            {
            }

            return Task.FromResult(TrialOutcome.Empty);
        }
    }
}
