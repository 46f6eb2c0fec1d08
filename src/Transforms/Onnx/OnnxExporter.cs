// Exports a next-character transformer (architecture + PyTorch-named state dict) as an ONNX model, opset 17, that
// computes exactly what the engine's evaluation forward computes (no dropout): the same blocks as
// nn.TransformerEncoderLayer / nn.TransformerDecoderLayer (batch-first, Post-LN or Pre-LN), masks derived from PAD.
// Shapes: N batch, T decoder length, S source length, E model width, H heads, D = E / H, V vocabulary.
using Google.Protobuf;
using MLNet.Transformer.Engine;
using MLNet.Transformer.IO;
using MLNet.Transformer.LanguageModeling;
using Onnx;
using static MLNet.Transformer.Onnx.OnnxGraphBuilder;

namespace MLNet.Transformer.Onnx;

/// <summary>What an exported model reads.</summary>
public enum OnnxInput
{
    /// <summary><see cref="OnnxNames.Tokens"/> (and <see cref="OnnxNames.Source"/>): token ids, BOS first, PAD-padded.</summary>
    TokenIds = 0,

    /// <summary>
    /// <see cref="OnnxNames.CodePoints"/> (and <see cref="OnnxNames.SourceCodePoints"/>): Unicode scalar values with the
    /// markers <see cref="OnnxCodePoints.Bos"/>, <see cref="OnnxCodePoints.Eos"/>, <see cref="OnnxCodePoints.Pad"/>;
    /// the vocabulary lookup is part of the graph (unknown characters become UNK).
    /// </summary>
    CodePoints = 1,
}

/// <summary>The markers of code-point inputs (<see cref="OnnxInput.CodePoints"/>); characters are values &gt;= 0.</summary>
public static class OnnxCodePoints
{
    /// <summary>Begin of sequence: maps to the BOS id.</summary>
    public const long Bos = -1;

    /// <summary>End of sequence (source rows): maps to the EOS id.</summary>
    public const long Eos = -2;

    /// <summary>Padding after a row's end: maps to the PAD id.</summary>
    public const long Pad = -3;
}

/// <summary>What an exported model computes besides the next-token probabilities.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>Token ids (default) or code points with the vocabulary lookup inside the graph.</summary>
    public OnnxInput Input { get; init; } = OnnxInput.TokenIds;

    /// <summary>
    /// Declares the batch dimension as 1 instead of the symbolic N, so that ML.NET's OnnxTransformer (which scores
    /// one row at a time) sees fixed-size outputs such as <see cref="OnnxNames.NextTokenProbabilities"/> [1, V]; adds
    /// <see cref="OnnxNames.Score"/> [V], the same probabilities in one dimension.
    /// </summary>
    public bool BatchOfOne { get; init; }

    /// <summary>
    /// Adds the tokens as text: <see cref="OnnxNames.PredictedToken"/> [N], <see cref="OnnxNames.InputTokens"/> [N, T]
    /// and <see cref="OnnxNames.PredictedTokens"/> [N, T] (string tensors, from the vocabulary).
    /// </summary>
    public bool IncludeTokenText { get; init; }

    /// <summary>
    /// Adds each row's teacher-forced metrics over its targets (the next token at every position, EOS after the last):
    /// <see cref="OnnxNames.RowLogLoss"/>, <see cref="OnnxNames.RowTokenCount"/>, <see cref="OnnxNames.RowCorrect"/>,
    /// <see cref="OnnxNames.RowTopKCorrect"/> (top <see cref="OnnxExporter.TopK"/>).
    /// </summary>
    public bool IncludeRowMetrics { get; init; }

    /// <summary>Adds the every-position <see cref="OnnxNames.Probabilities"/> output [N, T, V]. Default true.</summary>
    public bool IncludePositionProbabilities { get; init; } = true;

    /// <summary>Adds the attention outputs (every layer and head). Default true.</summary>
    public bool IncludeAttention { get; init; } = true;

    /// <summary>
    /// Incremental decoding with a key/value cache: besides the new tokens, the graph reads every attention's cached
    /// keys and values (<see cref="OnnxNames.PastKey"/>, <see cref="OnnxNames.PastValue"/>, [N, H, P, D]) and returns
    /// them extended by the new positions (<see cref="OnnxNames.PresentKey"/>, <see cref="OnnxNames.PresentValue"/>,
    /// [N, H, P + T, D]), with <see cref="OnnxNames.NextTokenProbabilities"/> after the last new token. The new tokens
    /// sit at positions P to P + T - 1; every token is real (no PAD inside a cached sequence), so a batch holds rows
    /// of one length. The first call passes P = 0 (empty caches). Only next-token outputs: the position
    /// probabilities, token texts, row metrics and attention outputs must be off. An encoder-decoder with a source
    /// column re-reads the whole source at every call (its encoder is not cached); one reading its own tokens needs
    /// a causal encoder and causal cross-attention (as the trainers build it).
    /// </summary>
    public bool KeyValueCache { get; init; }

    /// <summary>
    /// Only <see cref="OnnxNames.NextTokenProbabilities"/>: the lean model for scoring, which computes the output
    /// projection at one position per row and no attention outputs.
    /// </summary>
    public static OnnxExportOptions NextTokenOnly { get; } = new() { IncludePositionProbabilities = false, IncludeAttention = false };

    /// <summary>The lean model with a key/value cache (<see cref="KeyValueCache"/>): token generation.</summary>
    public static OnnxExportOptions Incremental { get; } = NextTokenOnly with { KeyValueCache = true };
}

/// <summary>Builds ONNX models (opset <see cref="Opset"/>) from trained next-character transformers.</summary>
/// <remarks>
/// Initializers carry the PyTorch state-dict names and shapes (<c>layers.0.self_attn.in_proj_weight</c> [3E, E], ...);
/// <c>metadata_props</c> carry the architecture, the vocabularies, the special-token ids and
/// <see cref="FormatVersion"/>. <see cref="OnnxModelFile"/> reads both back.
/// </remarks>
public static class OnnxExporter
{
    /// <summary>The ONNX operator set of the default domain the exporter writes (the first with LayerNormalization).</summary>
    public const int Opset = 17;

    /// <summary>The ONNX IR version written (IR 8 goes with opset 17).</summary>
    public const long IrVersion = 8;

    /// <summary>Version of the metadata layout read and written (1: one model; 2: an ensemble); readers refuse newer files.</summary>
    public const int FormatVersion = 2;

    /// <summary>The format version of a single model's file (version <see cref="FormatVersion"/> adds ensembles).</summary>
    public const int SingleModelFormatVersion = 1;

    /// <summary>Name of the fixed sinusoidal table initializer [max_len, E] (not part of the state dict).</summary>
    public const string PositionalEncodingName = "positional_encoding";

    /// <summary>K of <see cref="OnnxNames.RowTopKCorrect"/> (fewer when the vocabulary is smaller).</summary>
    public const int TopK = 5;

