// The ranking of a sweep's trials: completed trials by metric at the full budget, then pruned trials.
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
/// The trials ranked for comparison at equal training budget. Completed trials (trained for the full epoch
/// budget) come first, ordered by the sweep metric (best first; ties by trial id). Pruned trials follow, always
/// below every completed trial since their loss was measured after fewer epochs: those that got further first, then
/// by their last validation loss. Failed, skipped and cancelled trials are not ranked.
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
    }

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
