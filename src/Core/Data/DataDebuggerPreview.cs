// A materialised peek at the first rows of a data view, for debugging and tests: the schema, the rows as
// name -> value pairs, the same values by column, and a readable table in ToString.
using System.Globalization;
using System.Text;

namespace MLNet.Transformer.Data;

/// <summary>The first rows of a data view, read eagerly. Produced by <see cref="DataViewExtensions.Preview"/>.</summary>
public sealed class DataDebuggerPreview
{
    internal DataDebuggerPreview(DataViewSchema schema, List<object?[]> rows)
    {
        Schema = schema;
        var visible = schema.Where(c => !c.IsHidden).ToArray();
        RowView = [.. rows.Select(r => new RowInfo([.. visible.Select(c => new KeyValuePair<string, object?>(c.Name, r[c.Index]))]))];
        ColumnView = [.. visible.Select(c => new ColumnInfo(c, [.. rows.Select(r => r[c.Index])]))];
    }

    /// <summary>The schema of the previewed view.</summary>
    public DataViewSchema Schema { get; }

    /// <summary>The rows, each as (column name, value) pairs in schema order (hidden columns omitted).</summary>
    public IReadOnlyList<RowInfo> RowView { get; }

    /// <summary>The values of each visible column, one per previewed row.</summary>
    public IReadOnlyList<ColumnInfo> ColumnView { get; }

    /// <summary>One previewed row.</summary>
    /// <param name="Values">(column name, value) pairs in schema order.</param>
    public sealed record RowInfo(IReadOnlyList<KeyValuePair<string, object?>> Values)
    {
        /// <summary>The value of column <paramref name="name"/>.</summary>
        public object? this[string name] => Values.First(v => v.Key == name).Value;

        /// <inheritdoc />
        public override string ToString() => string.Join(", ", Values.Select(v => $"{v.Key}: {Format(v.Value)}"));
    }

    /// <summary>One previewed column.</summary>
    /// <param name="Column">The schema column.</param>
    /// <param name="Values">Its values, one per previewed row.</param>
    public sealed record ColumnInfo(DataViewSchema.Column Column, IReadOnlyList<object?> Values)
    {
        /// <inheritdoc />
        public override string ToString() => $"{Column}: {Values.Count} values";
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{RowView.Count} row(s); schema: {Schema}").AppendLine();
        for (int i = 0; i < RowView.Count; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"[{i}] {RowView[i]}").AppendLine();
        }

        return sb.ToString();
    }

    /// <summary>Formats one value: text quoted, vectors as [a, b, ...] (long ones elided), numbers invariant.</summary>
    internal static string Format(object? value)
    {
        const int maxItems = 16;
        return value switch
        {
            null => "null",
            string s => $"\"{s}\"",
            Array a => "[" + string.Join(", ", a.Cast<object?>().Take(maxItems).Select(Format))
                + (a.Length > maxItems ? $", ... ({a.Length} items)" : "") + "]",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };
    }
}

/// <summary>Extension methods on <see cref="IDataView"/>.</summary>
public static class DataViewExtensions
{
    /// <summary>Reads the first <paramref name="maxRows"/> rows of every visible column eagerly.</summary>
    public static DataDebuggerPreview Preview(this IDataView data, int maxRows = 100)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegative(maxRows);
        var columns = data.Schema.Where(c => !c.IsHidden).ToArray();
        var rows = new List<object?[]>();
        using (var cursor = data.GetRowCursor(columns))
        {
            var getters = columns.Select(c => (c.Index, Get: CursorValues.BoxedGetter(cursor, c))).ToArray();
            while (rows.Count < maxRows && cursor.MoveNext())
            {
                var row = new object?[data.Schema.Count];
                foreach (var (index, get) in getters)
                {
                    row[index] = get();
                }

                rows.Add(row);
            }
        }

        return new DataDebuggerPreview(data.Schema, rows);
    }

    /// <summary>Streams the values of column <paramref name="columnName"/>; <typeparamref name="T"/> must be its raw type.</summary>
    /// <exception cref="SchemaException">No such column, or a different type.</exception>
    public static IEnumerable<T> GetColumn<T>(this IDataView data, string columnName)
    {
        ArgumentNullException.ThrowIfNull(data);
        var column = data.Schema[columnName];
        if (column.Type.RawType != typeof(T))
        {
            throw SchemaException.WrongType(columnName, $"a type held as {typeof(T).Name}", column.Type);
        }

        return Iterate(data, column);

        static IEnumerable<T> Iterate(IDataView data, DataViewSchema.Column column)
        {
            using var cursor = data.GetRowCursor([column]);
            var getter = cursor.GetGetter<T>(column);
            while (cursor.MoveNext())
            {
                T value = default!;
                getter(ref value);
                yield return value;
            }
        }
    }
}
