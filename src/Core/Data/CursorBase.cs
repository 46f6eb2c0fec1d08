// Shared plumbing of the library's cursors: active-column bookkeeping, getter checks, and a source cursor
// that reads its rows in batches (1,024 at a time by default) so large files stream in bounded memory.
using System.Reflection;

namespace MLNet.Transformer.Data;

/// <summary>Base of the library's cursors: tracks the active columns and checks getter requests.</summary>
internal abstract class CursorBase : DataViewRowCursor
{
    private readonly bool[] _active;

    protected CursorBase(DataViewSchema schema, IEnumerable<DataViewSchema.Column> columnsNeeded)
    {
        Schema = schema;
        _active = ActiveMask(schema, columnsNeeded);
    }

    public override DataViewSchema Schema { get; }

    /// <summary>Active flags by column index.</summary>
    protected IReadOnlyList<bool> Active => _active;

    public override bool IsColumnActive(DataViewSchema.Column column)
    {
        ArgumentNullException.ThrowIfNull(column);
        return column.Index < _active.Length && _active[column.Index];
    }

    public sealed override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        CheckGetterType<TValue>(column);
        if (column.Index >= Schema.Count || Schema[column.Index].Name != column.Name)
        {
            throw new SchemaException($"Column '{column.Name}' (index {column.Index}) does not belong to this cursor's schema.", column.Name);
        }

        if (!_active[column.Index])
        {
            throw new SchemaException($"Column '{column.Name}' was not requested when the cursor was opened.", column.Name);
        }

        return MakeGetter<TValue>(column.Index);
    }

    /// <summary>Creates the getter of active column <paramref name="index"/>; the type is already checked.</summary>
    protected abstract ValueGetter<TValue> MakeGetter<TValue>(int index);

    /// <summary>Throws unless the cursor is on a row.</summary>
    protected void CheckOnRow()
    {
        if (Position < 0)
        {
            throw new InvalidOperationException("The cursor is not on a row: call MoveNext first (and check that it returned true).");
        }
    }

    /// <summary>Active flags (by index) for the <paramref name="columnsNeeded"/> of <paramref name="schema"/>.</summary>
    public static bool[] ActiveMask(DataViewSchema schema, IEnumerable<DataViewSchema.Column> columnsNeeded)
    {
        ArgumentNullException.ThrowIfNull(columnsNeeded);
        var active = new bool[schema.Count];
        foreach (var c in columnsNeeded)
        {
            if (c.Index >= schema.Count || schema[c.Index].Name != c.Name)
            {
                throw new SchemaException($"Column '{c.Name}' (index {c.Index}) does not belong to this view's schema.", c.Name);
            }

            active[c.Index] = true;
        }

        return active;
    }
}

/// <summary>
/// A cursor that fills a batch of rows at a time and then serves them one by one: the one state machine behind
/// the batched source cursors and the batch-mapped views. Getters read slot <see cref="BatchIndex"/>.
/// </summary>
internal abstract class BatchingCursor : CursorBase
{
    private int _count;
    private int _index;
    private long _position = -1;
    private bool _done;

    protected BatchingCursor(DataViewSchema schema, IEnumerable<DataViewSchema.Column> columnsNeeded)
        : base(schema, columnsNeeded)
    {
    }

    public override long Position => _position;

    /// <summary>Slot of the current row in the batch.</summary>
    protected int BatchIndex => _index;

    public override bool MoveNext()
    {
        if (_done)
        {
            return false;
        }

        if (_index + 1 < _count)
        {
            _index++;
            _position++;
            return true;
        }

        _count = FillBatch(_position + 1);
        _index = 0;
        if (_count == 0)
        {
            _done = true;
            _position = -1;
            return false;
        }

        _position++;
        return true;
    }

    /// <summary>Fills the next batch, whose first row has position <paramref name="firstRowPosition"/>; returns its row count (0 at the end).</summary>
    protected abstract int FillBatch(long firstRowPosition);
}

/// <summary>
/// A source cursor that reads rows in batches of <see cref="BatchSize"/> into a buffer and serves them one by
/// one; the source is read forward only, so memory stays bounded by one batch whatever the file size.
/// </summary>
internal abstract class BatchedSourceCursor<TRow> : BatchingCursor
{
    /// <summary>Rows read from a source per batch.</summary>
    public const int DefaultBatchSize = 1024;

    private readonly TRow[] _batch;

    protected BatchedSourceCursor(DataViewSchema schema, IEnumerable<DataViewSchema.Column> columnsNeeded, int batchSize = DefaultBatchSize)
        : base(schema, columnsNeeded)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        _batch = new TRow[batchSize];
    }

    /// <summary>Rows read per batch.</summary>
    public int BatchSize => _batch.Length;

    /// <summary>The current row.</summary>
    protected TRow Current
    {
        get
        {
            CheckOnRow();
            return _batch[BatchIndex];
        }
    }

    protected sealed override int FillBatch(long firstRowPosition)
    {
        Array.Clear(_batch);
        return ReadBatch(_batch);
    }

    /// <summary>Fills <paramref name="buffer"/> with the next rows; returns how many (0 at the end).</summary>
    protected abstract int ReadBatch(TRow[] buffer);
}

/// <summary>Reads cursor values as objects (for previews, object materialisation and row copies).</summary>
internal static class CursorValues
{
    private static readonly MethodInfo BoxedMethod =
        typeof(CursorValues).GetMethod(nameof(MakeBoxed), BindingFlags.NonPublic | BindingFlags.Static)!;

    /// <summary>A function returning the current value of <paramref name="column"/>, boxed.</summary>
    public static Func<object?> BoxedGetter(DataViewRowCursor cursor, DataViewSchema.Column column) =>
        (Func<object?>)BoxedMethod.MakeGenericMethod(column.Type.RawType).Invoke(null, [cursor, column])!;

    private static Func<object?> MakeBoxed<T>(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        var getter = cursor.GetGetter<T>(column);
        return () =>
        {
            T value = default!;
            getter(ref value);
            return value;
        };
    }

    /// <summary>A getter serving <c>values()[index]</c> as <typeparamref name="T"/>.</summary>
    public static ValueGetter<T> FromObjects<T>(Func<object?[]> values, int index) =>
        (ref T value) => value = (T)values()[index]!;
}
