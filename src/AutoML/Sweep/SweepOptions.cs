// Budget and control knobs of a sweep.
namespace MLNet.Transformer.AutoML;

/// <summary>Budget, parallelism, seeding and devices of a sweep.</summary>
public sealed class SweepOptions
{
    /// <summary>Metric name for a trial's best validation loss (the default metric; lower is better).</summary>
    public const string ValidationLossMetric = "ValidationLoss";

    /// <summary>Metric name for the validation perplexity, exp(loss) (ranks like the loss).</summary>
    public const string PerplexityMetric = "Perplexity";

    /// <summary>Most trials to train (skipped configurations do not count). Default 50.</summary>
    public int MaxTrials { get; set; } = 50;

    /// <summary>Wall-clock budget measured with <see cref="TimeProvider"/>; when spent, no trial starts and the running
    /// ones are cancelled. Null: no limit.</summary>
    public TimeSpan? TimeBudget { get; set; }

    /// <summary>How many trials run at once. Default 1 (then a deterministic runner gives a deterministic sweep).</summary>
    public int Parallelism { get; set; } = 1;

    /// <summary>The sweep seed: every proposal and per-trial seed derives from it. Null: drawn at random
    /// (ML.NET does not expose the seed of an MLContext, so set this for a reproducible sweep).</summary>
    public int? Seed { get; set; }

    /// <summary>CPU threads per trial. Null: <see cref="Environment.ProcessorCount"/> / <see cref="Parallelism"/>,
    /// at least 1.</summary>
    public int? ThreadsPerTrial { get; set; }

    /// <summary>Devices to spread trials over; a starting trial takes the least busy one, ties broken round-robin.
    /// Default: <c>cpu</c>.</summary>
    public IReadOnlyList<string> Devices { get; set; } = ["cpu"];

    /// <summary>The full epoch budget of a trial; completed trials are compared at this budget. Default 10.</summary>
    public int MaxEpochs { get; set; } = 10;

    /// <summary>The metric ranked and tuned: <see cref="ValidationLossMetric"/> (default), <see cref="PerplexityMetric"/>,
    /// or the name of a metric the runner returns in <see cref="TrialOutcome.Metrics"/>.</summary>
    public string Metric { get; set; } = ValidationLossMetric;

    /// <summary>Whether larger values of <see cref="Metric"/> are better (false for losses).</summary>
    public bool MaximizeMetric { get; set; }

    /// <summary>How many consecutive proposals may violate constraints before the sweep stops (protects against a
    /// space whose constraints exclude nearly everything). Default 1000.</summary>
    public int MaxConsecutiveSkips { get; set; } = 1000;

    /// <summary>Early stopping inside each trial: a trial whose validation loss has not improved by at least
    /// <see cref="EarlyStoppingMinDelta"/> for this many epochs ends, completed, ranked by its best epoch (a runner
    /// may carry its own per-configuration value, see <see cref="TrialContext.EarlyStoppingPatience"/>). 0 disables
    /// it. Default 5.</summary>
    public int EarlyStoppingPatience { get; set; } = 5;

    /// <summary>The smallest validation-loss decrease that counts as an improvement for early stopping. Default 1e-4.</summary>
    public float EarlyStoppingMinDelta { get; set; } = 1e-4f;

    /// <summary>After the search, the best this many configurations are trained again with
    /// <see cref="RepeatSeeds"/> more seeds each, so that the winner is chosen by its mean over seeds, not by one
    /// lucky seed (<see cref="Leaderboard.Configurations"/>). 0 (default) disables the repeats.</summary>
    public int RepeatTopConfigurations { get; set; }

    /// <summary>Extra seeds per repeated configuration. Default 2 (three runs each).</summary>
    public int RepeatSeeds { get; set; } = 2;

    /// <summary>With a <see cref="TimeBudget"/> and repeats, the most of the budget kept for them: the search stops
    /// starting trials when the time left is what the repeats are expected to take (1.25 x their count x the mean
    /// duration of the completed trials, divided by <see cref="Parallelism"/>), or this fraction of the budget if that
    /// is less. Default 0.25.</summary>
    public double RepeatBudgetFraction { get; set; } = 0.25;

    /// <summary>The study store shared by the sweep's workers: <c>sqlite:///path.db</c> (one machine) or
    /// <c>postgresql://user:password@host:port/database</c> (several). With a store, every trial is claimed in a
    /// transaction, recorded as it finishes, and the sweep can be resumed by running it again; several processes with
    /// the same store and <see cref="StudyName"/> share the study (<see cref="StudyStore"/>). Null (default): the sweep
    /// lives in this process only.</summary>
    public string? Storage { get; set; }

    /// <summary>The study's name in <see cref="Storage"/>. Default <c>sweep</c>.</summary>
    public string StudyName { get; set; } = "sweep";

