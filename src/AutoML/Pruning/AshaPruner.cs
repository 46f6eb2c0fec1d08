// Asynchronous successive halving (ASHA; Li et al., "A System for Massively Parallel Hyperparameter Tuning",
// MLSys 2020): at rung epochs r_k = minEpochs * eta^k a trial continues only if it is in the top 1/eta so far.
namespace MLNet.Transformer.AutoML;

/// <summary>
/// Asynchronous successive halving. Rungs sit at <c>MinEpochs * ReductionFactor^k</c> epochs (below the full
/// budget). When a trial reaches a rung its loss is recorded there; with <c>n</c> losses recorded at that rung so far
/// (its own included), it continues only if its loss is at most the <c>max(1, floor(n / eta))</c>-th smallest, i.e.
/// it is in the top 1/eta (the first trial at a rung always continues). Decisions never wait for other trials,
/// so workers are never idle; early trials are judged against fewer peers, as in the paper.
/// </summary>
public sealed class AshaPruner : IPruner
{
    private readonly object _gate = new();
    private readonly Dictionary<int, List<double>> _rungLosses = [];
    private readonly Dictionary<int, int> _lastRungOfTrial = [];
    private int[] _rungs = [];

    /// <summary>Creates the pruner.</summary>
    /// <param name="minEpochs">The first rung (epochs trained before any trial can be stopped); at least 1.</param>
    /// <param name="reductionFactor">eta: the fraction 1/eta of trials survives each rung; at least 2.</param>
    /// <exception cref="TransformerArgumentException">An argument is out of range.</exception>
    public AshaPruner(int minEpochs = 1, int reductionFactor = 3)
    {
        if (minEpochs < 1)
        {
            throw new TransformerArgumentException($"AshaPruner.MinEpochs must be at least 1, not {minEpochs}.", nameof(minEpochs));
        }

        if (reductionFactor < 2)
        {
            throw new TransformerArgumentException($"AshaPruner.ReductionFactor must be at least 2, not {reductionFactor}.", nameof(reductionFactor));
        }

        MinEpochs = minEpochs;
        ReductionFactor = reductionFactor;
    }

    /// <summary>The first rung, in epochs.</summary>
    public int MinEpochs { get; }

    /// <summary>eta: each rung keeps the top 1/eta.</summary>
    public int ReductionFactor { get; }

    /// <summary>The rung epochs for the current sweep (set by <see cref="Initialize"/>).</summary>
    public IReadOnlyList<int> Rungs => _rungs;

    /// <inheritdoc/>
    public void Initialize(int maxEpochs)
    {
        lock (_gate)
        {
            var rungs = new List<int>();
            for (long r = MinEpochs; r < maxEpochs; r *= ReductionFactor)
            {
                rungs.Add((int)r);
            }

            _rungs = [.. rungs];
            _rungLosses.Clear();
            _lastRungOfTrial.Clear();
        }
    }

    /// <inheritdoc/>
    public bool ShouldPrune(int trialId, int epoch, double validationLoss)
    {
        double loss = double.IsNaN(validationLoss) ? double.PositiveInfinity : validationLoss;
        lock (_gate)
        {
            int passed = _lastRungOfTrial.GetValueOrDefault(trialId, -1);

            // The highest rung at or below this epoch that the trial has not been judged at yet.
            int rung = -1;
            for (int k = passed + 1; k < _rungs.Length && _rungs[k] <= epoch; k++)
            {
                rung = k;
            }

            if (rung < 0)
            {
                return false;
            }

            _lastRungOfTrial[trialId] = rung;
            if (!_rungLosses.TryGetValue(rung, out var losses))
            {
                losses = [];
                _rungLosses[rung] = losses;
            }

            // Keep the rung's losses sorted so the k-th smallest is an index.
            int at = losses.BinarySearch(loss);
            losses.Insert(at < 0 ? ~at : at, loss);
            int keep = Math.Max(1, losses.Count / ReductionFactor);
            return loss > losses[keep - 1];
        }
    }

    /// <summary>The rung rule on a rung's losses (the trial's own included): prune unless <paramref name="loss"/> is
    /// at most the <c>max(1, floor(n / eta))</c>-th smallest of <paramref name="rung"/>.</summary>
    internal static bool Prunes(double loss, IReadOnlyList<double> rung, int reductionFactor)
    {
        var sorted = rung.Select(v => double.IsNaN(v) ? double.PositiveInfinity : v).Order().ToArray();
        if (sorted.Length == 0)
        {
            return false;
        }

        int keep = Math.Max(1, sorted.Length / reductionFactor);
        return (double.IsNaN(loss) ? double.PositiveInfinity : loss) > sorted[keep - 1];
    }
}
