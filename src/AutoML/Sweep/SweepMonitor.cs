// Progress hooks for sweep UIs (console tables, dashboards). The sweep calls them from one thread at a time.
namespace MLNet.Transformer.AutoML;

/// <summary>
/// Receives sweep events. Every member has an empty default, so implement only what you need. Calls never
/// overlap (they come from the sweep's coordinating loop); keep them quick, since trials wait on the loop for new
/// work. An exception thrown here stops the sweep (running trials are cancelled first).
/// </summary>
public interface ISweepMonitor
{
    /// <summary>A trial started training.</summary>
    void OnTrialStarted(TrialStartInfo trial)
    {
    }

    /// <summary>A trial finished without error: completed, pruned or cancelled (see <see cref="SweepTrialResult.Status"/>).</summary>
    void OnTrialCompleted(SweepTrialResult result)
    {
    }

    /// <summary>A trial's runner threw; the sweep goes on.</summary>
    void OnTrialFailed(SweepTrialResult result)
    {
    }

    /// <summary>A proposed configuration violated a constraint and was not trained.</summary>
    void OnTrialSkipped(SweepTrialResult result)
    {
    }

    /// <summary>A completed trial became the best so far.</summary>
    void OnBestChanged(SweepTrialResult best)
    {
    }

    /// <summary>After every finished (or skipped) trial: counts so far.</summary>
    void OnProgress(SweepProgress progress)
    {
    }
}

/// <summary>A trial about to run.</summary>
public sealed class TrialStartInfo
{
    /// <summary>The trial number.</summary>
    public required int Id { get; init; }

    /// <summary>The configuration.</summary>
    public required ParameterSet Parameters { get; init; }

    /// <summary>The trial's seed.</summary>
    public required int Seed { get; init; }

    /// <summary>Its device.</summary>
    public required string Device { get; init; }

    /// <summary>Its thread budget.</summary>
    public required int Threads { get; init; }

    /// <summary>For a re-run of a configuration with another seed, the id of the trial it repeats.</summary>
    public int? RepeatOf { get; init; }
}

/// <summary>Counts of a sweep in progress.</summary>
public sealed class SweepProgress
{
    /// <summary>Trials started (skipped ones excluded).</summary>
    public int Started { get; init; }

    /// <summary>Trials running now.</summary>
    public int Running { get; init; }

    /// <summary>Completed trials.</summary>
    public int Completed { get; init; }

    /// <summary>Pruned trials.</summary>
    public int Pruned { get; init; }

    /// <summary>Failed trials.</summary>
    public int Failed { get; init; }

    /// <summary>Skipped configurations.</summary>
    public int Skipped { get; init; }

    /// <summary>Cancelled trials.</summary>
    public int Cancelled { get; init; }

    /// <summary>The trial budget (<see cref="SweepOptions.MaxTrials"/>).</summary>
    public int MaxTrials { get; init; }

    /// <summary>Epochs trained so far over all finished trials.</summary>
    public long TotalEpochs { get; init; }

    /// <summary>Time since the sweep started.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>The best completed trial so far, if any.</summary>
    public SweepTrialResult? Best { get; init; }
}
