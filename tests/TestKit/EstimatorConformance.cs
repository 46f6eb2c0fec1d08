// The conformance helper every estimator's tests run, in the spirit of ML.NET's own estimator tests: the estimator's
// GetOutputSchema agrees with the fitted transformer's and with the transformed view's schema; fitted on one view it
// transforms another view of the same schema; invalid inputs are rejected by GetOutputSchema, Fit and Transform with
// ML.NET's schema-mismatch error naming the column; and mlContext.Model.Save -> Load in a new MLContext gives the
// same values, bit for bit.
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Transformer.LanguageModeling;
using Xunit;

namespace MLNet.Transformer.TestKit;

/// <summary>Checks that an estimator honours ML.NET's estimator/transformer contracts.</summary>
public static class EstimatorConformance
{
    /// <summary>Runs every check; returns the fitted transformer.</summary>
    public static TTransformer Check<TTransformer>(
        IEstimator<TTransformer> estimator,
        IDataView trainData,
        IDataView otherData,
        params (IDataView Data, string ColumnInMessage)[] invalidInputs)
        where TTransformer : class, ITransformer
    {
        ArgumentNullException.ThrowIfNull(estimator);
        ArgumentNullException.ThrowIfNull(trainData);
        ArgumentNullException.ThrowIfNull(otherData);

        foreach (var (data, column) in invalidInputs)
        {
            var fromShape = Assert.Throws<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(ShapeOf(data.Schema)));
            Assert.Contains($"'{column}'", fromShape.Message, StringComparison.Ordinal);
            var fromFit = Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Fit(data));
            Assert.Contains($"'{column}'", fromFit.Message, StringComparison.Ordinal);
        }

        var shape = estimator.GetOutputSchema(ShapeOf(trainData.Schema));
        var fitted = estimator.Fit(trainData);
        foreach (var (data, column) in invalidInputs)
        {
            var fromTransform = Assert.Throws<ArgumentOutOfRangeException>(() => fitted.Transform(data));
            Assert.Contains($"'{column}'", fromTransform.Message, StringComparison.Ordinal);
        }

        var scored = fitted.Transform(otherData);
        AssertShapeMatches(shape, fitted.GetOutputSchema(otherData.Schema));
        AssertShapeMatches(shape, scored.Schema);
        // ... and promises every column the transformer adds.
        var added = scored.Schema.Where(c => !c.IsHidden && otherData.Schema.GetColumnOrNull(c.Name) is null).Select(c => c.Name).ToList();
        Assert.NotEmpty(added);
        Assert.All(added, name => Assert.True(shape.Any(c => c.Name == name), $"Transform adds column '{name}', which GetOutputSchema does not promise."));
        var expected = ReadAll(scored);
        Assert.NotEmpty(expected);

        // Save and load in another context: same values, bit for bit.
        string path = Path.Combine(Path.GetTempPath(), $"mlt-conformance-{Guid.NewGuid():N}.zip");
        try
        {
            new MLContext(1).Model.Save(fitted, trainData.Schema, path);
            var loaded = NextCharacterModel.LoadPipeline(new MLContext(2), path, out var inputSchema);
            Assert.Equal(trainData.Schema.Select(c => (c.Name, c.Type.ToString())), inputSchema.Select(c => (c.Name, c.Type.ToString())));
            AssertSameValues(expected, ReadAll(loaded.Transform(otherData)));
        }
        finally
        {
            File.Delete(path);
        }

        return fitted;
    }

    /// <summary>ML.NET's SchemaShape of a schema (SchemaShape.Create is internal to Microsoft.ML).</summary>
    public static SchemaShape ShapeOf(DataViewSchema schema)
    {
        var create = typeof(SchemaShape).GetMethod("Create", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic, [typeof(DataViewSchema)])
            ?? throw new InvalidOperationException("SchemaShape.Create(DataViewSchema) not found in this Microsoft.ML.");
        return (SchemaShape)create.Invoke(null, [schema])!;
    }

    /// <summary>Every shape column exists in the schema with the same kind (scalar, vector, variable vector) and item type.</summary>
    public static void AssertShapeMatches(SchemaShape shape, DataViewSchema schema)
    {
        foreach (var column in shape)
        {
            var actual = schema.GetColumnOrNull(column.Name);
            Assert.True(actual is not null, $"GetOutputSchema promises column '{column.Name}', which the fitted transformer does not produce.");
            var type = actual!.Value.Type;
            var kind = type is VectorDataViewType v
                ? (v.IsKnownSize ? SchemaShape.Column.VectorKind.Vector : SchemaShape.Column.VectorKind.VariableVector)
                : SchemaShape.Column.VectorKind.Scalar;
            var item = type is VectorDataViewType vt ? vt.ItemType : type;
            if (column.IsKey)
            {
                // ML.NET's shapes describe a key by its raw type (UInt32) and IsKey.
                Assert.True(item is KeyDataViewType, $"Column '{column.Name}': GetOutputSchema says a key, the transformer gives {type}.");
                item = ColumnTypeOf(item.RawType);
            }

            Assert.True(column.Kind == kind, $"Column '{column.Name}': GetOutputSchema says {column.Kind}, the transformer gives {type}.");
            Assert.True(column.ItemType.Equals(item), $"Column '{column.Name}': GetOutputSchema says {column.ItemType}, the transformer gives {type}.");
        }
    }

    private static NumberDataViewType ColumnTypeOf(Type raw) =>
        raw == typeof(uint) ? NumberDataViewType.UInt32 : raw == typeof(ulong) ? NumberDataViewType.UInt64
        : raw == typeof(ushort) ? NumberDataViewType.UInt16 : NumberDataViewType.Byte;

    /// <summary>Every visible column's values as comparable objects (floats as their bits), row by row.</summary>
    public static List<Dictionary<string, object>> ReadAll(IDataView data)
    {
        var columns = data.Schema.Where(c => !c.IsHidden).ToArray();
        var rows = new List<Dictionary<string, object>>();
        using var cursor = data.GetRowCursor(columns);
        var readers = columns.Select(c => (c.Name, Read: Reader(cursor, c))).ToArray();
        while (cursor.MoveNext())
        {
            rows.Add(readers.ToDictionary(r => r.Name, r => r.Read()));
        }

        return rows;
    }

    /// <summary>Asserts two <see cref="ReadAll"/> results are identical.</summary>
    public static void AssertSameValues(List<Dictionary<string, object>> expected, List<Dictionary<string, object>> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int r = 0; r < expected.Count; r++)
        {
            Assert.Equal(expected[r].Keys.Order(), actual[r].Keys.Order());
            foreach (var (name, value) in expected[r])
            {
                Assert.True(System.Collections.StructuralComparisons.StructuralEqualityComparer.Equals(value, actual[r][name]),
                    $"row {r}, column '{name}': {Show(value)} vs {Show(actual[r][name])}");
            }
        }
    }

    private static string Show(object o) => o is Array a ? $"[{string.Join(", ", a.Cast<object>())}]" : o.ToString() ?? "null";

    private static Func<object> Reader(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        var type = column.Type;
        var item = type is VectorDataViewType v ? v.ItemType : type;
        bool vector = type is VectorDataViewType;
        return (item.RawType, vector) switch
        {
            (var t, false) when t == typeof(float) => Scalar<float>(cursor, column, x => BitConverter.SingleToInt32Bits(x)),
            (var t, false) when t == typeof(double) => Scalar<double>(cursor, column, x => BitConverter.DoubleToInt64Bits(x)),
            (var t, false) when t == typeof(int) => Scalar<int>(cursor, column, x => x),
            (var t, false) when t == typeof(long) => Scalar<long>(cursor, column, x => x),
            (var t, false) when t == typeof(uint) => Scalar<uint>(cursor, column, x => x),
            (var t, false) when t == typeof(ReadOnlyMemory<char>) => Scalar<ReadOnlyMemory<char>>(cursor, column, x => x.ToString()),
            (var t, true) when t == typeof(float) => Vector<float, int>(cursor, column, BitConverter.SingleToInt32Bits),
            (var t, true) when t == typeof(long) => Vector<long, long>(cursor, column, x => x),
            (var t, true) when t == typeof(int) => Vector<int, int>(cursor, column, x => x),
            (var t, true) when t == typeof(ReadOnlyMemory<char>) => Vector<ReadOnlyMemory<char>, string>(cursor, column, x => x.ToString()),
            _ => throw new NotSupportedException($"Column '{column.Name}' has type {type}, which the conformance helper does not read."),
        };
    }

    private static Func<object> Scalar<T>(DataViewRowCursor cursor, DataViewSchema.Column column, Func<T, object> convert)
    {
        var get = cursor.GetGetter<T>(column);
        return () =>
        {
            T value = default!;
            get(ref value);
            return convert(value);
        };
    }

    private static Func<object> Vector<T, TOut>(DataViewRowCursor cursor, DataViewSchema.Column column, Func<T, TOut> convert)
    {
        var get = cursor.GetGetter<VBuffer<T>>(column);
        return () =>
        {
            VBuffer<T> value = default;
            get(ref value);
            return value.DenseValues().Select(convert).ToArray();
        };
    }
}
