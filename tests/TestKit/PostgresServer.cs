// A throwaway PostgreSQL server for tests: Debian's initdb/pg_ctl on a temporary data folder, listening on
// 127.0.0.1 at a free port, stopped when disposed or when the test process exits. As root the server runs as the
// postgres user (PostgreSQL refuses root), through runuser, in a folder that user owns.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace MLNet.Transformer.TestKit;

public sealed class PostgresServer : IDisposable
{
    private readonly string _root;
    private readonly string _data;
    private readonly bool _asPostgres;
    private bool _stopped;

    private PostgresServer(string bin, string root, bool asPostgres, int port)
    {
        Bin = bin;
        _root = root;
        _data = Path.Combine(root, "data");
        _asPostgres = asPostgres;
        Port = port;
    }

    /// <summary>The folder of Debian's PostgreSQL programs (the newest installed), or null when none is installed.</summary>
    public static string? FindBin() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(b => File.Exists(Path.Combine(b, "initdb")) && File.Exists(Path.Combine(b, "pg_ctl")))
                .OrderByDescending(b => int.TryParse(Path.GetFileName(Path.GetDirectoryName(b)), out int v) ? v : 0)
                .FirstOrDefault()
            : null;

    /// <summary>Whether PostgreSQL is installed (the tests that need it run only then; ./build.sh test installs it).</summary>
    public static bool Installed => FindBin() is not null;

    public string Bin { get; }

    public int Port { get; }

    /// <summary>The URL of database <paramref name="database"/> on this server (the sweep's --storage form).</summary>
    public string Url(string database = "postgres") => $"postgresql://postgres@127.0.0.1:{Port}/{database}";

    /// <summary>Initialises a data folder and starts the server.</summary>
    public static PostgresServer Start()
    {
        string bin = FindBin() ?? throw new InvalidOperationException("PostgreSQL is not installed (apt-get install postgresql).");
        bool root = Environment.UserName == "root";
        string folder = Directory.CreateTempSubdirectory("mlt-pg-").FullName;
        var server = new PostgresServer(bin, folder, root, FreePort());
        try
        {
            if (root)
            {
                server.Run("chown", ["-R", "postgres:postgres", folder], asPostgres: false);
            }

            server.Run(Path.Combine(bin, "initdb"), ["-D", server._data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--locale=C"]);
            server.Resume();
            AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Dispose();
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>Starts the server on its data folder (again, after <see cref="Stop"/>: its databases are as they were).</summary>
    public void Resume()
    {
        Run(Path.Combine(Bin, "pg_ctl"), ["-D", _data, "-l", Path.Combine(_root, "server.log"), "-w", "-t", "60", "-o",
            $"-p {Port} -k {_root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start"]);
        _stopped = false;
    }

    /// <summary>Creates an empty database (one per test keeps their studies apart).</summary>
    public string CreateDatabase(string name)
    {
        Run(Path.Combine(Bin, "createdb"), ["-h", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", "postgres", name]);
        return Url(name);
    }

    /// <summary>Stops the server at once (a connection loss for its clients); <see cref="Dispose"/> also deletes the data.</summary>
    public void Stop()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        try
        {
            Run(Path.Combine(Bin, "pg_ctl"), ["-D", _data, "-m", "immediate", "-w", "stop"]);
        }
        catch (InvalidOperationException)
        {
            // Never started, or already gone.
        }
    }

    public void Dispose()
    {
        Stop();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private void Run(string program, IReadOnlyList<string> args, bool? asPostgres = null)
    {
        bool su = asPostgres ?? _asPostgres;
        var start = new ProcessStartInfo(su ? "runuser" : program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        if (su)
        {
            foreach (string a in (string[])["-u", "postgres", "--", program])
            {
                start.ArgumentList.Add(a);
            }
        }

        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var p = Process.Start(start)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            p.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{program} did not finish in 2 minutes.");
        }

        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {p.ExitCode}: {error.Result}{output.Result}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
