// The shared study store of a sweep: one relational database (SQLite on one machine, PostgreSQL across machines)
// that records a study's search space, its trials, their per-epoch losses and its workers, so that several sweep
// processes can work on one study, a crashed one can be resumed, and a dead worker's trial is retried.
using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;

namespace MLNet.Transformer.AutoML;

/// <summary>The store could not be reached, or answered with an error: names the store's host and the study.</summary>
public sealed class StudyStoreException : TransformerException
{
    /// <summary>Creates the exception.</summary>
    public StudyStoreException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

/// <summary>A worker's search space, seed or budget differs from what its study recorded.</summary>
public sealed class StudyMismatchException : TransformerArgumentException
{
    /// <summary>Creates the exception.</summary>
    public StudyMismatchException(string message)
        : base(message, "Storage")
    {
    }
}

/// <summary>A study as its store records it.</summary>
/// <param name="Id">The store's key of the study.</param>
/// <param name="Name">Its name.</param>
/// <param name="Seed">The sweep seed every worker uses.</param>
/// <param name="Metric">The metric ranked.</param>
/// <param name="MaximizeMetric">Whether larger metric values are better.</param>
/// <param name="MaxEpochs">The full epoch budget of a trial.</param>
/// <param name="Space">The search space description, one line per dimension, constraint and fixed value.</param>
public sealed record StudyInfo(long Id, string Name, int Seed, string Metric, bool MaximizeMetric, int MaxEpochs, IReadOnlyList<string> Space);

/// <summary>One trial row of a study (a finished trial, or one running or waiting for a worker).</summary>
internal sealed record StoredTrial(int Number, string Status, string Parameters, int? RepeatOf, int? RetryOf, string? Worker, long? HeartbeatMs, SweepTrialResult? Result);

/// <summary>
/// A relational study store. <see cref="Open(string)"/> takes a URL: <c>sqlite:///path/to/file.db</c> (an embedded file,
/// safe for several processes on one machine) or <c>postgresql://user:password@host:port/database</c> (several
/// machines). The schema carries a version and is migrated forward when a store is opened. Every change that must
/// not race (claiming a trial, retrying a dead worker's trial, claiming the finalization) runs in one transaction
/// that holds the study's lock. Thread-safe: every call uses its own pooled connection.
/// </summary>
public abstract class StudyStore : IDisposable
{
    /// <summary>The schema version this code writes; older stores are migrated forward on open.</summary>
    public const int SchemaVersion = 3;

    /// <summary>Trial statuses that exist only in the store (a trial running on some worker, or waiting for one).</summary>
    internal const string Running = "Running";

    internal const string Pending = "Pending";

    private protected StudyStore(string url, string host)
    {
        Url = url;
        Host = host;
    }

    /// <summary>The URL the store was opened with, without its password.</summary>
    public string Url { get; }

    /// <summary>The host named in errors (the database server, or the SQLite file).</summary>
    public string Host { get; }

    /// <summary>Opens (creating and migrating where needed) the store a URL names.</summary>
    /// <param name="url"><c>sqlite:///path.db</c> (a relative path after <c>sqlite:///</c> is relative to the working
    /// folder; <c>sqlite:////abs/path.db</c> is absolute) or <c>postgresql://user:password@host:port/database</c>
    /// (<c>postgres://</c> too).</param>
    /// <exception cref="TransformerArgumentException">The URL has another scheme or is malformed.</exception>
    /// <exception cref="StudyStoreException">The store cannot be reached or was written by a newer schema.</exception>
    public static StudyStore Open(string url) => Open(url, SchemaVersion);

    /// <summary>Opens a store migrated to <paramref name="version"/> at most (tests build older schemas with it).</summary>
    internal static StudyStore Open(string url, int version)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        StudyStore store;
        if (url.StartsWith("sqlite://", StringComparison.OrdinalIgnoreCase))
        {
            string path = url["sqlite://".Length..];
            if (path.StartsWith('/'))
            {
                path = path[1..];
            }

            if (path.Length == 0)
            {
                throw StudyStore.UrlError($"Storage URL '{url}' names no file: expected sqlite:///path.db.");
            }

            store = new SqliteStudyStore(url, Path.GetFullPath(path));
        }
        else if (url.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase))
        {
            store = PostgresStudyStore.FromUrl(url);
        }
        else
        {
            throw StudyStore.UrlError($"Storage URL '{url}': expected sqlite:///path.db or postgresql://user:password@host:port/database.");
        }

