// The data view contract: a lazily evaluated, re-readable table read through forward-only row cursors.
namespace MLNet.Transformer.Data;

/// <summary>Reads the current row's value of one column into <paramref name="value"/>.</summary>
public delegate void ValueGetter<TValue>(ref TValue value);

/// <summary>
/// A table of rows with a fixed schema. Views are lazy and can be read many times; each read opens a cursor.
/// Sources stream from disk and transformers compute in batches as the cursor advances.
/// </summary>
public interface IDataView
{
    /// <summary>The columns.</summary>
    DataViewSchema Schema { get; }

    /// <summary>The number of rows when it is known without reading, else null.</summary>
    long? GetRowCount();

    /// <summary>Opens a cursor that computes only the <paramref name="columnsNeeded"/> (others may throw when read).</summary>
    DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded);
}

/// <summary>A forward-only cursor over the rows of a data view.</summary>
public abstract class DataViewRowCursor : IDisposable
{
    /// <summary>The schema of the rows.</summary>
    public abstract DataViewSchema Schema { get; }

    /// <summary>Zero-based index of the current row; -1 before the first <see cref="MoveNext"/>.</summary>
    public abstract long Position { get; }

    /// <summary>Advances to the next row; false at the end.</summary>
    public abstract bool MoveNext();

    /// <summary>True when <paramref name="column"/> was requested when the cursor was opened.</summary>
    public abstract bool IsColumnActive(DataViewSchema.Column column);

    /// <summary>A getter for <paramref name="column"/>; <typeparamref name="TValue"/> must be the column's raw type.</summary>
    /// <exception cref="SchemaException">Wrong type, or the column is not active.</exception>
    public abstract ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column);

    /// <summary>Releases resources held by the cursor.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases resources held by the cursor.</summary>
    protected virtual void Dispose(bool disposing) { }

    /// <summary>Throws a <see cref="SchemaException"/> unless <typeparamref name="TValue"/> is the column's raw type.</summary>
    protected static void CheckGetterType<TValue>(DataViewSchema.Column column)
    {
        ArgumentNullException.ThrowIfNull(column);
        if (typeof(TValue) != column.Type.RawType)
        {
            throw new SchemaException(
                $"Column '{column.Name}' holds {column.Type.RawType.Name} values ({column.Type}); a getter of {typeof(TValue).Name} was requested.",
                column.Name);
        }
    }
}
