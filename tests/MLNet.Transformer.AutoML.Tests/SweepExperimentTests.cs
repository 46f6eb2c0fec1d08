// The sweep loop: parallel degree, thread and device split, failures, cancellation, time budget, determinism,
// custom metrics, monitor events and the mlContext.TransformerSweep() entry point.
using Microsoft.ML;
using MLNet.Transformer.AutoML;
using Xunit;

namespace MLNet.Transformer.AutoML.Tests;

public class SweepExperimentTests
{
    [Fact]
    public async Task RunAsync_Parallelism3_NeverExceedsTheDegreeAndSplitsThreadsAndDevices()
    {
        var devices = new[] { "cuda:0", "cuda:1", "cuda:2" };
        var inUse = new Dictionary<string, int>();
        bool deviceShared = false;
        var gate = new object();

        // The first three trials wait for each other, so three run at once however slowly threads start.
        using var firstWave = new CountdownEvent(3);
        var runner = new AnalyticRunner
        {
            OnStart = (_, ctx) =>
            {
                lock (gate)
                {
                    inUse[ctx.Device] = inUse.GetValueOrDefault(ctx.Device) + 1;
                    deviceShared |= inUse[ctx.Device] > 1;
                }

                if (ctx.TrialId < 3)
                {
                    firstWave.Signal();
                    Assert.True(firstWave.Wait(TimeSpan.FromSeconds(60)), "the first three trials never ran together");
                }
            },
            BeforeEpoch = async (_, ctx) =>
            {
                await Task.Delay(5);
                if (ctx.LastEpoch == ctx.MaxEpochs - 1)
                {
                    lock (gate)
                    {
                        inUse[ctx.Device]--;
                    }
                }
            },
        };
        var options = new SweepOptions { MaxEpochs = 4, Seed = 3, MaxTrials = 12, Parallelism = 3, Devices = devices };

        var result = await new SweepExperiment<PlainOptions>(Spaces.HeadsLayers(), runner, options)
            .WithTuner(new GridTuner())
            .RunAsync();

        Assert.Equal(12, result.WithStatus(TrialStatus.Completed).Count);
        Assert.Equal(3, runner.MaxConcurrent);
        Assert.False(deviceShared);
        int expectedThreads = Math.Max(1, Environment.ProcessorCount / 3);
        Assert.All(runner.Contexts, c => Assert.Equal(expectedThreads, c.Threads));
        Assert.All(result.Trials, t => Assert.Equal(expectedThreads, t.Threads));
        Assert.Equal(devices.Order(), result.Trials.Select(t => t.Device).Distinct().Order());
    }

    [Fact]
    public async Task RunAsync_OutcomeWithANote_CompletedTrialCarriesItAndStillRanks()
    {
        var space = SweepSearchSpace.Create<QuadraticOptions>().Choice(o => o.X, 1.0, 1.3).Choice(o => o.Y, -0.7);
        var result = await new SweepExperiment<QuadraticOptions>(space, new QuadraticRunner { Note = "model not kept" },
                new SweepOptions { MaxEpochs = 1, Seed = 1, MaxTrials = 2 })
            .WithTuner(new GridTuner())
            .RunAsync();

        Assert.All(result.Trials, t => Assert.Equal((TrialStatus.Completed, "model not kept"), (t.Status, t.Message)));
        Assert.Equal(0, result.Best!.ValidationLoss, 12);   // (1.3, -0.7) is the optimum
    }

    [Fact]
    public async Task RunAsync_ExplicitThreadsPerTrial_IsPassedToEveryTrial()
    {
        var runner = new AnalyticRunner();
        var result = await new SweepExperiment<PlainOptions>(Spaces.HeadsLayers(), runner,
                new SweepOptions { MaxEpochs = 1, Seed = 3, MaxTrials = 4, Parallelism = 2, ThreadsPerTrial = 5 })
            .WithTuner(new RandomTuner())
            .RunAsync();

        Assert.All(runner.Contexts, c => Assert.Equal(5, c.Threads));
        Assert.Equal(4, result.Trials.Count);
        Assert.Equal(SweepStopReason.MaxTrials, result.StopReason);
    }

