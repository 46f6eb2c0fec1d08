// The interface of an exported next-character model: input and output names, shapes and the metadata keys.
// Shared by the exporter, the reader and the ONNX Runtime scorer; documented in docs/onnx.md.

namespace MLNet.Transformer.Onnx;

/// <summary>
/// Names of an exported model's inputs and outputs. N = batch, T = decoder length, S = source length,
/// V = vocabulary, L / L_enc = decoder / encoder layers, H = heads. Every dimension named by a letter is symbolic.
/// </summary>
public static class OnnxNames
{
    /// <summary>int64 [N, T]: decoder input ids, <c>&lt;BOS&gt;</c> then the characters, right-padded with PAD.</summary>
    public const string Tokens = "tokens";

    /// <summary>int64 [N, S]: encoder input ids (encoder-decoder models with a source column), right-padded with PAD.</summary>
    public const string Source = "source";

    /// <summary>int64 [N, T]: code points, <see cref="OnnxCodePoints.Bos"/> first (code-point exports).</summary>
    public const string CodePoints = "codepoints";

    /// <summary>int64 [N, S]: source code points, BOS first and EOS last (code-point exports with a source column).</summary>
    public const string SourceCodePoints = "source_codepoints";

    /// <summary>float [N, V]: probabilities of the token after each row's last non-PAD token.</summary>
    public const string NextTokenProbabilities = "next_token_probabilities";

    /// <summary>
    /// float [V]: <see cref="NextTokenProbabilities"/> of a batch-of-one export as one dimension (ML.NET's multiclass
    /// <c>Score</c>, <c>Vector&lt;Single, V&gt;</c>); only batch-of-one exports have it.
    /// </summary>
    public const string Score = "score";

    /// <summary>float [N, T, V]: probabilities of the next token at every position (teacher forcing).</summary>
    public const string Probabilities = "probabilities";

    /// <summary>float [N, L, H, T, T]: decoder self-attention of every layer and head (rows sum to 1; PAD keys get 0).</summary>
    public const string Attention = "attention";

    /// <summary>float [N, L_enc, H, S, S]: encoder self-attention of every layer and head (encoder-decoder).</summary>
    public const string EncoderAttention = "encoder_attention";

    /// <summary>float [N, L, H, T, S]: decoder-to-memory cross-attention of every layer and head (encoder-decoder).</summary>
    public const string CrossAttention = "cross_attention";

    /// <summary>string [N]: the most probable next token (a character, or a special token's name such as &lt;EOS&gt;).</summary>
    public const string PredictedToken = "predicted_token";

    /// <summary>string [N, T]: the input tokens (the attention axes).</summary>
    public const string InputTokens = "input_tokens";

    /// <summary>string [N, T]: the most probable next token at every position (teacher forcing).</summary>
    public const string PredictedTokens = "predicted_tokens";

    /// <summary>string [N, S]: the source tokens (encoder-decoder models with a source input).</summary>
    public const string SourceTokens = "source_tokens";

    /// <summary>float [N]: mean negative log-likelihood (nats) of the row's targets, EOS included.</summary>
    public const string RowLogLoss = "row_log_loss";

    /// <summary>int64 [N]: the row's targets (its non-PAD positions).</summary>
    public const string RowTokenCount = "row_token_count";

    /// <summary>int64 [N]: targets whose most probable prediction is right.</summary>
    public const string RowCorrect = "row_correct";

    /// <summary>int64 [N]: targets among the top-5 predictions.</summary>
    public const string RowTopKCorrect = "row_top_k_correct";

    /// <summary>int64 [1, T]: token ids (the character tokenizer's model).</summary>
    public const string TokenIds = "token_ids";

    /// <summary>
    /// Prefix of a key/value-cache input (<see cref="OnnxExportOptions.KeyValueCache"/>): <c>past.{module}.key</c> and
    /// <c>past.{module}.value</c> [N, H, P, D], where module is the attention's state-dict prefix
    /// (<c>layers.0.self_attn</c>, <c>decoder.layers.0.multihead_attn</c>, <c>ensemble.1.layers.0.self_attn</c>).
    /// </summary>
    public const string PastPrefix = "past.";

    /// <summary>Prefix of a key/value-cache output: <c>present.{module}.key</c> / <c>.value</c> [N, H, P + T, D].</summary>
    public const string PresentPrefix = "present.";

    /// <summary>The cached keys of attention <paramref name="module"/> read by a key/value-cache model.</summary>
    public static string PastKey(string module) => PastPrefix + module + ".key";

    /// <summary>The cached values of attention <paramref name="module"/> read by a key/value-cache model.</summary>
    public static string PastValue(string module) => PastPrefix + module + ".value";

    /// <summary>The keys of attention <paramref name="module"/> extended by the new positions.</summary>
    public static string PresentKey(string module) => PresentPrefix + module + ".key";

    /// <summary>The values of attention <paramref name="module"/> extended by the new positions.</summary>
    public static string PresentValue(string module) => PresentPrefix + module + ".value";

    /// <summary>Prefix of every <c>metadata_props</c> key this library writes.</summary>
    public const string MetadataPrefix = "mlnet_transformer.";

    /// <summary>Metadata key: the export format version (an integer).</summary>
    public const string FormatVersionKey = MetadataPrefix + "format_version";

    /// <summary>Metadata key: the architecture (<c>TransformerModelConfig</c> as JSON).</summary>
    public const string ConfigKey = MetadataPrefix + "config";

    /// <summary>Metadata key: the decoder vocabulary, a JSON array of tokens (index = id).</summary>
    public const string VocabularyKey = MetadataPrefix + "vocabulary";

    /// <summary>Metadata key: the source vocabulary (encoder-decoder with a source column), a JSON array.</summary>
    public const string SourceVocabularyKey = MetadataPrefix + "source_vocabulary";

    /// <summary>Metadata key: special-token ids, JSON <c>{"pad":0,"bos":1,"eos":2,"unk":3}</c> (unk -1 when absent).</summary>
    public const string SpecialTokensKey = MetadataPrefix + "special_tokens";

    /// <summary>
    /// Metadata key (ensembles, format version 2): the architectures of members 1, 2, ... as a JSON array; member i's
    /// weights are the initializers named <c>ensemble.{i}.</c> + the state-dict name. Absent for a single model.
    /// </summary>
    public const string EnsembleKey = MetadataPrefix + "ensemble";

    /// <summary>Metadata key: pipeline columns and how the encoder is fed, JSON.</summary>
    public const string ColumnsKey = MetadataPrefix + "columns";

    /// <summary>
    /// Metadata key: SHA-256 (lowercase hex) of the whole model as serialized without this entry (graph, weights and
    /// every other metadata entry). Written by every export; a reader refuses a file whose content does not match it.
    /// </summary>
    public const string ContentHashKey = MetadataPrefix + "sha256";
}
