// A process group of the native engine for data-parallel training: c10d's TCPStore rendezvous and Gloo (CPU) or
// NCCL (CUDA builds) collectives, the runtime PyTorch's DistributedDataParallel uses. One per rank; dispose it
// (after the models attached to it, or before: the engine keeps it alive while a model holds it).

using System.Globalization;
using System.Net;
using MLNet.Transformer.Interop;

namespace MLNet.Transformer.Engine;

/// <summary>
/// This process's membership in a group of <see cref="WorldSize"/> ranks that train one model together.
/// Every rank joins with the same master address, port and world size and its own rank; rank 0 serves the
/// rendezvous on the master port.
/// </summary>
/// <remarks>
/// Collectives must be called by every rank in the same order. A peer that dies makes the next collective of the
/// others fail with <see cref="DistributedTrainingException"/>; a peer that stops answering makes it fail after
/// <see cref="Timeout"/>. Gloo binds the interface named by the environment variable <c>GLOO_SOCKET_IFNAME</c>
/// when set, the loopback address when the master address is 127.0.0.1 or localhost, and this host's address
/// otherwise, as PyTorch does.
/// </remarks>
public sealed class ProcessGroup : IDisposable
{
    private readonly GroupHandle _handle;

    private ProcessGroup(GroupHandle handle, DistributedSettings settings, string backend)
    {
        _handle = handle;
        Settings = settings;
        Backend = backend;
    }

    /// <summary>The settings this group was joined with.</summary>
    public DistributedSettings Settings { get; }

    /// <summary>This process's rank in [0, <see cref="WorldSize"/>).</summary>
    public int Rank => Settings.Rank;

    /// <summary>Number of ranks.</summary>
    public int WorldSize => Settings.WorldSize;

    /// <summary>How long any rendezvous or collective may wait.</summary>
    public TimeSpan Timeout => Settings.Timeout;

    /// <summary><c>gloo</c> or <c>nccl</c>.</summary>
    public string Backend { get; }

    /// <summary>The native handle, for <see cref="TransformerModel.JoinGroup"/>.</summary>
    internal GroupHandle Handle => _handle;

    /// <summary>Joins the group; returns when every rank has joined.</summary>
    /// <param name="settings">Rank, world size, master address and port, timeout.</param>
    /// <param name="device">The device the models will train on: <c>cpu</c> uses Gloo, <c>cuda[:N]</c> NCCL.</param>
    /// <returns>The group; dispose it to leave.</returns>
    /// <exception cref="TransformerArgumentException">A setting is invalid.</exception>
    /// <exception cref="DistributedTrainingException">
    /// The ranks did not all meet within the timeout (nothing listens at the master address and port, or the world
    /// never filled); the message names the address and port.
    /// </exception>
    /// <exception cref="DeviceUnavailableException">NCCL was needed but the engine was built without it.</exception>
    public static ProcessGroup Join(DistributedSettings settings, string device = "cpu")
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        var backend = device.StartsWith("cuda", StringComparison.OrdinalIgnoreCase) ? "nccl" : "gloo";
        var rendezvous = settings.RendezvousFile is { } file ? "file://" + file : settings.MasterAddress;
        var status = NativeMethods.mlt_group_create(
            out var handle, rendezvous, settings.MasterPort, settings.Rank, settings.WorldSize,
            (int)Math.Min(int.MaxValue, Math.Ceiling(settings.Timeout.TotalMilliseconds)), backend);
        if (status != NativeMethods.StatusOk)
        {
            var message = NativeMethods.LastError();
            handle.Dispose();
            throw NativeStatus.CreateException(status, message);
        }

