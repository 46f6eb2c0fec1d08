// The ranking of a sweep's trials (completed trials by metric, then pruned ones) and of its configurations over seeds.
namespace MLNet.Transformer.AutoML;

/// <summary>One place on the <see cref="Leaderboard"/>.</summary>
public sealed class LeaderboardEntry
{
    internal LeaderboardEntry(int rank, SweepTrialResult trial)
    {
        Rank = rank;
        Trial = trial;
    }

    /// <summary>1-based rank.</summary>
    public int Rank { get; }

    /// <summary>The trial.</summary>
    public SweepTrialResult Trial { get; }
}

/// <summary>
/// The trials ranked. Completed trials (trained for the full epoch budget or until their own early stopping) come
/// first, ordered by the sweep metric, by default their best validation loss (best first; ties by trial id). Pruned
/// trials follow, always below every completed trial since they were stopped as unpromising: those that got further
/// first, then by their best validation loss. Failed, skipped and cancelled trials are not ranked.
/// <see cref="Configurations"/> groups the completed runs of each configuration (repeats with other seeds).
/// </summary>
public sealed class Leaderboard : IReadOnlyList<LeaderboardEntry>
{
    private readonly LeaderboardEntry[] _entries;

    internal Leaderboard(IEnumerable<SweepTrialResult> trials, TunerObjective objective)
    {
        var list = trials.ToList();
        var completed = list.Where(t => t.Status == TrialStatus.Completed)
            .OrderBy(objective.Evaluate).ThenBy(t => t.Id);
        var pruned = list.Where(t => t.Status == TrialStatus.Pruned)
            .OrderByDescending(t => t.EpochsRun)
            .ThenBy(t => double.IsNaN(t.ValidationLoss) ? double.PositiveInfinity : t.ValidationLoss)
            .ThenBy(t => t.Id);
        _entries = completed.Concat(pruned).Select((t, i) => new LeaderboardEntry(i + 1, t)).ToArray();

        // Configurations measured over several seeds rank above single runs: the tuner's best single values are
        // biased low (the best of many noisy draws), a mean over seeds is not.
        Configurations = list.Where(t => t.Status == TrialStatus.Completed && double.IsFinite(objective.Evaluate(t)))
            .GroupBy(t => t.Parameters.Key, StringComparer.Ordinal)
            .Select(g => g.OrderBy(t => t.Id).ToArray())
            .OrderByDescending(runs => runs.Length > 1)
            .ThenBy(runs => runs.Average(objective.Evaluate))
            .ThenBy(runs => runs[0].Id)
            .Select((runs, i) => new ConfigurationSummary(i + 1, runs, objective))
            .ToArray();
    }

    /// <summary>The completed configurations with their mean and spread over seeds, best first: those run with more
    /// than one seed (<see cref="SweepOptions.RepeatTopConfigurations"/>) by mean, then the single runs by value.</summary>
    public IReadOnlyList<ConfigurationSummary> Configurations { get; }

    /// <summary>The number of ranked trials.</summary>
    public int Count => _entries.Length;

    /// <summary>The entry at a 0-based position.</summary>
    public LeaderboardEntry this[int index] => _entries[index];

    /// <summary>The best <paramref name="count"/> entries.</summary>
    public IReadOnlyList<LeaderboardEntry> Top(int count) => _entries.Take(count).ToArray();

    /// <summary>The rank of trial <paramref name="trialId"/>, or null if it is not ranked.</summary>
    public int? RankOf(int trialId) => _entries.FirstOrDefault(e => e.Trial.Id == trialId)?.Rank;

    /// <inheritdoc/>
    public IEnumerator<LeaderboardEntry> GetEnumerator() => ((IEnumerable<LeaderboardEntry>)_entries).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
