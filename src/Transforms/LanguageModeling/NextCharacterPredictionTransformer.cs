// The fitted next-character model as an ML.NET transformer. Scoring is ML.NET's own pipeline: CopyColumns -> a
// stateless code-point CustomMapping -> ML.NET's OnnxTransformer over the exported model (vocabulary inside) -> a
// stateless column CustomMapping -> CopyColumns -> DropColumns. Save forwards to that chain, so
// mlContext.Model.Save writes a standard ML.NET zip that mlContext.Model.Load reads without this class, and
// without the native training engine.
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Transformer.Onnx;
using MLNet.Transformer.Text;

namespace MLNet.Transformer.LanguageModeling;

/// <summary>Names of the columns a next-character model appends.</summary>
public static class NextCharacterColumns
{
    /// <summary>Text: the most probable character after the row's text ("&lt;EOS&gt;" when the model would end it).</summary>
    public const string PredictedNextChar = "PredictedNextChar";

    /// <summary>
    /// Vector&lt;Single, V&gt;: softmax probabilities of the next token, in vocabulary order (sums to 1): slot k - 1 is
    /// the token of <see cref="PredictedLabel"/>'s key k, as in ML.NET's multiclass trainers.
    /// </summary>
    public const string Score = "Score";

    /// <summary>
    /// Key over the vocabulary (UInt32, with the tokens as KeyValues): the most probable next token, so key k is
    /// <see cref="Score"/>'s slot k - 1 (the argmax plus one) and <c>MapKeyToValue</c> gives the character.
    /// </summary>
    public const string PredictedLabel = "PredictedLabel";

    /// <summary>Vector&lt;Text&gt;: the decoder input tokens (&lt;BOS&gt; and the characters): the attention axes.</summary>
    public const string InputTokens = "InputTokens";

    /// <summary>Vector&lt;Text&gt;: teacher-forced prediction at each input position (what follows each prefix).</summary>
    public const string PredictedTokens = "PredictedTokens";

    /// <summary>Double: the row's mean cross-entropy (nats per character) over its targets, EOS included.</summary>
    public const string LogLoss = "LogLoss";

    /// <summary>Int32: number of target positions of the row (its characters plus EOS).</summary>
    public const string TokenCount = "TokenCount";

    /// <summary>Int32: target positions whose most probable prediction is right.</summary>
    public const string Correct = "Correct";

    /// <summary>Int32: target positions whose target is among the top-5 predictions.</summary>
    public const string TopKCorrect = "TopKCorrect";

    /// <summary>Vector&lt;Single&gt;: decoder self-attention, flattened row-major [L, H, T, T] (see <see cref="AttentionLayout"/>).</summary>
    public const string Attention = "Attention";

    /// <summary>Vector&lt;Text&gt;: source tokens (encoder-decoder with a source column).</summary>
    public const string SourceTokens = "SourceTokens";

    /// <summary>Vector&lt;Single&gt;: encoder self-attention, flattened [L_enc, H, S, S].</summary>
    public const string EncoderAttention = "EncoderAttention";

    /// <summary>Vector&lt;Single&gt;: decoder cross-attention, flattened [L, H, T, S].</summary>
    public const string CrossAttention = "CrossAttention";

    /// <summary>
    /// Column <paramref name="name"/> of data a next-character model scored, or an error saying how to get it: score
    /// with such a model, or, where the model computes only the next character, with a chain computing every column.
    /// </summary>
    internal static Microsoft.ML.DataViewSchema.Column Require(Microsoft.ML.DataViewSchema schema, string name, string paramName) =>
        schema.GetColumnOrNull(name) ?? throw new ArgumentOutOfRangeException(paramName, schema.GetColumnOrNull(PredictedNextChar) is null
            ? $"Could not find column '{name}': score the data with a next-character model first."
            : $"Could not find column '{name}': the model computes only the next character (NextCharacterOutputs.NextCharacter, train --outputs next-character); score with a chain computing every column, LoadedNextCharacterModel.CreateChain(mlContext, NextCharacterOutputs.All), or train with Outputs = NextCharacterOutputs.All.");
}

/// <summary>What a fitted next-character model computes for each row.</summary>
public enum NextCharacterOutputs
{
    /// <summary>
    /// Every column of <see cref="NextCharacterColumns"/>: the prediction, the token lists, the row's metrics and the
    /// attention (what the attention page and per-row evaluation read).
    /// </summary>
    All,