        return new ProcessGroup(handle, settings, backend);
    }

    /// <summary>Sums <paramref name="values"/> element-wise over the ranks, in place (float64).</summary>
    /// <param name="values">At least one value; every rank passes the same length.</param>
    /// <exception cref="DistributedTrainingException">A peer left or timed out.</exception>
    public void AllReduceSum(Span<double> values)
    {
        ThrowIfDisposed();
        if (values.IsEmpty)
        {
            throw new TransformerArgumentException("AllReduceSum needs at least one value.", nameof(values));
        }

        unsafe
        {
            fixed (double* p = values)
            {
                NativeStatus.Check(NativeMethods.mlt_group_allreduce_sum(p, values.Length, _handle));
            }
        }
    }

    /// <summary>Waits until every rank has called it.</summary>
    /// <exception cref="DistributedTrainingException">A peer left or timed out.</exception>
    public void Barrier()
    {
        ThrowIfDisposed();
        NativeStatus.Check(NativeMethods.mlt_group_barrier(_handle));
    }

    /// <summary>What this rank's all-reduces cost so far.</summary>
    /// <returns>Wall time inside all-reduce calls (waiting for slower ranks included), bytes sent, calls.</returns>
    public CollectiveStatistics Statistics()
    {
        ThrowIfDisposed();
        double seconds;
        long bytes, calls;
        unsafe
        {
            NativeStatus.Check(NativeMethods.mlt_group_stats(&seconds, &bytes, &calls, _handle));
        }

        return new CollectiveStatistics(TimeSpan.FromSeconds(seconds), bytes, calls);
    }

    /// <summary>Leaves the group; its sockets close once no model is attached to it.</summary>
    public void Dispose() => _handle.Dispose();

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
}

/// <summary>Totals of a rank's all-reduce calls.</summary>
/// <param name="AllReduceTime">Wall time inside all-reduce calls, waiting for slower ranks included.</param>
/// <param name="AllReduceBytes">Payload bytes this rank contributed.</param>
/// <param name="AllReduceCalls">Collective calls (one per gradient bucket, plus the loss and count).</param>
public readonly record struct CollectiveStatistics(TimeSpan AllReduceTime, long AllReduceBytes, long AllReduceCalls);

/// <summary>
/// Where and as whom this process joins a data-parallel group. The names follow PyTorch's launcher
/// (<c>torchrun</c>): <see cref="FromEnvironment"/> reads <c>MASTER_ADDR</c>, <c>MASTER_PORT</c>, <c>RANK</c>,
/// <c>WORLD_SIZE</c> and <c>LOCAL_RANK</c>, and this library's <c>MLT_RENDEZVOUS_FILE</c>.
/// </summary>
public sealed record DistributedSettings
{
    /// <summary>Default rendezvous port, PyTorch's.</summary>
    public const int DefaultPort = 29500;

    /// <summary>The environment variable <see cref="FromEnvironment"/> reads <see cref="RendezvousFile"/> from.</summary>
    public const string RendezvousFileVariable = "MLT_RENDEZVOUS_FILE";

    /// <summary>Default time any rendezvous or collective may wait.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>This process's rank in [0, <see cref="WorldSize"/>); rank 0 serves the rendezvous and writes the outputs.</summary>
    public int Rank { get; init; }

    /// <summary>Number of processes (all nodes together).</summary>
    public int WorldSize { get; init; } = 1;

    /// <summary>This process's index on its node (which GPU a CUDA rank uses: <c>cuda:LocalRank</c>).</summary>
    public int LocalRank { get; init; }

    /// <summary>Address of rank 0 (default 127.0.0.1).</summary>
    public string MasterAddress { get; init; } = "127.0.0.1";

    /// <summary>Port rank 0 listens on for the rendezvous (default 29500).</summary>
    public int MasterPort { get; init; } = DefaultPort;

    /// <summary>
    /// A file that the ranks of one machine share for the rendezvous instead of rank 0's TCP server (torch's
    /// <c>file://</c> init method), so that nothing listens on the network; null (the default) uses
    /// <see cref="MasterAddress"/> and <see cref="MasterPort"/>. It must not exist yet (a file left by another run would
    /// mix its keys in); the last rank to leave deletes it. <c>train --nproc-per-node</c> on the loopback address sets it
    /// for its workers (<c>MLT_RENDEZVOUS_FILE</c>).
    /// </summary>
    public string? RendezvousFile { get; init; }

