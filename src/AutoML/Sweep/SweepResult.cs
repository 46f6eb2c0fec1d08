// What a sweep returns: every trial, the leaderboard, the best trial, and why the sweep stopped.
namespace MLNet.Transformer.AutoML;

/// <summary>Why a sweep stopped.</summary>
public enum SweepStopReason
{
    /// <summary>The tuner had nothing left to propose (a finished grid).</summary>
    TunerExhausted,

    /// <summary><see cref="SweepOptions.MaxTrials"/> trials were trained.</summary>
    MaxTrials,

    /// <summary><see cref="SweepOptions.TimeBudget"/> was spent; running trials were cancelled.</summary>
    TimeBudget,

    /// <summary>The caller's token was cancelled; running trials were cancelled.</summary>
    Cancelled,

    /// <summary>Too many consecutive proposals violated the constraints (<see cref="SweepOptions.MaxConsecutiveSkips"/>).</summary>
    TooManySkips,
}

/// <summary>The results of a sweep. An interrupted sweep still returns every finished trial.</summary>
public sealed class SweepResult
{
    internal SweepResult(IReadOnlyList<SweepTrialResult> trials, Leaderboard leaderboard, int seed, SweepStopReason stopReason,
        TimeSpan elapsed, string metric, int maxEpochs)
    {
        Trials = trials;
        Leaderboard = leaderboard;
        Seed = seed;
        StopReason = stopReason;
        Elapsed = elapsed;
        Metric = metric;
        MaxEpochs = maxEpochs;
    }

    /// <summary>Every trial, skipped ones included, in id order.</summary>
    public IReadOnlyList<SweepTrialResult> Trials { get; }

    /// <summary>The ranking (completed trials at the full budget, then pruned ones).</summary>
    public Leaderboard Leaderboard { get; }

    /// <summary>The winning configuration (<see cref="Leaderboard.Configurations"/>' first), or null if no trial completed.</summary>
    public ConfigurationSummary? BestConfiguration => Leaderboard.Configurations.Count > 0 ? Leaderboard.Configurations[0] : null;

    /// <summary>The best run of the winning configuration (without repeats: the best completed trial), or null if
    /// none completed.</summary>
    public SweepTrialResult? Best => BestConfiguration?.BestRun;

    /// <summary>The sweep seed actually used (record it to reproduce the sweep).</summary>
    public int Seed { get; }

    /// <summary>Why the sweep stopped.</summary>
    public SweepStopReason StopReason { get; }

    /// <summary>Wall time of the sweep.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>The metric the sweep ranked by.</summary>
    public string Metric { get; }

    /// <summary>The full epoch budget of a trial.</summary>
    public int MaxEpochs { get; }

    /// <summary>Epochs trained over all trials (the sweep's compute cost).</summary>
    public long TotalEpochs => Trials.Sum(t => (long)t.EpochsRun);

    /// <summary>The trials with a given status.</summary>
    public IReadOnlyList<SweepTrialResult> WithStatus(TrialStatus status) => Trials.Where(t => t.Status == status).ToArray();

    /// <summary>The study this sweep worked on (<see cref="SweepOptions.Storage"/>), or null.</summary>
    public string? Study { get; init; }

    /// <summary>This process's worker id in the study, or null without a store.</summary>
    public string? Worker { get; init; }

    /// <summary>Whether this run finalized the study (ran its repeats; its caller refits). Always true without a
    /// store; false for a worker that left the finalization to another (<see cref="FinalizedBy"/>).</summary>
    public bool Finalizes { get; init; } = true;

    /// <summary>When <see cref="Finalizes"/> is false: the worker holding the study's finalization, or <c>done</c>
    /// when the study was already finalized.</summary>
    public string? FinalizedBy { get; init; }

    /// <summary>For a finalizing run whose caller refits (<see cref="SweepableTransformerTrainer{TOptions}"/>): marks the
    /// study finalized (true) or gives the finalization up (false), and ends the worker's heartbeat.</summary>
    internal Action<bool>? EndFinalization { get; init; }

    /// <summary>A report writer for this result (CSV and JSON).</summary>
    public SweepReport Report => new(this);
}
