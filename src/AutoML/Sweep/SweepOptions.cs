// Budget and control knobs of a sweep.
namespace MLNet.Transformer.AutoML;

/// <summary>Budget, parallelism, seeding and devices of a sweep.</summary>
public sealed class SweepOptions
{
    /// <summary>Metric name for the final validation loss (the default metric; lower is better).</summary>
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

        ArgumentNullException.ThrowIfNull(TimeProvider);
    }
}
