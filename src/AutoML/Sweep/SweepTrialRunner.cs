// The seam between the sweep and whatever trains a model: a runner trains one configuration, reporting each
// epoch's validation loss through a TrialContext, which answers whether to continue.
namespace MLNet.Transformer.AutoML;

/// <summary>Trains one configuration. Implementations must call <see cref="TrialContext.ReportEpoch"/> after each
/// epoch and stop when it returns false, and should honour the cancellation token.</summary>
/// <typeparam name="TOptions">The options type of the search space.</typeparam>
public interface ISweepTrialRunner<in TOptions>
    where TOptions : class
{
    /// <summary>Trains <paramref name="options"/> for up to <see cref="TrialContext.MaxEpochs"/> epochs.</summary>
    /// <param name="options">A fresh options object for this trial (the runner may change it).</param>
    /// <param name="context">Seed, threads, device, and the epoch checkpoint callback.</param>
    /// <param name="cancellationToken">Cancelled when the sweep is cancelled, runs out of time, or prunes the trial.</param>
    /// <returns>What the trial measured; the final validation loss defaults to the last reported one.</returns>
    Task<TrialOutcome> RunAsync(TOptions options, TrialContext context, CancellationToken cancellationToken);
}

/// <summary>What a runner returns. Every member is optional: the sweep falls back on the epoch reports.</summary>
public sealed class TrialOutcome
{
    /// <summary>An outcome with nothing beyond the epoch reports.</summary>
    public static TrialOutcome Empty { get; } = new();

    /// <summary>Final validation loss; null: the last value passed to <see cref="TrialContext.ReportEpoch"/>.</summary>
    public double? ValidationLoss { get; init; }

    /// <summary>Epochs trained; null: the last epoch reported.</summary>
    public int? EpochsRun { get; init; }

    /// <summary>Extra metrics (a custom <see cref="SweepOptions.Metric"/> is looked up here).</summary>
    public IReadOnlyDictionary<string, double>? Metrics { get; init; }
}

/// <summary>
/// What a running trial knows about itself and how it talks back to the sweep. Thread-safe: a runner may report
/// from any thread.
/// </summary>
public sealed class TrialContext
{
    private readonly Func<TrialContext, int, double, bool> _onEpoch;
    private readonly List<double> _losses = [];
    private readonly object _gate = new();

    internal TrialContext(int trialId, ParameterSet parameters, int seed, int threads, string device, int maxEpochs,
        Func<TrialContext, int, double, bool> onEpoch, CancellationToken cancellationToken)
    {
        TrialId = trialId;
        Parameters = parameters;
        Seed = seed;
        Threads = threads;
        Device = device;
        MaxEpochs = maxEpochs;
        CancellationToken = cancellationToken;
        _onEpoch = onEpoch;
    }

    /// <summary>The trial number.</summary>
    public int TrialId { get; }

    /// <summary>The configuration being trained.</summary>
    public ParameterSet Parameters { get; }

    /// <summary>The seed to use for everything random in the trial (derived from the sweep seed).</summary>
    public int Seed { get; }

    /// <summary>How many CPU threads the trial may use.</summary>
    public int Threads { get; }

    /// <summary>The device to train on (e.g. <c>cpu</c>, <c>cuda:1</c>).</summary>
    public string Device { get; }

    /// <summary>The full epoch budget: a completed trial trains this many epochs.</summary>
    public int MaxEpochs { get; }

    /// <summary>The trial's cancellation token (the same one <see cref="ISweepTrialRunner{TOptions}.RunAsync"/> receives).</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>The losses reported so far.</summary>
    public IReadOnlyList<double> EpochLosses
    {
        get
        {
            lock (_gate)
            {
                return _losses.ToArray();
            }
        }
    }

    /// <summary>Whether the pruner stopped this trial.</summary>
    public bool IsPruned { get; internal set; }

    /// <summary>The last epoch reported (0 before the first report).</summary>
    public int LastEpoch { get; private set; }

    /// <summary>Records the validation loss after <paramref name="epoch"/> (1-based) and says whether to go on.</summary>
    /// <param name="epoch">Epochs completed so far (1-based, increasing).</param>
    /// <param name="validationLoss">Mean validation cross-entropy after that epoch.</param>
    /// <returns>False when the trial must stop now: pruned, cancelled, or out of time.</returns>
    /// <exception cref="TransformerArgumentException">The epoch is not after the previous one.</exception>
    public bool ReportEpoch(int epoch, double validationLoss)
    {
        lock (_gate)
        {
            if (epoch <= LastEpoch)
            {
                throw new TransformerArgumentException($"Trial {TrialId}: epoch {epoch} reported after epoch {LastEpoch}.", nameof(epoch));
            }

            LastEpoch = epoch;
            _losses.Add(validationLoss);
        }

        return _onEpoch(this, epoch, validationLoss);
    }
}
