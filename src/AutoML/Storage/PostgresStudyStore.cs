// The study store on a PostgreSQL server (Npgsql), shared by sweep workers on several machines.
using System.Data.Common;
using System.Net.Sockets;
using Npgsql;

namespace MLNet.Transformer.AutoML;

/// <summary>A study store in a PostgreSQL database. A claim locks its study's row (<c>SELECT ... FOR UPDATE</c>);
/// schema changes and study creation take a transaction-scoped advisory lock.</summary>
internal sealed class PostgresStudyStore : StudyStore
{
    private const long MigrationLockKey = 0x4D4C545354; // "MLTST"
    private readonly NpgsqlDataSource _source;

    private PostgresStudyStore(string url, string host, string connectionString)
        : base(url, host)
    {
        _source = NpgsqlDataSource.Create(connectionString);
    }

    /// <summary>Parses <c>postgresql://user:password@host:port/database?key=value</c> into a connection string.</summary>
    public static PostgresStudyStore FromUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw StudyStore.UrlError($"Storage URL '{Redact(url)}' is malformed: expected postgresql://user:password@host:port/database.");
        }

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')) is { Length: > 0 } db ? db : "postgres",
            Timeout = 10,
            ApplicationName = "mlnet-transformer sweep",
        };
        if (uri.UserInfo.Length > 0)
        {
            string[] user = uri.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(user[0]);
            if (user.Length > 1)
            {
                builder.Password = Uri.UnescapeDataString(user[1]);
            }
        }

        foreach (string pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] kv = pair.Split('=', 2);
            try
            {
                builder[Uri.UnescapeDataString(kv[0])] = kv.Length > 1 ? Uri.UnescapeDataString(kv[1]) : string.Empty;
            }
            catch (ArgumentException e)
            {
                throw StudyStore.UrlError($"Storage URL '{Redact(url)}': {e.Message}");
            }
        }

        return new PostgresStudyStore(Redact(url), $"{builder.Host}:{builder.Port}/{builder.Database}", builder.ConnectionString);
    }

    private static string Redact(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.UserInfo.Contains(':', StringComparison.Ordinal)
            ? url.Replace(uri.UserInfo, uri.UserInfo.Split(':')[0] + ":***", StringComparison.Ordinal)
            : url;

    private protected override string IdColumn => "BIGSERIAL PRIMARY KEY";

    private protected override string BlobColumn => "BYTEA";

    private protected override string NowMs => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)";

    private protected override DbConnection Connect() => _source.OpenConnection();

    private protected override DbTransaction BeginMigration(DbConnection connection)
    {
        var tx = connection.BeginTransaction();
        Exec(connection, tx, "SELECT pg_advisory_xact_lock(@k)", ("k", MigrationLockKey));
        return tx;
    }

    private protected override DbTransaction BeginLocked(DbConnection connection, long studyId)
    {
        var tx = connection.BeginTransaction();
        Exec(connection, tx, "SELECT id FROM mlt_studies WHERE id = @s FOR UPDATE", ("s", studyId));
        return tx;
    }

    private protected override bool IsConnectionFailure(Exception error) =>
        error is SocketException or TimeoutException or System.IO.IOException
        || (error is NpgsqlException n && (n.InnerException is SocketException or TimeoutException or System.IO.IOException || n.IsTransient))
        || (error is PostgresException p && p.SqlState.StartsWith("08", StringComparison.Ordinal)) // connection exceptions
        || (error is PostgresException { SqlState: "57P01" or "57P02" or "57P03" }); // admin shutdown, crash shutdown, cannot connect now

    private protected override bool TableExists(DbConnection c, DbTransaction? tx, string table) =>
        Scalar(c, tx, "SELECT to_regclass(@t) IS NOT NULL", ("t", table)) is true;

    protected override void Dispose(bool disposing)
    {
        _source.Dispose();
        base.Dispose(disposing);
    }
}
