// Scores exported next-character models with ONNX Runtime: one InferenceSession per model, reused for every batch;
// each call fetches only the outputs it names. Needs no native training engine.
using MLNet.Transformer.LanguageModeling;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MLNet.Transformer.Onnx;

/// <summary>The outputs of one scoring call, by ONNX output name: shape and row-major values.</summary>
public sealed class OnnxScores
{
    private readonly Dictionary<string, (long[] Shape, Array Data)> _outputs;

    internal OnnxScores(Dictionary<string, (long[] Shape, Array Data)> outputs) => _outputs = outputs;

    /// <summary>The float output <paramref name="name"/> (one of <see cref="OnnxNames"/>).</summary>
    /// <exception cref="KeyNotFoundException">The output was not requested, or is not float.</exception>
    public (long[] Shape, float[] Data) this[string name] => Get<float>(name);

    /// <summary>The int64 output <paramref name="name"/> (the row counts: <see cref="OnnxNames.RowTokenCount"/>, ...).</summary>
    public (long[] Shape, long[] Data) Counts(string name) => Get<long>(name);

    /// <summary>The string output <paramref name="name"/> (the token texts).</summary>
    public (long[] Shape, string[] Data) Strings(string name) => Get<string>(name);

    /// <summary>Names of the outputs held.</summary>
    public IEnumerable<string> Names => _outputs.Keys;

    private (long[] Shape, T[] Data) Get<T>(string name) =>
        _outputs.TryGetValue(name, out var v) && v.Data is T[] data
            ? (v.Shape, data)
            : throw new KeyNotFoundException($"No {typeof(T).Name} output '{name}' was requested.");
}

/// <summary>Runs an exported model (see <see cref="OnnxExporter"/>) on batches of token ids through ONNX Runtime.</summary>
/// <remarks>Thread-safe: several threads may score with one instance. Only load models from trusted sources.</remarks>
public sealed class OnnxNextCharacterScorer : IDisposable
{
    private readonly InferenceSession _session;
    private readonly HashSet<string> _outputs;

    /// <summary>Creates a scorer over an exported model's bytes, checked first by <see cref="OnnxModelFile.Read(ReadOnlySpan{byte}, string)"/>.</summary>
    /// <param name="model">The ONNX bytes.</param>
    /// <param name="source">Names the bytes in errors (a file path, or a description).</param>
    /// <param name="intraOpThreads">ONNX Runtime's intra-op threads; 0 lets it choose (one per core).</param>
    /// <exception cref="OnnxModelFormatException">The bytes are not a consistent exported model, or ONNX Runtime cannot load the graph.</exception>
    public OnnxNextCharacterScorer(byte[] model, string source, int intraOpThreads = 1)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfNegative(intraOpThreads);
        var file = OnnxModelFile.Read(model, source);
        Info = file.Info;
        using var options = new SessionOptions { IntraOpNumThreads = intraOpThreads, InterOpNumThreads = 1 };
        try
        {
            _session = new InferenceSession(model, options);
        }
        catch (OnnxRuntimeException e)
        {
            // Metadata and weights agree, but the graph does not run (an unknown operator, a dropped node, a bad type).
            throw new OnnxModelFormatException($"ONNX Runtime cannot load the graph: {e.Message}", source, "graph", e);
        }