    [Fact]
    public async Task RunAsync_RunnerThrows_RecordsFailureAndContinues()
    {
        var runner = new AnalyticRunner
        {
            OnStart = (o, _) =>
            {
                if (o.Heads == 2)
                {
                    throw new InsufficientMemoryException("device out of memory while allocating 2 GiB");
                }
            },
        };
        var monitor = new RecordingMonitor();

        var result = await new SweepExperiment<PlainOptions>(Spaces.HeadsLayers(), runner, new SweepOptions { MaxEpochs = 2, Seed = 1 })
            .WithTuner(new GridTuner())
            .WithMonitor(monitor)
            .RunAsync();

        var failed = result.WithStatus(TrialStatus.Failed);
        Assert.Equal(4, failed.Count);
        Assert.All(failed, t =>
        {
            Assert.Equal(2, t.Parameters.Get<int>("Heads"));
            Assert.StartsWith("InsufficientMemoryException: device out of memory", t.Message);
        });
        Assert.Equal(12, result.WithStatus(TrialStatus.Completed).Count);
        Assert.Equal(4, monitor.Events.Count(e => e.StartsWith("failed", StringComparison.Ordinal)));
        Assert.DoesNotContain(result.Leaderboard, e => e.Trial.Status == TrialStatus.Failed);
    }

    [Fact]
    public async Task RunAsync_RunnerReportsNoLoss_RecordsFailure()
    {
        var result = await new SweepExperiment<PlainOptions>(Spaces.HeadsLayers(), new SilentRunner(),
                new SweepOptions { MaxEpochs = 2, Seed = 1, MaxTrials = 2 })
            .RunAsync();

        Assert.All(result.Trials, t =>
        {
            Assert.Equal(TrialStatus.Failed, t.Status);
            Assert.Contains("no validation loss", t.Message);
        });
    }

    [Fact]
    public async Task RunAsync_CancelledMidSweep_KeepsFinishedTrialsAndMarksRunningCancelled()
    {
        using var cts = new CancellationTokenSource();
        var runner = new AnalyticRunner
        {
            BeforeEpoch = (_, ctx) =>
            {
                if (ctx.TrialId == 3 && ctx.LastEpoch == 2)
                {
                    cts.Cancel();
                }

                return Task.CompletedTask;
            },
        };

        var result = await new SweepExperiment<PlainOptions>(Spaces.HeadsLayers(), runner, new SweepOptions { MaxEpochs = 5, Seed = 1 })
            .WithTuner(new GridTuner())
            .RunAsync(cts.Token);

        Assert.Equal(SweepStopReason.Cancelled, result.StopReason);
        Assert.Equal(4, result.Trials.Count);
        Assert.All(result.Trials.Take(3), t => Assert.Equal(TrialStatus.Completed, t.Status));
        var cancelled = result.Trials[3];
        Assert.Equal(TrialStatus.Cancelled, cancelled.Status);
        Assert.Equal(3, cancelled.EpochsRun);
        Assert.Equal("sweep cancelled", cancelled.Message);
        Assert.NotNull(result.Best);
    }

    [Fact]
    public async Task RunAsync_RunnerThrowsOperationCanceledOnCancellation_IsRecordedAsCancelled()
    {
        using var cts = new CancellationTokenSource();
        var result = await new SweepExperiment<PlainOptions>(Spaces.HeadsLayers(), new TokenRunner(cts, cancelAtTrial: 2),
                new SweepOptions { MaxEpochs = 3, Seed = 1 })
            .WithTuner(new GridTuner())
            .RunAsync(cts.Token);

        Assert.Equal([TrialStatus.Completed, TrialStatus.Completed, TrialStatus.Cancelled], result.Trials.Select(t => t.Status));
    }