    /// <summary>
    /// Only <see cref="NextCharacterColumns.Score"/>, <see cref="NextCharacterColumns.PredictedLabel"/> and
    /// <see cref="NextCharacterColumns.PredictedNextChar"/>: the chain's ONNX graph is cut to what they need (fastest
    /// scoring).
    /// </summary>
    NextCharacter,
}

/// <summary>
/// A fitted next-character transformer (decoder-only or encoder-decoder). <see cref="Transform"/> appends the
/// <see cref="NextCharacterColumns"/>; <see cref="Model"/> is the ML.NET chain that computes them, which is what
/// <c>mlContext.Model.Save</c> writes and <c>mlContext.Model.Load</c> gives back (use <see cref="NextCharacterModel.Load(Microsoft.ML.MLContext, string)"/>
/// to get the model description and generation as well).
/// </summary>
public sealed class NextCharacterPredictionTransformer : ITransformer
{
    private readonly byte[] _onnx;
    private IReadOnlyList<Engine.TransformerModelConfig>? _architectures;

    internal NextCharacterPredictionTransformer(ITransformer model, NextCharacterModelInfo info, byte[] onnx, TrainingHistory? history, NextCharacterOutputs outputs = NextCharacterOutputs.All)
    {
        Model = model;
        Outputs = outputs;
        Info = info;
        _onnx = onnx;
        History = history;
    }

    /// <summary>The ML.NET chain that scores (built-in transformers only).</summary>
    public ITransformer Model { get; }

    /// <summary>Architecture, columns and vocabularies.</summary>
    public NextCharacterModelInfo Info { get; }

    /// <summary>The columns <see cref="Transform"/> appends.</summary>
    public NextCharacterOutputs Outputs { get; }

    /// <summary>The training record.</summary>
    public TrainingHistory? History { get; }

    /// <summary>
    /// The checkpoint the chain and its ONNX model were built from: after Fit, the trained weights with Adam's state
    /// and the dropout generators (save it with <see cref="Checkpoints.Checkpoint.Save"/> to fine-tune or export
    /// later). Null for a model loaded from a zip or combined into an ensemble.
    /// </summary>
    public Checkpoints.Checkpoint? Checkpoint { get; init; }

    /// <summary>Trainable parameters (of every member, for an ensemble).</summary>
    public long ParameterCount => Architectures.Sum(a => Engine.StateLayout.For(a).Sum(t => t.ElementCount));

    /// <summary>
    /// The architectures of the models the chain averages: one, or the members of an ensemble made by
    /// <c>NextCharacterModel.Ensemble</c> (the first is <see cref="Info"/>'s).
    /// </summary>
    public IReadOnlyList<Engine.TransformerModelConfig> Architectures => _architectures ??= [.. Onnx.OnnxModelFile.Read(_onnx, "the fitted model").Members.Select(m => m.Info.Architecture)];

    /// <summary>The exported ONNX model the chain runs (code-point input, batch of one), as bytes.</summary>
    public byte[] GetOnnxModel() => (byte[])_onnx.Clone();

    /// <inheritdoc />
    public bool IsRowToRowMapper => true;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        NextCharacterModel.CheckInput(inputSchema, Info);
        return Model.GetOutputSchema(inputSchema);
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        NextCharacterModel.CheckInput(inputSchema, Info);
        return Model.GetRowToRowMapper(inputSchema);
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        NextCharacterModel.CheckInput(input.Schema, Info);
        return Model.Transform(input);
    }

    /// <summary>Writes the scoring chain (ML.NET's own format); this class is not needed to load it.</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => Model.Save(ctx);

    /// <summary>Generates text: greedy, temperature or top-k sampling, from an optional prefix, stopping at EOS.</summary>
    public IReadOnlyList<string> Generate(GenerationOptions options)
    {
        return TextGenerator.Generate(_onnx, "the fitted model", options);
    }

    /// <summary>
    /// Generates text as <see cref="Generate(GenerationOptions)"/> does, handing each piece to
    /// <paramref name="onText"/> as soon as it is chosen: the sample's index and first its prefix (as the model reads
    /// it), then one character at a time, so that a caller can stream the output.
    /// </summary>
    public IReadOnlyList<string> Generate(GenerationOptions options, Action<int, string> onText)
    {
        ArgumentNullException.ThrowIfNull(onText);
        return TextGenerator.Generate(_onnx, "the fitted model", options, onText);
    }
}