    /// <summary>How long the rendezvous and every collective may wait before failing (default 60 s).</summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>Gradient bucket size in bytes (default 25 MiB, DDP's <c>bucket_cap_mb</c>).</summary>
    public long BucketBytes { get; init; } = 25L << 20;

    /// <summary>"ADDR:PORT", as error messages show it.</summary>
    public string Endpoint => MasterAddress.Contains(':', StringComparison.Ordinal) && !MasterAddress.StartsWith('[')
        ? $"[{MasterAddress}]:{MasterPort}"
        : $"{MasterAddress}:{MasterPort}";

    /// <summary>
    /// The settings PyTorch's launcher passes: <c>RANK</c>, <c>WORLD_SIZE</c>, <c>LOCAL_RANK</c>,
    /// <c>MASTER_ADDR</c>, <c>MASTER_PORT</c>. Null when <c>WORLD_SIZE</c> is not set (not launched as a group).
    /// </summary>
    /// <param name="environment">Variable lookup (default: the process environment).</param>
    /// <returns>The settings, or null.</returns>
    /// <exception cref="TransformerArgumentException">A variable is set but not a valid number, naming it.</exception>
    public static DistributedSettings? FromEnvironment(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var world = environment("WORLD_SIZE");
        if (string.IsNullOrWhiteSpace(world))
        {
            return null;
        }

        static int Parse(string name, string? value, int fallback)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                return fallback;
            }

            if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
            {
                throw TransformerArgumentException.ForOption($"Environment variable {name} = '{value}' is not an integer.", name);
            }

            return n;
        }

        var rank = Parse("RANK", environment("RANK"), 0);
        var settings = new DistributedSettings
        {
            WorldSize = Parse("WORLD_SIZE", world, 1),
            Rank = rank,
            LocalRank = Parse("LOCAL_RANK", environment("LOCAL_RANK"), rank),
            MasterAddress = string.IsNullOrWhiteSpace(environment("MASTER_ADDR")) ? "127.0.0.1" : environment("MASTER_ADDR")!.Trim(),
            MasterPort = Parse("MASTER_PORT", environment("MASTER_PORT"), DefaultPort),
            RendezvousFile = string.IsNullOrWhiteSpace(environment(RendezvousFileVariable)) ? null : environment(RendezvousFileVariable),
        };
        settings.Validate();
        return settings;
    }

    /// <summary>Checks every setting and throws naming the first invalid one.</summary>
    /// <exception cref="TransformerArgumentException">A setting is invalid.</exception>
    public void Validate()
    {
        static void Require(bool ok, string option, string message)
        {
            if (!ok)
            {
                throw TransformerArgumentException.ForOption($"Distributed setting {option}: {message}", option);
            }
        }

        Require(WorldSize >= 1, nameof(WorldSize), $"must be >= 1 (got {WorldSize}).");
        Require(Rank >= 0 && Rank < WorldSize, nameof(Rank), $"must be in [0, {WorldSize}) (got {Rank}).");
        Require(LocalRank >= 0, nameof(LocalRank), $"must be >= 0 (got {LocalRank}).");
        Require(!string.IsNullOrWhiteSpace(MasterAddress) && Uri.CheckHostName(MasterAddress.Trim('[', ']')) != UriHostNameType.Unknown,
            nameof(MasterAddress), $"'{MasterAddress}' is not a host name or IP address.");
        Require(MasterPort is >= 1 and <= IPEndPoint.MaxPort, nameof(MasterPort), $"must be in [1, 65535] (got {MasterPort}).");
        Require(RendezvousFile is null || Path.IsPathFullyQualified(RendezvousFile), nameof(RendezvousFile), $"must be an absolute path (got '{RendezvousFile}').");
        Require(Timeout > TimeSpan.Zero && Timeout.TotalMilliseconds <= int.MaxValue, nameof(Timeout), $"must be positive and under 24 days (got {Timeout}).");
        Require(BucketBytes >= sizeof(float), nameof(BucketBytes), $"must hold at least one float (got {BucketBytes}).");
    }
}
