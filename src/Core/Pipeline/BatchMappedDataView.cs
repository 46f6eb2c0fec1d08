// The lazy view returned by RowToRowTransformerBase.Transform and its batching cursor: input columns are
// buffered BatchSize rows at a time, the mapper runs once per batch for the requested outputs only.
using MLNet.Transformer.Data;

namespace MLNet.Transformer;

/// <summary>Input columns plus a mapper's outputs, computed per batch.</summary>
internal sealed class BatchMappedDataView : IDataView
{
    private readonly IDataView _input;
    private readonly RowBatchMapper _mapper;
    private readonly int _batchSize;

    public BatchMappedDataView(IDataView input, RowBatchMapper mapper, int batchSize)
    {
        _input = input;
        _mapper = mapper;
        _batchSize = batchSize;
        Schema = RowToRowTransformerBase.AppendColumns(input.Schema, mapper.OutputColumns);
    }

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded) => new Cursor(this, columnsNeeded);

    private sealed class Cursor : BatchingCursor
    {
        private readonly DataViewRowCursor _inner;
        private readonly RowBatchMapper _mapper;
        private readonly int _inputCount;
        private readonly ColumnBuffer?[] _inputBuffers;
        private readonly Array?[] _outputBuffers;
        private readonly InputBatch _inputBatch;
        private readonly OutputBatch _outputBatch;
        private readonly bool _anyOutput;
        private int _count;

        public Cursor(BatchMappedDataView view, IEnumerable<DataViewSchema.Column> needed)
            : base(view.Schema, needed)
        {
            _mapper = view._mapper;
            var inputSchema = view._input.Schema;
            _inputCount = inputSchema.Count;
            var outputs = _mapper.OutputColumns;
            var activeOutputs = new bool[outputs.Count];
            for (int k = 0; k < outputs.Count; k++)
            {
                activeOutputs[k] = Active[_inputCount + k];
            }

            _anyOutput = activeOutputs.Any(a => a);
            var inputNeeded = new bool[_inputCount];
            for (int i = 0; i < _inputCount; i++)
            {
                inputNeeded[i] = Active[i];
            }

            if (_anyOutput)
            {
                foreach (var dep in _mapper.Dependencies(activeOutputs))
                {
                    inputNeeded[dep.Index] = true;
                }
            }

            var inputColumns = inputSchema.Where(c => inputNeeded[c.Index]).ToList();
            _inner = view._input.GetRowCursor(inputColumns);
            _inputBuffers = new ColumnBuffer?[_inputCount];
            foreach (var c in inputColumns)
            {
                _inputBuffers[c.Index] = ColumnBuffer.Create(_inner, c, view._batchSize);
            }

            _outputBuffers = new Array?[outputs.Count];
            for (int k = 0; k < outputs.Count; k++)
            {
                if (activeOutputs[k])
                {
                    _outputBuffers[k] = Array.CreateInstance(outputs[k].Type.RawType, view._batchSize);
                }
            }

            _inputBatch = new InputBatch(inputSchema, _inputBuffers);
            _outputBatch = new OutputBatch(outputs, _outputBuffers);
            BatchSize = view._batchSize;
        }

        private int BatchSize { get; }

        protected override int FillBatch(long firstRowPosition)
        {
            _count = 0;
            while (_count < BatchSize && _inner.MoveNext())
            {
                foreach (var b in _inputBuffers)
                {
                    b?.Fill(_count);
                }

                _count++;
            }

            if (_count > 0 && _anyOutput)
            {
                Map(firstRowPosition);
            }

            return _count;
        }

        private void Map(long first)
        {
            foreach (var buffer in _outputBuffers)
            {
                if (buffer is not null)
                {
                    Array.Clear(buffer);
                }
            }

            _inputBatch.Count = _count;
            _inputBatch.FirstRowPosition = first;
            _outputBatch.Count = _count;
            _mapper.Map(_inputBatch, _outputBatch);
            for (int k = 0; k < _outputBuffers.Length; k++)
            {
                // Reference-typed outputs (text, vectors) are object arrays by covariance: check none is left null.
                if (_outputBuffers[k] is object?[] refs)
                {
                    for (int r = 0; r < _count; r++)
                    {
                        if (refs[r] is null)
                        {
                            throw new InvalidOperationException(
                                $"{_mapper.GetType().Name} left output column '{_mapper.OutputColumns[k].Name}' unset for row {first + r}.");
                        }
                    }
                }
            }
        }

        protected override ValueGetter<TValue> MakeGetter<TValue>(int index)
        {
            if (index < _inputCount)
            {
                var values = ((ColumnBuffer<TValue>)_inputBuffers[index]!).Values;
                return (ref TValue value) =>
                {
                    CheckOnRow();
                    value = values[BatchIndex];
                };
            }

            var output = (TValue[])_outputBuffers[index - _inputCount]!;
            return (ref TValue value) =>
            {
                CheckOnRow();
                value = output[BatchIndex];
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
