// Early stopping inside trials and ranking by the best epoch, on replayed curves: the curve of the overfitting
// trial (best 2.40 at epoch 8, 2.62 by epoch 30) against a steady one, the minimum-delta rule, ASHA fed best-so-far
// values, and the repeats that give each top configuration a mean and spread over seeds.
using MLNet.Transformer.AutoML;
using Xunit;

namespace MLNet.Transformer.AutoML.Tests;

public class SweepEarlyStoppingTests
{
    /// <summary>Falls to 2.40 at epoch 8, then climbs linearly to 2.62 at epoch 30 (overfitting).</summary>
    private static readonly double[] Overfits =
        [.. Enumerable.Range(1, 30).Select(e => e <= 8 ? 2.40 + (0.05 * (8 - e)) : 2.40 + (0.01 * (e - 8)))];

    /// <summary>Falls steadily to 2.45 at epoch 30.</summary>
    private static readonly double[] Steady = [.. Enumerable.Range(1, 30).Select(e => 2.45 + (0.3 * (30 - e) / 30.0))];

    private static SweepSearchSpace<PlainOptions> TwoCurves() => SweepSearchSpace.Create<PlainOptions>().Choice(o => o.Heads, 1, 2);

    private static Task<SweepResult> Run(int patience, IPruner? pruner = null, int maxEpochs = 30) =>
        new SweepExperiment<PlainOptions>(TwoCurves(), new CurveRunner(o => o.Heads == 1 ? Overfits : Steady),
                new SweepOptions { MaxEpochs = maxEpochs, Seed = 1, EarlyStoppingPatience = patience })
            .WithTuner(new GridTuner())
            .WithPruner(pruner ?? new NoPruner())
            .RunAsync();

    [Fact]
    public async Task RunAsync_OverfittingTrialWithoutEarlyStopping_IsRankedByItsBestEpochNotItsLast()
    {
        var result = await Run(patience: 0);

        var overfit = result.Trials.Single(t => t.Parameters.Get<int>("Heads") == 1);
        Assert.Equal(30, overfit.EpochsRun);
        Assert.Equal(2.40, overfit.ValidationLoss, 12);
        Assert.Equal(8, overfit.BestEpoch);
        Assert.Equal(2.62, overfit.LastValidationLoss, 12);
        Assert.False(overfit.StoppedEarly);
        Assert.Equal(overfit.ValidationLoss, overfit.MetricValue);
        Assert.Equal(Math.Exp(2.40), overfit.Perplexity, 9);

        // Ranked by 2.40, it beats the steady trial's 2.45; ranked by its last epoch (2.62) it would not.
        Assert.Equal(overfit.Id, result.Best!.Id);
        Assert.Equal(overfit.Id, result.Leaderboard[0].Trial.Id);
    }

    [Fact]
    public async Task RunAsync_Patience5_StopsTheOverfittingTrialFiveEpochsAfterItsBestAsCompleted()
    {
        var result = await Run(patience: 5);

        var overfit = result.Trials.Single(t => t.Parameters.Get<int>("Heads") == 1);
        Assert.Equal(TrialStatus.Completed, overfit.Status);
        Assert.True(overfit.StoppedEarly);
        Assert.Equal(13, overfit.EpochsRun); // best at 8, then 9..13 without improvement
        Assert.Equal(Overfits.Take(13), overfit.EpochLosses);
        Assert.Equal(2.40, overfit.ValidationLoss, 12);
        Assert.Equal(2.45, overfit.LastValidationLoss, 12);

        var steady = result.Trials.Single(t => t.Parameters.Get<int>("Heads") == 2);
        Assert.False(steady.StoppedEarly);
        Assert.Equal(30, steady.EpochsRun);
        Assert.Equal(overfit.Id, result.Best!.Id);
        Assert.Equal(13 + 30, result.TotalEpochs);
    }

    [Theory]
    [InlineData(0.992, 3, 1, 1.00)]
    [InlineData(0.985, 5, 3, 0.985)]
    public async Task RunAsync_ImprovementsSmallerThanMinDelta_DoNotResetPatience(double third, int epochsRun, int bestEpoch, double best)
    {
        // Hand-computed, min delta 0.01 and patience 2: 0.995 is not an improvement on 1.00 (not 0.01 below it). A
        // third epoch at 0.992 is not one either, so the trial ends there with 1.00 at epoch 1; 0.985 is, and then
        // 0.980 and 0.979 (less than 0.01 below 0.985) end the trial at epoch 5 with 0.985 at epoch 3.
        double[] curve = [1.00, 0.995, third, 0.980, 0.979, 0.978, 0.5, 0.5];
        var result = await new SweepExperiment<PlainOptions>(SweepSearchSpace.Create<PlainOptions>(), new CurveRunner(_ => curve),
                new SweepOptions { MaxEpochs = 8, MaxTrials = 1, Seed = 1, EarlyStoppingPatience = 2, EarlyStoppingMinDelta = 0.01f })
            .RunAsync();

        var trial = Assert.Single(result.Trials);
        Assert.True(trial.StoppedEarly);
        Assert.Equal(epochsRun, trial.EpochsRun);
        Assert.Equal(bestEpoch, trial.BestEpoch);
        Assert.Equal(best, trial.ValidationLoss);
    }