    /// <summary>How often a worker tells the store its trials are alive. Default 5 s.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A trial whose worker has not beaten for this long is marked failed and retried once (on another
    /// worker, or on this one). Default 60 s.</summary>
    public TimeSpan HeartbeatGrace { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>With <see cref="Storage"/>: propose no trial; run the study's repeats (those not yet run) and leave
    /// the refit to the caller, even when the study was already finalized.</summary>
    public bool FinalizeOnly { get; set; }

    /// <summary>The clock for durations and the time budget (replace it in tests). Default: the system clock.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The effective per-trial thread budget.</summary>
    public int EffectiveThreadsPerTrial => ThreadsPerTrial ?? Math.Max(1, Environment.ProcessorCount / Math.Max(1, Parallelism));

    /// <summary>Checks the options.</summary>
    /// <exception cref="TransformerArgumentException">An option is out of range; the message names it.</exception>
    public void Validate()
    {
        if (MaxTrials < 1)
        {
            throw new TransformerArgumentException($"SweepOptions.MaxTrials must be at least 1, not {MaxTrials}.", nameof(MaxTrials));
        }

        if (Parallelism < 1)
        {
            throw new TransformerArgumentException($"SweepOptions.Parallelism must be at least 1, not {Parallelism}.", nameof(Parallelism));
        }

        if (ThreadsPerTrial is < 1)
        {
            throw new TransformerArgumentException($"SweepOptions.ThreadsPerTrial must be at least 1, not {ThreadsPerTrial}.", nameof(ThreadsPerTrial));
        }

        if (Parallelism > Engine.TransformerLimits.MaxThreads)
        {
            throw new TransformerArgumentException($"SweepOptions.Parallelism must be at most {Engine.TransformerLimits.MaxThreads} (four per logical processor), not {Parallelism}.", nameof(Parallelism));
        }

        if (ThreadsPerTrial > Engine.TransformerLimits.MaxThreads)
        {
            throw new TransformerArgumentException($"SweepOptions.ThreadsPerTrial must be at most {Engine.TransformerLimits.MaxThreads} (four per logical processor), not {ThreadsPerTrial}.", nameof(ThreadsPerTrial));
        }

        if (MaxEpochs < 1)
        {
            throw new TransformerArgumentException($"SweepOptions.MaxEpochs must be at least 1, not {MaxEpochs}.", nameof(MaxEpochs));
        }

        if (TimeBudget is { } budget && budget <= TimeSpan.Zero)
        {
            throw new TransformerArgumentException($"SweepOptions.TimeBudget must be positive, not {budget}.", nameof(TimeBudget));
        }

        if (Devices is null || Devices.Count == 0 || Devices.Any(string.IsNullOrWhiteSpace))
        {
            throw new TransformerArgumentException("SweepOptions.Devices must list at least one device, none blank.", nameof(Devices));
        }

        if (string.IsNullOrWhiteSpace(Metric))
        {
            throw new TransformerArgumentException("SweepOptions.Metric must name a metric.", nameof(Metric));
        }

        if (MaxConsecutiveSkips < 1)
        {
            throw new TransformerArgumentException($"SweepOptions.MaxConsecutiveSkips must be at least 1, not {MaxConsecutiveSkips}.", nameof(MaxConsecutiveSkips));
        }

        if (EarlyStoppingPatience < 0)
        {
            throw new TransformerArgumentException($"SweepOptions.EarlyStoppingPatience must be at least 0, not {EarlyStoppingPatience}.", nameof(EarlyStoppingPatience));
        }

        if (!(EarlyStoppingMinDelta >= 0) || !float.IsFinite(EarlyStoppingMinDelta))
        {
            throw new TransformerArgumentException($"SweepOptions.EarlyStoppingMinDelta must be a finite number >= 0, not {EarlyStoppingMinDelta}.", nameof(EarlyStoppingMinDelta));
        }

        if (RepeatTopConfigurations < 0)
        {
            throw new TransformerArgumentException($"SweepOptions.RepeatTopConfigurations must be at least 0, not {RepeatTopConfigurations}.", nameof(RepeatTopConfigurations));
        }

        if (RepeatSeeds < 1)
        {
            throw new TransformerArgumentException($"SweepOptions.RepeatSeeds must be at least 1, not {RepeatSeeds}.", nameof(RepeatSeeds));
        }

        if (!(RepeatBudgetFraction is >= 0 and < 1))
        {
            throw new TransformerArgumentException($"SweepOptions.RepeatBudgetFraction must be in [0, 1), not {RepeatBudgetFraction}.", nameof(RepeatBudgetFraction));
        }

        if (Storage is not null && string.IsNullOrWhiteSpace(StudyName))
        {
            throw new TransformerArgumentException("SweepOptions.StudyName must name the study when Storage is set.", nameof(StudyName));
        }

        if (HeartbeatInterval <= TimeSpan.Zero || HeartbeatGrace <= HeartbeatInterval)
        {
            throw new TransformerArgumentException(
                $"SweepOptions.HeartbeatGrace ({HeartbeatGrace}) must be longer than HeartbeatInterval ({HeartbeatInterval}), which must be positive.", nameof(HeartbeatGrace));
        }

        if (FinalizeOnly && Storage is null)
        {
            throw new TransformerArgumentException("SweepOptions.FinalizeOnly needs a Storage holding the study to finalize.", nameof(FinalizeOnly));
        }

        ArgumentNullException.ThrowIfNull(TimeProvider);
    }
}
