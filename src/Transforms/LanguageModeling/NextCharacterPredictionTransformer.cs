// The fitted next-character model as a pipeline stage: appends prediction, probability, loss and attention
// columns, computed lazily by one batched forward pass per batch of rows; saves to and loads from the model .zip.
using System.Runtime.CompilerServices;
using MLNet.Transformer.Data;
using MLNet.Transformer.Engine;
using MLNet.Transformer.Onnx;
using MLNet.Transformer.Persistence;
using Onnx;

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
/// A fitted next-character transformer. <see cref="RowToRowTransformerBase.Transform"/> appends the <see cref="NextCharacterColumns"/>;
/// each batch of rows (<see cref="RowToRowTransformerBase.BatchSize"/>) is scored by one forward pass that serves all requested columns.
/// Owns native memory: dispose it (a TransformerChain disposes its stages).
/// </summary>
public sealed class NextCharacterPredictionTransformer : RowToRowTransformerBase
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

    /// <summary>The weights, by PyTorch state-dict name.</summary>
    public IDictionary<string, (long[] Shape, float[] Data)> ExportWeights() => _model.ExportState();

    /// <summary>The model as ONNX (opset 17), with PyTorch-named initializers and the vocabulary in its metadata.</summary>
    /// <param name="options">Which outputs to include; default: all (see <see cref="OnnxExportOptions.NextTokenOnly"/> for the lean model).</param>
    public ModelProto ToOnnx(OnnxExportOptions? options = null) => OnnxExporter.Export(Info, _model.ExportState().AsReadOnly(), options);

    /// <summary>Writes the model as an ONNX file (temporary file, then rename).</summary>
    public void SaveOnnx(string path, OnnxExportOptions? options = null) => OnnxExporter.Save(ToOnnx(options), path);

    /// <inheritdoc />
    protected override RowBatchMapper CreateMapper(DataViewSchema inputSchema)
    {
        CheckIds(inputSchema, Info.TokensColumnName);
        if (Info.HasSource)
        {
            CheckIds(inputSchema, Info.SourceColumnName!);
        }

        return new Mapper(this, inputSchema);
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
    public override void Save(ModelSaveContext context)
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
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _model.Dispose();
        }

        base.Dispose(disposing);
    }

    private static void CheckIds(DataViewSchema schema, string name)
    {
        var col = schema.GetColumnOrNull(name) ?? throw SchemaException.MissingColumn(name, schema);
        if (col.Type is not VectorDataViewType { ItemType: var item } || !item.Equals(NumberDataViewType.Int32))
        {
            throw SchemaException.WrongType(name, "Vector<Int32> (token ids)", col.Type);
        }
    }

    /// <summary>The prediction columns; shared with the trainers' GetOutputSchema (vocabulary null before fitting).</summary>
    internal static IReadOnlyList<OutputColumn> OutputColumns(bool encoderDecoder, IReadOnlyList<string>? vocabulary, int layers, int heads, int encoderLayers, bool hasSource)
    {
        var text = TextDataViewType.Instance;
        var textVector = new VectorDataViewType(TextDataViewType.Instance);
        var floats = new VectorDataViewType(NumberDataViewType.Single);
        var columns = new List<OutputColumn>
        {
            new(NextCharacterColumns.PredictedNextChar, text),
            vocabulary is null
                ? new(NextCharacterColumns.Score, floats)
                : new(NextCharacterColumns.Score, new VectorDataViewType(NumberDataViewType.Single, vocabulary.Count),
                    new Annotations.Builder().AddText(Annotations.Kinds.SlotNames, [.. vocabulary]).ToAnnotations()),
            new(NextCharacterColumns.InputTokens, textVector),
            new(NextCharacterColumns.PredictedTokens, textVector),
            new(NextCharacterColumns.LogLoss, NumberDataViewType.Double),
            new(NextCharacterColumns.TokenCount, NumberDataViewType.Int32),
            new(NextCharacterColumns.Correct, NumberDataViewType.Int32),
            new(NextCharacterColumns.TopKCorrect, NumberDataViewType.Int32),
            new(NextCharacterColumns.Attention, floats, AttentionAnnotations(layers, heads, "Query", "Key")),
        };
        if (encoderDecoder)
        {
            if (hasSource)
            {
                columns.Add(new(NextCharacterColumns.SourceTokens, textVector));
            }

            columns.Add(new(NextCharacterColumns.EncoderAttention, floats, AttentionAnnotations(encoderLayers, heads, "Query", "Key")));
            columns.Add(new(NextCharacterColumns.CrossAttention, floats, AttentionAnnotations(layers, heads, "Query", "SourceKey")));
        }

        return columns;
    }

    private static Annotations AttentionAnnotations(int layers, int heads, string q, string k) =>
        new Annotations.Builder()
            .AddInt32(Annotations.Kinds.Shape, [layers, heads, 0, 0])
            .AddText(Annotations.Kinds.ShapeAxes, ["Layer", "Head", q, k])
            .ToAnnotations();

    /// <summary>
    /// Maps a batch of token rows: one <see cref="NextCharacterPredictor.Score"/> call (one forward pass) computes
    /// exactly what the active columns need, then each column is filled from the scored rows.
    /// </summary>
    private sealed class Mapper : RowBatchMapper
    {
        private readonly NextCharacterPredictionTransformer _owner;
        private readonly DataViewSchema.Column _tokens;
        private readonly DataViewSchema.Column? _source;

        public Mapper(NextCharacterPredictionTransformer owner, DataViewSchema inputSchema)
            : base(inputSchema)
        {
            _owner = owner;
            var info = owner.Info;
            _tokens = inputSchema[info.TokensColumnName];
            _source = info.HasSource ? inputSchema[info.SourceColumnName!] : null;
            OutputColumns = NextCharacterPredictionTransformer.OutputColumns(info.IsEncoderDecoder, info.Vocabulary, info.Architecture.Layers, info.Architecture.Heads, info.Architecture.EncoderLayers, info.HasSource);
        }

        public override IReadOnlyList<OutputColumn> OutputColumns { get; }

        protected override IEnumerable<DataViewSchema.Column> GetDependencies(IReadOnlyList<bool> activeOutputs) =>
            _source is null ? [_tokens] : [_tokens, _source];

        protected override void MapBatch(InputBatch input, OutputBatch output)
        {
            var needs = RowOutputs.None;
            for (int k = 0; k < OutputColumns.Count; k++)
            {
                if (output.IsActive(k))
                {
                    needs |= Needs(OutputColumns[k].Name);
                }
            }

            var rows = input.GetColumn<int[]>(_tokens);
            var sources = _source is null ? null : input.GetColumn<int[]>(_source);
            ScoredRow[] scored = _owner._predictor.Score(rows, sources, needs);
            var info = _owner.Info;
            for (int k = 0; k < OutputColumns.Count; k++)
            {
                if (output.IsActive(k))
                {
                    Fill(OutputColumns[k].Name, k, scored, output, info);
                }
            }
        }

        private static RowOutputs Needs(string column) => column switch
        {
            NextCharacterColumns.PredictedNextChar or NextCharacterColumns.Score => RowOutputs.Distribution,
            NextCharacterColumns.PredictedTokens => RowOutputs.Positions,
            NextCharacterColumns.LogLoss or NextCharacterColumns.TokenCount or NextCharacterColumns.Correct or NextCharacterColumns.TopKCorrect => RowOutputs.Loss,
            NextCharacterColumns.Attention => RowOutputs.SelfAttention,
            NextCharacterColumns.EncoderAttention => RowOutputs.EncoderAttention,
            NextCharacterColumns.CrossAttention => RowOutputs.CrossAttention,
            _ => RowOutputs.None, // InputTokens, SourceTokens: no forward pass needed
        };

        private static void Fill(string column, int k, ScoredRow[] rows, OutputBatch output, NextCharacterModelInfo info)
        {
            switch (column)
            {
                case NextCharacterColumns.PredictedNextChar:
                    Set(output.GetColumn<string>(k), rows, r => info.Vocabulary[LogSoftmax.ArgMax(r.NextDistribution!)]);
                    break;
                case NextCharacterColumns.Score:
                    Set(output.GetColumn<float[]>(k), rows, r => r.NextDistribution!);
                    break;
                case NextCharacterColumns.InputTokens:
                    Set(output.GetColumn<string[]>(k), rows, r => r.InputTokens.Select(id => info.Vocabulary[id]).ToArray());
                    break;
                case NextCharacterColumns.PredictedTokens:
                    Set(output.GetColumn<string[]>(k), rows, r => r.PositionPredictions!.Select(id => info.Vocabulary[id]).ToArray());
                    break;
                case NextCharacterColumns.LogLoss:
                    Set(output.GetColumn<double>(k), rows, r => r.LogLoss);
                    break;
                case NextCharacterColumns.TokenCount:
                    Set(output.GetColumn<int>(k), rows, r => r.TargetCount);
                    break;
                case NextCharacterColumns.Correct:
                    Set(output.GetColumn<int>(k), rows, r => r.Correct);
                    break;
                case NextCharacterColumns.TopKCorrect:
                    Set(output.GetColumn<int>(k), rows, r => r.TopKCorrect);
                    break;
                case NextCharacterColumns.Attention:
                    Set(output.GetColumn<float[]>(k), rows, r => r.SelfAttention!);
                    break;
                case NextCharacterColumns.SourceTokens:
                    Set(output.GetColumn<string[]>(k), rows, r => r.SourceTokens!.Select(id => info.SourceVocabulary![id]).ToArray());
                    break;
                case NextCharacterColumns.EncoderAttention:
                    Set(output.GetColumn<float[]>(k), rows, r => r.EncoderAttention!);
                    break;
                case NextCharacterColumns.CrossAttention:
                    Set(output.GetColumn<float[]>(k), rows, r => r.CrossAttention!);
                    break;
                default:
                    throw new SchemaException($"Unknown output column '{column}'.", column);
            }
        }

        private static void Set<T>(Span<T> target, ScoredRow[] rows, Func<ScoredRow, T> value)
        {
            for (int i = 0; i < rows.Length; i++)
            {
                target[i] = value(rows[i]);
            }
        }
    }
}
