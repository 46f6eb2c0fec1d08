// Several `sweep` processes on one study store (SQLite file, PostgreSQL server started by the tests): each trial is
// claimed once and the leaderboard is the union of the workers' trials; a worker killed with SIGKILL mid-trial has
// its trial retried; killing every worker and rerunning resumes; a worker with another search space is refused.
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using MLNet.Transformer.TestKit;

namespace MLNet.Transformer.Tests;

/// <summary>One PostgreSQL server for the tests of this class (none when PostgreSQL is not installed).</summary>
public sealed class PostgresFixture : IDisposable
{
    public PostgresServer? Server { get; } = PostgresServer.Installed ? PostgresServer.Start() : null;

    public void Dispose() => Server?.Dispose();
}

public sealed class CliSweepStoreTests : IDisposable, IClassFixture<PostgresFixture>
{
    private readonly TempFolder _folder = new();
    private readonly PostgresFixture _postgres;

    public CliSweepStoreTests(PostgresFixture postgres)
    {
        _postgres = postgres;
        File.WriteAllLines(_folder.File("names.txt"), File.ReadAllLines(RepoPaths.Combine("data", "names.txt")).Where(l => l.Length > 0).Take(240));
        File.WriteAllLines(_folder.File("more.txt"), File.ReadAllLines(RepoPaths.Combine("data", "names.txt")).Where(l => l.Length > 0).Take(1500));
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Sweep_ThreeWorkersOnSqlite_ClaimEachOfThirtyTrialsOnceAndReportTheUnion() =>
        ThreeWorkers($"sqlite:///{_folder.File("study.db")}");

    [Fact]
    public void Sweep_ThreeWorkersOnPostgres_ClaimEachOfThirtyTrialsOnceAndReportTheUnion()
    {
        if (_postgres.Server is not { } server)
        {
            return; // PostgreSQL is not installed here (./build.sh test installs it).
        }

        ThreeWorkers(server.CreateDatabase("three_workers"));
    }

    [Fact]
    public void Sweep_WorkerKilledMidTrial_TrialIsRetriedAndStudyCompletes()
    {
        string url = $"sqlite:///{_folder.File("kill.db")}";
        string[] args = Args(url, "kill", trials: 6, data: "more.txt", epochs: 4, grace: 3);
        using var victim = Start(args);
        using var survivor = Start(args);

        // Wait until the victim is inside a trial (an epoch reported, more to go), then SIGKILL it.
        int killed = WaitFor(url, $"SELECT t.number FROM mlt_trials t JOIN mlt_trial_values v ON v.study_id = t.study_id AND v.number = t.number WHERE t.status = 'Running' AND t.worker LIKE '%:{victim.Id}:%' LIMIT 1");
        victim.Kill();
        victim.WaitForExit();

        var result = Finish(survivor);
        Assert.True(result.ExitCode == 0, result.ToString());
        var report = Report(url, "kill");
        var all = report.GetProperty("all").EnumerateArray().ToArray();
        var dead = all.Single(t => t.GetProperty("id").GetInt32() == killed);
        Assert.Equal("Failed", dead.GetProperty("status").GetString());
        string message = dead.GetProperty("message").GetString()!;
        Assert.Contains("stopped beating", message, StringComparison.Ordinal);
        int retry = int.Parse(message[(message.IndexOf("retried as trial ", StringComparison.Ordinal) + 17)..], System.Globalization.CultureInfo.InvariantCulture);
        var again = all.Single(t => t.GetProperty("id").GetInt32() == retry);
        Assert.Equal("Completed", again.GetProperty("status").GetString());
        Assert.Equal(dead.GetProperty("parameters").GetString(), again.GetProperty("parameters").GetString());

        // The study completes: 6 proposed trials, each finished (the dead one failed, its retry completed), none running.
        Assert.Equal(7, all.Length);
        Assert.Equal(6, all.Count(t => t.GetProperty("status").GetString() == "Completed"));
        Assert.True(report.GetProperty("finalized").GetBoolean());
    }

    [Fact]
    public void Sweep_EveryWorkerKilledThenRerun_ResumesWithoutRerunningFinishedTrials()
    {
        string url = $"sqlite:///{_folder.File("resume.db")}";
        // The grace period must outlast a live worker's longest silence on a loaded machine: a live trial declared dead
        // is retried, and a retry killed below is (by design) not retried again, which would leave a configuration
        // unfinished. The killed workers' trials are reaped after it.
        string[] args = Args(url, "resume", trials: 8, data: "more.txt", epochs: 3, grace: 8);
        using (var a = Start(args))
        using (var b = Start(args))
        {
            WaitFor(url, "SELECT COUNT(*) FROM mlt_trials WHERE status = 'Completed' HAVING COUNT(*) >= 2");
            a.Kill();
            b.Kill();
            a.WaitForExit();
            b.WaitForExit();
        }

        var before = Report(url, "resume").GetProperty("all").EnumerateArray()
            .Where(t => t.GetProperty("status").GetString() == "Completed").Select(t => t.GetProperty("id").GetInt32()).ToHashSet();
        Assert.InRange(before.Count, 2, 7);

        var rerun = Finish(Start(args));
        Assert.True(rerun.ExitCode == 0, rerun.ToString());
        using var summary = JsonDocument.Parse(rerun.StdOut);
        var ranHere = summary.RootElement.GetProperty("ranHere").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Empty(ranHere.Intersect(before));

        var all = Report(url, "resume").GetProperty("all").EnumerateArray().ToArray();
        string trials = string.Join("; ", all.Select(t => $"#{t.GetProperty("id")} {t.GetProperty("status")}"
            + (t.TryGetProperty("message", out var m) ? $" ({m})" : "")));
        Assert.True(8 == all.Count(t => t.GetProperty("status").GetString() == "Completed"),
            $"expected 8 completed trials; before the kill {string.Join(",", before)} had completed; rerun ran {string.Join(",", ranHere)}; the study: {trials}\n{rerun.StdErr}");
        Assert.Equal(8, all.Count(t => !(t.TryGetProperty("message", out var m) && m.GetString()!.Contains("stopped beating", StringComparison.Ordinal))));
    }

    [Fact]
    public void Sweep_PostgresStoppedMidStudy_FailsNamingHostAndStudyAndKeepsWhatWasRecorded()
    {
        if (_postgres.Server is not { } server)
        {
            return; // PostgreSQL is not installed here (./build.sh test installs it).
        }

        string url = server.CreateDatabase("lost");
        using var worker = Start(Args(url, "lost", trials: 40, data: "more.txt", epochs: 3));
        var finished = new List<int>();
        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5);
            while (finished.Count < 2 && DateTime.UtcNow < deadline && !worker.HasExited)
            {
                Thread.Sleep(200);
                finished = Completed(url);
            }
        }
        finally
        {
            server.Stop();
        }

