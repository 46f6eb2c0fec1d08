// Shared proposal logic of the sampling tuners: bounded resampling away from invalid and already-proposed points.
namespace MLNet.Transformer.AutoML;

/// <summary>Keeps what a sampling tuner has proposed and picks, among candidates, a valid new one.</summary>
internal sealed class CandidateFilter
{
    private readonly HashSet<string> _proposed = new(StringComparer.Ordinal);

    public CandidateFilter(SweepSearchSpace space, int maxTries, bool avoidDuplicates)
    {
        Space = space;
        MaxTries = maxTries;
        AvoidDuplicates = avoidDuplicates;
    }

    public SweepSearchSpace Space { get; }

    public int MaxTries { get; }

    public bool AvoidDuplicates { get; }

    /// <summary>Draws from <paramref name="sample"/> up to <see cref="MaxTries"/> times and returns the first valid,
    /// new configuration; else the first valid (repeated) one; else the last invalid one (recorded as skipped).</summary>
    public ParameterSet Pick(Func<ParameterSet> sample)
    {
        ParameterSet? validRepeat = null;
        ParameterSet? last = null;
        for (int tries = 0; tries < MaxTries; tries++)
        {
            var candidate = sample();
            last = candidate;
            if (Space.FindViolation(candidate) is not null)
            {
                continue;
            }

            if (AvoidDuplicates && _proposed.Contains(candidate.Key))
            {
                validRepeat ??= candidate;
                continue;
            }

            return Remember(candidate);
        }

        return Remember(validRepeat ?? last!);
    }

    /// <summary>Whether <paramref name="candidate"/> is valid and (if duplicates are avoided) new.</summary>
    public bool IsAcceptable(ParameterSet candidate) =>
        (!AvoidDuplicates || !_proposed.Contains(candidate.Key)) && Space.FindViolation(candidate) is null;

    public ParameterSet Remember(ParameterSet chosen)
    {
        _proposed.Add(chosen.Key);
        return chosen;
    }

    internal static void CheckTries(int maxTries, string owner)
    {
        if (maxTries < 1)
        {
            throw new TransformerArgumentException($"{owner}.MaxTries must be at least 1, not {maxTries}.", nameof(maxTries));
        }
    }
}
