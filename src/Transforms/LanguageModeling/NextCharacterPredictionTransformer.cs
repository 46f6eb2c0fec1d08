// The fitted next-character model as a pipeline stage: appends prediction, probability, loss and attention
// columns, computed lazily by one batched forward pass per batch of rows; saves to and loads from the model .zip.
using System.Runtime.CompilerServices;
using MLNet.Transformer.Data;
using MLNet.Transformer.Engine;
using MLNet.Transformer.Persistence;

namespace MLNet.Transformer.LanguageModeling;

/// <summary>Names of the columns a next-character model appends.</summary>
public static class NextCharacterColumns
{
    /// <summary>Text: the most probable character after the row's text ("&lt;EOS&gt;" when the model would end it).</summary>
    public const string PredictedNextChar = "PredictedNextChar";

    /// <summary>Vector&lt;Single, V&gt;: softmax probabilities of the next token; slot names are the tokens.</summary>
    public const string Score = "Score";

    /// <summary>Vector&lt;Text&gt;: the decoder input tokens (&lt;BOS&gt; and the characters): the attention axes.</summary>
    public const string InputTokens = "InputTokens";

    /// <summary>Vector&lt;Text&gt;: teacher-forced prediction at each input position (what follows each prefix).</summary>
    public const string PredictedTokens = "PredictedTokens";

    /// <summary>Double: the row's mean cross-entropy (nats per character) over its targets, EOS included.</summary>
    public const string LogLoss = "LogLoss";

    /// <summary>Int32: number of target positions of the row.</summary>
    public const string TokenCount = "TokenCount";

    /// <summary>Int32: target positions whose argmax prediction is right.</summary>
    public const string Correct = "Correct";

    /// <summary>Int32: target positions whose target is among the top-K predictions.</summary>
    public const string TopKCorrect = "TopKCorrect";

    /// <summary>Vector&lt;Single&gt;: decoder self-attention, flattened [L, H, T, T] (annotation Shape gives L and H).</summary>
    public const string Attention = "Attention";

    /// <summary>Vector&lt;Text&gt;: source tokens (encoder-decoder with a source column).</summary>
    public const string SourceTokens = "SourceTokens";

    /// <summary>Vector&lt;Single&gt;: encoder self-attention, flattened [L_enc, H, S, S].</summary>
    public const string EncoderAttention = "EncoderAttention";

    /// <summary>Vector&lt;Single&gt;: decoder cross-attention, flattened [L, H, T, S].</summary>
    public const string CrossAttention = "CrossAttention";
}

/// <summary>
/// A fitted next-character transformer. <see cref="Transform"/> appends the <see cref="NextCharacterColumns"/>;
/// each batch of rows (<see cref="BatchSize"/>) is scored by one forward pass that serves all requested columns.
/// Owns native memory: dispose it (a TransformerChain disposes its stages).
/// </summary>
public sealed class NextCharacterPredictionTransformer : ITransformer
{
    /// <summary>Stage signature in the model .zip.</summary>
    public const string LoaderSignature = "NextCharacterPrediction";
    private const int CurrentVersion = 1;
    private const int TopK = 5;

    private readonly TransformerModel _model;
    private readonly NextCharacterPredictor _predictor;

    internal NextCharacterPredictionTransformer(TransformerModel model, NextCharacterModelInfo info, TrainingHistory? history)
    {
        _model = model;
        Info = info;
        History = history;
        _predictor = new NextCharacterPredictor(model, info, TopK);
    }

    /// <summary>Architecture, columns and vocabularies.</summary>
    public NextCharacterModelInfo Info { get; }

    /// <summary>The training record (null for a model loaded from a file saved without it).</summary>
    public TrainingHistory? History { get; }

    /// <summary>Trainable parameters of the native model.</summary>
    public long ParameterCount => _model.ParameterCount;