        try
        {
            store.Migrate(version);
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>The schema version of the store as it is now.</summary>
    public int ReadSchemaVersion() => Run(null, c => ReadVersion(c, null));

    /// <summary>Creates the schema or migrates it forward to <paramref name="version"/> (tests use an older one).</summary>
    internal void Migrate(int version) => Run(null, c =>
    {
        using var tx = BeginMigration(c);
        int current = ReadVersion(c, tx);
        if (current > SchemaVersion)
        {
            throw new StudyStoreException($"The study store {Host} has schema version {current}, newer than this program's {SchemaVersion}: upgrade the program.");
        }

        for (int v = current + 1; v <= version; v++)
        {
            foreach (string sql in MigrationSteps(v))
            {
                Exec(c, tx, sql);
            }

            Exec(c, tx, "DELETE FROM mlt_schema");
            Exec(c, tx, "INSERT INTO mlt_schema (version) VALUES (@v)", ("v", v));
        }

        tx.Commit();
        return 0;
    });

    /// <summary>The SQL of migration <paramref name="version"/> (1 creates the tables).</summary>
    private IEnumerable<string> MigrationSteps(int version) => version switch
    {
        1 =>
        [
            $"CREATE TABLE mlt_studies (id {IdColumn}, name TEXT NOT NULL UNIQUE, space TEXT NOT NULL, seed INTEGER NOT NULL, metric TEXT NOT NULL, maximize INTEGER NOT NULL, max_epochs INTEGER NOT NULL, created_ms BIGINT NOT NULL, finalizer TEXT, finalized_ms BIGINT)",
            "CREATE TABLE mlt_workers (id TEXT PRIMARY KEY, study_id BIGINT NOT NULL, host TEXT NOT NULL, started_ms BIGINT NOT NULL, beat_ms BIGINT NOT NULL)",
            "CREATE TABLE mlt_trials (study_id BIGINT NOT NULL, number INTEGER NOT NULL, status TEXT NOT NULL, params TEXT NOT NULL, repeat_of INTEGER, retry_of INTEGER, worker TEXT, heartbeat_ms BIGINT, seed INTEGER NOT NULL, loss DOUBLE PRECISION, best_epoch INTEGER, last_loss DOUBLE PRECISION, stopped_early INTEGER, metric DOUBLE PRECISION, epochs_run INTEGER, epoch_losses TEXT, metrics TEXT, duration_ms BIGINT, device TEXT, threads INTEGER, message TEXT, finished_ms BIGINT, PRIMARY KEY (study_id, number))",
            "CREATE TABLE mlt_trial_values (study_id BIGINT NOT NULL, number INTEGER NOT NULL, epoch INTEGER NOT NULL, loss DOUBLE PRECISION, PRIMARY KEY (study_id, number, epoch))",
        ],
        2 =>
        [
            // The claim and the heartbeat scan look trials up by status; rung decisions read one epoch of every trial.
            "CREATE INDEX mlt_trials_status ON mlt_trials (study_id, status)",
            "CREATE INDEX mlt_trial_values_epoch ON mlt_trial_values (study_id, epoch)",
        ],
        3 =>
        [
            // A finished trial's fitted model (checkpoint and history, zipped), for the worker that finalizes the study.
            $"CREATE TABLE mlt_trial_models (study_id BIGINT NOT NULL, number INTEGER NOT NULL, model {BlobColumn} NOT NULL, PRIMARY KEY (study_id, number))",
        ],
        _ => throw new ArgumentOutOfRangeException(nameof(version)),
    };

    /// <summary>Creates the study, or checks that the existing one was made with the same space, seed and budget.</summary>
    /// <exception cref="StudyMismatchException">The study exists with another space, seed, metric or epoch budget;
    /// the message names each difference.</exception>
    internal StudyInfo OpenStudy(string name, IReadOnlyList<string> space, int seed, string metric, bool maximize, int maxEpochs) => Run(name, c =>
    {
        using var tx = BeginMigration(c);
        var existing = ReadStudy(c, tx, name);
        if (existing is null)
        {
            Exec(c, tx, $"INSERT INTO mlt_studies (name, space, seed, metric, maximize, max_epochs, created_ms) VALUES (@n, @sp, @seed, @m, @max, @e, {NowMs})",
                ("n", name), ("sp", string.Join('\n', space)), ("seed", seed), ("m", metric), ("max", maximize ? 1 : 0), ("e", maxEpochs));
            existing = ReadStudy(c, tx, name)!;
        }

        tx.Commit();
        var differences = new List<string>();
        if (existing.Seed != seed)
        {
            differences.Add($"seed: the study has {existing.Seed}, this worker {seed}");
        }

        if (!string.Equals(existing.Metric, metric, StringComparison.OrdinalIgnoreCase) || existing.MaximizeMetric != maximize)
        {
            differences.Add($"metric: the study ranks by {existing.Metric}{(existing.MaximizeMetric ? " (max)" : "")}, this worker by {metric}{(maximize ? " (max)" : "")}");
        }

        if (existing.MaxEpochs != maxEpochs)
        {
            differences.Add($"epochs: the study trains {existing.MaxEpochs}, this worker {maxEpochs}");
        }

        differences.AddRange(SpaceDifferences(existing.Space, space));
        if (differences.Count > 0)
        {
            throw new StudyMismatchException(
                $"Study '{name}' in {Host} was created with another search space or settings; this worker is refused: {string.Join("; ", differences)}. Use another study name, or the study's own settings.");
        }

        return existing;
    });

    /// <summary>The study named <paramref name="name"/>, or null.</summary>
    public StudyInfo? FindStudy(string name) => Run(name, c => ReadStudy(c, null, name));

    /// <summary>Names of the studies in the store.</summary>
    public IReadOnlyList<string> StudyNames() => Run(null, c =>
    {
        var names = new List<string>();
        using var cmd = Command(c, null, "SELECT name FROM mlt_studies ORDER BY id");
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            names.Add(r.GetString(0));
        }

        return names;
    });

