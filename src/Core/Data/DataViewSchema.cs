// The schema of a data view: an ordered list of named, typed columns with annotations
// (for example a token column's vocabulary or a score column's slot names). Immutable.
namespace MLNet.Transformer.Data;

/// <summary>An ordered, immutable set of columns. Later columns hide earlier ones of the same name.</summary>
public sealed class DataViewSchema : IReadOnlyList<DataViewSchema.Column>
{
    private readonly Column[] _columns;
    private readonly Dictionary<string, int> _byName;

    private DataViewSchema(Column[] columns)
    {
        _columns = columns;
        _byName = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < columns.Length; i++)
        {
            _byName[columns[i].Name] = i;
        }
    }

    /// <summary>One column of a schema.</summary>
    /// <param name="Name">Column name.</param>
    /// <param name="Index">Position in the schema.</param>
    /// <param name="Type">Column type.</param>
    /// <param name="Annotations">Annotations such as the vocabulary or slot names.</param>
    public sealed record Column(string Name, int Index, DataViewType Type, Annotations Annotations)
    {
        /// <summary>True when a later column of the same name hides this one.</summary>
        public bool IsHidden { get; init; }

        /// <inheritdoc />
        public override string ToString() => $"{Name}: {Type}";
    }

    /// <inheritdoc />
    public int Count => _columns.Length;

    /// <inheritdoc />
    public Column this[int index] => _columns[index];

    /// <summary>The visible column named <paramref name="name"/>.</summary>
    /// <exception cref="SchemaException">No such column.</exception>
    public Column this[string name] => GetColumnOrNull(name)
        ?? throw SchemaException.MissingColumn(name, this);

    /// <summary>The visible column named <paramref name="name"/>, or null.</summary>
    public Column? GetColumnOrNull(string name) =>
        _byName.TryGetValue(name, out int i) ? _columns[i] : null;

    /// <inheritdoc />
    public IEnumerator<Column> GetEnumerator() => ((IEnumerable<Column>)_columns).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    public override string ToString() => string.Join(", ", _columns.Where(c => !c.IsHidden));

    /// <summary>Builds schemas column by column.</summary>
    public sealed class Builder
    {
        private readonly List<(string Name, DataViewType Type, Annotations Annotations)> _columns = [];

        /// <summary>Adds a column.</summary>
        public Builder AddColumn(string name, DataViewType type, Annotations? annotations = null)
        {
            ArgumentException.ThrowIfNullOrEmpty(name);
            ArgumentNullException.ThrowIfNull(type);
            _columns.Add((name, type, annotations ?? Annotations.Empty));
            return this;
        }

        /// <summary>Adds every column of <paramref name="schema"/> (hidden ones included).</summary>
        public Builder AddColumns(IEnumerable<Column> schema)
        {
            ArgumentNullException.ThrowIfNull(schema);
            foreach (var c in schema)
            {
                AddColumn(c.Name, c.Type, c.Annotations);
            }

            return this;
        }

        /// <summary>Creates the schema.</summary>
        public DataViewSchema ToSchema()
        {
            var last = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < _columns.Count; i++)
            {
                last[_columns[i].Name] = i;
            }

            var cols = new Column[_columns.Count];
            for (int i = 0; i < cols.Length; i++)
            {
                var (n, t, a) = _columns[i];
                cols[i] = new Column(n, i, t, a) { IsHidden = last[n] != i };
            }

            return new DataViewSchema(cols);
        }
    }
}

/// <summary>
/// Named, typed values attached to a column (ML.NET's "annotations", formerly metadata). Values are
/// immutable by convention: arrays handed out must not be modified.
/// </summary>
public sealed class Annotations
{
    private readonly Dictionary<string, (DataViewType Type, object Value)> _values;

    private Annotations(Dictionary<string, (DataViewType, object)> values) => _values = values;

    /// <summary>No annotations.</summary>
    public static Annotations Empty { get; } = new(new Dictionary<string, (DataViewType, object)>());

    /// <summary>Well-known annotation names.</summary>
    public static class Kinds
    {
        /// <summary>Text vector: the token of each id of a token-id column (index = id).</summary>
        public const string Vocabulary = "Vocabulary";

        /// <summary>Text vector: the name of each slot of a vector column (e.g. the characters of a Score column).</summary>
        public const string SlotNames = "SlotNames";

        /// <summary>Int32 vector: the logical shape of a flattened tensor column, e.g. [L, H, T, T].</summary>
        public const string Shape = "Shape";

        /// <summary>Text vector: the names of the shape's axes, e.g. ["Layer", "Head", "Query", "Key"].</summary>
        public const string ShapeAxes = "ShapeAxes";
    }

    /// <summary>Names of the annotations present.</summary>
    public IEnumerable<string> Names => _values.Keys;

    /// <summary>True when an annotation named <paramref name="name"/> exists.</summary>
    public bool Contains(string name) => _values.ContainsKey(name);

    /// <summary>The type of annotation <paramref name="name"/>, or null.</summary>
    public DataViewType? GetTypeOrNull(string name) => _values.TryGetValue(name, out var v) ? v.Type : null;

    /// <summary>The value of annotation <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such annotation, or not of type <typeparamref name="T"/>.</exception>
    public T GetValue<T>(string name) =>
        _values.TryGetValue(name, out var v) && v.Value is T t
            ? t
            : throw new KeyNotFoundException($"Annotation '{name}' of type {typeof(T).Name} not found.");

    /// <summary>Tries to read annotation <paramref name="name"/> as <typeparamref name="T"/>.</summary>
    public bool TryGetValue<T>(string name, out T value)
    {
        if (_values.TryGetValue(name, out var v) && v.Value is T t)
        {
            value = t;
            return true;
        }

        value = default!;
        return false;
    }

    /// <summary>Builds annotations.</summary>
    public sealed class Builder
    {
        private readonly Dictionary<string, (DataViewType, object)> _values = new(StringComparer.Ordinal);

        /// <summary>Adds (or replaces) an annotation.</summary>
        public Builder Add<T>(string name, DataViewType type, T value)
            where T : notnull
        {
            ArgumentException.ThrowIfNullOrEmpty(name);
            ArgumentNullException.ThrowIfNull(type);
            if (!type.RawType.IsInstanceOfType(value))
            {
                throw new ArgumentException($"Annotation '{name}': value of type {value.GetType().Name} does not match {type}.", nameof(value));
            }

            _values[name] = (type, value);
            return this;
        }

        /// <summary>Adds a text-vector annotation.</summary>
        public Builder AddText(string name, string[] values) =>
            Add(name, new VectorDataViewType(TextDataViewType.Instance, values.Length), values);

        /// <summary>Adds an Int32-vector annotation.</summary>
        public Builder AddInt32(string name, int[] values) =>
            Add(name, new VectorDataViewType(NumberDataViewType.Int32, values.Length), values);

        /// <summary>Creates the annotations.</summary>
        public Annotations ToAnnotations() => _values.Count == 0 ? Empty : new(new(_values));
    }
}
