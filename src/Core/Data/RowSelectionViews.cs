// Views that select or reorder the rows of another view without copying it: a filter on the source row
// index (train/test split, skip, take) and a seeded pool shuffle. Both stream their source.
namespace MLNet.Transformer.Data;

/// <summary>Keeps the rows of <c>input</c> whose zero-based source index passes a predicate; stops early past <c>stopAfter</c>.</summary>
internal sealed class RowIndexFilterView : IDataView
{
    private readonly IDataView _input;
    private readonly Func<long, bool> _keep;
    private readonly long _stopAt;
    private readonly long? _rowCount;

    /// <param name="input">The source view.</param>
    /// <param name="keep">Whether to keep the source row of a given index.</param>
    /// <param name="stopAt">Source index at which reading stops (exclusive); <see cref="long.MaxValue"/> for none.</param>
    /// <param name="rowCount">The resulting row count when known.</param>
    public RowIndexFilterView(IDataView input, Func<long, bool> keep, long stopAt, long? rowCount)
    {
        _input = input;
        _keep = keep;
        _stopAt = stopAt;
        _rowCount = rowCount;
    }

    public DataViewSchema Schema => _input.Schema;

    public long? GetRowCount() => _rowCount;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded)
    {
        var needed = columnsNeeded.ToList();
        return new Cursor(this, _input.GetRowCursor(needed), needed);
    }

    private sealed class Cursor : CursorBase
    {
        private readonly RowIndexFilterView _view;
        private readonly DataViewRowCursor _inner;
        private long _position = -1;
        private long _sourceIndex = -1;
        private bool _done;

        public Cursor(RowIndexFilterView view, DataViewRowCursor inner, IEnumerable<DataViewSchema.Column> needed)
            : base(view.Schema, needed)
        {
            _view = view;
            _inner = inner;
        }

        public override long Position => _position;

        public override bool MoveNext()
        {
            while (!_done && _sourceIndex + 1 < _view._stopAt && _inner.MoveNext())
            {
                _sourceIndex++;
                if (_view._keep(_sourceIndex))
                {
                    _position++;
                    return true;
                }
            }

            _done = true;
            _position = -1;
            return false;
        }

        protected override ValueGetter<TValue> MakeGetter<TValue>(int index)
        {
            var inner = _inner.GetGetter<TValue>(Schema[index]);
            return (ref TValue value) =>
            {
                CheckOnRow();
                inner(ref value);
            };
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

/// <summary>
/// Shuffles rows through a pool of <c>poolSize</c> row copies (a uniform permutation when the view has at most
/// that many rows); deterministic for a given seed.
/// </summary>
internal sealed class ShuffleView : IDataView
{
    private readonly IDataView _input;
    private readonly int _seed;
    private readonly int _poolSize;

    public ShuffleView(IDataView input, int seed, int poolSize)
    {
        _input = input;
        _seed = seed;
        _poolSize = poolSize;
    }

    public DataViewSchema Schema => _input.Schema;

    public long? GetRowCount() => _input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded)
    {
        var needed = columnsNeeded.ToList();
        return new Cursor(this, _input.GetRowCursor(needed), needed);
    }

    private sealed class Cursor : CursorBase
    {
        private readonly DataViewRowCursor _inner;
        private readonly (int Index, Func<object?> Get)[] _getters;
        private readonly List<object?[]> _pool = [];
        private readonly Random _random;
        private readonly int _poolSize;
        private object?[]? _current;
        private long _position = -1;
        private bool _innerDone;

        public Cursor(ShuffleView view, DataViewRowCursor inner, IEnumerable<DataViewSchema.Column> needed)
            : base(view.Schema, needed)
        {
            _inner = inner;
            _random = new Random(view._seed);
            _poolSize = view._poolSize;
            _getters = [.. view.Schema.Where(c => Active[c.Index]).Select(c => (c.Index, CursorValues.BoxedGetter(inner, c)))];
        }

        public override long Position => _position;

        public override bool MoveNext()
        {
            while (!_innerDone && _pool.Count < _poolSize)
            {
                if (!_inner.MoveNext())
                {
                    _innerDone = true;
                    break;
                }

                var row = new object?[Schema.Count];
                foreach (var (index, get) in _getters)
                {
                    row[index] = get();
                }

                _pool.Add(row);
            }

            if (_pool.Count == 0)
            {
                _current = null;
                _position = -1;
                return false;
            }

            // Take a random pooled row; the last one fills its slot (the next source row refills the pool).
            int pick = _random.Next(_pool.Count);
            _current = _pool[pick];
            _pool[pick] = _pool[^1];
            _pool.RemoveAt(_pool.Count - 1);
            _position++;
            return true;
        }

        protected override ValueGetter<TValue> MakeGetter<TValue>(int index) =>
            (ref TValue value) =>
            {
                CheckOnRow();
                value = (TValue)_current![index]!;
            };

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
