// The record of one trial of a sweep: its configuration, how it ended, and what it measured.
namespace MLNet.Transformer.AutoML;

/// <summary>How a trial ended.</summary>
public enum TrialStatus
{
    /// <summary>Trained for the full epoch budget, or until its own early stopping ended it, and reported a validation loss.</summary>
    Completed,

    /// <summary>Stopped early by the pruner because its validation loss was not competitive at a checkpoint.</summary>
    Pruned,

    /// <summary>The runner threw (including out-of-memory errors); the sweep went on.</summary>
    Failed,

    /// <summary>Never trained: the configuration violates a constraint of the search space.</summary>
    Skipped,

    /// <summary>Interrupted by cancellation or the time budget while running.</summary>
    Cancelled,
}

/// <summary>The outcome of one trial. Immutable; everything in the sweep reports is read from here.</summary>
public sealed class SweepTrialResult
{
    /// <summary>Sequential trial number, in proposal order (skipped configurations get numbers too).</summary>
    public required int Id { get; init; }

    /// <summary>The configuration.</summary>
    public required ParameterSet Parameters { get; init; }

    /// <summary>How the trial ended.</summary>
    public required TrialStatus Status { get; init; }

    /// <summary>Best validation loss (mean cross-entropy, nats per character) over the epochs the trial trained, the
    /// value it is ranked by: a trial that peaks early and then overfits is judged by its peak, whose weights a
    /// runner with early stopping keeps. NaN when none was reported.</summary>
    public double ValidationLoss { get; init; } = double.NaN;

    /// <summary>The epoch (1-based) of <see cref="ValidationLoss"/>; 0 when none was reported.</summary>
    public int BestEpoch { get; init; }

    /// <summary>The validation loss of the last epoch trained (equal to <see cref="ValidationLoss"/> when the last
    /// epoch was the best); NaN when none was reported.</summary>
    public double LastValidationLoss { get; init; } = double.NaN;

    /// <summary>True when the trial stopped itself because its validation loss stopped improving
    /// (<see cref="SweepOptions.EarlyStoppingPatience"/>); such a trial is <see cref="TrialStatus.Completed"/>.</summary>
    public bool StoppedEarly { get; init; }

    /// <summary>For a re-run of a configuration with another seed (<see cref="SweepOptions.RepeatSeeds"/>), the id of
    /// the trial it repeats; null for a trial the tuner proposed.</summary>
    public int? RepeatOf { get; init; }

    /// <summary>exp(<see cref="ValidationLoss"/>): the validation perplexity.</summary>
    public double Perplexity => Math.Exp(ValidationLoss);

    /// <summary>The value of the sweep's metric (<see cref="SweepOptions.Metric"/>) for this trial; NaN if absent.</summary>
    public double MetricValue { get; init; } = double.NaN;

    /// <summary>Epochs trained.</summary>
    public int EpochsRun { get; init; }

    /// <summary>The validation loss reported after each epoch, in order (index 0 = epoch 1).</summary>
    public IReadOnlyList<double> EpochLosses { get; init; } = [];

    /// <summary>Extra metrics the runner reported.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>Wall time of the trial (zero for skipped ones).</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>The trial's seed (derived from the sweep seed and <see cref="Id"/>).</summary>
    public int Seed { get; init; }

    /// <summary>The device the trial ran on.</summary>
    public string Device { get; init; } = string.Empty;

    /// <summary>The thread budget the trial was given.</summary>
    public int Threads { get; init; }

    /// <summary>For failed trials, the exception type and message; for skipped ones, the violated constraint; for
    /// cancelled ones, why.</summary>
    public string? Message { get; init; }

    /// <summary>A one-line summary.</summary>
    public override string ToString() =>
        $"#{Id} {Status} {Parameters.Key} loss={ValidationLoss:G6} (epoch {BestEpoch}) epochs={EpochsRun}"
        + (RepeatOf is int r ? $" repeat of #{r}" : string.Empty) + (Message is null ? string.Empty : $" ({Message})");
}