    /// <summary>Every trial of a study (finished, running and pending), by number.</summary>
    internal IReadOnlyList<StoredTrial> LoadTrials(StudyInfo study, SweepSearchSpace? space) => Run(study.Name, c => ReadTrials(c, null, study, space));

    /// <summary>A study's finished trials as a <see cref="SweepResult"/>: its leaderboard as every worker recorded it.</summary>
    /// <param name="study">The study.</param>
    /// <param name="space">Its search space, to give the recorded values their types; null: the values as text.</param>
    public SweepResult LoadResult(StudyInfo study, SweepSearchSpace? space = null)
    {
        ArgumentNullException.ThrowIfNull(study);
        var trials = LoadTrials(study, space).Where(t => t.Result is not null).Select(t => t.Result!).ToArray();
        var objective = new TunerObjective(study.MaximizeMetric);
        var stop = trials.Any(t => t.Status == TrialStatus.Cancelled) ? SweepStopReason.Cancelled : SweepStopReason.MaxTrials;
        return new SweepResult(trials, new Leaderboard(trials, objective), study.Seed, stop,
            TimeSpan.FromMilliseconds(UsedMilliseconds(study, long.MaxValue)), study.Metric, study.MaxEpochs);
    }

    /// <summary>Registers a worker of a study (its first heartbeat).</summary>
    internal void RegisterWorker(StudyInfo study, string worker) => Run(study.Name, c =>
    {
        Exec(c, null, $"INSERT INTO mlt_workers (id, study_id, host, started_ms, beat_ms) VALUES (@w, @s, @h, {NowMs}, {NowMs})",
            ("w", worker), ("s", study.Id), ("h", Environment.MachineName));
        return 0;
    });

    /// <summary>A heartbeat: the worker and every trial it runs are alive now.</summary>
    internal void Beat(StudyInfo study, string worker) => Run(study.Name, c =>
    {
        Exec(c, null, $"UPDATE mlt_workers SET beat_ms = {NowMs} WHERE id = @w", ("w", worker));
        Exec(c, null, $"UPDATE mlt_trials SET heartbeat_ms = {NowMs} WHERE study_id = @s AND worker = @w AND status = '{Running}'", ("s", study.Id), ("w", worker));
        return 0;
    });

    /// <summary>
    /// The wall time the study's workers have spent on it before <paramref name="beforeMs"/> (store clock): the length
    /// of the union of the workers' [start, last heartbeat] intervals, so that concurrent workers count once.
    /// </summary>
    internal long UsedMilliseconds(StudyInfo study, long beforeMs) => Run(study.Name, c =>
    {
        var spans = new List<(long Start, long End)>();
        using (var cmd = Command(c, null, "SELECT started_ms, beat_ms FROM mlt_workers WHERE study_id = @s ORDER BY started_ms", ("s", study.Id)))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                long s = r.GetInt64(0), e = Math.Min(r.GetInt64(1), beforeMs);
                if (e > s)
                {
                    spans.Add((s, e));
                }
            }
        }

