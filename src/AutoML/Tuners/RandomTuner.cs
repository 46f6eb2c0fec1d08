// Random search: independent uniform (or log-uniform) draws of every dimension, seeded.
using MLNet.Transformer.AutoML.Internal;

namespace MLNet.Transformer.AutoML;

/// <summary>
/// Random search: each dimension drawn uniformly (log-uniformly for log-scaled ranges) from the seed the sweep
/// gives it. Draws that violate a constraint (or repeat an earlier proposal) are redrawn up to
/// <see cref="MaxTries"/> times; when every try violates a constraint, the last draw is proposed and recorded as
/// skipped.
/// </summary>
public sealed class RandomTuner : ISweepTuner
{
    private SweepRandom? _random;
    private CandidateFilter? _filter;

    /// <summary>Creates the tuner.</summary>
    /// <param name="maxTries">Draws per proposal before giving up on finding a valid, new configuration.</param>
    /// <param name="avoidDuplicates">Redraw configurations already proposed (useful for small discrete spaces).</param>
    public RandomTuner(int maxTries = 100, bool avoidDuplicates = true)
    {
        CandidateFilter.CheckTries(maxTries, nameof(RandomTuner));
        MaxTries = maxTries;
        AvoidDuplicates = avoidDuplicates;
    }

    /// <summary>Draws per proposal before giving up.</summary>
    public int MaxTries { get; }

    /// <summary>Whether repeated configurations are redrawn.</summary>
    public bool AvoidDuplicates { get; }

    /// <inheritdoc/>
    public void Initialize(SweepSearchSpace space, int seed, TunerObjective objective)
    {
        ArgumentNullException.ThrowIfNull(space);
        _random = new SweepRandom(seed);
        _filter = new CandidateFilter(space, MaxTries, AvoidDuplicates);
    }

    /// <inheritdoc/>
    public ParameterSet? Propose(IReadOnlyList<SweepTrialResult> history)
    {
        if (_filter is null || _random is null)
        {
            throw new InvalidOperationException("RandomTuner.Initialize must be called before Propose.");
        }

        var random = _random;
        return _filter.Pick(() => _filter.Space.Sample(random));
    }

    /// <inheritdoc/>
    public void Report(SweepTrialResult result)
    {
    }
}
