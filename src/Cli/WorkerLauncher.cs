// `train --nproc-per-node N`: starts N worker processes of this same command line with the environment PyTorch's
// launcher (torchrun) sets (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK), gathers rank 0's progress into
// one view, forwards every rank's messages, and stops the rest when one fails. Workers are this program again: a
// process with WORLD_SIZE in its environment trains as that rank instead of launching.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using MLNet.Transformer.Engine;
using MLNet.Transformer.LanguageModeling;

namespace MLNet.Transformer.Cli;

/// <summary>Where this node's workers join: node count and rank, processes per node, master address and port.</summary>
/// <param name="NodeCount">--nnodes.</param>
/// <param name="NodeRank">--node-rank.</param>
/// <param name="ProcessesPerNode">--nproc-per-node.</param>
/// <param name="MasterAddress">--master-addr.</param>
/// <param name="MasterPort">--master-port.</param>
/// <param name="Timeout">--dist-timeout.</param>
internal sealed record LaunchPlan(int NodeCount, int NodeRank, int ProcessesPerNode, string MasterAddress, int MasterPort, TimeSpan Timeout)
{
    /// <summary>Every process of every node.</summary>
    public int WorldSize => NodeCount * ProcessesPerNode;

    /// <summary>Checks the flags, naming the first invalid one.</summary>
    public void Validate()
    {
        static void Require(bool ok, string flag, string message)
        {
            if (!ok)
            {
                throw new ArgumentException($"{flag}: {message}", flag);
            }
        }

        Require(ProcessesPerNode >= 1, "--nproc-per-node", $"must be >= 1 (got {ProcessesPerNode}).");
        Require(ProcessesPerNode <= TransformerLimits.MaxProcessesPerNode, "--nproc-per-node", $"must be <= {TransformerLimits.MaxProcessesPerNode}, two per logical processor of this machine (got {ProcessesPerNode}).");
        Require(NodeCount >= 1, "--nnodes", $"must be >= 1 (got {NodeCount}).");
        Require(NodeRank >= 0 && NodeRank < NodeCount, "--node-rank", $"must be in [0, {NodeCount}) (got {NodeRank}).");

        // Address, port and timeout: the workers' own checks, named by their flags.
        try
        {
            new DistributedSettings { WorldSize = WorldSize, MasterAddress = MasterAddress, MasterPort = MasterPort, Timeout = Timeout }.Validate();
        }
        catch (TransformerArgumentException e) when (e.ParamName is { } name && Flags.TryGetValue(name, out string? flag))
        {
            string message = e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal)
                .Replace($"Distributed setting {name}:", $"{flag}:", StringComparison.Ordinal);
            throw new ArgumentException(message, flag, e);
        }
    }

    private static readonly Dictionary<string, string> Flags = new(StringComparer.Ordinal)
    {
        [nameof(DistributedSettings.MasterAddress)] = "--master-addr",
        [nameof(DistributedSettings.MasterPort)] = "--master-port",
        [nameof(DistributedSettings.Timeout)] = "--dist-timeout",
    };
}

internal static class WorkerLauncher
{
    /// <summary>Set in a worker's environment: report progress as <see cref="ProgressPrefix"/> lines on stderr.</summary>
    public const string ProgressVariable = "MLT_LAUNCHER_PROGRESS";

    /// <summary>Marks a worker's stderr line that carries one <see cref="TrainingProgress"/> as JSON.</summary>
    public const string ProgressPrefix = "@mlt-progress ";

    /// <summary>How long the other workers get to stop on their own after one failed, beyond the group timeout.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(10);