        var result = Finish(worker);
        server.Resume();
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"Lost the connection to the study store at 127.0.0.1:{server.Port}/lost (study 'lost')", result.StdErr, StringComparison.Ordinal);

        // Every trial recorded before the server went away is still there.
        Assert.True(finished.Count >= 2, result.ToString());
        var after = Report(url, "lost").GetProperty("all").EnumerateArray()
            .Where(t => t.GetProperty("status").GetString() == "Completed").Select(t => t.GetProperty("id").GetInt32()).ToHashSet();
        Assert.Superset(finished.ToHashSet(), after);
    }

    /// <summary>The trials completed so far in a PostgreSQL study (read directly, while its worker runs).</summary>
    private static List<int> Completed(string url)
    {
        var uri = new Uri(url);
        using var connection = new Npgsql.NpgsqlConnection($"Host=127.0.0.1;Port={uri.Port};Username=postgres;Database={uri.AbsolutePath.TrimStart('/')};Pooling=false");
        var ids = new List<int>();
        try
        {
            connection.Open();
            using var cmd = connection.CreateCommand();
            cmd.CommandText = "SELECT number FROM mlt_trials WHERE status = 'Completed'";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                ids.Add(r.GetInt32(0));
            }
        }
        catch (Npgsql.PostgresException)
        {
            // No schema yet.
        }

        return ids;
    }

    [Fact]
    public void Sweep_WorkerWithAnotherSearchSpace_IsRefusedNamingTheDifference()
    {
        string url = $"sqlite:///{_folder.File("space.db")}";
        var first = ChildProcess.Cli(_folder.Path, Args(url, "space", trials: 1));
        Assert.True(first.ExitCode == 0, first.ToString());

        var other = Args(url, "space", trials: 1).Select(a => a == "0.0005:0.01" ? "0.001:0.01" : a).ToArray();
        var refused = ChildProcess.Cli(_folder.Path, other);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("refused", refused.StdErr, StringComparison.Ordinal);
        Assert.Contains("LearningRate: range 0.0005..0.01 log", refused.StdErr, StringComparison.Ordinal);
        Assert.Contains("LearningRate: range 0.001..0.01 log", refused.StdErr, StringComparison.Ordinal);
    }

    private void ThreeWorkers(string url)
    {
        string[] args = Args(url, "three", trials: 30);
        var workers = Enumerable.Range(0, 3).Select(_ => Start(args)).ToArray();
        var results = workers.Select(Finish).ToArray();
        foreach (var r in results)
        {
            Assert.True(r.ExitCode == 0, r.ToString());
        }

        var ran = results.Select(r =>
        {
            using var json = JsonDocument.Parse(r.StdOut);
            return json.RootElement.GetProperty("ranHere").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        }).ToArray();

        // 30 distinct trials, each run by exactly one worker; the one that finished the study finalized it.
        var union = ran.SelectMany(r => r).ToArray();
        Assert.Equal(30, union.Length);
        Assert.Equal(Enumerable.Range(0, 30), union.Order());
        Assert.Single(results, r => r.StdOut.Contains("\"refit\"", StringComparison.Ordinal));

        // The leaderboard read back from the store is the union of the workers' trials.
        var report = Report(url, "three");
        var ranked = report.GetProperty("leaderboard").EnumerateArray().Select(e => e.GetProperty("id").GetInt32()).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, 30), ranked);
        Assert.Equal(30, report.GetProperty("leaderboard").EnumerateArray().Select(e => e.GetProperty("parameters").GetString()).Distinct().Count());
    }

    private static string[] Args(string url, string study, int trials, string data = "names.txt", int epochs = 2, double grace = 10) =>
    [
        "sweep", "--data", data, "--heads", "1", "--layers", "1", "--dim", "16", "--ff-ratio", "2", "--dropout", "0", "--lr", "0.0005:0.01",
        "--weight-decay", "0", "--norm", "pre", "--activation", "relu", "--warmup", "0", "--schedule", "constant", "--batch-size", "32",
        "--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--patience", "0", "--tuner", "random", "--pruner", "none",
        "--repeat-top", "0", "--ensemble", "1", "--refit", "best-trial", "--seed", "7", "--threads-per-trial", "1",
        "--storage", url, "--study", study, "--trials", trials.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--heartbeat-grace", grace.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json", "--quiet",
    ];

    private Process Start(string[] args)
    {
        var start = ChildProcess.StartInfo(_folder.Path, [ChildProcess.CliDll, .. args]);
        return Process.Start(start) ?? throw new InvalidOperationException("could not start the CLI");
    }

    private static ProcessResult Finish(Process process)
    {
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(8)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("a sweep worker did not finish within 8 minutes");
        }

        process.WaitForExit();
        return new ProcessResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    private JsonElement Report(string url, string study)
    {
        var report = ChildProcess.Cli(_folder.Path, "sweep", "--storage", url, "--study", study, "--json");
        Assert.True(report.ExitCode == 0, report.ToString());
        return JsonDocument.Parse(report.StdOut).RootElement.Clone();
    }

    /// <summary>Polls the SQLite store until <paramref name="sql"/> returns a row (a safety timeout, not a timing assertion).</summary>
    private static int WaitFor(string url, string sql)
    {
        string path = url["sqlite:///".Length..];
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5);
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(path))
            {
                try
                {
                    using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
                    connection.Open();
                    using var cmd = connection.CreateCommand();
                    cmd.CommandText = sql;
                    if (cmd.ExecuteScalar() is { } value and not DBNull)
                    {
                        return Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture);
                    }
                }
                catch (SqliteException)
                {
                    // The schema is not there yet, or a writer holds the file: poll again.
                }
            }

            Thread.Sleep(50);
        }

        throw new TimeoutException($"the study never got to: {sql}");
    }
}
