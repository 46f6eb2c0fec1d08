// schema.json: the input schema a model was saved with. Each column: name, item type ("Text", "Boolean",
// "Int32", "Int64", "Single", "Double"), vector dimensions (absent for scalars, [0] for variable length), and the
// annotations whose types are scalars or vectors of those items, sorted by name. Hidden columns are kept in order.
using System.Text.Json;
using System.Text.Json.Serialization;
using MLNet.Transformer.Data;

namespace MLNet.Transformer.Persistence;

/// <summary>Converts a <see cref="DataViewSchema"/> to and from the records of schema.json.</summary>
internal static class SchemaJson
{
    private static readonly (string Name, PrimitiveDataViewType Type)[] Primitives =
    [
        ("Text", TextDataViewType.Instance),
        ("Boolean", BooleanDataViewType.Instance),
        ("Int32", NumberDataViewType.Int32),
        ("Int64", NumberDataViewType.Int64),
        ("Single", NumberDataViewType.Single),
        ("Double", NumberDataViewType.Double),
    ];

    /// <summary>The records of <paramref name="schema"/>.</summary>
    /// <exception cref="NotSupportedException">A column's type cannot be written.</exception>
    public static SchemaRecord FromSchema(DataViewSchema schema)
    {
        var columns = new List<ColumnRecord>(schema.Count);
        foreach (var column in schema)
        {
            var (type, dims) = Describe(column.Type) ?? throw new NotSupportedException(
                $"Column '{column.Name}' has type {column.Type}, which a model's schema.json cannot record.");
            var annotations = new List<AnnotationRecord>();
            foreach (string name in column.Annotations.Names.OrderBy(n => n, StringComparer.Ordinal))
            {
                var annotationType = column.Annotations.GetTypeOrNull(name)!;
                if (Describe(annotationType) is not var (itemName, itemDims) ||
                    !column.Annotations.TryGetValue(name, out object value))
                {
                    continue; // Not serialisable: documented as dropped.
                }

                annotations.Add(new AnnotationRecord(name, itemName, itemDims, JsonSerializer.SerializeToElement(value, annotationType.RawType, ModelZipFormat.Json)));
            }

            columns.Add(new ColumnRecord(column.Name, type, dims, annotations.Count == 0 ? null : annotations));
        }

        return new SchemaRecord(columns);
    }

    /// <summary>The schema described by <paramref name="record"/>.</summary>
    /// <exception cref="InvalidModelJsonException">Unknown type, bad dimensions or annotation values.</exception>
    public static DataViewSchema ToSchema(SchemaRecord record, string path)
    {
        var builder = new DataViewSchema.Builder();
        foreach (var column in record.Columns)
        {
            if (column is null || string.IsNullOrEmpty(column.Name))
            {
                throw new InvalidModelJsonException($"'{path}' holds a column without a name.", path);
            }

            var type = Parse(column.Type, column.Dimensions, $"column '{column.Name}'", path);
            var annotations = new Annotations.Builder();
            foreach (var a in column.Annotations ?? [])
            {
                if (a is null || string.IsNullOrEmpty(a.Name))
                {
                    throw new InvalidModelJsonException($"'{path}': column '{column.Name}' has an annotation without a name.", path);
                }

                string what = $"annotation '{a.Name}' of column '{column.Name}'";
                var annotationType = Parse(a.Type, a.Dimensions, what, path);
                if (a.Value.ValueKind == JsonValueKind.Undefined)
                {
                    throw new InvalidModelJsonException($"'{path}': {what} has no value.", path);
                }

                object? value;
                try
                {
                    value = a.Value.Deserialize(annotationType.RawType, ModelZipFormat.Json);
                }
                catch (JsonException e)
                {
                    throw new InvalidModelJsonException($"'{path}': {what} does not hold {annotationType} values: {e.Message}", path, e);
                }

                if (value is null ||
                    (annotationType is VectorDataViewType { IsKnownSize: true } v && ((Array)value).Length != v.Size))
                {
                    throw new InvalidModelJsonException($"'{path}': {what} does not hold a {annotationType} value.", path);
                }

                annotations.Add(a.Name, annotationType, value);
            }

            builder.AddColumn(column.Name, type, annotations.ToAnnotations());
        }

        return builder.ToSchema();
    }

    private static (string Item, int[]? Dimensions)? Describe(DataViewType type)
    {
        if (type is VectorDataViewType vector)
        {
            return NameOf(vector.ItemType) is string item ? (item, vector.Dimensions.ToArray()) : null;
        }

        return type is PrimitiveDataViewType p && NameOf(p) is string name ? (name, null) : null;
    }

    private static string? NameOf(PrimitiveDataViewType type)
    {
        foreach (var (name, t) in Primitives)
        {
            if (ReferenceEquals(t, type))
            {
                return name;
            }
        }

        return null;
    }

    private static DataViewType Parse(string item, int[]? dimensions, string what, string path)
    {
        PrimitiveDataViewType? primitive = null;
        foreach (var (name, t) in Primitives)
        {
            if (name == item)
            {
                primitive = t;
            }
        }

        if (primitive is null)
        {
            throw new InvalidModelJsonException(
                $"'{path}': {what} has the unknown type '{item}' (known: {string.Join(", ", Primitives.Select(p => p.Name))}).", path);
        }

        if (dimensions is null)
        {
            return primitive;
        }

        try
        {
            var vector = new VectorDataViewType(primitive, dimensions);
            _ = vector.Size;
            return vector;
        }
        catch (Exception e) when (e is ArgumentException or OverflowException)
        {
            throw new InvalidModelJsonException($"'{path}': {what} has invalid vector dimensions [{string.Join(", ", dimensions)}].", path, e);
        }
    }

    /// <summary>schema.json's root.</summary>
    internal sealed record SchemaRecord(IReadOnlyList<ColumnRecord> Columns);

    /// <summary>One column: name, item type, vector dimensions (null for a scalar), annotations.</summary>
    internal sealed record ColumnRecord(
        string Name,
        string Type,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int[]? Dimensions = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<AnnotationRecord>? Annotations = null);

    /// <summary>One annotation: name, item type, vector dimensions (null for a scalar), value.</summary>
    internal sealed record AnnotationRecord(
        string Name,
        string Type,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int[]? Dimensions = null,
        JsonElement Value = default);
}