    /// <summary>True in a process started by a launcher (ours or torchrun): it trains as one rank.</summary>
    public static bool IsWorker => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("WORLD_SIZE"));

    /// <summary>True in a worker of ours: its progress goes to the launcher as <see cref="ProgressPrefix"/> lines.</summary>
    public static bool ReportsToLauncher => IsWorker && Environment.GetEnvironmentVariable(ProgressVariable) == "1";

    /// <summary>
    /// Runs this node's workers to the end. Returns rank 0's stdout when it runs here (its result), or null. Throws
    /// <see cref="DistributedTrainingException"/> naming the ranks that failed and why.
    /// </summary>
    public static string? Run(LaunchPlan plan, IReadOnlyList<string> arguments, IProgress<TrainingProgress>? progress, bool quiet)
    {
        plan.Validate();
        var workers = new List<Worker>();
        // One machine on the loopback address: the ranks meet in a file of a fresh folder instead of rank 0's TCP
        // server, so the rendezvous listens on no interface at all (libtorch 1.13's TCPStore binds every one). The
        // folder is inside this process's temporary folder, which outlives no process (removed at exit, or after a
        // kill -9 by the next process that makes its own).
        var rendezvous = plan.NodeCount == 1 && IsLoopback(plan.MasterAddress)
            ? Directory.CreateDirectory(Path.Combine(LanguageModeling.TemporaryFiles.Folder, "rendezvous-" + Guid.NewGuid().ToString("N")))
            : null;
        // A launcher that is told to stop (SIGTERM, SIGINT, SIGHUP) takes its workers with it.
        var signals = new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGHUP }
            .Select(signal => PosixSignalRegistration.Create(signal, _ => KillAll(workers))).ToList();
        try
        {
            for (int local = 0; local < plan.ProcessesPerNode; local++)
            {
                int rank = (plan.NodeRank * plan.ProcessesPerNode) + local;
                var worker = Worker.Start(plan, rank, local, arguments, rank == 0 ? progress : null, quiet,
                    rendezvous is null ? null : Path.Combine(rendezvous.FullName, "store"));
                lock (workers)
                {
                    workers.Add(worker);
                }
            }

            WaitAll(workers, plan.Timeout + Grace);
        }
        finally
        {
            signals.ForEach(r => r.Dispose());
            KillAll(workers);
            try
            {
                rendezvous?.Delete(recursive: true);
            }
            catch (IOException)
            {
                // A worker killed mid-rendezvous can leave it briefly locked; the folder is in the temporary directory.
            }
        }

        var failed = workers.Where(w => w.ExitCode != 0).ToList();
        if (failed.Count > 0)
        {
            var first = failed.OrderBy(w => w.ExitedAt).First();
            string Describe(Worker w) => $"rank {w.Rank} (pid {w.Pid}) {w.Outcome}{(w.LastError is { } e ? $": {e}" : "")}";
            throw new DistributedTrainingException(
                $"Data-parallel training at {plan.MasterAddress}:{plan.MasterPort} failed: {Describe(first)}." +
                string.Concat(failed.Where(w => w != first).Select(w => $" Then {Describe(w)}.")) +
                " Nothing was saved.");
        }

        return workers.FirstOrDefault(w => w.Rank == 0)?.StdOut;
    }

    private static void KillAll(List<Worker> workers)
    {
        lock (workers)
        {
            workers.ForEach(w => w.Kill());
        }
    }

    /// <summary>Waits for every worker; once one fails, the others get <paramref name="afterFailure"/> to stop, then are killed.</summary>
    private static void WaitAll(List<Worker> workers, TimeSpan afterFailure)
    {
        DateTime? deadline = null;
        while (workers.Any(w => !w.HasExited))
        {
            if (deadline is null && workers.Any(w => w.HasExited && w.ExitCode != 0))
            {
                deadline = DateTime.UtcNow + afterFailure;
            }

            if (deadline is { } d && DateTime.UtcNow > d)
            {
                foreach (var w in workers.Where(w => !w.HasExited))
                {
                    w.Kill();
                    w.KilledByLauncher = true;
                }
            }

            Thread.Sleep(50);
        }

        foreach (var w in workers)
        {
            w.Drain();
        }
    }

    /// <summary>One worker process and what it said.</summary>
    private sealed class Worker
    {
        private readonly Process _process;
        private readonly StringBuilder _stdout = new();
        private readonly IProgress<TrainingProgress>? _progress;
        private readonly bool _quiet;

        private Worker(Process process, int rank, IProgress<TrainingProgress>? progress, bool quiet)
        {
            _process = process;
            Rank = rank;
            Pid = process.Id;
            _progress = progress;
            _quiet = quiet;
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    lock (_stdout)
                    {
                        _stdout.AppendLine(e.Data);
                    }
                }
            };
            process.ErrorDataReceived += (_, e) => OnStdErr(e.Data);
            process.EnableRaisingEvents = true;
            process.Exited += (_, _) => ExitedAt = DateTime.UtcNow;
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public int Rank { get; }

        public int Pid { get; }

        public DateTime ExitedAt { get; private set; } = DateTime.MaxValue;

        public bool KilledByLauncher { get; set; }

        public string? LastError { get; private set; }

        public bool HasExited => _process.HasExited;

        public int ExitCode => _process.HasExited ? _process.ExitCode : -1;

        public string StdOut
        {
            get
            {
                lock (_stdout)
                {
                    return _stdout.ToString();
                }
            }
        }

        /// <summary>How it ended, in words.</summary>
        public string Outcome => KilledByLauncher ? "was stopped by the launcher after another rank failed"
            : ExitCode > 128 ? $"was killed by signal {ExitCode - 128}"
            : $"exited with code {ExitCode}";

        public static Worker Start(LaunchPlan plan, int rank, int localRank, IReadOnlyList<string> arguments, IProgress<TrainingProgress>? progress, bool quiet, string? rendezvousFile)
        {
            var (program, prefix) = SelfCommand();
            var start = new ProcessStartInfo(program)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                StandardOutputEncoding = Encoding.UTF8,
                StandardErrorEncoding = Encoding.UTF8,
            };
            foreach (string a in prefix.Concat(arguments))
            {
                start.ArgumentList.Add(a);
            }

            var env = start.Environment;
            env["MASTER_ADDR"] = plan.MasterAddress;
            env["MASTER_PORT"] = plan.MasterPort.ToString(CultureInfo.InvariantCulture);
            env["RANK"] = rank.ToString(CultureInfo.InvariantCulture);
            env["WORLD_SIZE"] = plan.WorldSize.ToString(CultureInfo.InvariantCulture);
            env["LOCAL_RANK"] = localRank.ToString(CultureInfo.InvariantCulture);
            env[ProgressVariable] = "1";
            if (rendezvousFile is not null)
            {
                env[DistributedSettings.RendezvousFileVariable] = rendezvousFile;
            }

            env[ParentDeath.LauncherPidVariable] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
            // As torchrun: the workers share this machine's cores instead of each taking all of them.
            if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OMP_NUM_THREADS")))
            {
                env["OMP_NUM_THREADS"] = Math.Max(1, Environment.ProcessorCount / plan.ProcessesPerNode).ToString(CultureInfo.InvariantCulture);
            }

            if (plan.NodeCount == 1 && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("GLOO_SOCKET_IFNAME")) && IsLoopback(plan.MasterAddress))
            {
                env["GLOO_SOCKET_IFNAME"] = "lo";
            }

            var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start worker {rank}: {program}.");
            var worker = new Worker(process, rank, progress, quiet);
            if (!quiet && progress is null)
            {
                Console.Error.WriteLine($"[rank {rank}] started, pid {process.Id}");
            }

            return worker;
        }

        public void Kill()
        {
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                }
            }
            catch (InvalidOperationException)
            {
                // already gone
            }
        }

        public void Drain() => _process.WaitForExit();

        private void OnStdErr(string? line)
        {
            if (line is null)
            {
                return;
            }

            if (line.StartsWith(ProgressPrefix, StringComparison.Ordinal))
            {
                if (_progress is not null && JsonSerializer.Deserialize<TrainingProgress>(line.AsSpan(ProgressPrefix.Length), CliHost.JsonOptions) is { } p)
                {
                    _progress.Report(p);
                }

                return;
            }

            if (line.StartsWith("error: ", StringComparison.Ordinal))
            {
                LastError = line["error: ".Length..];
            }

            if (!_quiet)
            {
                Console.Error.WriteLine($"[rank {Rank}] {line}");
            }
        }
    }

    /// <summary>This program: `dotnet path.dll` under the muxer, else the app host itself.</summary>
    private static (string Program, string[] Prefix) SelfCommand()
    {
        string host = Environment.ProcessPath ?? throw new InvalidOperationException("The path of this program is unknown.");
        string entry = Environment.GetCommandLineArgs()[0];
        return Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase) ? (host, [entry]) : (host, []);
    }

    private static bool IsLoopback(string address) =>
        address is "localhost" || (System.Net.IPAddress.TryParse(address.Trim('[', ']'), out var ip) && System.Net.IPAddress.IsLoopback(ip));
}