    [Fact]
    public async Task RunAsync_RunnerSetsItsPatienceAfterAReport_FailsTheTrialNamingIt()
    {
        var result = await new SweepExperiment<PlainOptions>(SweepSearchSpace.Create<PlainOptions>(), new PatienceSetter(), new SweepOptions { Seed = 1, MaxTrials = 1 })
            .RunAsync();

        var trial = Assert.Single(result.Trials);
        Assert.Equal(TrialStatus.Failed, trial.Status);
        Assert.Contains("EarlyStoppingPatience", trial.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_Asha_JudgesTheBestSoFarNotTheLastLoss()
    {
        var pruner = new RecordingPruner();
        await Run(patience: 0, pruner, maxEpochs: 12);

        // Every call carries the running minimum of the curve up to that epoch.
        Assert.Equal(2 * 11, pruner.Calls.Count); // epochs 1..11 of both trials (the budget's last epoch is never judged)
        foreach (var (id, epoch, loss) in pruner.Calls)
        {
            double[] curve = id == 0 ? Overfits : Steady;
            Assert.Equal(curve.Take(epoch).Min(), loss);
        }

        Assert.Contains(pruner.Calls, c => c.Id == 0 && c.Epoch == 11 && c.Loss == 2.40 && Overfits[10] > 2.40);
    }

    [Fact]
    public async Task RunAsync_RepeatTopTwoWithTwoSeeds_RerunsExactlyTheBestTwoAndSummarisesEachOverItsSeeds()
    {
        var runner = new SeedNoiseRunner();
        var space = SweepSearchSpace.Create<PlainOptions>().Choice(o => o.Heads, 1, 2, 4, 8);
        var result = await new SweepExperiment<PlainOptions>(space, runner,
                new SweepOptions { MaxEpochs = 1, Seed = 9, Parallelism = 2, RepeatTopConfigurations = 2, RepeatSeeds = 2 })
            .WithTuner(new GridTuner())
            .RunAsync();

        var search = result.Trials.Where(t => t.RepeatOf is null).ToList();
        var repeats = result.Trials.Where(t => t.RepeatOf is not null).ToList();
        Assert.Equal(4, search.Count);
        Assert.Equal(4, repeats.Count);
        Assert.Equal(SweepStopReason.TunerExhausted, result.StopReason);
        Assert.True(runner.MaxConcurrent <= 2);

        // The two best search trials, each re-run twice, interleaved, with seeds of their own.
        var top = search.OrderBy(t => t.ValidationLoss).Take(2).Select(t => t.Id).ToArray();
        Assert.Equal([top[0], top[1], top[0], top[1]], repeats.OrderBy(t => t.Id).Select(t => t.RepeatOf!.Value));
        Assert.All(repeats, r => Assert.Equal(result.Trials.Single(t => t.Id == r.RepeatOf).Parameters, r.Parameters));
        Assert.Equal(result.Trials.Count, result.Trials.Select(t => t.Seed).Distinct().Count());

        // Mean and sample standard deviation of each repeated configuration, from the runner's own formula.
        foreach (var c in result.Leaderboard.Configurations.Take(2))
        {
            double[] values = [.. c.Runs.Select(t => SeedNoiseRunner.Loss(t.Parameters.Get<int>("Heads"), t.Seed))];
            double mean = values.Average();
            double sd = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1));
            Assert.Equal(3, c.Runs.Count);
            Assert.Equal(mean, c.Mean, 12);
            Assert.Equal(sd, c.StandardDeviation, 12);
            Assert.Equal(values.Min(), c.Min, 12);
            Assert.Equal(values.Max(), c.Max, 12);
        }

        // Repeated configurations rank above single runs, by mean; the best trial is the winner's best run.
        var configurations = result.Leaderboard.Configurations;
        Assert.Equal([3, 3, 1, 1], configurations.Select(c => c.Runs.Count));
        Assert.True(configurations[0].Mean <= configurations[1].Mean);
        Assert.Equal(configurations[0], result.BestConfiguration);
        Assert.Equal(configurations[0].Runs.MinBy(t => t.ValidationLoss), result.Best);
    }

