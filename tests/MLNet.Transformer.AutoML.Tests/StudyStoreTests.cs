// The study store in process: two workers taking turns on one SQLite study make exactly the trials and the ASHA
// decisions of one process (the second worker's tuner continues the study's proposals, its rungs hold the first
// worker's recorded losses), and an older schema is migrated forward without losing its studies.
using Microsoft.Data.Sqlite;
using Xunit;

namespace MLNet.Transformer.AutoML.Tests;

public sealed class StudyStoreTests : IDisposable
{
    private readonly StudyFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task RunAsync_TwoWorkersInTurnOnOneStudy_MakeTheTrialsAndPruningDecisionsOfOneProcess()
    {
        SweepOptions Options(int trials, string? storage) => new()
        {
            MaxTrials = trials, Seed = 5, MaxEpochs = 9, EarlyStoppingPatience = 0, Storage = storage, StudyName = "asha",
        };

        async Task<SweepResult> Sweep(int trials, string? storage) =>
            await new SweepExperiment<PlainOptions>(Spaces.HeadsLayers(), new AnalyticRunner(), Options(trials, storage))
                .WithTuner(new RandomTuner())
                .WithPruner(new AshaPruner(minEpochs: 1, reductionFactor: 3))
                .RunAsync();

        var one = await Sweep(12, null);
        string url = $"sqlite:///{_folder.File("study.db")}";
        var first = await Sweep(6, url);
        var second = await Sweep(12, url);

        Assert.Equal(6, first.Trials.Count);
        Assert.Equal(12, second.Trials.Count);
        Assert.Contains(one.Trials, t => t.Status == TrialStatus.Pruned);
        Assert.Contains(second.Trials.Skip(6), t => t.Status == TrialStatus.Pruned);
        foreach (var (expected, actual) in one.Trials.Zip(second.Trials))
        {
            Assert.Equal(expected.Id, actual.Id);
            Assert.Equal(expected.Parameters.Key, actual.Parameters.Key);
            Assert.Equal(expected.Seed, actual.Seed);
            Assert.Equal(expected.Status, actual.Status);
            Assert.Equal(expected.EpochsRun, actual.EpochsRun);
            Assert.Equal(expected.ValidationLoss, actual.ValidationLoss);
        }

        // The second worker found the study finalized by the first (no repeats asked for): it does not finalize again.
        Assert.True(first.Finalizes);
        Assert.False(second.Finalizes);
        Assert.Equal("done", second.FinalizedBy);
    }

    [Fact]
    public void Open_StoreAtSchemaVersion1_MigratesToTheCurrentVersionKeepingItsStudies()
    {
        string path = _folder.File("old.db");
        string url = $"sqlite:///{path}";
        using (var old = StudyStore.Open(url, 1))
        {
            Assert.Equal(1, old.ReadSchemaVersion());
            old.OpenStudy("kept", ["Heads: choice of 1, 2"], 3, SweepOptions.ValidationLossMetric, false, 4);
        }

        using var store = StudyStore.Open(url);
        Assert.Equal(StudyStore.SchemaVersion, store.ReadSchemaVersion());
        var study = store.FindStudy("kept");
        Assert.NotNull(study);
        Assert.Equal(3, study.Seed);
        Assert.Equal(["Heads: choice of 1, 2"], study.Space);

        SqliteConnection.ClearAllPools();
        using var connection = new SqliteConnection($"Data Source={path}");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'mlt_trials_status'";
        Assert.Equal(1L, cmd.ExecuteScalar());
    }

    [Fact]
    public void OpenStudy_AnotherSpaceOrSeed_IsRefusedNamingEachDifference()
    {
        using var store = StudyStore.Open($"sqlite:///{_folder.File("space.db")}");
        store.OpenStudy("s", ["Heads: choice of 1, 2", "Layers: integers 1..3 step 1"], 3, SweepOptions.ValidationLossMetric, false, 4);
        var e = Assert.Throws<StudyMismatchException>(() =>
            store.OpenStudy("s", ["Heads: choice of 1, 2, 4", "Dropout: range 0..0.5"], 4, SweepOptions.ValidationLossMetric, false, 4));
        Assert.Contains("seed: the study has 3, this worker 4", e.Message, StringComparison.Ordinal);
        Assert.Contains("the study has Heads: choice of 1, 2, this worker Heads: choice of 1, 2, 4", e.Message, StringComparison.Ordinal);
        Assert.Contains("the study has Layers: integers 1..3 step 1, this worker does not", e.Message, StringComparison.Ordinal);
        Assert.Contains("this worker has Dropout: range 0..0.5, the study does not", e.Message, StringComparison.Ordinal);
    }
}
