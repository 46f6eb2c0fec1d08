// Reads an exported model back: the ONNX protobuf, its metadata (architecture, vocabularies, special ids) and the
// weights by PyTorch state-dict name, checking each against the others. Every problem is an OnnxModelFormatException
// naming the file and the field.
using Google.Protobuf;
using MLNet.Transformer.Engine;
using MLNet.Transformer.LanguageModeling;
using Onnx;

namespace MLNet.Transformer.Onnx;

/// <summary>An ONNX file that is not a readable MLNet.Transformer export.</summary>
public sealed class OnnxModelFormatException : ModelFormatException
{
    /// <summary>Creates the exception.</summary>
    public OnnxModelFormatException() { }

    /// <summary>Creates the exception.</summary>
    public OnnxModelFormatException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public OnnxModelFormatException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for <paramref name="field"/> of <paramref name="source"/>.</summary>
    public OnnxModelFormatException(string message, string source, string field, Exception? innerException = null)
        : base($"{source}: {message}", field, innerException)
    {
        FilePath = source;
        Field = field;
    }

    /// <summary>The file (or stream description) read.</summary>
    public string? FilePath { get; }

    /// <summary>The protobuf field, metadata key or initializer at fault (e.g. <c>graph.initializer[lm_head.weight]</c>).</summary>
    public string? Field { get; }
}

/// <summary>One model of an export: its description and its weights by PyTorch state-dict name, row-major.</summary>
/// <param name="Info">Architecture, vocabularies and special ids (the members of an ensemble differ only in architecture).</param>
/// <param name="State">Every state tensor by PyTorch name (<see cref="StateLayout.For"/> order).</param>
public sealed record OnnxModelMember(NextCharacterModelInfo Info, IReadOnlyDictionary<string, (long[] Shape, float[] Data)> State)
{
    /// <summary>Trainable parameters.</summary>
    public long ParameterCount => State.Values.Sum(t => t.Data.LongLength);
}

/// <summary>An exported model as read back: protobuf, description, opset and weights.</summary>
public sealed class OnnxModelFile
{
    private OnnxModelFile(ModelProto model, int opset, IReadOnlyList<OnnxModelMember> members)
    {
        Model = model;
        Info = members[0].Info;
        Opset = opset;
        State = members[0].State;
        Members = members;
    }

    /// <summary>The newest default-domain opset read (ONNX Runtime 1.31 implements it); the oldest is <see cref="OnnxExporter.Opset"/>.</summary>
    public const int MaxOpset = 21;

    /// <summary>The protobuf.</summary>
    public ModelProto Model { get; }

    /// <summary>Architecture, vocabularies and special ids from the metadata (member 0's, for an ensemble).</summary>
    public NextCharacterModelInfo Info { get; }

    /// <summary>The default-domain opset the file imports.</summary>
    public int Opset { get; }

    /// <summary>The weights by PyTorch state-dict name, row-major (<see cref="StateLayout.For"/> order); member 0's, for an ensemble.</summary>
    public IReadOnlyDictionary<string, (long[] Shape, float[] Data)> State { get; }

    /// <summary>The models the file averages: one, or the members of an ensemble (member 0 first).</summary>
    public IReadOnlyList<OnnxModelMember> Members { get; }

    /// <summary>True when the file averages several models.</summary>
    public bool IsEnsemble => Members.Count > 1;

    /// <summary>Trainable parameters over every member.</summary>
    public long ParameterCount => Members.Sum(m => m.ParameterCount);

    /// <summary>The graph's inputs as <c>name: type [dims]</c>, e.g. <c>tokens: int64 [N, T]</c>.</summary>
    public IReadOnlyList<string> Inputs => [.. Model.Graph.Input.Select(Describe)];

    /// <summary>The graph's outputs as <c>name: type [dims]</c>, e.g. <c>next_token_probabilities: float [N, 30]</c>.</summary>
    public IReadOnlyList<string> Outputs => [.. Model.Graph.Output.Select(Describe)];