    /// <summary>Exports a model described by <paramref name="info"/> with the weights <paramref name="state"/>.</summary>
    /// <param name="info">Architecture, vocabularies and special ids.</param>
    /// <param name="state">Every state tensor by PyTorch name (see <see cref="StateLayout.For"/>), row-major.</param>
    /// <param name="options">Which outputs to include; default: all of them.</param>
    /// <exception cref="TransformerArgumentException">The architecture is invalid, or the state dict lacks a tensor,
    /// has one of the wrong shape, or has one the architecture does not declare.</exception>
    public static ModelProto Export(
        NextCharacterModelInfo info, IReadOnlyDictionary<string, (long[] Shape, float[] Data)> state, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(state);
        return Export([new OnnxModelMember(info, state)], options);
    }

    /// <summary>Exports the model a checkpoint holds (its description and weights; the training state is not needed).</summary>
    /// <exception cref="TransformerArgumentException">The weights do not fit the checkpoint's architecture.</exception>
    public static ModelProto Export(Checkpoints.Checkpoint checkpoint, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return Export(LanguageModeling.NextCharacterCheckpoint.InfoOf(checkpoint), checkpoint.Weights, options);
    }

    /// <summary>
    /// Exports an ensemble: one graph that runs every member on the same input and averages their probabilities
    /// (<see cref="OnnxNames.NextTokenProbabilities"/>, <see cref="OnnxNames.Probabilities"/>); the row metrics and
    /// predicted tokens are computed from the averaged probabilities, the attention outputs are member 0's.
    /// One member exports exactly what <see cref="Export(NextCharacterModelInfo, IReadOnlyDictionary{string, ValueTuple{long[], float[]}}, OnnxExportOptions?)"/> does.
    /// </summary>
    /// <remarks>
    /// Member 0's weights keep their state-dict names and its description is the file's metadata; member i &gt;= 1's
    /// weights are named <see cref="MemberPrefix"/>(i) + the state-dict name and its architecture is listed under
    /// <see cref="OnnxNames.EnsembleKey"/>. Members may differ in architecture (layers, heads, width, feed-forward,
    /// norm placement, activation) but must share the vocabularies, special ids, columns, maximum length and kind.
    /// </remarks>
    /// <exception cref="TransformerArgumentException">No member, members that do not share their vocabulary, columns,
    /// maximum length or kind, or a member whose weights do not fit its architecture.</exception>
    public static ModelProto Export(IReadOnlyList<OnnxModelMember> members, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(members);
        if (members.Count == 0)
        {
            throw new TransformerArgumentException("An export needs at least one model.", nameof(members));
        }

        options ??= new OnnxExportOptions();
        if (options.KeyValueCache && (options.IncludePositionProbabilities || options.IncludeAttention || options.IncludeTokenText || options.IncludeRowMetrics))
        {
            throw new TransformerArgumentException(
                "A key/value-cache export computes next-token probabilities only: turn off IncludePositionProbabilities, IncludeAttention, IncludeTokenText and IncludeRowMetrics (see OnnxExportOptions.Incremental).",
                nameof(options));
        }

        var info = members[0].Info;
        OnnxMetadata.CheckVocabularies(info, (message, field) => new TransformerArgumentException(message, field));
        var g = new OnnxGraphBuilder(info.IsEncoderDecoder ? "encoder_decoder_lm" : "decoder_lm");
        for (int i = 0; i < members.Count; i++)
        {
            var member = members[i] ?? throw new TransformerArgumentException($"Ensemble member {i} is null.", nameof(members));
            CheckCompatible(info, member.Info, i, nameof(members));
            var cfg = member.Info.Architecture;
            var layout = StateLayout.For(cfg);
            string who = members.Count == 1 ? "" : $"Ensemble member {i}: ";
            CheckState(layout, member.State, who);
            if (options.KeyValueCache && !CanCache(member.Info))
            {
                throw new TransformerArgumentException(
                    $"{who}This encoder-decoder reads its own tokens through a non-causal encoder or cross-attention, so a new token changes every earlier position: it cannot use a key/value cache.",
                    nameof(members));
            }

            string prefix = MemberPrefix(i);
            foreach (var t in layout)
            {
                var (shape, data) = member.State[t.Name];
                g.Initializer(prefix + t.Name, shape, data);
            }

            g.Initializer(prefix + PositionalEncodingName, [cfg.MaxLength, cfg.ModelDim], SinusoidalPositions(cfg.MaxLength, cfg.ModelDim));
        }

        WriteGraph(g, info, [.. members.Select(m => m.Info.Architecture)], options);
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "MLNet.Transformer",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "0",
            DocString = (info.IsEncoderDecoder
                ? "Encoder-decoder next-character transformer"
                : "Decoder-only next-character transformer")
                + (members.Count > 1 ? $" ensemble of {members.Count} members (mean of their probabilities)" : "")
                + " exported by MLNet.Transformer.",
            Graph = g.Graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        OnnxMetadata.Write(model, info, [.. members.Skip(1).Select(m => m.Info.Architecture)]);
        OnnxContentHash.Stamp(model);
        return model;
    }

    /// <summary>
    /// Whether a model can be exported with <see cref="OnnxExportOptions.KeyValueCache"/>: every model but an
    /// encoder-decoder that reads its own tokens (no source column) through a non-causal encoder or cross-attention.
    /// </summary>
    public static bool CanCache(NextCharacterModelInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        var cfg = info.Architecture;
        return !info.IsEncoderDecoder || info.HasSource || (cfg.CausalEncoder && cfg.CausalCross);
    }

    /// <summary>The prefix of ensemble member <paramref name="index"/>'s initializer names: none for member 0, <c>ensemble.{index}.</c> after it.</summary>
    public static string MemberPrefix(int index) => index == 0 ? "" : $"ensemble.{index.ToString(System.Globalization.CultureInfo.InvariantCulture)}.";

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> through a temporary file and a rename.</summary>
    public static void Save(ModelProto model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        AtomicFile.Write(path, stream => model.WriteTo(stream));
    }

    /// <summary>
    /// The fixed sinusoidal table [maxLength, dim] (Vaswani et al. 2017, section 3.5), computed in float32 in the
    /// engine's order: pe[p, 2i] = sin(p * exp(2i * -ln(10000) / E)), pe[p, 2i + 1] = cos(same angle).
    /// </summary>
    public static float[] SinusoidalPositions(int maxLength, int dim)
    {
        var pe = new float[checked(maxLength * dim)];
        float rate = (float)(-Math.Log(10000.0) / dim);
        for (int i = 0; i < dim; i += 2)
        {
            float div = MathF.Exp(i * rate);
            for (int p = 0; p < maxLength; p++)
            {
                float angle = p * div;
                pe[(p * dim) + i] = MathF.Sin(angle);
                if (i + 1 < dim)
                {
                    pe[(p * dim) + i + 1] = MathF.Cos(angle);
                }
            }
        }

        return pe;
    }

