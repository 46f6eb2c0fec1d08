// Grid search: every combination of the grid values of every dimension, once, in odometer order.
namespace MLNet.Transformer.AutoML;

/// <summary>
/// Proposes the full cartesian product of the dimensions' grid values (choices: their values; integer ranges: every
/// value, or <c>GridSteps</c> points; continuous ranges: <c>GridSteps</c> points, required), each exactly once, the
/// last dimension varying fastest. Invalid combinations are proposed too so that the sweep records them as skipped.
/// </summary>
public sealed class GridTuner : ISweepTuner
{
    private IReadOnlyList<object>[] _axes = [];
    private int[] _odometer = [];
    private SweepSearchSpace? _space;
    private bool _done;

    /// <summary>How many combinations the grid holds (after <see cref="Initialize"/>).</summary>
    public long Size { get; private set; }

    /// <inheritdoc/>
    /// <exception cref="TransformerArgumentException">A continuous dimension has no grid steps.</exception>
    public void Initialize(SweepSearchSpace space, int seed, TunerObjective objective)
    {
        ArgumentNullException.ThrowIfNull(space);
        _space = space;
        _axes = space.Parameters.Select(p => p.GetGridValues()).ToArray();
        _odometer = new int[_axes.Length];
        Size = _axes.Aggregate(1L, (n, axis) => checked(n * axis.Count));
        _done = Size == 0;
    }

    /// <inheritdoc/>
    public ParameterSet? Propose(IReadOnlyList<SweepTrialResult> history)
    {
        if (_space is null)
        {
            throw new InvalidOperationException("GridTuner.Initialize must be called before Propose.");
        }

        if (_done)
        {
            return null;
        }

        var values = new object[_axes.Length];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = _axes[i][_odometer[i]];
        }

        // Advance the odometer, last dimension fastest.
        int d = _axes.Length - 1;
        while (d >= 0)
        {
            if (++_odometer[d] < _axes[d].Count)
            {
                break;
            }

            _odometer[d] = 0;
            d--;
        }

        _done = d < 0;
        return _space.Compose(values);
    }

    /// <inheritdoc/>
    public void Report(SweepTrialResult result)
    {
    }
}