        _outputs = [.. _session.OutputMetadata.Keys];
        Input = _session.InputMetadata.ContainsKey(OnnxNames.CodePoints) ? OnnxInput.CodePoints : OnnxInput.TokenIds;
        HasSourceInput = _session.InputMetadata.ContainsKey(Input == OnnxInput.CodePoints ? OnnxNames.SourceCodePoints : OnnxNames.Source);
    }

    /// <summary>Whether the model reads token ids or code points.</summary>
    public OnnxInput Input { get; }

    /// <summary>Architecture, vocabularies and special ids of the model.</summary>
    public NextCharacterModelInfo Info { get; }

    /// <summary>The outputs the model offers.</summary>
    public IReadOnlyCollection<string> OutputNames => _outputs;

    /// <summary>True when the model takes a source input (<see cref="OnnxNames.Source"/> or <see cref="OnnxNames.SourceCodePoints"/>).</summary>
    public bool HasSourceInput { get; }

    /// <summary>Loads an exported model file.</summary>
    /// <exception cref="OnnxModelFormatException">The file is missing or not a consistent exported model.</exception>
    public static OnnxNextCharacterScorer Load(string path, int intraOpThreads = 1) =>
        new(OnnxModelFile.ReadBytes(path), path, intraOpThreads);

    /// <summary>Runs one padded batch and returns the requested outputs.</summary>
    /// <param name="tokens">(batch, length) decoder ids, row-major, right-padded with PAD; for a code-point model, code
    /// points and markers (<see cref="OnnxCodePoints"/>) right-padded with <see cref="OnnxCodePoints.Pad"/>.</param>
    /// <param name="batch">N.</param>
    /// <param name="length">T.</param>
    /// <param name="source">(batch, sourceLength) encoder ids when <see cref="HasSourceInput"/>, else empty.</param>
    /// <param name="sourceLength">S, or 0.</param>
    /// <param name="outputs">Output names (<see cref="OnnxNames"/>); ONNX Runtime computes only what they need.</param>
    /// <exception cref="ArgumentException">A size does not match, an id is out of range, or an output is unknown.</exception>
    public OnnxScores Run(long[] tokens, int batch, int length, long[]? source, int sourceLength, params string[] outputs)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(outputs);
        var cfg = Info.Architecture;
        bool ids = Input == OnnxInput.TokenIds;
        CheckIds(tokens, batch, length, ids ? cfg.VocabSize : -1, nameof(tokens));
        if (HasSourceInput)
        {
            ArgumentNullException.ThrowIfNull(source);
            CheckIds(source, batch, sourceLength, ids ? cfg.EffectiveSourceVocabSize : -1, nameof(source));
        }
        else if (source is not null && source.Length != 0)
        {
            throw new ArgumentException("This model reads no source input: pass null.", nameof(source));
        }

        foreach (var o in outputs)
        {
            if (!_outputs.Contains(o))
            {
                throw new ArgumentException($"The model has no output '{o}'; it has {string.Join(", ", _outputs)}.", nameof(outputs));
            }
        }

        var names = new List<string> { ids ? OnnxNames.Tokens : OnnxNames.CodePoints };
        var values = new List<OrtValue> { OrtValue.CreateTensorValueFromMemory(tokens, [batch, length]) };
        try
        {
            if (HasSourceInput)
            {
                names.Add(ids ? OnnxNames.Source : OnnxNames.SourceCodePoints);
                values.Add(OrtValue.CreateTensorValueFromMemory(source!, [batch, sourceLength]));
            }

            using var run = new RunOptions();
            using var results = _session.Run(run, names, values, outputs);
            var dict = new Dictionary<string, (long[] Shape, Array Data)>(outputs.Length, StringComparer.Ordinal);
            for (int i = 0; i < outputs.Length; i++)
            {
                var value = results[i];
                var info = value.GetTensorTypeAndShape();
                Array data = info.ElementDataType switch
                {
                    TensorElementType.Float => value.GetTensorDataAsSpan<float>().ToArray(),
                    TensorElementType.Int64 => value.GetTensorDataAsSpan<long>().ToArray(),
                    TensorElementType.String => value.GetStringTensorAsArray(),
                    var other => throw new NotSupportedException($"Output '{outputs[i]}' has element type {other}."),
                };
                dict[outputs[i]] = (info.Shape, data);
            }

            return new OnnxScores(dict);
        }
        finally
        {
            foreach (var v in values)
            {
                v.Dispose();
            }
        }
    }

    /// <summary>
    /// Next-token probabilities after each row of ids (<c>&lt;BOS&gt;</c> and the characters, no EOS), in batches of
    /// <paramref name="batchSize"/> rows padded to the batch's longest.
    /// </summary>
    /// <exception cref="ArgumentException">A row is empty, too long for the model, or holds an id out of range.</exception>
    public float[][] ScoreNext(IReadOnlyList<int[]> rows, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (HasSourceInput || Input != OnnxInput.TokenIds)
        {
            throw new InvalidOperationException("ScoreNext takes token ids of a single-input model; call Run with the model's inputs.");
        }

        var result = new float[rows.Count][];
        int v = Info.Architecture.VocabSize;
        for (int start = 0; start < rows.Count; start += batchSize)
        {
            int n = Math.Min(batchSize, rows.Count - start);
            int t = 1;
            for (int r = 0; r < n; r++)
            {
                int len = rows[start + r].Length;
                if (len == 0 || len > Info.Architecture.MaxLength)
                {
                    throw new ArgumentException($"Row {start + r} has {len} ids; a row holds 1 to {Info.Architecture.MaxLength} (BOS included).", nameof(rows));
                }

                t = Math.Max(t, len);
            }

            var tokens = new long[n * t];
            Array.Fill(tokens, Info.PadId);
            for (int r = 0; r < n; r++)
            {
                var row = rows[start + r];
                for (int j = 0; j < row.Length; j++)
                {
                    tokens[(r * t) + j] = row[j];
                }
            }

            var data = Run(tokens, n, t, null, 0, OnnxNames.NextTokenProbabilities)[OnnxNames.NextTokenProbabilities].Data;
            for (int r = 0; r < n; r++)
            {
                result[start + r] = data.AsSpan(r * v, v).ToArray();
            }
        }

        return result;
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose() => _session.Dispose();

    /// <summary>Checks the shape, and ids against [0, limit) when limit &gt; 0 (code points are not checked: unknown ones become UNK).</summary>
    private void CheckIds(long[] ids, int batch, int length, int limit, string name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        if (length < 1 || length > Info.Architecture.MaxLength)
        {
            throw new ArgumentException($"The {name} length is {length}; the model accepts 1 to {Info.Architecture.MaxLength} (MaxLength).", name);
        }

        if (ids.LongLength != (long)batch * length)
        {
            throw new ArgumentException($"{name} holds {ids.LongLength} ids; a ({batch}, {length}) batch needs {(long)batch * length}.", name);
        }

        for (int i = 0; limit > 0 && i < ids.Length; i++)
        {
            if ((ulong)ids[i] >= (ulong)limit)
            {
                throw new ArgumentException($"{name}[{i}] = {ids[i]} is out of range: ids lie in [0, {limit}).", name);
            }
        }
    }
}