    [Fact]
    public async Task RunAsync_ManyRepeatsWithATimeBudget_LeaveTheSearchAtThreeQuartersAndStopAtTheBudget()
    {
        var result = await SweepWithRepeats(top: 3, seeds: 4);

        // One minute per trial: the 12 planned repeats would take 15 minutes (1.25 x 12 x 1), more than the quarter of
        // the budget, so the search starts trials while under 15 minutes (15 of them), the repeats fill the remaining
        // 5 minutes (5 of the 12), and none starts once the 20 minutes are spent.
        Assert.Equal(15, result.Trials.Count(t => t.RepeatOf is null));
        Assert.Equal(5, result.Trials.Count(t => t.RepeatOf is not null));
        Assert.All(result.Trials, t => Assert.Equal(TrialStatus.Completed, t.Status));
        Assert.Equal(SweepStopReason.TimeBudget, result.StopReason);
        Assert.Equal(TimeSpan.FromMinutes(20), result.Elapsed);
    }

    [Fact]
    public async Task RunAsync_FewRepeatsWithATimeBudget_KeepOnlyTheTimeTheyNeed()
    {
        var result = await SweepWithRepeats(top: 1, seeds: 2);

        // Two repeats of one-minute trials are expected to take 2.5 minutes (1.25 x 2 x 1), less than the quarter of
        // the budget: the search starts trials while under 17.5 minutes (18 of them), then both repeats run.
        Assert.Equal(18, result.Trials.Count(t => t.RepeatOf is null));
        Assert.Equal(2, result.Trials.Count(t => t.RepeatOf is not null));
        Assert.Equal(3, result.BestConfiguration!.Runs.Count);
        Assert.Equal(TimeSpan.FromMinutes(20), result.Elapsed);
    }

    /// <summary>A 20-minute budget of one-minute trials (a fake clock), random search, then repeats of the best.</summary>
    private static Task<SweepResult> SweepWithRepeats(int top, int seeds)
    {
        var clock = new FakeClock();
        var runner = new SeedNoiseRunner { OnEpoch = () => clock.Advance(TimeSpan.FromMinutes(1)) };
        var space = SweepSearchSpace.Create<PlainOptions>().Range(o => o.Heads, 1, 100);
        return new SweepExperiment<PlainOptions>(space, runner,
                new SweepOptions
                {
                    MaxEpochs = 1, Seed = 2, TimeBudget = TimeSpan.FromMinutes(20), TimeProvider = clock,
                    RepeatTopConfigurations = top, RepeatSeeds = seeds, RepeatBudgetFraction = 0.25,
                })
            .WithTuner(new RandomTuner())
            .RunAsync();
    }

    /// <summary>Replays a fixed curve chosen by the configuration.</summary>
    private sealed class CurveRunner(Func<PlainOptions, double[]> curve) : ISweepTrialRunner<PlainOptions>
    {
        public Task<TrialOutcome> RunAsync(PlainOptions options, TrialContext context, CancellationToken cancellationToken)
        {
            double[] losses = curve(options);
            for (int epoch = 1; epoch <= context.MaxEpochs && context.ReportEpoch(epoch, losses[epoch - 1]); epoch++)
            {
            }

            return Task.FromResult(TrialOutcome.Empty);
        }
    }

    /// <summary>Sets its own patience, then reports, then (wrongly) sets it again.</summary>
    private sealed class PatienceSetter : ISweepTrialRunner<PlainOptions>
    {
        public Task<TrialOutcome> RunAsync(PlainOptions options, TrialContext context, CancellationToken cancellationToken)
        {
            context.EarlyStoppingPatience = 3;
            context.ReportEpoch(1, 1.0);
            context.EarlyStoppingPatience = 4;
            return Task.FromResult(TrialOutcome.Empty);
        }
    }

    /// <summary>One epoch; the loss depends on the heads and, by a seeded noise term, on the trial's seed.</summary>
    private sealed class SeedNoiseRunner : ISweepTrialRunner<PlainOptions>
    {
        private int _running;
        private int _max;

        public Action? OnEpoch { get; set; }

        public int MaxConcurrent => _max;

        public static double Loss(int heads, int seed) => 2 + (0.01 * heads) + (0.05 * new Random(seed).NextDouble());

        public async Task<TrialOutcome> RunAsync(PlainOptions options, TrialContext context, CancellationToken cancellationToken)
        {
            int now = Interlocked.Increment(ref _running);
            InterlockedMax(ref _max, now);
            try
            {
                await Task.Delay(5, CancellationToken.None);
                OnEpoch?.Invoke();
                context.ReportEpoch(1, Loss(options.Heads, context.Seed));
                return TrialOutcome.Empty;
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }

        private static void InterlockedMax(ref int target, int value)
        {
            int seen;
            while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
            {
            }
        }
    }

    private sealed class RecordingPruner : IPruner
    {
        public List<(int Id, int Epoch, double Loss)> Calls { get; } = [];

        public void Initialize(int maxEpochs) => Calls.Clear();

        public bool ShouldPrune(int trialId, int epoch, double validationLoss)
        {
            lock (Calls)
            {
                Calls.Add((trialId, epoch, validationLoss));
            }

            return false;
        }
    }
}