    [Fact]
    public async Task RunAsync_TimeBudgetOnFakeClock_StopsAtTheBudgetAndKeepsFinishedTrials()
    {
        var clock = new FakeClock();
        var runner = new AnalyticRunner
        {
            BeforeEpoch = (_, _) =>
            {
                clock.Advance(TimeSpan.FromMinutes(1));
                return Task.CompletedTask;
            },
        };
        var options = new SweepOptions { MaxEpochs = 5, Seed = 1, TimeBudget = TimeSpan.FromMinutes(12), TimeProvider = clock };

        var result = await new SweepExperiment<PlainOptions>(Spaces.HeadsLayers(), runner, options)
            .WithTuner(new GridTuner())
            .RunAsync();

        Assert.Equal(SweepStopReason.TimeBudget, result.StopReason);
        Assert.Equal([TrialStatus.Completed, TrialStatus.Completed, TrialStatus.Cancelled], result.Trials.Select(t => t.Status));
        Assert.Equal(2, result.Trials[2].EpochsRun);
        Assert.Equal("time budget spent", result.Trials[2].Message);
        Assert.Equal(TimeSpan.FromMinutes(5), result.Trials[0].Duration);
        Assert.Equal(TimeSpan.FromMinutes(12), result.Elapsed);
    }

    [Fact]
    public async Task RunAsync_Parallelism1SameSeed_IsFullyReproducible()
    {
        async Task<SweepResult> Run() => await new SweepExperiment<PlainOptions>(
                SweepSearchSpace.Create<PlainOptions>().Choice(o => o.Heads, 1, 2, 4, 8).Range(o => o.Layers, 1, 6),
                new AnalyticRunner(), new SweepOptions { MaxEpochs = 9, Seed = 42, MaxTrials = 15, Devices = ["cpu", "cuda"] })
            .WithTuner(new TpeTuner(startupTrials: 4))
            .WithPruner(new AshaPruner())
            .RunAsync();

        var a = await Run();
        var b = await Run();

        static string Describe(SweepTrialResult t) => $"{t.Id}|{t.Parameters.Key}|{t.Status}|{t.EpochsRun}|{t.ValidationLoss:R}|{t.Seed}|{t.Device}";
        Assert.Equal(a.Trials.Select(Describe), b.Trials.Select(Describe));
        Assert.Equal(a.Leaderboard.Select(e => e.Trial.Id), b.Leaderboard.Select(e => e.Trial.Id));
        Assert.Equal(15, a.Trials.Select(t => t.Seed).Distinct().Count());
        Assert.Equal(["cpu", "cuda", "cpu"], a.Trials.Take(3).Select(t => t.Device));
    }

    [Fact]
    public async Task RunAsync_CustomMetricMaximised_RanksByThatMetric()
    {
        var result = await new SweepExperiment<PlainOptions>(Spaces.HeadsLayers(), new AccuracyRunner(),
                new SweepOptions { MaxEpochs = 1, Seed = 1, Metric = "Accuracy", MaximizeMetric = true })
            .WithTuner(new GridTuner())
            .RunAsync();

        // Accuracy peaks at Layers = 4 regardless of heads; the loss would prefer Layers = 2.
        Assert.Equal(4, result.Best!.Parameters.Get<int>("Layers"));
        Assert.Equal(result.Best.Metrics["Accuracy"], result.Best.MetricValue);
        Assert.Equal(result.Trials.Max(t => t.MetricValue), result.Best.MetricValue);
    }