    private static void CheckState(IReadOnlyList<TensorInfo> layout, IReadOnlyDictionary<string, (long[] Shape, float[] Data)> state, string who)
    {
        ArgumentNullException.ThrowIfNull(state);
        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in layout)
        {
            expected.Add(t.Name);
            if (!state.TryGetValue(t.Name, out var value))
            {
                throw new TransformerArgumentException($"{who}The state dict has no tensor '{t.Name}' {Dims(t.Shape)}, which the architecture declares.", nameof(state));
            }

            if (value.Shape is null || !value.Shape.SequenceEqual(t.Shape))
            {
                throw new TransformerArgumentException($"{who}State tensor '{t.Name}' has shape {Dims(value.Shape ?? [])}; the architecture declares {Dims(t.Shape)}.", nameof(state));
            }

            if (value.Data is null || value.Data.LongLength != t.ElementCount)
            {
                throw new TransformerArgumentException($"{who}State tensor '{t.Name}' holds {value.Data?.LongLength ?? 0} values; its shape {Dims(t.Shape)} needs {t.ElementCount}.", nameof(state));
            }
        }

        foreach (var name in state.Keys)
        {
            if (!expected.Contains(name))
            {
                throw new TransformerArgumentException($"{who}The state dict holds '{name}', which the architecture does not declare.", nameof(state));
            }
        }
    }

    /// <summary>Members of one export share everything but the architecture's shape.</summary>
    private static void CheckCompatible(NextCharacterModelInfo first, NextCharacterModelInfo other, int index, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(other);
        void Require(bool same, string what)
        {
            if (!same)
            {
                throw new TransformerArgumentException($"Ensemble member {index} differs from member 0 in {what}; the members of an ensemble must share it.", parameterName);
            }
        }

        other.Architecture.Validate();
        string? shape = OnnxMetadata.SharedArchitectureDifference(first.Architecture, other.Architecture);
        Require(shape is null, shape!);
        Require(first.Vocabulary.SequenceEqual(other.Vocabulary, StringComparer.Ordinal), "its vocabulary");
        Require(first.SourceVocabulary is null == other.SourceVocabulary is null
            && (first.SourceVocabulary is null || first.SourceVocabulary.SequenceEqual(other.SourceVocabulary!, StringComparer.Ordinal)), "its source vocabulary");
        Require((first.PadId, first.BosId, first.EosId, first.UnkId) == (other.PadId, other.BosId, other.EosId, other.UnkId), "its special token ids");
        Require(first.TextColumnName == other.TextColumnName && first.SourceColumnName == other.SourceColumnName && first.SelfSource == other.SelfSource,
            "its columns");
        Require(first.Normalize == other.Normalize && first.LowerCase == other.LowerCase, "its text normalization");
    }

    internal static string Dims(IEnumerable<long> shape) => $"[{string.Join(", ", shape)}]";

    /// <summary>
    /// An ONNX model (opset <see cref="Opset"/>) of the character tokenizer's vocabulary: int64 code points with
    /// markers [1, T] (input <see cref="OnnxNames.SourceCodePoints"/>) -> int64 ids [1, T] (output <see cref="OnnxNames.TokenIds"/>).
    /// </summary>
    public static ModelProto ExportTokenizer(IReadOnlyList<string> vocabulary, int padId, int bosId, int eosId, int unkId)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        var g = new OnnxGraphBuilder("character_tokenizer");
        string cp = g.Input(OnnxNames.SourceCodePoints, TensorProto.Types.DataType.Int64, 1, "T");
        string ids = VocabularyLookup(g, cp, vocabulary, bosId, eosId, padId, unkId, "ids");
        g.NodeTo(OnnxNames.TokenIds, "Identity", [ids]);
        g.Output(OnnxNames.TokenIds, TensorProto.Types.DataType.Int64, 1, "T");
        var model = new ModelProto { IrVersion = IrVersion, ProducerName = "MLNet.Transformer", DocString = "Character tokenizer exported by MLNet.Transformer.", Graph = g.Graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        model.MetadataProps.Add(new StringStringEntryProto { Key = OnnxNames.VocabularyKey, Value = System.Text.Json.JsonSerializer.Serialize(vocabulary) });
        return model;
    }

    /// <summary>
    /// (N, T) code points -> ids through the vocabulary: single-character tokens by their scalar value, the markers
    /// to BOS / EOS / PAD, anything else to UNK (PAD when the vocabulary has no UNK).
    /// </summary>
    private static string VocabularyLookup(OnnxGraphBuilder g, string codePoints, IReadOnlyList<string> vocabulary, long bos, long eos, long pad, long unk, string hint)
    {
        var keys = new List<long> { OnnxCodePoints.Bos, OnnxCodePoints.Eos, OnnxCodePoints.Pad };
        var values = new List<long> { bos, eos, pad };
        for (int id = 0; id < vocabulary.Count; id++)
        {
            string t = vocabulary[id];
            if (System.Text.Rune.DecodeFromUtf16(t, out var rune, out int used) == System.Buffers.OperationStatus.Done && used == t.Length)
            {
                keys.Add(rune.Value);
                values.Add(id);
            }
        }

        long unknown = unk >= 0 ? unk : pad;
        const long Int64Type = (long)TensorProto.Types.DataType.Int64;
        string match = g.Node("Equal", [g.Node("Unsqueeze", [codePoints, g.Int64Vector(-1)], hint + "/cp3"), g.Int64Vector([.. keys])], hint + "/match"); // (N, T, K)
        string hits = g.Node("Cast", [match], hint + "/hits", Attr("to", Int64Type));
        string ids = g.Node("ReduceSum", [g.Node("Mul", [hits, g.Int64Vector([.. values])], hint + "/picked"), g.Int64Vector(-1)], hint + "/sum", Attr("keepdims", 0L));
        string known = g.Node("Cast", [g.Node("ReduceMax", [hits], hint + "/any", Ints("axes", -1L), Attr("keepdims", 0L))], hint + "/known", Attr("to", (long)TensorProto.Types.DataType.Bool));
        return g.Node("Where", [known, ids, g.Int64(unknown)], hint);                                           // (N, T)
    }

    /// <summary>
    /// Writes the nodes of a model (one member) or an ensemble (several, probabilities averaged) into a graph whose
    /// initializers are in place; inputs, token texts, row metrics and attention outputs are written once.
    /// </summary>
    private static void WriteGraph(OnnxGraphBuilder g, NextCharacterModelInfo info, IReadOnlyList<TransformerModelConfig> members, OnnxExportOptions options)
    {
        var f32 = TensorProto.Types.DataType.Float;
        var writers = members.Select((cfg, i) => new GraphWriter(g, info, cfg, MemberPrefix(i), options)).ToArray();
        var first = writers[0];
        var (tokens, source) = first.Inputs();
        bool positions = options.IncludePositionProbabilities || options.IncludeTokenText || options.IncludeRowMetrics;
        var outputs = writers.Select(w => w.Body(tokens, source, positions)).ToArray();
        long v = info.Architecture.VocabSize;
        string nextScores, positionScores = "", logProbs = "";
        if (writers.Length == 1)
        {
            // One model: softmax of its logits; the ranks (argmax, top-k) read the logits, the metrics their log-softmax.
            nextScores = outputs[0].NextLogits;
            g.NodeTo(OnnxNames.NextTokenProbabilities, "Softmax", [nextScores], Attr("axis", -1L));
            if (positions)
            {
                positionScores = outputs[0].Logits!;
                if (options.IncludePositionProbabilities)
                {
                    g.NodeTo(OnnxNames.Probabilities, "Softmax", [positionScores], Attr("axis", -1L));
                }

                if (options.IncludeRowMetrics)
                {
                    logProbs = g.Node("LogSoftmax", [positionScores], "log_probs", Attr("axis", -1L));
                }
            }
        }
        else
        {
            // An ensemble: the mean of the members' probabilities, which the ranks and the metrics read.
            string Mean(string[] logits, string hint) =>
                g.Node("Mean", [.. logits.Select((l, i) => g.Node("Softmax", [l], $"{hint}_{i}", Attr("axis", -1L)))], hint);
            nextScores = Mean([.. outputs.Select(o => o.NextLogits)], "next_member_probabilities");
            g.NodeTo(OnnxNames.NextTokenProbabilities, "Identity", [nextScores]);
            if (positions)
            {
                positionScores = Mean([.. outputs.Select(o => o.Logits!)], "member_probabilities");
                if (options.IncludePositionProbabilities)
                {
                    g.NodeTo(OnnxNames.Probabilities, "Identity", [positionScores]);
                }

                if (options.IncludeRowMetrics)
                {
                    logProbs = g.Node("Log", [positionScores], "log_probs");
                }
            }
        }

        object n = options.BatchOfOne ? 1 : "N";
        g.Output(OnnxNames.NextTokenProbabilities, f32, n, v);
        if (options.BatchOfOne)
        {
            g.NodeTo(OnnxNames.Score, "Reshape", [OnnxNames.NextTokenProbabilities, g.Int64Vector(v)]);
            g.Output(OnnxNames.Score, f32, v);
        }
        if (options.IncludePositionProbabilities)
        {
            g.Output(OnnxNames.Probabilities, f32, n, "T", v);
        }

        if (options.IncludeTokenText)
        {
            first.TokenText(tokens, nextScores, positionScores);
        }

        if (options.IncludeRowMetrics)
        {
            first.RowMetrics(tokens, logProbs, positionScores);
        }

        if (options.IncludeAttention)
        {
            first.AttentionOutputs();
        }
    }

    /// <summary>Writes the nodes of one model (an ensemble member: its initializers carry <paramref name="prefix"/>).</summary>
    private sealed class GraphWriter(OnnxGraphBuilder g, NextCharacterModelInfo info, TransformerModelConfig cfg, string prefix, OnnxExportOptions options)
    {
        private const long Int64Type = (long)TensorProto.Types.DataType.Int64;
        private readonly TransformerModelConfig _cfg = cfg;
        private readonly List<string> _selfProbs = [];
        private readonly List<string> _encProbs = [];
        private readonly List<string> _crossProbs = [];
        private readonly HashSet<string> _pastInputs = new(StringComparer.Ordinal);
        private string? _sourceIds;   // (N, S) ids of a source input
        private string? _past;        // [1] = P, the cached length (key/value-cache graphs)
        private string? _total;       // [1] = P + T

        private long E => _cfg.ModelDim;

        private long H => _cfg.Heads;

        /// <summary>The graph inputs: (N, T) decoder ids and, for a model with a source column, (N, S) source ids.</summary>
        public (string Tokens, string? Source) Inputs()
        {
            var i64 = TensorProto.Types.DataType.Int64;
            bool codePoints = options.Input == OnnxInput.CodePoints;
            string tokens = codePoints
                ? Lookup(g.Input(OnnxNames.CodePoints, i64, N, "T"), info.Vocabulary, "ids")
                : g.Input(OnnxNames.Tokens, i64, N, "T");                           // (N, T)
            if (info.HasSource)
            {
                _sourceIds = codePoints
                    ? Lookup(g.Input(OnnxNames.SourceCodePoints, i64, N, "S"), info.SourceVocabulary!, "source_ids")
                    : g.Input(OnnxNames.Source, i64, N, "S");                       // (N, S)
            }

            return (tokens, _sourceIds);
        }

        /// <summary>
        /// The model on the inputs: the logits at each row's last non-PAD position (N, V) and, when
        /// <paramref name="positions"/>, at every position (N, T, V); the attention probabilities are kept for
        /// <see cref="AttentionOutputs"/>.
        /// </summary>
        public (string NextLogits, string? Logits) Body(string tokens, string? sourceIds, bool positions)
        {
            if (options.KeyValueCache)
            {
                return (CachedBody(tokens, sourceIds), null);
            }

            string h;
            string tVec = Dim(tokens, 1);                                            // [1] = T
            var selfVisible = Visible(tokens, tVec, causal: true);                  // [N, 1, T, T]
            if (!info.IsEncoderDecoder)
            {
                string x = Embed(tokens, prefix + "tok_emb.weight", tVec);          // (N, T, E)
                for (int i = 0; i < _cfg.Layers; i++)
                {
                    x = EncoderLayer(x, $"{prefix}layers.{i}", selfVisible, _selfProbs);
                }

                h = _cfg.NormFirst ? LayerNorm(x, prefix + "norm") : x;
            }
            else
            {
                string source = sourceIds ?? tokens;
                string sVec = sourceIds is not null ? Dim(source, 1) : tVec;        // [1] = S
                var encVisible = Visible(source, sVec, _cfg.CausalEncoder);         // [N, 1, S, S] or [N, 1, 1, S]
                var crossVisible = CrossVisible(source, tVec, sVec);                // [N, 1, T, S] or [N, 1, 1, S]
                string mem = Embed(source, prefix + "src_emb.weight", sVec);        // (N, S, E)
                for (int i = 0; i < _cfg.EncoderLayers; i++)
                {
                    mem = EncoderLayer(mem, $"{prefix}encoder.layers.{i}", encVisible, _encProbs);
                }

                if (_cfg.NormFirst)
                {
                    mem = LayerNorm(mem, prefix + "encoder.norm");
                }

                string y = Embed(tokens, prefix + "tgt_emb.weight", tVec);          // (N, T, E)
                for (int i = 0; i < _cfg.Layers; i++)
                {
                    y = DecoderLayer(y, mem, $"{prefix}decoder.layers.{i}", selfVisible, crossVisible);
                }

                h = _cfg.NormFirst ? LayerNorm(y, prefix + "decoder.norm") : y;
            }

            // next-token logits: the hidden state at each row's last non-PAD position, then lm_head.
            string last = LastPosition(tokens, h);                                  // (N, E)
            string nextLogits = Linear(last, prefix + "lm_head");                   // (N, V)
            return (nextLogits, positions ? Linear(h, prefix + "lm_head") : null);  // (N, T, V)
        }

        /// <summary>
        /// The model on T new tokens at positions P to P + T - 1, reading and extending the key/value caches: the
        /// next-token logits after the last new token (N, V). Nothing is PAD, so the masks are causal only.
        /// </summary>
        private string CachedBody(string tokens, string? sourceIds)
        {
            string first = info.IsEncoderDecoder ? $"{prefix}decoder.layers.0.self_attn" : $"{prefix}layers.0.self_attn";
            string tVec = Dim(tokens, 1);                                            // [1] = T
            _past = g.Node("Shape", [Past(OnnxNames.PastKey(first))], "past_length", Attr("start", 2L), Attr("end", 3L)); // [1] = P
            _total = g.Node("Add", [_past, tVec], "total_length");                    // [1] = P + T
            string queries = RangeBetween(_past, _total);                             // P .. P + T - 1
            string selfVisible = Causal(queries, RangeBetween(g.Int64Vector(0), _total)); // [T, P + T]
            string h;
            if (!info.IsEncoderDecoder)
            {
                string x = Embed(tokens, prefix + "tok_emb.weight", tVec, _past);
                for (int i = 0; i < _cfg.Layers; i++)
                {
                    x = EncoderLayer(x, $"{prefix}layers.{i}", selfVisible, _selfProbs);
                }

                h = _cfg.NormFirst ? LayerNorm(x, prefix + "norm") : x;
            }
            else
            {
                string mem, crossVisible;
                if (sourceIds is not null)
                {
                    // A source column: the whole source at every call, as the uncached graph reads it.
                    string sVec = Dim(sourceIds, 1);
                    string encVisible = Visible(sourceIds, sVec, _cfg.CausalEncoder);
                    mem = Embed(sourceIds, prefix + "src_emb.weight", sVec);
                    for (int i = 0; i < _cfg.EncoderLayers; i++)
                    {
                        mem = EncoderLayer(mem, $"{prefix}encoder.layers.{i}", encVisible, _encProbs, cached: false);
                    }

                    string keys = g.Node("Unsqueeze", [KeyValid(sourceIds), g.Int64Vector(1, 2)], "cross_key_valid4"); // (N, 1, 1, S)
                    crossVisible = _cfg.CausalCross ? g.Node("And", [keys, Causal(queries, Range(sVec))], "cross_visible") : keys;
                }
                else
                {
                    // Its own tokens through a causal encoder: the memory of the new positions, the earlier ones cached.
                    mem = Embed(tokens, prefix + "src_emb.weight", tVec, _past);
                    for (int i = 0; i < _cfg.EncoderLayers; i++)
                    {
                        mem = EncoderLayer(mem, $"{prefix}encoder.layers.{i}", selfVisible, _encProbs);
                    }

                    crossVisible = selfVisible;
                }

                if (_cfg.NormFirst)
                {
                    mem = LayerNorm(mem, prefix + "encoder.norm");
                }

                string y = Embed(tokens, prefix + "tgt_emb.weight", tVec, _past);
                for (int i = 0; i < _cfg.Layers; i++)
                {
                    y = DecoderLayer(y, mem, $"{prefix}decoder.layers.{i}", selfVisible, crossVisible, cachedMemory: sourceIds is null);
                }

                h = _cfg.NormFirst ? LayerNorm(y, prefix + "decoder.norm") : y;
            }

            string last = g.Node("Slice", [h, g.Int64Vector(-1), g.Int64Vector(long.MaxValue), g.Int64Vector(1)], "last_new"); // (N, 1, E)
            return Linear(g.Node("Squeeze", [last, g.Int64Vector(1)], "last"), prefix + "lm_head");                              // (N, V)
        }

        /// <summary>Declares (once) the cache input <paramref name="name"/> [N, H, P, D].</summary>
        private string Past(string name)
        {
            if (_pastInputs.Add(name))
            {
                g.Input(name, TensorProto.Types.DataType.Float, N, H, "P", E / H);
            }

            return name;
        }

        /// <summary>
        /// Heads (N, H, T, D) of the new positions appended to the cache of <paramref name="module"/>'s
        /// <paramref name="part"/> ("key" or "value"): the present output (N, H, P + T, D).
        /// </summary>
        private string Extend(string module, string part, string heads)
        {
            string past = Past(part == "key" ? OnnxNames.PastKey(module) : OnnxNames.PastValue(module));
            string present = part == "key" ? OnnxNames.PresentKey(module) : OnnxNames.PresentValue(module);
            g.NodeTo(present, "Concat", [past, heads], Attr("axis", 2L));
            g.Output(present, TensorProto.Types.DataType.Float, N, H, "P_plus_T", E / H);
            return present;
        }

        /// <summary>The attention outputs: every layer and head of this model.</summary>
        public void AttentionOutputs()
        {
            var f32 = TensorProto.Types.DataType.Float;
            StackLayers(OnnxNames.Attention, _selfProbs);                           // (N, L, H, T, T)
            g.Output(OnnxNames.Attention, f32, N, _cfg.Layers, H, "T", "T");
            if (info.IsEncoderDecoder)
            {
                string s = info.HasSource ? "S" : "T";
                StackLayers(OnnxNames.EncoderAttention, _encProbs);                 // (N, L_enc, H, S, S)
                g.Output(OnnxNames.EncoderAttention, f32, N, _cfg.EncoderLayers, H, s, s);
                StackLayers(OnnxNames.CrossAttention, _crossProbs);                 // (N, L, H, T, S)
                g.Output(OnnxNames.CrossAttention, f32, N, _cfg.Layers, H, "T", s);
            }
        }

        /// <summary>The batch dimension: 1 or the symbolic N.</summary>
        private object N => options.BatchOfOne ? 1 : "N";

        // ------------------------------------------------------------ code points, token text, row metrics

        /// <summary>(N, T) code points -> ids (see <see cref="VocabularyLookup"/>); rows longer than MaxLength are cut to it.</summary>
        private string Lookup(string codePoints, IReadOnlyList<string> vocabulary, string hint)
        {
            string cut = g.Node("Slice", [codePoints, g.Int64Vector(0), g.Int64Vector(_cfg.MaxLength), g.Int64Vector(1)], hint + "/cut"); // (N, T')
            return VocabularyLookup(g, cut, vocabulary, info.BosId, info.EosId, info.PadId, info.UnkId, hint);
        }

        /// <summary>
        /// The predicted next token, the input tokens and the teacher-forced predictions as text; the predictions are
        /// the argmax of <paramref name="nextScores"/> (N, V) and <paramref name="scores"/> (N, T), logits or probabilities.
        /// </summary>
        public void TokenText(string tokens, string nextScores, string scores)
        {
            var str = TensorProto.Types.DataType.String;
            string vocab = g.StringInitializer("vocabulary", info.Vocabulary);
            string next = g.Node("ArgMax", [nextScores], "next_id", Attr("axis", -1L), Attr("keepdims", 0L));      // (N)
            g.NodeTo(OnnxNames.PredictedToken, "Gather", [vocab, next], Attr("axis", 0L));
            g.Output(OnnxNames.PredictedToken, str, N);
            g.NodeTo(OnnxNames.InputTokens, "Gather", [vocab, tokens], Attr("axis", 0L));
            g.Output(OnnxNames.InputTokens, str, N, "T");
            string predicted = g.Node("ArgMax", [scores], "predicted_ids", Attr("axis", -1L), Attr("keepdims", 0L)); // (N, T)
            g.NodeTo(OnnxNames.PredictedTokens, "Gather", [vocab, predicted], Attr("axis", 0L));
            g.Output(OnnxNames.PredictedTokens, str, N, "T");
            if (_sourceIds is not null)
            {
                string sourceVocab = g.StringInitializer("source_vocabulary", info.SourceVocabulary!);
                g.NodeTo(OnnxNames.SourceTokens, "Gather", [sourceVocab, _sourceIds], Attr("axis", 0L));
                g.Output(OnnxNames.SourceTokens, str, N, "S");
            }
        }

        /// <summary>
        /// Teacher-forced metrics per row: targets are the next id at each position and EOS after the last non-PAD
        /// position; padded positions are ignored. <paramref name="logProbs"/> (N, T, V) gives the log-loss,
        /// <paramref name="scores"/> (N, T, V) (logits or probabilities) the ranks.
        /// </summary>
        public void RowMetrics(string tokens, string logProbs, string scores)
        {
            string tVec = Dim(tokens, 1);
            var f32 = TensorProto.Types.DataType.Float;
            var i64 = TensorProto.Types.DataType.Int64;
            string length = RowLength(tokens);                                                                      // (N)
            string positions = g.Node("Unsqueeze", [Range(tVec), g.Int64Vector(0)], "positions_row");              // (1, T)
            string lengthCol = g.Node("Unsqueeze", [length, g.Int64Vector(1)], "length_col");                       // (N, 1)
            string valid = g.Node("Less", [positions, lengthCol], "target_valid");                                 // (N, T)
            string isLast = g.Node("Equal", [positions, g.Node("Sub", [lengthCol, g.Int64(1)], "last_col")], "is_last"); // (N, T)
            string next = g.Node("Slice", [tokens, g.Int64Vector(1), g.Int64Vector(long.MaxValue), g.Int64Vector(1)], "next_ids"); // (N, T-1)
            string padColumn = g.Node("Expand", [g.Int64(_cfg.PadId), g.Node("Concat", [Dim(tokens, 0), g.Int64Vector(1)], "pad_shape", Attr("axis", 0L))], "pad_col"); // (N, 1)
            string shifted = g.Node("Concat", [next, padColumn], "shifted", Attr("axis", 1L));                      // (N, T)
            string targets = g.Node("Where", [isLast, g.Int64(info.EosId), shifted], "targets");                    // (N, T)
            string target3 = g.Node("Unsqueeze", [targets, g.Int64Vector(-1)], "targets3");                        // (N, T, 1)

            string picked = g.Node("Squeeze", [g.Node("GatherElements", [logProbs, target3], "target_logp3", Attr("axis", -1L)), g.Int64Vector(-1)], "target_logp"); // (N, T)
            string nll = g.Node("Where", [valid, g.Node("Neg", [picked], "nll_all"), g.Float(0f)], "nll");         // (N, T)
            string count = g.Node("Cast", [length], "length_f", Attr("to", (long)f32));
            string sum = g.Node("ReduceSum", [nll, g.Int64Vector(1)], "nll_sum", Attr("keepdims", 0L));            // (N)
            g.NodeTo(OnnxNames.RowLogLoss, "Div", [sum, g.Node("Max", [count, g.Float(1f)], "length_at_least_1")]);
            g.Output(OnnxNames.RowLogLoss, f32, N);
            g.NodeTo(OnnxNames.RowTokenCount, "Identity", [length]);
            g.Output(OnnxNames.RowTokenCount, i64, N);

            string argmax = g.Node("ArgMax", [scores], "argmax", Attr("axis", -1L), Attr("keepdims", 0L));         // (N, T)
            string right = g.Node("And", [valid, g.Node("Equal", [argmax, targets], "argmax_hit")], "right");
            g.NodeTo(OnnxNames.RowCorrect, "ReduceSum", [g.Node("Cast", [right], "right_i64", Attr("to", Int64Type)), g.Int64Vector(1)], Attr("keepdims", 0L));
            g.Output(OnnxNames.RowCorrect, i64, N);

            long k = Math.Min(TopK, _cfg.VocabSize);
            string[] top = g.NodeN("TopK", [scores, g.Int64Vector(k)], 2, "top_k", Attr("axis", -1L));            // (N, T, k)
            string inTop = g.Node("Cast", [g.Node("Equal", [top[1], target3], "top_hit")], "top_hit_i64", Attr("to", Int64Type));
            string anyTop = g.Node("Cast", [g.Node("ReduceMax", [inTop], "top_any", Ints("axes", -1L), Attr("keepdims", 0L))], "top_any_bool", Attr("to", (long)TensorProto.Types.DataType.Bool));
            string topRight = g.Node("And", [valid, anyTop], "top_right");
            g.NodeTo(OnnxNames.RowTopKCorrect, "ReduceSum", [g.Node("Cast", [topRight], "top_right_i64", Attr("to", Int64Type)), g.Int64Vector(1)], Attr("keepdims", 0L));
            g.Output(OnnxNames.RowTopKCorrect, i64, N);
        }

        /// <summary>(N) int64: non-PAD ids per row.</summary>
        private string RowLength(string tokens) =>
            g.Node("ReduceSum", [g.Node("Cast", [KeyValid(tokens)], "valid_i64", Attr("to", Int64Type)), g.Int64Vector(1)], "row_length", Attr("keepdims", 0L));

        // ------------------------------------------------------------ shapes and masks

        /// <summary>[1] int64 holding dimension <paramref name="axis"/> of <paramref name="x"/>.</summary>
        private string Dim(string x, long axis) =>
            g.Node("Shape", [x], "shape", Attr("start", axis), Attr("end", axis + 1));

        /// <summary>int64 [n] = 0, 1, ..., n - 1 for a [1] tensor holding n.</summary>
        private string Range(string nVec)
        {
            string n = g.Node("Squeeze", [nVec, g.Int64Vector(0)], "len");
            return g.Node("Range", [g.Int64(0), n, g.Int64(1)], "range");
        }

        /// <summary>int64 [end - start] = start, ..., end - 1 for [1] tensors holding start and end.</summary>
        private string RangeBetween(string startVec, string endVec) =>
            g.Node("Range", [g.Node("Squeeze", [startVec, g.Int64Vector(0)], "start"), g.Node("Squeeze", [endVec, g.Int64Vector(0)], "end"), g.Int64(1)], "range");

        /// <summary>bool [N, S]: key s of row n is not PAD.</summary>
        private string KeyValid(string ids) =>
            g.Node("Not", [g.Node("Equal", [ids, g.Int64(_cfg.PadId)], "is_pad")], "key_valid");

        /// <summary>bool [N, 1, Q, K] (causal) or [N, 1, 1, K]: which keys each query may attend.</summary>
        private string Visible(string keyIds, string lengthVec, bool causal)
        {
            string keys = g.Node("Unsqueeze", [KeyValid(keyIds), g.Int64Vector(1, 2)], "key_valid4");     // (N, 1, 1, K)
            if (!causal)
            {
                return keys;
            }

            string r = Range(lengthVec);
            string causalMask = Causal(r, r);                                                           // (K, K)
            return g.Node("And", [keys, causalMask], "visible");                                        // (N, 1, K, K)
        }

        /// <summary>Cross-attention visibility: PAD keys hidden; with CausalCross, query t sees memory s &lt;= t.</summary>
        private string CrossVisible(string sourceIds, string tVec, string sVec)
        {
            string keys = g.Node("Unsqueeze", [KeyValid(sourceIds), g.Int64Vector(1, 2)], "cross_key_valid4");
            if (!_cfg.CausalCross)
            {
                return keys;                                                                            // (N, 1, 1, S)
            }

            return g.Node("And", [keys, Causal(Range(tVec), Range(sVec))], "cross_visible");            // (N, 1, T, S)
        }

        /// <summary>bool [Q, K]: k &lt;= q.</summary>
        private string Causal(string queryRange, string keyRange)
        {
            string q = g.Node("Unsqueeze", [queryRange, g.Int64Vector(1)], "query_index");               // (Q, 1)
            return g.Node("LessOrEqual", [keyRange, q], "causal");                                       // (Q, K)
        }

        // ------------------------------------------------------------ layers

        /// <summary>Token embeddings plus the positional table's rows from <paramref name="startVec"/> (default 0).</summary>
        private string Embed(string ids, string table, string lengthVec, string? startVec = null)
        {
            string hint = table[..table.LastIndexOf('.')];                                              // tok_emb, ensemble.1.tok_emb
            string emb = g.Node("Gather", [table, ids], hint, Attr("axis", 0L));                         // (N, T, E)
            string end = startVec is null ? lengthVec : g.Node("Add", [startVec, lengthVec], prefix + "positions_end");
            string pe = g.Node("Slice", [prefix + PositionalEncodingName, startVec ?? g.Int64Vector(0), end, g.Int64Vector(0)], prefix + "positions"); // (T, E)
            return g.Node("Add", [emb, pe], hint + "_pos");                                              // (N, T, E)
        }

        private string Linear(string x, string prefix) => LinearW(x, prefix + ".weight", prefix + ".bias", prefix);

        /// <summary>x W^T + b, W [out, in] as PyTorch stores it.</summary>
        private string LinearW(string x, string weight, string bias, string hint)
        {
            string wt = g.Node("Transpose", [weight], hint + "/weight_t", Ints("perm", 1L, 0L));       // (in, out)
            string y = g.Node("MatMul", [x, wt], hint + "/matmul");
            return g.Node("Add", [y, bias], hint);
        }

        private string LayerNorm(string x, string prefix) =>
            g.Node("LayerNormalization", [x, prefix + ".weight", prefix + ".bias"], prefix,
                Attr("axis", -1L), Attr("epsilon", _cfg.LayerNormEps));

        private string Activation(string x, string hint)
        {
            if (_cfg.Activation == Engine.Activation.Relu)
            {
                return g.Node("Relu", [x], hint);
            }

            // exact GELU: 0.5 x (1 + erf(x / sqrt 2)) (Hendrycks and Gimpel 2016), as torch.nn.functional.gelu
            string erf = g.Node("Erf", [g.Node("Mul", [x, g.Float((float)(1.0 / Math.Sqrt(2.0)))], hint + "/scaled")], hint + "/erf");
            string onePlus = g.Node("Add", [erf, g.Float(1f)], hint + "/one_plus");
            return g.Node("Mul", [g.Node("Mul", [x, g.Float(0.5f)], hint + "/half"), onePlus], hint);
        }

        private string FeedForward(string x, string prefix) =>
            Linear(Activation(Linear(x, prefix + ".linear1"), prefix + "/activation"), prefix + ".linear2");

        /// <summary>nn.TransformerEncoderLayer (also the decoder-only model's block): self-attention + feed-forward.</summary>
        private string EncoderLayer(string x, string prefix, string visible, List<string> probs, bool cached = true)
        {
            if (!_cfg.NormFirst)
            {
                string h = LayerNorm(Add(x, SelfAttention(x, prefix + ".self_attn", visible, probs, cached)), prefix + ".norm1");
                return LayerNorm(Add(h, FeedForward(h, prefix)), prefix + ".norm2");
            }

            string h1 = Add(x, SelfAttention(LayerNorm(x, prefix + ".norm1"), prefix + ".self_attn", visible, probs, cached));
            return Add(h1, FeedForward(LayerNorm(h1, prefix + ".norm2"), prefix));
        }

        /// <summary>nn.TransformerDecoderLayer: causal self-attention, cross-attention to the memory, feed-forward.</summary>
        private string DecoderLayer(string y, string mem, string prefix, string selfVisible, string crossVisible, bool cachedMemory = false)
        {
            if (!_cfg.NormFirst)
            {
                string h1 = LayerNorm(Add(y, SelfAttention(y, prefix + ".self_attn", selfVisible, _selfProbs)), prefix + ".norm1");
                string h2 = LayerNorm(Add(h1, CrossAttention(h1, mem, prefix + ".multihead_attn", crossVisible, cachedMemory)), prefix + ".norm2");
                return LayerNorm(Add(h2, FeedForward(h2, prefix)), prefix + ".norm3");
            }

            string a1 = Add(y, SelfAttention(LayerNorm(y, prefix + ".norm1"), prefix + ".self_attn", selfVisible, _selfProbs));
            string a2 = Add(a1, CrossAttention(LayerNorm(a1, prefix + ".norm2"), mem, prefix + ".multihead_attn", crossVisible, cachedMemory));
            return Add(a2, FeedForward(LayerNorm(a2, prefix + ".norm3"), prefix));
        }

        private string Add(string a, string b) => g.Node("Add", [a, b], "residual");

        /// <summary>
        /// nn.MultiheadAttention with query = key = value = x: one packed projection, split in three. In a
        /// key/value-cache graph (unless <paramref name="cached"/> is false) the keys and values extend the cache.
        /// </summary>
        private string SelfAttention(string x, string prefix, string visible, List<string> probs, bool cached = true)
        {
            string qkv = LinearW(x, prefix + ".in_proj_weight", prefix + ".in_proj_bias", prefix + "/in_proj");  // (N, T, 3E)
            string[] parts = g.NodeN("Split", [qkv, g.Int64Vector(E, E, E)], 3, prefix + "/qkv", Attr("axis", -1L));
            if (options.KeyValueCache && cached)
            {
                return AttendHeads(Heads(parts[0], prefix + "/q"), Extend(prefix, "key", Heads(parts[1], prefix + "/k")), Extend(prefix, "value", Heads(parts[2], prefix + "/v")), prefix, visible, probs);
            }

            return Attend(parts[0], parts[1], parts[2], prefix, visible, probs);
        }

        /// <summary>nn.MultiheadAttention with query y and key = value = mem: W_q from the first E rows, W_k and W_v from the rest.</summary>
        private string CrossAttention(string y, string mem, string prefix, string visible, bool cachedMemory)
        {
            string w = prefix + ".in_proj_weight", b = prefix + ".in_proj_bias";
            string wq = g.Node("Slice", [w, g.Int64Vector(0), g.Int64Vector(E), g.Int64Vector(0)], prefix + "/w_q");       // (E, E)
            string bq = g.Node("Slice", [b, g.Int64Vector(0), g.Int64Vector(E), g.Int64Vector(0)], prefix + "/b_q");       // (E)
            string wkv = g.Node("Slice", [w, g.Int64Vector(E), g.Int64Vector(3 * E), g.Int64Vector(0)], prefix + "/w_kv"); // (2E, E)
            string bkv = g.Node("Slice", [b, g.Int64Vector(E), g.Int64Vector(3 * E), g.Int64Vector(0)], prefix + "/b_kv"); // (2E)
            string q = LinearW(y, wq, bq, prefix + "/q_proj");                                                       // (N, T, E)
            string kv = LinearW(mem, wkv, bkv, prefix + "/kv_proj");                                                 // (N, S, 2E)
            string[] parts = g.NodeN("Split", [kv, g.Int64Vector(E, E)], 2, prefix + "/kv", Attr("axis", -1L));
            if (options.KeyValueCache && cachedMemory)
            {
                // The memory of the new positions only: the earlier positions' keys and values are cached.
                return AttendHeads(Heads(q, prefix + "/q"), Extend(prefix, "key", Heads(parts[0], prefix + "/k")), Extend(prefix, "value", Heads(parts[1], prefix + "/v")), prefix, visible, _crossProbs);
            }

            return Attend(q, parts[0], parts[1], prefix, visible, _crossProbs);
        }

        /// <summary>(N, T, E) -> (N, H, T, D).</summary>
        private string Heads(string x, string hint) =>
            g.Node("Transpose", [g.Node("Reshape", [x, g.Int64Vector(0, 0, H, E / H)], hint + "_heads")], hint + "_t", Ints("perm", 0L, 2L, 1L, 3L));

        /// <summary>Scaled dot-product attention over H heads and the output projection; rows with no visible key give 0.</summary>
        private string Attend(string q, string k, string v, string prefix, string visible, List<string> probs)
        {
            string qh = Heads(q, prefix + "/q");                                                                     // (N, H, T, D)
            string kh = g.Node("Transpose", [g.Node("Reshape", [k, g.Int64Vector(0, 0, H, E / H)], prefix + "/k_heads")], prefix + "/k_t", Ints("perm", 0L, 2L, 3L, 1L)); // (N, H, D, S)
            return AttendHeads(qh, kh, Heads(v, prefix + "/v"), prefix, visible, probs, keysTransposed: true);
        }

        /// <summary>
        /// Attention on heads: q (N, H, T, D), k (N, H, S, D), or (N, H, D, S) when <paramref name="keysTransposed"/>,
        /// v (N, H, S, D).
        /// </summary>
        private string AttendHeads(string qh, string k, string vh, string prefix, string visible, List<string> probs, bool keysTransposed = false)
        {
            long d = E / H;
            string kh = keysTransposed ? k : g.Node("Transpose", [k], prefix + "/k_t", Ints("perm", 0L, 1L, 3L, 2L)); // (N, H, D, S)
            string qs = g.Node("Mul", [qh, g.Float((float)(1.0 / Math.Sqrt(d)))], prefix + "/q_scaled");
            string scores = g.Node("MatMul", [qs, kh], prefix + "/scores");                                          // (N, H, T, S)
            string masked = g.Node("Where", [visible, scores, g.Float(float.NegativeInfinity)], prefix + "/masked");
            string soft = g.Node("Softmax", [masked], prefix + "/softmax", Attr("axis", -1L));
            string p = g.Node("Where", [visible, soft, g.Float(0f)], prefix + "/probs");                            // (N, H, T, S)
            probs.Add(p);
            string ctx = g.Node("MatMul", [p, vh], prefix + "/context");                                              // (N, H, T, D)
            string merged = g.Node("Reshape", [g.Node("Transpose", [ctx], prefix + "/context_t", Ints("perm", 0L, 2L, 1L, 3L)), g.Int64Vector(0, 0, E)], prefix + "/merged"); // (N, T, E)
            return Linear(merged, prefix + ".out_proj");
        }

        /// <summary>(N, E): h at each row's last non-PAD position (position 0 for a row of PAD only).</summary>
        private string LastPosition(string tokens, string h)
        {
            string index = g.Node("Max", [g.Node("Sub", [RowLength(tokens), g.Int64(1)], "last_index_raw"), g.Int64(0)], "last_index"); // (N)
            string index3 = g.Node("Unsqueeze", [index, g.Int64Vector(1, 2)], "last_index3");                     // (N, 1, 1)
            string shape = g.Node("Concat", [Dim(tokens, 0), g.Int64Vector(1, E)], "last_shape", Attr("axis", 0L)); // [N, 1, E]
            string gathered = g.Node("GatherElements", [h, g.Node("Expand", [index3, shape], "last_index_e")], "last_hidden", Attr("axis", 1L)); // (N, 1, E)
            return g.Node("Squeeze", [gathered, g.Int64Vector(1)], "last");                                       // (N, E)
        }

        /// <summary>Per-layer (N, H, Q, K) probabilities stacked into the named output (N, L, H, Q, K).</summary>
        private void StackLayers(string output, List<string> perLayer)
        {
            var expanded = perLayer.Select(p => g.Node("Unsqueeze", [p, g.Int64Vector(1)], output + "_layer")).ToArray();
            g.NodeTo(output, "Concat", expanded, Attr("axis", 1L));
        }
    }
}
