// The embedded study store: one SQLite file (WAL journal), shared by the sweep processes of one machine.
using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace MLNet.Transformer.AutoML;

/// <summary>A study store in a SQLite file. Writers serialise on the file's lock (<c>BEGIN IMMEDIATE</c>) and wait
/// for it up to 30 s; the WAL journal lets readers go on meanwhile.</summary>
internal sealed class SqliteStudyStore : StudyStore
{
    private readonly string _connectionString;

    public SqliteStudyStore(string url, string path)
        : base(url, path)
    {
        if (Path.GetDirectoryName(path) is { Length: > 0 } folder && !Directory.Exists(folder))
        {
            throw StudyStore.UrlError($"Storage URL '{url}': the folder {folder} does not exist.");
        }

        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    private protected override string IdColumn => "INTEGER PRIMARY KEY";

    private protected override string BlobColumn => "BLOB";

    private protected override string NowMs => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";

    private protected override DbConnection Connect()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "PRAGMA busy_timeout = 30000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;";
        cmd.ExecuteNonQuery();
        return connection;
    }

    // BEGIN IMMEDIATE: the write lock of the whole file, taken at once (waiting on busy), so a claim never upgrades.
    private protected override DbTransaction BeginMigration(DbConnection connection) => ((SqliteConnection)connection).BeginTransaction(deferred: false);

    private protected override DbTransaction BeginLocked(DbConnection connection, long studyId) => ((SqliteConnection)connection).BeginTransaction(deferred: false);

    private protected override bool IsConnectionFailure(Exception error) =>
        error is SqliteException { SqliteErrorCode: 14 /* SQLITE_CANTOPEN */ or 10 /* SQLITE_IOERR */ or 26 /* SQLITE_NOTADB */ };

    private protected override bool TableExists(DbConnection c, DbTransaction? tx, string table) =>
        Scalar(c, tx, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = @t", ("t", table)) is long n && n > 0;

    protected override void Dispose(bool disposing)
    {
        // Pooled connections keep the file open (and its WAL); release them so the file can be moved or deleted.
        SqliteConnection.ClearAllPools();
        base.Dispose(disposing);
    }
}
