// Small test stages: an upper-casing RowToRowTransformerBase that records its batches, and its estimator.
using MLNet.Transformer.Data;
using MLNet.Transformer.Persistence;

namespace MLNet.Transformer.Tests.Pipeline;

/// <summary>Appends {Output} = upper-cased {Input} and {Output}Length; records every MapBatch call.</summary>
internal sealed class UpperTransformer(string input, string output, int batchSize = RowToRowTransformerBase.DefaultBatchSize)
    : RowToRowTransformerBase(batchSize)
{
    private readonly string _input = input;
    private readonly string _output = output;

    public List<(int Count, long First, bool Upper, bool Length)> Batches { get; } = [];

    public bool LeaveNull { get; init; }

    public int DisposeCount { get; private set; }

    protected override RowBatchMapper CreateMapper(DataViewSchema inputSchema) => new Mapper(this, inputSchema);

    public override void Save(ModelSaveContext context) => throw new NotSupportedException("Test stage.");

    protected override void Dispose(bool disposing)
    {
        DisposeCount++;
        base.Dispose(disposing);
    }

    private sealed class Mapper : RowBatchMapper
    {
        private readonly UpperTransformer _parent;
        private readonly DataViewSchema.Column _input;

        public Mapper(UpperTransformer parent, DataViewSchema schema)
            : base(schema)
        {
            _parent = parent;
            _input = schema.GetColumnOrNull(parent._input) ?? throw SchemaException.MissingColumn(parent._input, schema);
            if (_input.Type is not TextDataViewType)
            {
                throw SchemaException.WrongType(_input.Name, "Text", _input.Type);
            }

            OutputColumns = [new(parent._output, TextDataViewType.Instance), new(parent._output + "Length", NumberDataViewType.Int32)];
        }

        public override IReadOnlyList<OutputColumn> OutputColumns { get; }

        protected override IEnumerable<DataViewSchema.Column> GetDependencies(IReadOnlyList<bool> activeOutputs) => [_input];

        protected override void MapBatch(InputBatch input, OutputBatch output)
        {
            _parent.Batches.Add((input.Count, input.FirstRowPosition, output.IsActive(0), output.IsActive(1)));
            var texts = input.GetColumn<string>(_input);
            for (int i = 0; i < input.Count; i++)
            {
                if (output.IsActive(0) && !_parent.LeaveNull)
                {
                    output.GetColumn<string>(0)[i] = texts[i].ToUpperInvariant();
                }

                if (output.IsActive(1))
                {
                    output.GetColumn<int>(1)[i] = texts[i].Length;
                }
            }
        }
    }
}

/// <summary>Fits an <see cref="UpperTransformer"/>; logs its fits into a shared list.</summary>
internal sealed class UpperEstimator(string input, string output, List<string> log) : IEstimator<UpperTransformer>
{
    public UpperTransformer Fit(IDataView data)
    {
        GetOutputSchema(data.Schema);
        log.Add($"fit {output} on [{string.Join(",", data.Schema.Select(c => c.Name))}]");
        return new UpperTransformer(input, output);
    }

    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) =>
        new UpperTransformer(input, output).GetOutputSchema(inputSchema);
}
