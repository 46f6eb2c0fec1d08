// Grid, random and TPE tuners: coverage, constraints, reproducibility, and TPE beating random on a smooth problem.
using MLNet.Transformer.AutoML;
using Xunit;
using Xunit.Abstractions;

namespace MLNet.Transformer.AutoML.Tests;

public class TunerTests
{
    private readonly ITestOutputHelper _output;

    public TunerTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public async Task GridTuner_WithConstraint_TrainsEveryValidComboOnceAndSkipsTheRestWithReason()
    {
        var runner = new AnalyticRunner();
        var result = await new SweepExperiment<PlainOptions>(Spaces.HeadsLayers(dim: 12), runner,
                new SweepOptions { MaxEpochs = 2, Seed = 1, MaxTrials = 100 })
            .WithTuner(new GridTuner())
            .RunAsync();

        var expectedValid = from h in new[] { 1, 2, 4 } from l in Enumerable.Range(1, 4) select $"Heads={h},Layers={l}";
        var trained = result.Trials.Where(t => t.Status != TrialStatus.Skipped).Select(t => t.Parameters.Key).ToList();
        Assert.Equal(expectedValid.Order(), trained.Order());
        Assert.Equal(trained.Count, trained.Distinct().Count());

        var skipped = result.WithStatus(TrialStatus.Skipped);
        Assert.Equal(4, skipped.Count);
        Assert.All(skipped, t =>
        {
            Assert.Equal(8, t.Parameters.Get<int>("Heads"));
            Assert.Contains("heads must divide dim", t.Message);
            Assert.Equal(0, t.EpochsRun);
        });

        // Heads = 8 was never handed to the runner.
        Assert.DoesNotContain(runner.Contexts, c => c.Parameters.Get<int>("Heads") == 8);
        Assert.Equal(SweepStopReason.TunerExhausted, result.StopReason);
        Assert.Equal("Heads=4,Layers=2", result.Best!.Parameters.Key);
    }

    [Fact]
    public void GridTuner_MixedSpace_ProposesTheCartesianProductInOdometerOrder()
    {
        var space = SweepSearchSpace.Create<PlainOptions>()
            .Choice(o => o.Heads, 1, 2)
            .Range(o => o.Layers, 1, 3)
            .Uniform(o => o.LearningRate, 0.001, 0.003, gridSteps: 2);
        var tuner = new GridTuner();
        tuner.Initialize(space, 0, TunerObjective.Minimize);

        var keys = new List<string>();
        while (tuner.Propose([]) is { } set)
        {
            keys.Add(set.Key);
        }

        Assert.Equal(12, tuner.Size);
        Assert.Equal(12, keys.Count);
        Assert.Equal("Heads=1,Layers=1,LearningRate=0.001", keys[0]);
        Assert.Equal("Heads=1,Layers=1,LearningRate=0.003", keys[1]);
        Assert.Equal("Heads=2,Layers=3,LearningRate=0.003", keys[^1]);
        Assert.Equal(12, keys.Distinct().Count());
    }