    /// <summary>Rows scored per forward pass.</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>The weights, by PyTorch state-dict name.</summary>
    public IDictionary<string, (long[] Shape, float[] Data)> ExportWeights() => _model.ExportState();

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInput(inputSchema);
        return BuildOutputSchema(inputSchema, Info.IsEncoderDecoder, Info.Vocabulary, Info.Architecture.Layers, Info.Architecture.Heads, Info.Architecture.EncoderLayers, Info.HasSource);
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new PredictionView(this, input, GetOutputSchema(input.Schema));
    }

    /// <summary>Generates text: greedy, temperature or top-k sampling, from an optional prefix, stopping at EOS.</summary>
    public IReadOnlyList<string> Generate(GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return TextGenerator.Generate(_predictor, options, EncodeCharacters, Info.HasSource ? EncodeSource : null);
    }

    /// <summary>Token ids of <paramref name="text"/>'s characters (no BOS/EOS) in the decoder vocabulary; unknown characters map to UNK.</summary>
    /// <exception cref="ArgumentException">A character is unknown and the vocabulary has no UNK.</exception>
    public int[] EncodeCharacters(string text) => Encode(text, Info.Vocabulary, Info.UnkId, "text");

    private int[] EncodeSource(string text)
    {
        var vocab = Info.SourceVocabulary!;
        int[] chars = Encode(text, vocab, NextCharacterModelInfo.FindId(vocab, "<UNK>"), "source");
        return [NextCharacterModelInfo.FindId(vocab, "<BOS>"), .. chars, NextCharacterModelInfo.FindId(vocab, "<EOS>")];
    }

    private static int[] Encode(string text, IReadOnlyList<string> vocab, int unk, string what)
    {
        ArgumentNullException.ThrowIfNull(text);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < vocab.Count; i++)
        {
            index.TryAdd(vocab[i], i);
        }

        var ids = new List<int>();
        foreach (var rune in text.EnumerateRunes())
        {
            string s = rune.ToString();
            if (index.TryGetValue(s, out int id))
            {
                ids.Add(id);
            }
            else if (unk >= 0)
            {
                ids.Add(unk);
            }
            else
            {
                throw new ArgumentException($"The {what} '{text}' contains '{s}', which is not in the model's vocabulary.", nameof(text));
            }
        }

        return [.. ids];
    }

    /// <summary>Aggregates the per-row loss columns of a scored view into <see cref="NextCharacterMetrics"/>.</summary>
    public static NextCharacterMetrics Evaluate(IDataView predictions)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        var s = predictions.Schema;
        var loss = s[NextCharacterColumns.LogLoss];
        var count = s[NextCharacterColumns.TokenCount];
        var correct = s[NextCharacterColumns.Correct];
        var topK = s[NextCharacterColumns.TopKCorrect];
        var acc = new MetricsAccumulator(TopK);
        using var cursor = predictions.GetRowCursor([loss, count, correct, topK]);
        var gl = cursor.GetGetter<double>(loss);
        var gc = cursor.GetGetter<int>(count);
        var gr = cursor.GetGetter<int>(correct);
        var gk = cursor.GetGetter<int>(topK);
        double l = 0;
        int c = 0, r = 0, k = 0;
        while (cursor.MoveNext())
        {
            gl(ref l);
            gc(ref c);
            gr(ref r);
            gk(ref k);
            acc.AddCounts(c == 0 ? 0 : l * c, c, r, k);
        }

        return acc.ToMetrics();
    }

    /// <inheritdoc />
    public void Save(ModelSaveContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.SetStage(LoaderSignature, CurrentVersion, minReadableVersion: 1);
        context.WriteConfig(Info);
        if (History is not null)
        {
            context.WriteJson("history", History);
        }

        var tensors = _model.ExportState().ToDictionary(kv => kv.Key, kv => new TensorData(kv.Value.Shape, kv.Value.Data));
        context.WriteTensors("weights", tensors);
    }

    /// <summary>Rebuilds the stage from the .zip, on the CPU.</summary>
    internal static NextCharacterPredictionTransformer Load(ModelLoadContext context)
    {
        var info = context.ReadConfig<NextCharacterModelInfo>();
        var history = context.Contains("history") ? context.ReadJson<TrainingHistory>("history") : null;
        var tensors = context.ReadTensors("weights");
        var model = TransformerModel.Create(info.Architecture, "cpu");
        try
        {
            model.ImportState(tensors.Select(kv => KeyValuePair.Create(kv.Key, (kv.Value.Shape, kv.Value.Data))));
            return new NextCharacterPredictionTransformer(model, info, history);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

#pragma warning disable CA2255 // Registering the loader explicitly when this assembly loads is the intended use.
    [ModuleInitializer]
    internal static void RegisterLoader() => ModelLoaderRegistry.Register(LoaderSignature, Load);
#pragma warning restore CA2255

    /// <inheritdoc />
    public void Dispose() => _model.Dispose();

    private void CheckInput(DataViewSchema schema)
    {
        CheckIds(schema, Info.TokensColumnName);
        if (Info.HasSource)
        {
            CheckIds(schema, Info.SourceColumnName!);
        }
    }

    private static void CheckIds(DataViewSchema schema, string name)
    {
        var col = schema.GetColumnOrNull(name) ?? throw SchemaException.MissingColumn(name, schema);
        if (col.Type is not VectorDataViewType { ItemType: var item } || !item.Equals(NumberDataViewType.Int32))
        {
            throw SchemaException.WrongType(name, "Vector<Int32> (token ids)", col.Type);
        }
    }

    /// <summary>The input schema plus the prediction columns; shared with the trainers' GetOutputSchema.</summary>
    internal static DataViewSchema BuildOutputSchema(DataViewSchema input, bool encoderDecoder, IReadOnlyList<string>? vocabulary, int layers, int heads, int encoderLayers, bool hasSource = false)
    {
        var text = TextDataViewType.Instance;
        var textVector = new VectorDataViewType(TextDataViewType.Instance);
        var floats = new VectorDataViewType(NumberDataViewType.Single);
        var b = new DataViewSchema.Builder().AddColumns(input);
        b.AddColumn(NextCharacterColumns.PredictedNextChar, text);
        if (vocabulary is not null)
        {
            b.AddColumn(NextCharacterColumns.Score, new VectorDataViewType(NumberDataViewType.Single, vocabulary.Count),
                new Annotations.Builder().AddText(Annotations.Kinds.SlotNames, [.. vocabulary]).ToAnnotations());
        }
        else
        {
            b.AddColumn(NextCharacterColumns.Score, floats);
        }

        b.AddColumn(NextCharacterColumns.InputTokens, textVector);
        b.AddColumn(NextCharacterColumns.PredictedTokens, textVector);
        b.AddColumn(NextCharacterColumns.LogLoss, NumberDataViewType.Double);
        b.AddColumn(NextCharacterColumns.TokenCount, NumberDataViewType.Int32);
        b.AddColumn(NextCharacterColumns.Correct, NumberDataViewType.Int32);
        b.AddColumn(NextCharacterColumns.TopKCorrect, NumberDataViewType.Int32);
        b.AddColumn(NextCharacterColumns.Attention, floats, AttentionAnnotations(layers, heads, "Query", "Key"));
        if (encoderDecoder)
        {
            if (hasSource)
            {
                b.AddColumn(NextCharacterColumns.SourceTokens, textVector);
            }

            b.AddColumn(NextCharacterColumns.EncoderAttention, floats, AttentionAnnotations(encoderLayers, heads, "Query", "Key"));
            b.AddColumn(NextCharacterColumns.CrossAttention, floats, AttentionAnnotations(layers, heads, "Query", "SourceKey"));
        }

        return b.ToSchema();
    }

    private static Annotations AttentionAnnotations(int layers, int heads, string q, string k) =>
        new Annotations.Builder()
            .AddInt32(Annotations.Kinds.Shape, [layers, heads, 0, 0])
            .AddText(Annotations.Kinds.ShapeAxes, ["Layer", "Head", q, k])
            .ToAnnotations();

    /// <summary>The lazy output view.</summary>
    private sealed class PredictionView(NextCharacterPredictionTransformer owner, IDataView input, DataViewSchema schema) : IDataView
    {
        public DataViewSchema Schema => schema;

        public long? GetRowCount() => input.GetRowCount();

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded) =>
            new PredictionCursor(owner, input, schema, columnsNeeded);
    }

    /// <summary>
    /// Reads <see cref="BatchSize"/> input rows ahead, scores them in one forward pass, then serves them one by one.
    /// Pass-through columns are cached per row so the inner cursor may run ahead.
    /// </summary>
    private sealed class PredictionCursor : DataViewRowCursor
    {
        private readonly NextCharacterPredictionTransformer _owner;
        private readonly DataViewSchema _schema;
        private readonly DataViewRowCursor _inner;
        private readonly int _inputCount;
        private readonly bool[] _active;
        private readonly List<(int Index, Func<object?> Read)> _passThrough = [];
        private readonly ValueGetter<int[]> _tokens;
        private readonly ValueGetter<int[]>? _source;
        private readonly RowOutputs _outputs;
        private readonly List<object?[]> _cachedInputs = [];
        private ScoredRow[] _scored = [];
        private int _inBatch = -1;
        private long _position = -1;
        private bool _innerDone;

        public PredictionCursor(NextCharacterPredictionTransformer owner, IDataView input, DataViewSchema schema, IEnumerable<DataViewSchema.Column> needed)
        {
            _owner = owner;
            _schema = schema;
            _inputCount = input.Schema.Count;
            _active = new bool[schema.Count];
            foreach (var c in needed)
            {
                _active[c.Index] = true;
            }

            var info = owner.Info;
            var innerNeeded = new List<DataViewSchema.Column>();
            for (int i = 0; i < _inputCount; i++)
            {
                if (_active[i])
                {
                    innerNeeded.Add(input.Schema[i]);
                }
            }

            var tokensCol = input.Schema[info.TokensColumnName];
            innerNeeded.Add(tokensCol);
            DataViewSchema.Column? srcCol = info.HasSource ? input.Schema[info.SourceColumnName!] : null;
            if (srcCol is not null)
            {
                innerNeeded.Add(srcCol);
            }

            _inner = input.GetRowCursor(innerNeeded.Distinct());
            for (int i = 0; i < _inputCount; i++)
            {
                if (_active[i])
                {
                    _passThrough.Add((i, MakeReader(_inner, input.Schema[i])));
                }
            }

            _tokens = _inner.GetGetter<int[]>(tokensCol);
            _source = srcCol is null ? null : _inner.GetGetter<int[]>(srcCol);
            for (int i = _inputCount; i < schema.Count; i++)
            {
                if (_active[i])
                {
                    _outputs |= schema[i].Name switch
                    {
                        NextCharacterColumns.PredictedNextChar or NextCharacterColumns.Score => RowOutputs.Distribution,
                        NextCharacterColumns.PredictedTokens => RowOutputs.Positions,
                        NextCharacterColumns.LogLoss or NextCharacterColumns.TokenCount or NextCharacterColumns.Correct or NextCharacterColumns.TopKCorrect => RowOutputs.Loss,
                        NextCharacterColumns.Attention => RowOutputs.SelfAttention,
                        NextCharacterColumns.EncoderAttention => RowOutputs.EncoderAttention,
                        NextCharacterColumns.CrossAttention => RowOutputs.CrossAttention,
                        _ => RowOutputs.None,
                    };
                }
            }
        }

        public override DataViewSchema Schema => _schema;

        public override long Position => _position;

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override bool MoveNext()
        {
            if (_inBatch + 1 < _scored.Length)
            {
                _inBatch++;
                _position++;
                return true;
            }

            if (_innerDone || !FillBatch())
            {
                _innerDone = true;
                return false;
            }

            _inBatch = 0;
            _position++;
            return true;
        }

        private bool FillBatch()
        {
            _cachedInputs.Clear();
            var rows = new List<int[]>();
            var sources = _source is null ? null : new List<int[]>();
            int[] value = [];
            while (rows.Count < Math.Max(1, _owner.BatchSize) && _inner.MoveNext())
            {
                _tokens(ref value);
                rows.Add((int[])value.Clone());
                if (_source is not null)
                {
                    _source(ref value);
                    sources!.Add((int[])value.Clone());
                }

                var cached = new object?[_passThrough.Count];
                for (int i = 0; i < cached.Length; i++)
                {
                    cached[i] = _passThrough[i].Read();
                }

                _cachedInputs.Add(cached);
            }

            if (rows.Count == 0)
            {
                _scored = [];
                return false;
            }

            _scored = _owner._predictor.Score(rows, sources, _outputs);
            return true;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            ArgumentNullException.ThrowIfNull(column);
            CheckGetterType<TValue>(column);
            if (!_active[column.Index])
            {
                throw new SchemaException($"Column '{column.Name}' was not requested when the cursor was opened.", column.Name);
            }

            if (column.Index < _inputCount)
            {
                int slot = _passThrough.FindIndex(p => p.Index == column.Index);
                return (ref TValue v) => v = (TValue)_cachedInputs[_inBatch][slot]!;
            }

            var info = _owner.Info;
            string Token(int id) => info.Vocabulary[id];
            string SourceToken(int id) => info.SourceVocabulary![id];
            ScoredRow Row() => _scored[_inBatch];
            Delegate getter = column.Name switch
            {
                NextCharacterColumns.PredictedNextChar => (ValueGetter<string>)((ref string v) => v = Token(LogSoftmax.ArgMax(Row().NextDistribution!))),
                NextCharacterColumns.Score => (ValueGetter<float[]>)((ref float[] v) => v = (float[])Row().NextDistribution!.Clone()),
                NextCharacterColumns.InputTokens => (ValueGetter<string[]>)((ref string[] v) => v = Row().InputTokens.Select(Token).ToArray()),
                NextCharacterColumns.PredictedTokens => (ValueGetter<string[]>)((ref string[] v) => v = Row().PositionPredictions!.Select(Token).ToArray()),
                NextCharacterColumns.LogLoss => (ValueGetter<double>)((ref double v) => v = Row().LogLoss),
                NextCharacterColumns.TokenCount => (ValueGetter<int>)((ref int v) => v = Row().TargetCount),
                NextCharacterColumns.Correct => (ValueGetter<int>)((ref int v) => v = Row().Correct),
                NextCharacterColumns.TopKCorrect => (ValueGetter<int>)((ref int v) => v = Row().TopKCorrect),
                NextCharacterColumns.Attention => (ValueGetter<float[]>)((ref float[] v) => v = (float[])Row().SelfAttention!.Clone()),
                NextCharacterColumns.SourceTokens => (ValueGetter<string[]>)((ref string[] v) => v = Row().SourceTokens!.Select(SourceToken).ToArray()),
                NextCharacterColumns.EncoderAttention => (ValueGetter<float[]>)((ref float[] v) => v = (float[])Row().EncoderAttention!.Clone()),
                NextCharacterColumns.CrossAttention => (ValueGetter<float[]>)((ref float[] v) => v = (float[])Row().CrossAttention!.Clone()),
                _ => throw new SchemaException($"Unknown output column '{column.Name}'.", column.Name),
            };
            return (ValueGetter<TValue>)getter;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }

        private static Func<object?> MakeReader(DataViewRowCursor cursor, DataViewSchema.Column column) =>
            (Func<object?>)typeof(PredictionCursor).GetMethod(nameof(Reader), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
                .MakeGenericMethod(column.Type.RawType).Invoke(null, [cursor, column])!;

        private static Func<object?> Reader<T>(DataViewRowCursor cursor, DataViewSchema.Column column)
        {
            var getter = cursor.GetGetter<T>(column);
            return () =>
            {
                T value = default!;
                getter(ref value);
                return value is Array a ? a.Clone() : value;
            };
        }
    }
}