        long total = 0, end = long.MinValue;
        foreach (var (s, e) in spans)
        {
            if (e <= end)
            {
                continue;
            }

            total += e - Math.Max(s, end);
            end = e;
        }

        return total;
    });

    /// <summary>The store's clock, in Unix milliseconds (heartbeats are compared on it, never on a worker's).</summary>
    internal long NowMilliseconds() => Run(null, c => Convert.ToInt64(Scalar(c, null, $"SELECT {NowMs}"), CultureInfo.InvariantCulture));

    /// <summary>
    /// The claim, in one transaction under the study's lock. First every trial running on a worker whose heartbeat is
    /// older than <paramref name="graceMs"/> is marked failed, and (if it was not itself a retry) queued again once
    /// with the same configuration and seed. Then a queued trial is claimed if there is one; else
    /// <paramref name="propose"/> sees every trial of the study and returns the next configuration (null: none),
    /// which is inserted as running on <paramref name="worker"/>; configurations that violate a constraint are
    /// recorded as skipped and <paramref name="propose"/> is asked again.
    /// </summary>
    /// <returns>The claimed trial, or null when there is nothing to run now.</returns>
    internal ClaimedTrial? Claim(StudyInfo study, SweepSearchSpace space, string worker, long graceMs, Func<IReadOnlyList<StoredTrial>, Proposal?> propose) => Run(study.Name, c =>
    {
        using var tx = BeginLocked(c, study.Id);
        ReapStale(c, tx, study, graceMs);
        ClaimedTrial? claimed = null;
        using (var cmd = Command(c, tx, $"SELECT number, params, seed, retry_of, repeat_of FROM mlt_trials WHERE study_id = @s AND status = '{Pending}' ORDER BY number", ("s", study.Id)))
        using (var r = cmd.ExecuteReader())
        {
            if (r.Read())
            {
                claimed = new ClaimedTrial(r.GetInt32(0), space.ParseKey(r.GetString(1)), r.GetInt32(2), r.IsDBNull(3) ? null : r.GetInt32(3), r.IsDBNull(4) ? null : r.GetInt32(4));
            }
        }

        if (claimed is not null)
        {
            Exec(c, tx, $"UPDATE mlt_trials SET status = '{Running}', worker = @w, heartbeat_ms = {NowMs} WHERE study_id = @s AND number = @n",
                ("w", worker), ("s", study.Id), ("n", claimed.Number));
            tx.Commit();
            return claimed;
        }

        var trials = ReadTrials(c, tx, study, space).ToList();
        while (propose(trials) is { } proposal)
        {
            int number = trials.Count == 0 ? 0 : trials.Max(t => t.Number) + 1;
            int seed = proposal.SeedOf(number);
            if (proposal.Violation is { } violation)
            {
                var skipped = new SweepTrialResult { Id = number, Parameters = proposal.Parameters, Status = TrialStatus.Skipped, Seed = seed, Message = violation };
                InsertTrial(c, tx, study, number, nameof(TrialStatus.Skipped), proposal.Parameters.Key, seed, proposal.RepeatOf, null, null);
                WriteResult(c, tx, study, skipped, null);
                trials.Add(new StoredTrial(number, nameof(TrialStatus.Skipped), proposal.Parameters.Key, proposal.RepeatOf, null, null, null, skipped));
                continue;
            }

            InsertTrial(c, tx, study, number, Running, proposal.Parameters.Key, seed, proposal.RepeatOf, null, worker);
            claimed = new ClaimedTrial(number, proposal.Parameters, seed, null, proposal.RepeatOf);
            break;
        }

        tx.Commit();
        return claimed;
    });

    /// <summary>Records a finished trial (any status) run by <paramref name="worker"/>. A result that arrives after the
    /// trial was declared dead still replaces the failure: what was measured is never dropped.</summary>
    internal void Finish(StudyInfo study, SweepTrialResult result, string worker) => Run(study.Name, c =>
    {
        WriteResult(c, null, study, result, worker);
        return 0;
    });

    /// <summary>Keeps trial <paramref name="number"/>'s fitted model (opaque bytes), replacing an earlier one.</summary>
    internal void SaveTrialModel(StudyInfo study, int number, byte[] model) => Run(study.Name, c =>
    {
        using var tx = BeginLocked(c, study.Id);
        Exec(c, tx, "DELETE FROM mlt_trial_models WHERE study_id = @s AND number = @n", ("s", study.Id), ("n", number));
        Exec(c, tx, "INSERT INTO mlt_trial_models (study_id, number, model) VALUES (@s, @n, @m)", ("s", study.Id), ("n", number), ("m", model));
        tx.Commit();
        return 0;
    });

    /// <summary>Trial <paramref name="number"/>'s fitted model as <see cref="SaveTrialModel"/> kept it; null when none was kept.</summary>
    internal byte[]? LoadTrialModel(StudyInfo study, int number) => Run(study.Name, c =>
        Scalar(c, null, "SELECT model FROM mlt_trial_models WHERE study_id = @s AND number = @n", ("s", study.Id), ("n", number)) as byte[]);

    /// <summary>Records trial <paramref name="number"/>'s best validation loss so far after <paramref name="epoch"/>
    /// (the pruner's input across workers); it doubles as the trial's heartbeat.</summary>
    internal void ReportEpoch(StudyInfo study, int number, int epoch, double loss, string worker) => Run(study.Name, c =>
    {
        Exec(c, null, "DELETE FROM mlt_trial_values WHERE study_id = @s AND number = @n AND epoch = @e", ("s", study.Id), ("n", number), ("e", epoch));
        Exec(c, null, "INSERT INTO mlt_trial_values (study_id, number, epoch, loss) VALUES (@s, @n, @e, @l)",
            ("s", study.Id), ("n", number), ("e", epoch), ("l", Db(loss)));
        Exec(c, null, $"UPDATE mlt_trials SET heartbeat_ms = {NowMs} WHERE study_id = @s AND number = @n AND worker = @w",
            ("s", study.Id), ("n", number), ("w", worker));
        return 0;
    });

    /// <summary>The values recorded at <paramref name="epoch"/> by every trial of the study that the tuner proposed
    /// (repeats excluded): an ASHA rung as all the workers see it.</summary>
    internal IReadOnlyList<double> EpochValues(StudyInfo study, int epoch) => Run(study.Name, c =>
    {
        var values = new List<double>();
        using var cmd = Command(c, null,
            "SELECT v.loss FROM mlt_trial_values v JOIN mlt_trials t ON t.study_id = v.study_id AND t.number = v.number WHERE v.study_id = @s AND v.epoch = @e AND t.repeat_of IS NULL",
            ("s", study.Id), ("e", epoch));
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            values.Add(r.IsDBNull(0) ? double.NaN : r.GetDouble(0));
        }

        return values;
    });

    /// <summary>
    /// Claims the study's finalization (repeats, refit, ensemble) for <paramref name="worker"/>: granted when nobody
    /// holds it, when its holder stopped beating for the grace period, or (with <paramref name="again"/>) when the
    /// study was already finalized. Without <paramref name="again"/> a finalized study is not finalized twice.
    /// </summary>
    /// <returns>Null when granted; else the worker holding it, or "done" when the study was finalized.</returns>
    internal string? ClaimFinalization(StudyInfo study, string worker, long graceMs, bool again) => Run(study.Name, c =>
    {
        using var tx = BeginLocked(c, study.Id);
        string? holder = null;
        bool done = false;
        using (var cmd = Command(c, tx, "SELECT finalizer, finalized_ms FROM mlt_studies WHERE id = @s", ("s", study.Id)))
        using (var r = cmd.ExecuteReader())
        {
            r.Read();
            holder = r.IsDBNull(0) ? null : r.GetString(0);
            done = !r.IsDBNull(1);
        }

        if (done && !again)
        {
            return "done";
        }

        if (!done && holder is not null && holder != worker)
        {
            var beat = Scalar(c, tx, $"SELECT {NowMs} - beat_ms FROM mlt_workers WHERE id = @w", ("w", holder));
            if (beat is not null and not DBNull && Convert.ToInt64(beat, CultureInfo.InvariantCulture) < graceMs)
            {
                return holder;
            }
        }

        Exec(c, tx, "UPDATE mlt_studies SET finalizer = @w, finalized_ms = NULL WHERE id = @s", ("w", worker), ("s", study.Id));
        tx.Commit();
        return null;
    });

    /// <summary>Marks the study finalized (or, when <paramref name="completed"/> is false, gives the finalization up).</summary>
    internal void EndFinalization(StudyInfo study, string worker, bool completed) => Run(study.Name, c =>
    {
        Exec(c, null, completed
                ? $"UPDATE mlt_studies SET finalized_ms = {NowMs} WHERE id = @s AND finalizer = @w"
                : "UPDATE mlt_studies SET finalizer = NULL WHERE id = @s AND finalizer = @w",
            ("s", study.Id), ("w", worker));
        return 0;
    });

    /// <summary>Whether the study has been finalized (its repeats run and its model refitted by some worker).</summary>
    public bool IsFinalized(StudyInfo study) => Run(study.Name, c =>
        Scalar(c, null, "SELECT finalized_ms FROM mlt_studies WHERE id = @s", ("s", study.Id)) is not (null or DBNull));

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases pooled connections.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    // ---- dialect ----

    /// <summary>The column definition of an auto-numbered primary key.</summary>
    private protected abstract string IdColumn { get; }

    /// <summary>The column type of binary values.</summary>
    private protected abstract string BlobColumn { get; }

    /// <summary>SQL for the store's clock in Unix milliseconds.</summary>
    private protected abstract string NowMs { get; }

    /// <summary>A new open connection.</summary>
    private protected abstract DbConnection Connect();

    /// <summary>A transaction that serialises schema changes and study creation between processes.</summary>
    private protected abstract DbTransaction BeginMigration(DbConnection connection);

    /// <summary>A transaction holding the lock of study <paramref name="studyId"/> until it ends.</summary>
    private protected abstract DbTransaction BeginLocked(DbConnection connection, long studyId);

    /// <summary>Whether <paramref name="error"/> means the connection to the store was lost or never made.</summary>
    private protected abstract bool IsConnectionFailure(Exception error);

    // ---- helpers ----

    /// <summary>A malformed storage URL, named by its option.</summary>
    internal static TransformerArgumentException UrlError(string message, string option = nameof(SweepOptions.Storage)) => new(message, option);

    /// <summary>Runs <paramref name="work"/> on a fresh connection, turning a lost connection into a clear error.</summary>
    private protected T Run<T>(string? study, Func<DbConnection, T> work)
    {
        try
        {
            using var connection = Connect();
            return work(connection);
        }
        catch (Exception e) when (e is not (TransformerException or ArgumentException) && IsConnectionFailure(e))
        {
            throw new StudyStoreException(
                $"Lost the connection to the study store at {Host}{(study is null ? "" : $" (study '{study}')")}: {e.Message}. Trials already recorded are kept; rerun the same command to resume.", e);
        }
        catch (DbException e)
        {
            throw new StudyStoreException($"The study store at {Host}{(study is null ? "" : $" (study '{study}')")} failed: {e.Message}", e);
        }
    }

    private protected static DbCommand Command(DbConnection c, DbTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (name, value) in parameters)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = "@" + name;
            p.Value = value ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }

        return cmd;
    }

    private protected static int Exec(DbConnection c, DbTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        using var cmd = Command(c, tx, sql, parameters);
        return cmd.ExecuteNonQuery();
    }

    private protected static object? Scalar(DbConnection c, DbTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        using var cmd = Command(c, tx, sql, parameters);
        return cmd.ExecuteScalar();
    }

    private static object Db(double value) => double.IsNaN(value) ? DBNull.Value : value;

    private static double Double(DbDataReader r, int i) => r.IsDBNull(i) ? double.NaN : r.GetDouble(i);

    private protected abstract bool TableExists(DbConnection c, DbTransaction? tx, string table);

    private int ReadVersion(DbConnection c, DbTransaction? tx)
    {
        if (!TableExists(c, tx, "mlt_schema"))
        {
            Exec(c, tx, "CREATE TABLE mlt_schema (version INTEGER NOT NULL)");
            return 0;
        }

        return Scalar(c, tx, "SELECT MAX(version) FROM mlt_schema") is { } v and not DBNull ? Convert.ToInt32(v, CultureInfo.InvariantCulture) : 0;
    }

    private static StudyInfo? ReadStudy(DbConnection c, DbTransaction? tx, string name)
    {
        using var cmd = Command(c, tx, "SELECT id, name, seed, metric, maximize, max_epochs, space FROM mlt_studies WHERE name = @n", ("n", name));
        using var r = cmd.ExecuteReader();
        return r.Read()
            ? new StudyInfo(r.GetInt64(0), r.GetString(1), r.GetInt32(2), r.GetString(3), r.GetInt32(4) != 0, r.GetInt32(5),
                r.GetString(6).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            : null;
    }

    /// <summary>The lines that differ between the study's space and a worker's, each named.</summary>
    internal static IEnumerable<string> SpaceDifferences(IReadOnlyList<string> study, IReadOnlyList<string> worker)
    {
        static Dictionary<string, string> ByName(IReadOnlyList<string> lines) =>
            lines.Select(l => (Name: l.Split(": ", 2)[0], Line: l)).GroupBy(x => x.Name, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => string.Join(" | ", g.Select(x => x.Line)), StringComparer.Ordinal);

        var a = ByName(study);
        var b = ByName(worker);
        foreach (var name in a.Keys.Union(b.Keys, StringComparer.Ordinal))
        {
            a.TryGetValue(name, out var x);
            b.TryGetValue(name, out var y);
            if (x is null)
            {
                yield return $"this worker has {y}, the study does not";
            }
            else if (y is null)
            {
                yield return $"the study has {x}, this worker does not";
            }
            else if (!string.Equals(x, y, StringComparison.Ordinal))
            {
                yield return $"the study has {x}, this worker {y}";
            }
        }
    }

    private static List<StoredTrial> ReadTrials(DbConnection c, DbTransaction? tx, StudyInfo study, SweepSearchSpace? space)
    {
        Func<string, ParameterSet> parse = space is null ? TextParameters : space.ParseKey;
        var trials = new List<StoredTrial>();
        using var cmd = Command(c, tx,
            "SELECT number, status, params, repeat_of, retry_of, worker, heartbeat_ms, seed, loss, best_epoch, last_loss, stopped_early, metric, epochs_run, epoch_losses, metrics, duration_ms, device, threads, message FROM mlt_trials WHERE study_id = @s ORDER BY number",
            ("s", study.Id));
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            int number = r.GetInt32(0);
            string status = r.GetString(1);
            string key = r.GetString(2);
            int? repeatOf = r.IsDBNull(3) ? null : r.GetInt32(3);
            SweepTrialResult? result = null;
            if (Enum.TryParse<TrialStatus>(status, out var finished))
            {
                result = new SweepTrialResult
                {
                    Id = number,
                    Parameters = parse(key),
                    Status = finished,
                    RepeatOf = repeatOf,
                    Seed = r.GetInt32(7),
                    ValidationLoss = Double(r, 8),
                    BestEpoch = r.IsDBNull(9) ? 0 : r.GetInt32(9),
                    LastValidationLoss = Double(r, 10),
                    StoppedEarly = !r.IsDBNull(11) && r.GetInt32(11) != 0,
                    MetricValue = Double(r, 12),
                    EpochsRun = r.IsDBNull(13) ? 0 : r.GetInt32(13),
                    EpochLosses = r.IsDBNull(14) ? [] : JsonSerializer.Deserialize<double?[]>(r.GetString(14))!.Select(v => v ?? double.NaN).ToArray(),
                    Metrics = r.IsDBNull(15) ? new Dictionary<string, double>() : JsonSerializer.Deserialize<Dictionary<string, double>>(r.GetString(15))!,
                    Duration = TimeSpan.FromMilliseconds(r.IsDBNull(16) ? 0 : r.GetInt64(16)),
                    Device = r.IsDBNull(17) ? string.Empty : r.GetString(17),
                    Threads = r.IsDBNull(18) ? 0 : r.GetInt32(18),
                    Message = r.IsDBNull(19) ? null : r.GetString(19),
                };
            }

            trials.Add(new StoredTrial(number, status, key, repeatOf, r.IsDBNull(4) ? null : r.GetInt32(4), r.IsDBNull(5) ? null : r.GetString(5),
                r.IsDBNull(6) ? null : r.GetInt64(6), result));
        }

        return trials;
    }

    /// <summary>A recorded <see cref="ParameterSet.Key"/> with its values as text (for reports without the space).</summary>
    internal static ParameterSet TextParameters(string key)
    {
        var items = new List<KeyValuePair<string, object>>();
        var text = new System.Text.StringBuilder();
        string? name = null;
        bool escaped = false;
        foreach (char ch in key + ",")
        {
            if (escaped)
            {
                text.Append(ch);
                escaped = false;
            }
            else if (ch == '\\')
            {
                escaped = true;
            }
            else if (ch == '=' && name is null)
            {
                name = text.ToString();
                text.Clear();
            }
            else if (ch == ',')
            {
                if (name is not null)
                {
                    items.Add(new(name, text.ToString()));
                }

                name = null;
                text.Clear();
            }
            else
            {
                text.Append(ch);
            }
        }

        return new ParameterSet(items);
    }

    private void InsertTrial(DbConnection c, DbTransaction tx, StudyInfo study, int number, string status, string key, int seed, int? repeatOf, int? retryOf, string? worker) =>
        Exec(c, tx,
            $"INSERT INTO mlt_trials (study_id, number, status, params, seed, repeat_of, retry_of, worker, heartbeat_ms) VALUES (@s, @n, @st, @p, @seed, @rep, @ret, @w, {NowMs})",
            ("s", study.Id), ("n", number), ("st", status), ("p", key), ("seed", seed), ("rep", repeatOf), ("ret", retryOf), ("w", worker));

    private void WriteResult(DbConnection c, DbTransaction? tx, StudyInfo study, SweepTrialResult t, string? worker) =>
        Exec(c, tx,
            $"UPDATE mlt_trials SET status = @st, loss = @loss, best_epoch = @be, last_loss = @ll, stopped_early = @se, metric = @m, epochs_run = @er, epoch_losses = @el, metrics = @ms, duration_ms = @d, device = @dev, threads = @th, message = @msg, finished_ms = {NowMs} WHERE study_id = @s AND number = @n{(worker is null ? "" : " AND worker = @w")}",
            ("st", t.Status.ToString()), ("loss", Db(t.ValidationLoss)), ("be", t.BestEpoch), ("ll", Db(t.LastValidationLoss)), ("se", t.StoppedEarly ? 1 : 0),
            ("m", Db(t.MetricValue)), ("er", t.EpochsRun), ("el", JsonSerializer.Serialize(t.EpochLosses.Select(v => double.IsFinite(v) ? v : (double?)null))),
            ("ms", JsonSerializer.Serialize(t.Metrics.Where(kv => double.IsFinite(kv.Value)).ToDictionary())), ("d", (long)t.Duration.TotalMilliseconds),
            ("dev", t.Device), ("th", t.Threads), ("msg", t.Message), ("s", study.Id), ("n", t.Id), ("w", worker));

    /// <summary>Fails the trials of workers that stopped beating; queues each once more unless it was a retry.</summary>
    private void ReapStale(DbConnection c, DbTransaction tx, StudyInfo study, long graceMs)
    {
        var stale = new List<(int Number, string Key, int Seed, int? RepeatOf, int? RetryOf, string? Worker)>();
        using (var cmd = Command(c, tx,
                   $"SELECT number, params, seed, repeat_of, retry_of, worker FROM mlt_trials WHERE study_id = @s AND status = '{Running}' AND heartbeat_ms < {NowMs} - @g ORDER BY number",
                   ("s", study.Id), ("g", graceMs)))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                stale.Add((r.GetInt32(0), r.GetString(1), r.GetInt32(2), r.IsDBNull(3) ? null : r.GetInt32(3), r.IsDBNull(4) ? null : r.GetInt32(4),
                    r.IsDBNull(5) ? null : r.GetString(5)));
            }
        }

        if (stale.Count == 0)
        {
            return;
        }

        int next = Convert.ToInt32(Scalar(c, tx, "SELECT COALESCE(MAX(number), -1) + 1 FROM mlt_trials WHERE study_id = @s", ("s", study.Id)), CultureInfo.InvariantCulture);
        foreach (var t in stale)
        {
            bool retry = t.RetryOf is null;
            string message = $"worker {t.Worker} stopped beating for {graceMs / 1000.0:0.#} s" + (retry ? $"; retried as trial {next}" : "; not retried again (it was a retry)");
            Exec(c, tx, $"UPDATE mlt_trials SET status = 'Failed', message = @m, finished_ms = {NowMs} WHERE study_id = @s AND number = @n",
                ("m", message), ("s", study.Id), ("n", t.Number));
            if (retry)
            {
                InsertTrial(c, tx, study, next++, Pending, t.Key, t.Seed, t.RepeatOf, t.Number, null);
            }
        }
    }
}

/// <summary>A configuration a worker proposes inside <see cref="StudyStore.Claim"/>.</summary>
/// <param name="Parameters">The configuration.</param>
/// <param name="Violation">The violated constraint (the trial is recorded as skipped), or null.</param>
/// <param name="RepeatOf">For a repeat, the trial it repeats.</param>
/// <param name="SeedOf">The trial's seed from its number.</param>
internal sealed record Proposal(ParameterSet Parameters, string? Violation, int? RepeatOf, Func<int, int> SeedOf);

/// <summary>A trial a worker claimed: run it and <see cref="StudyStore.Finish"/> it.</summary>
internal sealed record ClaimedTrial(int Number, ParameterSet Parameters, int Seed, int? RetryOf, int? RepeatOf);
