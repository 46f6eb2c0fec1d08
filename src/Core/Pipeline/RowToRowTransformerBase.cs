// The base of row-to-row transformers that compute their output columns a batch of rows at a time
// (e.g. one batched forward pass of a model serving all of its output columns). A transformer binds to an
// input schema through a RowBatchMapper; the mapped view's cursor pulls BatchSize input rows, calls
// RowBatchMapper.MapBatch once for the active outputs, then serves the rows from that cache.
using MLNet.Transformer.Data;
using MLNet.Transformer.Persistence;

namespace MLNet.Transformer;

/// <summary>A column appended by a <see cref="RowBatchMapper"/>.</summary>
/// <param name="Name">Column name (hides an input column of the same name).</param>
/// <param name="Type">Column type; values must be of its <see cref="DataViewType.RawType"/>.</param>
/// <param name="Annotations">Annotations (e.g. a vocabulary); null for none.</param>
public sealed record OutputColumn(string Name, DataViewType Type, Annotations? Annotations = null);

/// <summary>
/// Base of a transformer that appends columns computed per batch of rows. Derived classes implement
/// <see cref="CreateMapper"/> (which validates the input schema) and <see cref="Save"/>; schema propagation,
/// lazy transformation, batching, column activity and disposal are handled here.
/// </summary>
/// <remarks>
/// Reading a transformed view: the cursor reads <see cref="BatchSize"/> input rows into per-column buffers
/// (only the input columns that are requested or that the active outputs depend on), calls
/// <see cref="RowBatchMapper.MapBatch"/> once if any output column is requested, then serves those rows.
/// Errors raised by the mapper surface from <see cref="DataViewRowCursor.MoveNext"/> of the batch's first row.
/// </remarks>
public abstract class RowToRowTransformerBase : ITransformer
{
    /// <summary>Rows mapped per batch unless a derived class chooses otherwise.</summary>
    public const int DefaultBatchSize = 64;

    /// <summary>Creates the transformer.</summary>
    /// <param name="batchSize">Rows per <see cref="RowBatchMapper.MapBatch"/> call (at least 1).</param>
    protected RowToRowTransformerBase(int batchSize = DefaultBatchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        BatchSize = batchSize;
    }

    /// <summary>Rows per <see cref="RowBatchMapper.MapBatch"/> call.</summary>
    public int BatchSize { get; }

    /// <summary>True once <see cref="Dispose()"/> has run.</summary>
    protected bool IsDisposed { get; private set; }

    /// <summary>
    /// Binds to <paramref name="inputSchema"/>: checks the needed columns (throwing <see cref="SchemaException"/>
    /// naming the column, the expected and the actual type) and returns the mapper that computes the outputs.
    /// </summary>
    protected abstract RowBatchMapper CreateMapper(DataViewSchema inputSchema);

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return AppendColumns(inputSchema, CreateMapper(inputSchema).OutputColumns);
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return new BatchMappedDataView(input, CreateMapper(input.Schema), BatchSize);
    }

    /// <inheritdoc />
    public abstract void Save(ModelSaveContext context);

    /// <summary>
    /// <paramref name="inputSchema"/> with <paramref name="columns"/> appended (hiding input columns of the same
    /// name). Estimators use it to compute their output schema without a fitted mapper.
    /// </summary>
    public static DataViewSchema AppendColumns(DataViewSchema inputSchema, IEnumerable<OutputColumn> columns)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        ArgumentNullException.ThrowIfNull(columns);
        var builder = new DataViewSchema.Builder().AddColumns(inputSchema);
        foreach (var c in columns)
        {
            builder.AddColumn(c.Name, c.Type, c.Annotations);
        }

        return builder.ToSchema();
    }

    /// <summary>Releases the transformer's resources. Idempotent.</summary>
    public void Dispose()
    {
        if (!IsDisposed)
        {
            Dispose(true);
            IsDisposed = true;
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Releases resources; called once, from <see cref="Dispose()"/>.</summary>
    protected virtual void Dispose(bool disposing) { }
}

/// <summary>
/// Computes the output columns of a <see cref="RowToRowTransformerBase"/> for one input schema, a batch at a
/// time. Created by <see cref="RowToRowTransformerBase.CreateMapper"/>, which resolves the input columns once.
/// </summary>
/// <remarks>
/// <see cref="MapBatch"/> may be called from several cursors of the same view at once (one call per cursor at a
/// time): keep per-call scratch in locals, not in fields.
/// </remarks>
public abstract class RowBatchMapper
{
    /// <summary>Creates a mapper bound to <paramref name="inputSchema"/>.</summary>
    protected RowBatchMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        InputSchema = inputSchema;
    }

    /// <summary>The schema of the input rows.</summary>
    public DataViewSchema InputSchema { get; }

    /// <summary>The appended columns, in order; <see cref="OutputBatch"/> indexes them by position here.</summary>
    public abstract IReadOnlyList<OutputColumn> OutputColumns { get; }

    /// <summary>The input columns needed to compute the outputs whose flag in <paramref name="activeOutputs"/> is true.</summary>
    /// <param name="activeOutputs">One flag per <see cref="OutputColumns"/> entry; at least one is true.</param>
    protected abstract IEnumerable<DataViewSchema.Column> GetDependencies(IReadOnlyList<bool> activeOutputs);

    /// <summary>
    /// Computes the active output columns for the rows of <paramref name="input"/>: for each active output
    /// <c>k</c>, fill <c>output.GetColumn&lt;T&gt;(k)</c> (one value per row; arrays must be fresh per row, they are
    /// handed to readers as they are). Inactive outputs must not be computed.
    /// </summary>
    protected abstract void MapBatch(InputBatch input, OutputBatch output);

    /// <summary>Calls <see cref="GetDependencies"/> (for the mapped view's cursor).</summary>
    internal IEnumerable<DataViewSchema.Column> Dependencies(IReadOnlyList<bool> activeOutputs) => GetDependencies(activeOutputs);

    /// <summary>Calls <see cref="MapBatch"/> (for the mapped view's cursor).</summary>
    internal void Map(InputBatch input, OutputBatch output) => MapBatch(input, output);
}

