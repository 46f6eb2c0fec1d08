// Loading data into data views and reading it back. Reached through MLContext.Data.
// Every source is lazy: it is read when a cursor is opened, forward only, in batches of 1,024 rows.
using System.Reflection;
using MLNet.Transformer.Data;

namespace MLNet.Transformer;

/// <summary>
/// Loads data (enumerables, text and CSV files), splits it, and reads views back as objects. Views are lazy and
/// re-readable: each cursor re-enumerates the enumerable or re-opens the file, and file sources read forward in
/// batches of 1,024 lines/records, so a file of any size is streamed in bounded memory.
/// </summary>
#pragma warning disable CA1822 // Catalog operations are instance members so they read as mlContext.Data.X, as in ML.NET.
public sealed partial class DataOperationsCatalog
{
    internal DataOperationsCatalog(MLContext context) => Context = context;

    /// <summary>The owning context.</summary>
    public MLContext Context { get; }

    /// <summary>
    /// A view over <paramref name="data"/>: one column per public field or property of <typeparamref name="T"/>
    /// (renamed by <see cref="ColumnNameAttribute"/>, sized by <see cref="VectorTypeAttribute"/>, skipped by
    /// <see cref="NoColumnAttribute"/>). Types: string (Text), bool, int, long, float, double and their arrays.
    /// The sequence is enumerated again by every cursor and never copied.
    /// </summary>
    /// <param name="data">The rows.</param>
    /// <param name="schema">Optional schema fixing column order, vector sizes and annotations; each column needs a member.</param>
    /// <exception cref="SchemaException">A member has an unsupported type, or the schema does not match the class.</exception>
    public IDataView LoadFromEnumerable<T>(IEnumerable<T> data, DataViewSchema? schema = null)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(data);
        return new EnumerableDataView<T>(data, schema);
    }

    /// <summary>
    /// A one-column Text view over a file with one example per line (UTF-8, with or without BOM; \n or \r\n).
    /// Streamed: read in batches of 1,024 lines per cursor, never loaded whole.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="columnName">Name of the Text column.</param>
    /// <param name="skipEmpty">Skip empty lines (whitespace-only lines are kept).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public IDataView LoadFromTextLines(string path, string columnName = "Text", bool skipEmpty = true) =>
        new TextLinesDataView(path, columnName, skipEmpty);

    /// <summary>
    /// A view over a delimited (CSV/TSV) file. RFC 4180 quoting, selected and typed columns, UTF-8 with or without
    /// BOM; the header is read now, records are parsed when a cursor reads them (batches of 1,024, streamed).
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="SchemaException">A requested column is not in the header.</exception>
    /// <exception cref="TextLoaderException">Malformed header (cursors raise it for malformed records, naming file, line and column).</exception>
    public IDataView LoadFromTextFile(string path, TextLoaderOptions options) => new DelimitedTextDataView(path, options);

    /// <summary>
    /// A view over a delimited file whose columns are the public fields/properties of <typeparamref name="T"/>,
    /// found by header name (the column name) or by <see cref="LoadColumnAttribute"/> position.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="separatorChar">Field separator (',' or '\t').</param>
    /// <param name="hasHeader">True when the first record holds the column names.</param>
    /// <param name="allowQuoting">RFC 4180 quoting.</param>
    /// <param name="allowMissingFields">Read missing fields as empty text / NaN instead of raising.</param>
    public IDataView LoadFromTextFile<T>(string path, char separatorChar = ',', bool hasHeader = true,
        bool allowQuoting = true, bool allowMissingFields = false)
    {
        var options = new TextLoaderOptions
        {
            Separator = separatorChar,
            HasHeader = hasHeader,
            AllowQuoting = allowQuoting,
            AllowMissingFields = allowMissingFields,
        };
        foreach (var m in MemberColumn.For(typeof(T)))
        {
            var kind = m.Type switch
            {
                TextDataViewType => DataKind.String,
                BooleanDataViewType => DataKind.Boolean,
                _ when m.Type.Equals(NumberDataViewType.Int32) => DataKind.Int32,
                _ when m.Type.Equals(NumberDataViewType.Int64) => DataKind.Int64,
                _ when m.Type.Equals(NumberDataViewType.Single) => DataKind.Single,
                _ when m.Type.Equals(NumberDataViewType.Double) => DataKind.Double,
                _ => throw new SchemaException($"Member '{typeof(T).Name}.{m.Member.Name}' is a vector ({m.Type}); delimited files hold scalars only.", m.Name),
            };
            options.Columns.Add(new TextLoaderColumn(m.Name, kind) { SourceIndex = m.LoadIndex });
        }

        return new DelimitedTextDataView(path, options);
    }

    /// <summary>
    /// Reads <paramref name="data"/> back as objects, lazily. Every public writable member of
    /// <typeparamref name="T"/> must match a column of the same name and raw type.
    /// </summary>
    /// <param name="data">The view.</param>
    /// <param name="reuseRowObject">Return the same object for every row (faster; copy what you keep).</param>
    /// <exception cref="SchemaException">A member has no matching column or a different type.</exception>
    public IEnumerable<T> CreateEnumerable<T>(IDataView data, bool reuseRowObject = false)
        where T : class, new()
    {
        ArgumentNullException.ThrowIfNull(data);
        var bindings = new List<(MemberColumn Member, DataViewSchema.Column Column)>();
        foreach (var m in MemberColumn.For(typeof(T)).Where(m => m.CanWrite))
        {
            var column = data.Schema[m.Name];
            if (column.Type.RawType != m.MemberType)
            {
                throw SchemaException.WrongType(m.Name, $"a type held as {m.MemberType.Name} (member {typeof(T).Name}.{m.Member.Name})", column.Type);
            }

            bindings.Add((m, column));
        }

        return Iterate(data, bindings, reuseRowObject);

        static IEnumerable<T> Iterate(IDataView data, List<(MemberColumn Member, DataViewSchema.Column Column)> bindings, bool reuse)
        {
            using var cursor = data.GetRowCursor(bindings.Select(b => b.Column));
            var getters = bindings.Select(b => (b.Member, Get: CursorValues.BoxedGetter(cursor, b.Column))).ToArray();
            T? shared = null;
            while (cursor.MoveNext())
            {
                T row = reuse ? shared ??= new T() : new T();
                foreach (var (member, get) in getters)
                {
                    member.SetValue(row, get());
                }

                yield return row;
            }
        }
    }

    /// <summary>
    /// Splits <paramref name="data"/> into a train and a test view, lazily: a row goes to the test set when a hash
    /// of its index and the seed falls below <paramref name="testFraction"/>. Deterministic for a given seed; the
    /// two views partition the rows and keep their order.
    /// </summary>
    /// <param name="data">The view to split.</param>
    /// <param name="testFraction">Expected fraction of rows in the test set, in [0, 1].</param>
    /// <param name="seed">The seed; by default drawn from the context (reproducible when the context is seeded).</param>
    public TrainTestData TrainTestSplit(IDataView data, double testFraction = 0.1, int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!(testFraction >= 0 && testFraction <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction, "testFraction must be in [0, 1].");
        }

        ulong key = SplitMix64((ulong)(uint)(seed ?? Context.NextSeed()));
        bool IsTest(long index) => (SplitMix64(key ^ (ulong)index) >> 11) * (1.0 / (1UL << 53)) < testFraction;
        return new TrainTestData(
            new RowIndexFilterView(data, i => !IsTest(i), long.MaxValue, null),
            new RowIndexFilterView(data, IsTest, long.MaxValue, null));
    }

    /// <summary>
    /// Shuffles rows through a pool of <paramref name="shufflePoolSize"/> rows: a uniform permutation when the view
    /// has at most that many rows, a local shuffle otherwise. Streamed and deterministic for a given seed.
    /// </summary>
    public IDataView ShuffleRows(IDataView input, int? seed = null, int shufflePoolSize = 1000)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentOutOfRangeException.ThrowIfLessThan(shufflePoolSize, 1);
        return new ShuffleView(input, seed ?? Context.NextSeed(), shufflePoolSize);
    }

    /// <summary>The first <paramref name="count"/> rows of <paramref name="input"/> (reading stops there).</summary>
    public IDataView TakeRows(IDataView input, long count)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        long? n = input.GetRowCount() is long total ? Math.Min(total, count) : null;
        return new RowIndexFilterView(input, _ => true, count, n);
    }

    /// <summary>All rows of <paramref name="input"/> but the first <paramref name="count"/>.</summary>
    public IDataView SkipRows(IDataView input, long count)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        long? n = input.GetRowCount() is long total ? Math.Max(0, total - count) : null;
        return new RowIndexFilterView(input, i => i >= count, long.MaxValue, n);
    }

    private static ulong SplitMix64(ulong x)
    {
        // SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijective, well-mixed hash of 64-bit keys.
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
#pragma warning restore CA1822

/// <summary>The two halves of <see cref="DataOperationsCatalog.TrainTestSplit"/>.</summary>
/// <param name="TrainSet">Rows for training.</param>
/// <param name="TestSet">Rows held out for evaluation.</param>
public sealed record TrainTestData(IDataView TrainSet, IDataView TestSet);
