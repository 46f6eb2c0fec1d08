// The tuner contract: proposes the next configuration from the finished trials and learns from their results.
namespace MLNet.Transformer.AutoML;

/// <summary>
/// Proposes configurations. The sweep calls a tuner from one thread at a time: <see cref="Initialize"/> once, then
/// <see cref="Propose"/> whenever a worker is free and <see cref="Report"/> as each trial finishes. Tuners minimise
/// <see cref="SweepTrialResult.MetricValue"/> as given by <see cref="TunerObjective"/> (negated when the metric is maximised).
/// </summary>
public interface ISweepTuner
{
    /// <summary>Binds the tuner to a space and a seed (derived from the sweep seed); resets its state.</summary>
    void Initialize(SweepSearchSpace space, int seed, TunerObjective objective);

    /// <summary>The next configuration to try, or null when the tuner has nothing left (an exhausted grid).
    /// A proposal may violate a constraint (the sweep then records it as skipped).</summary>
    /// <param name="history">Every finished trial so far, in finishing order.</param>
    ParameterSet? Propose(IReadOnlyList<SweepTrialResult> history);

    /// <summary>Tells the tuner a trial finished.</summary>
    void Report(SweepTrialResult result);
}

/// <summary>Turns a trial into the number a tuner minimises.</summary>
public sealed class TunerObjective
{
    private readonly bool _maximize;

    /// <summary>Creates an objective over <see cref="SweepTrialResult.MetricValue"/>.</summary>
    /// <param name="maximize">Whether larger metric values are better.</param>
    public TunerObjective(bool maximize = false) => _maximize = maximize;

    /// <summary>The default: minimise the metric.</summary>
    public static TunerObjective Minimize { get; } = new();

    /// <summary>The value to minimise: the metric (negated when maximising); +infinity for NaN.</summary>
    public double Evaluate(SweepTrialResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        double v = _maximize ? -result.MetricValue : result.MetricValue;
        return double.IsNaN(v) ? double.PositiveInfinity : v;
    }
}