    [Fact]
    public async Task RunAsync_Monitor_SeesStartsFinishesBestChangesAndProgress()
    {
        var monitor = new RecordingMonitor();
        var result = await new SweepExperiment<PlainOptions>(Spaces.HeadsLayers(dim: 12), new AnalyticRunner(),
                new SweepOptions { MaxEpochs = 2, Seed = 1 })
            .WithTuner(new GridTuner())
            .WithMonitor(monitor)
            .RunAsync();

        Assert.Equal(12, monitor.Events.Count(e => e.StartsWith("start", StringComparison.Ordinal)));
        Assert.Equal(12, monitor.Events.Count(e => e.StartsWith("Completed", StringComparison.Ordinal)));
        Assert.Equal(4, monitor.Events.Count(e => e.StartsWith("skipped", StringComparison.Ordinal)));
        Assert.Equal(result.Best, monitor.BestChanges[^1]);
        Assert.True(monitor.BestChanges.Zip(monitor.BestChanges.Skip(1)).All(p => p.Second.ValidationLoss < p.First.ValidationLoss));
        Assert.Equal(12, monitor.LastProgress!.Completed);
        Assert.Equal(4, monitor.LastProgress.Skipped);
        Assert.Equal(24, monitor.LastProgress.TotalEpochs);
    }

    [Fact]
    public async Task TransformerSweep_SeededOptions_CreatesReproducibleSweeps()
    {
        async Task<string[]> Run(int seed)
        {
            var ml = new MLContext();
            var space = ml.TransformerSweep().CreateSearchSpace(new PlainOptions()).Choice(o => o.Heads, 1, 2, 4).Range(o => o.Layers, 1, 5);
            var result = await ml.TransformerSweep().CreateSweep(space, new AnalyticRunner(), new SweepOptions { MaxEpochs = 1, MaxTrials = 6, Seed = seed })
                .WithTuner(new RandomTuner())
                .RunAsync();
            return result.Trials.Select(t => $"{t.Parameters.Key}@{t.Seed}").ToArray();
        }

        var first = await Run(5);
        Assert.Equal(6, first.Length);
        Assert.Equal(first, await Run(5));
        Assert.NotEqual(first, await Run(6));
    }

    [Fact]
    public async Task RunAsync_InvalidOptions_ThrowsNamingTheOption()
    {
        var sweep = new SweepExperiment<PlainOptions>(Spaces.HeadsLayers(), new AnalyticRunner(), new SweepOptions { Parallelism = 0 });
        var e = await Assert.ThrowsAsync<TransformerArgumentException>(() => sweep.RunAsync());
        Assert.Contains("Parallelism", e.Message);
    }

    private sealed class SilentRunner : ISweepTrialRunner<PlainOptions>
    {
        public Task<TrialOutcome> RunAsync(PlainOptions options, TrialContext context, CancellationToken cancellationToken) =>
            Task.FromResult(TrialOutcome.Empty);
    }

    private sealed class AccuracyRunner : ISweepTrialRunner<PlainOptions>
    {
        public Task<TrialOutcome> RunAsync(PlainOptions options, TrialContext context, CancellationToken cancellationToken)
        {
            context.ReportEpoch(1, AnalyticRunner.Loss(options.Heads, options.Layers, 1));
            double accuracy = (0.1 * options.Layers) + (0.01 * options.Heads);
            return Task.FromResult(new TrialOutcome { Metrics = new Dictionary<string, double> { ["Accuracy"] = accuracy } });
        }
    }

    private sealed class TokenRunner(CancellationTokenSource source, int cancelAtTrial) : ISweepTrialRunner<PlainOptions>
    {
        public Task<TrialOutcome> RunAsync(PlainOptions options, TrialContext context, CancellationToken cancellationToken)
        {
            for (int epoch = 1; epoch <= context.MaxEpochs; epoch++)
            {
                if (context.TrialId == cancelAtTrial && epoch == 2)
                {
                    source.Cancel();
                }

                cancellationToken.ThrowIfCancellationRequested();
                context.ReportEpoch(epoch, AnalyticRunner.Loss(options.Heads, options.Layers, epoch));
            }

            return Task.FromResult(TrialOutcome.Empty);
        }
    }
}