    [Theory]
    [InlineData("random")]
    [InlineData("tpe")]
    public async Task Tuner_SameSeed_SameProposals_DifferentSeed_Different(string kind)
    {
        async Task<string[]> Run(int seed)
        {
            var space = SweepSearchSpace.Create<PlainOptions>()
                .Choice(o => o.Heads, 1, 2, 4, 8)
                .Range(o => o.Layers, 1, 6)
                .LogUniform(o => o.LearningRate, 1e-4, 3e-3);
            ISweepTuner tuner = kind == "tpe" ? new TpeTuner(startupTrials: 5) : new RandomTuner();
            var result = await new SweepExperiment<PlainOptions>(space, new AnalyticRunner(),
                    new SweepOptions { MaxEpochs = 1, Seed = seed, MaxTrials = 20 })
                .WithTuner(tuner)
                .RunAsync();
            return result.Trials.Select(t => t.Parameters.Key).ToArray();
        }

        var a = await Run(11);
        var b = await Run(11);
        var c = await Run(12);

        Assert.Equal(20, a.Length);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void RandomTuner_ConstraintExcludingEverything_ProposesAnInvalidSetAfterBoundedTries()
    {
        var space = Spaces.HeadsLayers(dim: 12).Constraint("impossible", _ => false);
        var tuner = new RandomTuner(maxTries: 5);
        tuner.Initialize(space, 1, TunerObjective.Minimize);

        var set = tuner.Propose([]);

        Assert.NotNull(set);
        Assert.NotNull(space.FindViolation(set));
    }

    [Fact]
    public async Task Sweep_ConstraintExcludingEverything_StopsAfterMaxConsecutiveSkips()
    {
        var space = Spaces.HeadsLayers().Constraint("impossible", _ => false);
        var result = await new SweepExperiment<PlainOptions>(space, new AnalyticRunner(),
                new SweepOptions { MaxEpochs = 1, Seed = 1, MaxConsecutiveSkips = 7 })
            .WithTuner(new RandomTuner(maxTries: 3))
            .RunAsync();

        Assert.Equal(SweepStopReason.TooManySkips, result.StopReason);
        Assert.Equal(7, result.Trials.Count);
        Assert.All(result.Trials, t => Assert.Equal(TrialStatus.Skipped, t.Status));
        Assert.Null(result.Best);
    }

    [Fact]
    public async Task TpeTuner_SmoothProblem_ReachesTheOptimumInFewerTrialsThanRandomOnAverage()
    {
        // Trials needed until loss < 0.25 (within 0.5 of the optimum (1.3, -0.7) in a 10 x 10 box), capped at 100.
        const int Cap = 100;
        const double Target = 0.25;
        var space = SweepSearchSpace.Create<QuadraticOptions>().Uniform(o => o.X, -5, 5).Uniform(o => o.Y, -5, 5);

        async Task<int> TrialsToTarget(ISweepTuner tuner, int seed)
        {
            var result = await new SweepExperiment<QuadraticOptions>(space, new QuadraticRunner(),
                    new SweepOptions { MaxEpochs = 1, Seed = seed, MaxTrials = Cap })
                .WithTuner(tuner)
                .RunAsync();
            var hit = result.Trials.FirstOrDefault(t => t.ValidationLoss < Target);
            return hit is null ? Cap + 1 : hit.Id + 1;
        }

        var seeds = Enumerable.Range(100, 10).ToArray();
        var tpe = new List<int>();
        var random = new List<int>();
        foreach (int seed in seeds)
        {
            tpe.Add(await TrialsToTarget(new TpeTuner(startupTrials: 10), seed));
            random.Add(await TrialsToTarget(new RandomTuner(), seed));
        }

        _output.WriteLine($"TPE trials to target: {string.Join(' ', tpe)} (mean {tpe.Average():F1})");
        _output.WriteLine($"random trials to target: {string.Join(' ', random)} (mean {random.Average():F1})");
        Assert.True(tpe.Average() < 0.75 * random.Average(), $"TPE mean {tpe.Average()} vs random mean {random.Average()}");
    }

    [Fact]
    public void TpeTuner_AfterStartup_ConcentratesProposalsNearTheGoodRegion()
    {
        var space = SweepSearchSpace.Create<QuadraticOptions>().Uniform(o => o.X, -5, 5).Uniform(o => o.Y, -5, 5);
        var tuner = new TpeTuner(startupTrials: 10);
        tuner.Initialize(space, 5, TunerObjective.Minimize);
        var history = new List<SweepTrialResult>();
        for (int i = 0; i < 60; i++)
        {
            var set = tuner.Propose(history)!;
            double loss = QuadraticRunner.Loss(set.Get<double>("X"), set.Get<double>("Y"));
            var result = new SweepTrialResult { Id = i, Parameters = set, Status = TrialStatus.Completed, ValidationLoss = loss, MetricValue = loss, EpochsRun = 1 };
            history.Add(result);
            tuner.Report(result);
        }

        double startupMean = history.Take(10).Average(t => t.ValidationLoss);
        double lateMean = history.Skip(40).Average(t => t.ValidationLoss);
        _output.WriteLine($"mean loss: first 10 {startupMean:F2}, last 20 {lateMean:F2}");
        Assert.True(lateMean < startupMean / 3, $"late {lateMean} vs startup {startupMean}");
    }

    [Fact]
    public void TpeTuner_BadArguments_Throw()
    {
        Assert.Throws<TransformerArgumentException>(() => new TpeTuner(gamma: 1.5));
        Assert.Throws<TransformerArgumentException>(() => new TpeTuner(startupTrials: 1));
        Assert.Throws<TransformerArgumentException>(() => new RandomTuner(maxTries: 0));
    }
}
