// The seam between the sweep and whatever trains a model: a runner trains one configuration, reporting each
// epoch's validation loss through a TrialContext, which answers whether to continue.
namespace MLNet.Transformer.AutoML;

/// <summary>Trains one configuration. Implementations must call <see cref="TrialContext.ReportEpoch"/> after each
/// epoch and stop when it returns false, and should honour the cancellation token. When it returns false because the
/// trial stopped improving (<see cref="TrialContext.StoppedEarly"/>), the trial is complete: a runner that can should
/// end with the weights of <see cref="TrialContext.BestEpoch"/>.</summary>
/// <typeparam name="TOptions">The options type of the search space.</typeparam>
public interface ISweepTrialRunner<in TOptions>
    where TOptions : class
{
    /// <summary>Trains <paramref name="options"/> for up to <see cref="TrialContext.MaxEpochs"/> epochs.</summary>
    /// <param name="options">A fresh options object for this trial (the runner may change it).</param>
    /// <param name="context">Seed, threads, device, and the epoch checkpoint callback.</param>
    /// <param name="cancellationToken">Cancelled when the sweep is cancelled, runs out of time, or prunes the trial.</param>
    /// <returns>What the trial measured beyond the epoch reports (the sweep ranks a trial by its best reported loss).</returns>
    Task<TrialOutcome> RunAsync(TOptions options, TrialContext context, CancellationToken cancellationToken);
}

/// <summary>What a runner returns. Every member is optional: the sweep falls back on the epoch reports.</summary>
public sealed class TrialOutcome
{
    /// <summary>An outcome with nothing beyond the epoch reports.</summary>
    public static TrialOutcome Empty { get; } = new();

    /// <summary>Epochs trained; null: the last epoch reported.</summary>
    public int? EpochsRun { get; init; }

    /// <summary>Extra metrics (a custom <see cref="SweepOptions.Metric"/> is looked up here).</summary>
    public IReadOnlyDictionary<string, double>? Metrics { get; init; }

    /// <summary>A note on a trial that still counts (for example: its model could not be kept in the study store),
    /// recorded as its result's <see cref="SweepTrialResult.Message"/>.</summary>
    public string? Message { get; init; }
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
    private int _patience;
    private double _best = double.PositiveInfinity;
    private int _bestEpoch;
    private int _sinceBest;

    internal TrialContext(int trialId, ParameterSet parameters, int seed, int threads, string device, int maxEpochs,
        int patience, float minDelta, Func<TrialContext, int, double, bool> onEpoch, CancellationToken cancellationToken)
    {
        EarlyStoppingPatience = patience;
        EarlyStoppingMinDelta = minDelta;
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

    /// <summary>Early stopping within the trial: after this many epochs in a row without an improvement of at least
    /// <see cref="EarlyStoppingMinDelta"/> on the best loss, <see cref="ReportEpoch"/> returns false and sets
    /// <see cref="StoppedEarly"/>; 0 disables it. Starts at <see cref="SweepOptions.EarlyStoppingPatience"/>; a
    /// runner whose configuration carries its own patience may set it before the first report.</summary>
    /// <exception cref="TransformerArgumentException">Negative, or set after an epoch was reported.</exception>
    public int EarlyStoppingPatience
    {
        get => _patience;
        set
        {
            lock (_gate)
            {
                if (value < 0 || LastEpoch > 0)
                {
                    throw new TransformerArgumentException(
                        $"Trial {TrialId}: EarlyStoppingPatience must be >= 0 and set before the first epoch is reported (got {value} after epoch {LastEpoch}).",
                        nameof(EarlyStoppingPatience));
                }

                _patience = value;
            }
        }
    }

    /// <summary>The smallest decrease of the best loss that counts as an improvement (a float, compared as the
    /// trainers compare it: <c>loss &lt; best - minDelta</c>).</summary>
    public float EarlyStoppingMinDelta { get; }

    /// <summary>The best loss reported so far: the lowest, except that a decrease smaller than
    /// <see cref="EarlyStoppingMinDelta"/> does not count (+infinity before the first report; NaN never counts).</summary>
    public double BestLoss
    {
        get
        {
            lock (_gate)
            {
                return _best;
            }
        }
    }

    /// <summary>The epoch of <see cref="BestLoss"/> (0 before the first finite report).</summary>
    public int BestEpoch
    {
        get
        {
            lock (_gate)
            {
                return _bestEpoch;
            }
        }
    }

    /// <summary>Whether the early-stopping rule ended the trial.</summary>
    public bool StoppedEarly { get; private set; }

    /// <summary>Records the validation loss after <paramref name="epoch"/> (1-based) and says whether to go on.</summary>
    /// <param name="epoch">Epochs completed so far (1-based, increasing).</param>
    /// <param name="validationLoss">Mean validation cross-entropy after that epoch.</param>
    /// <returns>False when the trial must stop now: pruned, cancelled, out of time, or no longer improving
    /// (<see cref="StoppedEarly"/>).</returns>
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

            // The trainers' rule (TrainingLoop): an improvement beats the best by more than the minimum delta.
            if (validationLoss < _best - EarlyStoppingMinDelta)
            {
                _best = validationLoss;
                _bestEpoch = epoch;
                _sinceBest = 0;
            }
            else if (++_sinceBest >= _patience && _patience > 0)
            {
                StoppedEarly = true;
            }
        }

        // A trial that stopped improving is complete: it ends here, whatever the pruner would say.
        return !StoppedEarly && _onEpoch(this, epoch, validationLoss);
    }
}