    /// <summary>Reads an exported model from a file.</summary>
    /// <exception cref="OnnxModelFormatException">The file is missing, truncated, not ONNX, or not a consistent MLNet.Transformer export.</exception>
    public static OnnxModelFile Read(string path) => Read(ReadBytes(path), path);

    /// <summary>The bytes of a model file; an unreadable file is an <see cref="OnnxModelFormatException"/> naming it.</summary>
    internal static byte[] ReadBytes(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            long max = Math.Min(IO.ModelArchiveLimits.Default.MaxFileBytes, Array.MaxLength);
            if (stream.Length > max)
            {
                throw new OnnxModelFormatException($"is {stream.Length:N0} bytes; the limit is {max:N0} (ModelArchiveLimits.MaxFileBytes).", path, "file");
            }

            var bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
            return bytes;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OnnxModelFormatException($"cannot be read: {e.Message}", path, "file", e);
        }
    }

    /// <summary>True when <paramref name="bytes"/> parse as ONNX with this library's next-character metadata (nothing else is checked).</summary>
    public static bool IsNextCharacterModel(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return ModelProto.Parser.ParseFrom(bytes).MetadataProps.Any(p => p.Key == OnnxNames.ConfigKey);
        }
        catch (InvalidProtocolBufferException)
        {
            return false;
        }
    }

    /// <summary>Reads an exported model from its bytes; <paramref name="source"/> names them in errors.</summary>
    /// <exception cref="OnnxModelFormatException">The bytes are truncated, not ONNX, or not a consistent MLNet.Transformer export.</exception>
    public static OnnxModelFile Read(ReadOnlySpan<byte> bytes, string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        Exception Fail(string message, string field) => new OnnxModelFormatException(message, source, field);
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OnnxModelFormatException($"is not an ONNX model (truncated or not protobuf): {e.Message}", source, "ModelProto", e);
        }

        if (model.Graph is null || model.Graph.Node.Count == 0)
        {
            throw Fail("is not an ONNX model: it has no graph.", "graph");
        }

        int opset = ReadOpset(model, Fail);
        var (info, others) = OnnxMetadata.Read(model, Fail);
        var initializers = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var t in model.Graph.Initializer)
        {
            if (!initializers.TryAdd(t.Name, t))
            {
                throw Fail($"holds initializer '{t.Name}' twice.", $"graph.initializer[{t.Name}]");
            }
        }

        var members = new List<OnnxModelMember> { new(info, ReadState(initializers, "", StateLayout.For(info.Architecture), Fail)) };
        for (int i = 0; i < others.Count; i++)
        {
            string prefix = OnnxExporter.MemberPrefix(i + 1);
            members.Add(new(info with { Architecture = others[i] }, ReadState(initializers, prefix, StateLayout.For(others[i]), Fail)));
        }

        CheckOutputs(model, info, Fail);
        // Last, so that a structural problem is reported as such; any other change to the content fails here.
        OnnxContentHash.Verify(model, Fail);
        return new OnnxModelFile(model, opset, members);
    }

    /// <summary>
    /// The graph agrees with the metadata: the probability outputs end in the vocabulary's size, and the token tables the
    /// graph maps predictions through are the metadata's vocabularies (else a predicted token and its probability
    /// would name different characters).
    /// </summary>
    private static void CheckOutputs(ModelProto model, NextCharacterModelInfo info, Func<string, string, Exception> fail)
    {
        int vocab = info.Vocabulary.Count;
        foreach (var output in model.Graph.Output.Where(o => o.Name is OnnxNames.NextTokenProbabilities or OnnxNames.Probabilities))
        {
            var dims = output.Type?.TensorType?.Shape?.Dim;
            if (dims is { Count: > 0 } && dims[^1].HasDimValue && dims[^1].DimValue != vocab)
            {
                throw fail($"output '{output.Name}' has {dims[^1].DimValue} probabilities per position; the metadata's vocabulary has {vocab} tokens.", $"graph.output[{output.Name}]");
            }
        }

        foreach (var (name, expected) in new[] { ("vocabulary", info.Vocabulary), ("source_vocabulary", info.SourceVocabulary) })
        {
            var table = model.Graph.Initializer.FirstOrDefault(t => t.Name == name && t.DataType == (int)TensorProto.Types.DataType.String);
            if (table is null || expected is null)
            {
                continue;
            }

            if (!table.StringData.Select(b => b.ToStringUtf8()).SequenceEqual(expected, StringComparer.Ordinal))
            {
                throw fail($"the graph's token table '{name}' differs from the metadata's {name.Replace('_', ' ')}.", $"graph.initializer[{name}]");
            }
        }
    }

    private static string Describe(ValueInfoProto value)
    {
        var tensor = value.Type?.TensorType;
        if (tensor is null)
        {
            return value.Name;
        }

        string type = ((TensorProto.Types.DataType)tensor.ElemType).ToString().ToLowerInvariant();
        var dims = tensor.Shape?.Dim.Select(d => d.HasDimParam ? d.DimParam : d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture)) ?? [];
        return $"{value.Name}: {type} [{string.Join(", ", dims)}]";
    }

    private static int ReadOpset(ModelProto model, Func<string, string, Exception> fail)
    {
        var defaults = model.OpsetImport.Where(o => string.IsNullOrEmpty(o.Domain) || o.Domain == "ai.onnx").ToList();
        if (defaults.Count != 1)
        {
            throw fail($"imports the default ONNX domain {defaults.Count} times; an exported model imports it once.", "opset_import");
        }

        long version = defaults[0].Version;
        if (version < OnnxExporter.Opset || version > MaxOpset)
        {
            throw fail(
                $"uses opset {version}; this library reads opsets {OnnxExporter.Opset} to {MaxOpset}.",
                "opset_import");
        }

        return (int)version;
    }

    /// <summary>One member's weights: the initializers named <paramref name="prefix"/> + each state-dict name.</summary>
    private static Dictionary<string, (long[] Shape, float[] Data)> ReadState(
        Dictionary<string, TensorProto> byName, string prefix, IReadOnlyList<TensorInfo> layout, Func<string, string, Exception> fail)
    {
        var state = new Dictionary<string, (long[] Shape, float[] Data)>(StringComparer.Ordinal);
        foreach (var info in layout)
        {
            string name = prefix + info.Name;
            string field = $"graph.initializer[{name}]";
            if (!byName.TryGetValue(name, out var t))
            {
                throw fail($"has no initializer '{name}' {OnnxExporter.Dims(info.Shape)}, which its metadata's architecture declares.", field);
            }

            if (t.DataType != (int)TensorProto.Types.DataType.Float)
            {
                throw fail($"initializer '{name}' has data type {t.DataType}; weights are float32 (1).", field);
            }

            if (!t.Dims.SequenceEqual(info.Shape))
            {
                throw fail($"initializer '{name}' has shape {OnnxExporter.Dims(t.Dims)}; the metadata's architecture declares {OnnxExporter.Dims(info.Shape)}.", field);
            }

            float[] data;
            if (!t.RawData.IsEmpty)
            {
                if (t.RawData.Length != info.ElementCount * sizeof(float))
                {
                    throw fail($"initializer '{name}' holds {t.RawData.Length} bytes; shape {OnnxExporter.Dims(info.Shape)} needs {info.ElementCount * sizeof(float)}.", field);
                }

                data = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
            }
            else
            {
                if (t.FloatData.Count != info.ElementCount)
                {
                    throw fail($"initializer '{name}' holds {t.FloatData.Count} values; shape {OnnxExporter.Dims(info.Shape)} needs {info.ElementCount}.", field);
                }

                data = [.. t.FloatData];
            }

            state.Add(info.Name, ([.. info.Shape], data));
        }

        return state;
    }
}