/// <summary>A batch of input rows, by column: the rows a <see cref="RowBatchMapper.MapBatch"/> call maps.</summary>
public sealed class InputBatch
{
    private readonly ColumnBuffer?[] _columns;

    internal InputBatch(DataViewSchema schema, ColumnBuffer?[] columns)
    {
        Schema = schema;
        _columns = columns;
    }

    /// <summary>The input schema.</summary>
    public DataViewSchema Schema { get; }

    /// <summary>Number of rows in the batch (1 to the batch size).</summary>
    public int Count { get; internal set; }

    /// <summary>Position, in the input view, of the batch's first row (for error messages naming a row).</summary>
    public long FirstRowPosition { get; internal set; }

    /// <summary>The values of input <paramref name="column"/> for the rows of the batch.</summary>
    /// <typeparam name="T">The column's raw type.</typeparam>
    /// <exception cref="SchemaException">The column is not among the mapper's dependencies, or <typeparamref name="T"/> is not its raw type.</exception>
    public IReadOnlyList<T> GetColumn<T>(DataViewSchema.Column column)
    {
        ArgumentNullException.ThrowIfNull(column);
        var buffer = column.Index < _columns.Length ? _columns[column.Index] : null;
        if (buffer is null)
        {
            throw new SchemaException($"Input column '{column.Name}' was not declared by GetDependencies, so it was not read.", column.Name);
        }

        return buffer is ColumnBuffer<T> typed
            ? new ArraySegment<T>(typed.Values, 0, Count)
            : throw new SchemaException($"Input column '{column.Name}' holds {column.Type.RawType.Name} values ({column.Type}), not {typeof(T).Name}.", column.Name);
    }
}

/// <summary>The output values of a batch, one buffer per active output column, each of <see cref="Count"/> values.</summary>
public sealed class OutputBatch
{
    private readonly Array?[] _buffers;

    internal OutputBatch(IReadOnlyList<OutputColumn> columns, Array?[] buffers)
    {
        Columns = columns;
        _buffers = buffers;
    }

    /// <summary>The mapper's output columns.</summary>
    public IReadOnlyList<OutputColumn> Columns { get; }

    /// <summary>Number of rows to compute.</summary>
    public int Count { get; internal set; }

    /// <summary>True when output <paramref name="outputIndex"/> is read by the cursor and must be computed.</summary>
    public bool IsActive(int outputIndex) => _buffers[outputIndex] is not null;

    /// <summary>The buffer of output <paramref name="outputIndex"/>: write one value per row.</summary>
    /// <typeparam name="T">The output column's raw type.</typeparam>
    /// <exception cref="InvalidOperationException">The output is not active.</exception>
    /// <exception cref="SchemaException"><typeparamref name="T"/> is not the column's raw type.</exception>
    public Span<T> GetColumn<T>(int outputIndex)
    {
        var column = Columns[outputIndex];
        return _buffers[outputIndex] switch
        {
            null => throw new InvalidOperationException($"Output column '{column.Name}' is not active; check IsActive first."),
            T[] typed => typed.AsSpan(0, Count),
            _ => throw new SchemaException($"Output column '{column.Name}' holds {column.Type.RawType.Name} values ({column.Type}), not {typeof(T).Name}.", column.Name),
        };
    }
}

/// <summary>A typed buffer holding one input column's values for the rows of a batch.</summary>
internal abstract class ColumnBuffer
{
    /// <summary>Reads the cursor's current value into slot <paramref name="row"/>.</summary>
    public abstract void Fill(int row);

    /// <summary>Creates a buffer of <paramref name="capacity"/> values reading <paramref name="column"/> from <paramref name="cursor"/>.</summary>
    public static ColumnBuffer Create(DataViewRowCursor cursor, DataViewSchema.Column column, int capacity) =>
        (ColumnBuffer)Activator.CreateInstance(
            typeof(ColumnBuffer<>).MakeGenericType(column.Type.RawType), cursor, column, capacity)!;
}

/// <summary>A typed column buffer.</summary>
internal sealed class ColumnBuffer<T> : ColumnBuffer
{
    private readonly ValueGetter<T> _getter;

    public ColumnBuffer(DataViewRowCursor cursor, DataViewSchema.Column column, int capacity)
    {
        _getter = cursor.GetGetter<T>(column);
        Values = new T[capacity];
    }

    public T[] Values { get; }

    public override void Fill(int row)
    {
        // A fresh default each time: getters must hand out new arrays, never refill the previous row's.
        T value = default!;
        _getter(ref value);
        Values[row] = value;
    }
}
