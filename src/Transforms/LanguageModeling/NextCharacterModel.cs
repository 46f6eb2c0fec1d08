// Building the ML.NET scoring chain of a next-character model from its exported ONNX bytes, and getting the model
// back from a saved ML.NET zip: the chain ML.NET loads, plus the description and the ONNX bytes that generation and
// the attention page need (read from the zip's OnnxModel entry, since a loaded OnnxTransformer exposes neither).
using Google.Protobuf;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Transformer.IO;
using MLNet.Transformer.Onnx;
using MLNet.Transformer.Text;

namespace MLNet.Transformer.LanguageModeling;

/// <summary>A next-character model loaded from an ML.NET zip: the chain to score with, its description and its ONNX model.</summary>
public sealed class LoadedNextCharacterModel : IDisposable
{
    private readonly byte[] _onnx;

    internal LoadedNextCharacterModel(ITransformer model, DataViewSchema inputSchema, OnnxModelFile file, byte[] onnx)
    {
        Model = model;
        InputSchema = inputSchema;
        Info = file.Info;
        Onnx = file;
        _onnx = onnx;
    }

    /// <summary>The loaded ML.NET chain (what <c>mlContext.Model.Load</c> returns).</summary>
    public ITransformer Model { get; }

    /// <summary>The input schema saved with the chain.</summary>
    public DataViewSchema InputSchema { get; }

    /// <summary>Architecture, columns, vocabularies and special ids.</summary>
    public NextCharacterModelInfo Info { get; }

    /// <summary>The ONNX model inside the zip, read back (opset, inputs, outputs, weights by PyTorch name).</summary>
    public OnnxModelFile Onnx { get; }

    /// <summary>The ONNX bytes.</summary>
    public byte[] GetOnnxModel() => (byte[])_onnx.Clone();

    /// <summary>Disposes the chain's ONNX Runtime sessions and removes ML.NET's temporary copy of the ONNX model.</summary>
    public void Dispose() => (Model as IDisposable)?.Dispose();

    /// <summary>
    /// The model's own scoring chain, rebuilt from its ONNX model, computing <paramref name="outputs"/>: for example
    /// every column (attention, row metrics) from a zip saved with <see cref="NextCharacterOutputs.NextCharacter"/>.
    /// It reads the model's input columns (<see cref="NextCharacterModel.CreateInput"/>); stages saved before the
    /// model in the zip are not part of it.
    /// </summary>
    public ITransformer CreateChain(MLContext mlContext, NextCharacterOutputs outputs)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return NextCharacterModel.BuildChain(mlContext, Info, _onnx, NextCharacterModel.CreateInput(mlContext, Info, []), outputs);
    }

    /// <summary>Generates text with the loaded model (ONNX Runtime, no training engine).</summary>
    public IReadOnlyList<string> Generate(GenerationOptions options)
    {
        return TextGenerator.Generate(_onnx, "the loaded model", options);
    }

    /// <summary>
    /// Generates text as <see cref="Generate(GenerationOptions)"/> does, handing each piece to
    /// <paramref name="onText"/> as soon as it is chosen: the sample's index and first its prefix (as the model reads
    /// it), then one character at a time, so that a caller can stream the output.
    /// </summary>
    public IReadOnlyList<string> Generate(GenerationOptions options, Action<int, string> onText)
    {
        ArgumentNullException.ThrowIfNull(onText);
        return TextGenerator.Generate(_onnx, "the loaded model", options, onText);
    }
}

/// <summary>Entry points for next-character models saved with <c>mlContext.Model.Save</c>.</summary>
public static class NextCharacterModel
{
    /// <summary>
    /// Registers this library's stateless mappings with <paramref name="mlContext"/>, so that
    /// <c>mlContext.Model.Load</c> can rebuild a saved next-character pipeline (ML.NET finds a CustomMapping's
    /// factory only in registered assemblies). <see cref="Load(MLContext, string)"/> calls it.
    /// </summary>
    public static void RegisterMappings(MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        mlContext.ComponentCatalog.RegisterAssembly(typeof(NextCharacterModel).Assembly);
    }

    /// <summary>
    /// Loads a zip written by <c>mlContext.Model.Save</c> from a pipeline that ends in a next-character model:
    /// the ML.NET chain, plus the model's description and ONNX bytes for generation and attention pages. Every zip
    /// entry's CRC-32 and the ONNX model's content hash are checked before ML.NET sees the file, within
    /// <see cref="ModelArchiveLimits.Default"/>. A checkpoint directory (or a folder of periodic checkpoints) loads as
    /// the model it holds. Dispose the result to remove ML.NET's temporary copy of the ONNX model at once (else it goes
    /// when the process exits). Only load models from trusted sources.
    /// </summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="ModelFormatException">The zip is damaged, over a limit, holds no next-character ONNX model,
    /// or ML.NET or ONNX Runtime cannot load it; the message names the file.</exception>
    public static LoadedNextCharacterModel Load(MLContext mlContext, string path)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Directory.Exists(path) && Checkpoints.Checkpoint.IsCheckpoint(path))
        {
            // A checkpoint: the same chain Fit builds, from its description and weights.
            var fitted = FromCheckpoint(mlContext, Checkpoints.Checkpoint.Load(path));
            byte[] onnx = fitted.GetOnnxModel();
            var input = CreateInput(mlContext, fitted.Info, []);
            return new LoadedNextCharacterModel(fitted.Model, input.Schema, OnnxModelFile.Read(onnx, path), onnx);
        }

        return Load(mlContext, ModelArchive.Read(path));
    }

    /// <summary>
    /// Loads a model from an archive already read and checked by <see cref="ModelArchive.Read"/> (for callers that
    /// also read their own entries from it); see <see cref="Load(MLContext, string)"/>.
    /// </summary>
    /// <exception cref="ModelFormatException">The archive holds no next-character ONNX model, or ML.NET or ONNX Runtime cannot load it.</exception>
    public static LoadedNextCharacterModel Load(MLContext mlContext, ModelArchive archive)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(archive);
        var (file, bytes) = ReadOnnxModel(archive);
        var model = LoadPipeline(mlContext, archive, out var schema);
        return new LoadedNextCharacterModel(model, schema, file, bytes);
    }

    /// <summary>
    /// <c>mlContext.Model.Load</c> for any pipeline that holds this library's stages: checks the zip first (as
    /// <see cref="ModelArchive.Read"/>), registers the library's mappings, and creates the ONNX Runtime sessions again
    /// in the rare case where ML.NET's random temporary file name makes ONNX Runtime misread the model
    /// (dotnet/machinelearning#7339). Only load models from trusted sources.
    /// </summary>
    /// <exception cref="ModelFormatException">The zip is damaged, or ML.NET cannot load it.</exception>
    public static ITransformer LoadPipeline(MLContext mlContext, string path, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return LoadPipeline(mlContext, ModelArchive.Read(path), out inputSchema);
    }

    private static ITransformer LoadPipeline(MLContext mlContext, ModelArchive archive, out DataViewSchema inputSchema)
    {
        RegisterMappings(mlContext);
        try
        {
            DataViewSchema schema = null!;
            var model = TemporaryFiles.InProcessFolder(mlContext, () => OnnxSessionRetry.Run(() =>
            {
                using var stream = archive.OpenRead();
                return mlContext.Model.Load(stream, out schema);
            }));
            inputSchema = schema;
            return model;
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or InvalidDataException or ArgumentException
            or System.Reflection.TargetInvocationException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            throw new ModelFormatException($"{archive.Path}: ML.NET cannot load the pipeline: {ExceptionCause.Describe(e)}", "zip", e);
        }
    }

    /// <summary>
    /// The next-character ONNX model inside an ML.NET zip: the <c>OnnxModel</c> entry (a 4-byte little-endian length,
    /// then the ModelProto) whose metadata describes a next-character model. The zip is checked as by <see cref="ModelArchive.Read"/>.
    /// A chain saved with <see cref="NextCharacterOutputs.NextCharacter"/> keeps a graph cut to its two outputs; the
    /// model returned is the whole scoring graph, rebuilt from the same weights and description.
    /// </summary>
    /// <exception cref="ModelFormatException">Not a zip, a damaged one, or no such entry.</exception>
    public static (OnnxModelFile File, byte[] Bytes) ReadOnnxModel(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return ReadOnnxModel(ModelArchive.Read(path));
    }

    /// <summary>The next-character ONNX model inside a checked archive (see <see cref="ReadOnnxModel(string)"/>).</summary>
    /// <exception cref="ModelFormatException">No such entry, or a damaged one.</exception>
    public static (OnnxModelFile File, byte[] Bytes) ReadOnnxModel(ModelArchive archive)
    {
        ArgumentNullException.ThrowIfNull(archive);
        string path = archive.Path;
        foreach (var name in archive.EntryNames.Where(n => n == "OnnxModel" || n.EndsWith("/OnnxModel", StringComparison.Ordinal)))
        {
            var all = archive.GetEntry(name)!.Value.Span;
            if (all.Length < 4)
            {
                continue;
            }

            int length = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(all);
            if (length != all.Length - 4)
            {
                throw new ModelFormatException($"{path}: entry '{name}' says {length} bytes but holds {all.Length - 4}.", name);
            }

            var bytes = all[4..];
            if (!OnnxModelFile.IsNextCharacterModel(bytes))
            {
                continue;
            }

            var file = OnnxModelFile.Read(bytes, $"{path}!{name}");
            if (file.Model.Graph.Output.Any(o => o.Name == OnnxNames.InputTokens))
            {
                return (file, bytes.ToArray());
            }

            // A chain saved with NextCharacterOutputs.NextCharacter holds its graph cut to two outputs; generation,
            // attention and CreateChain(All) need the whole graph, rebuilt from the same weights and description.
            byte[] whole = OnnxExporter.Export(file.Members, ChainExport).ToByteArray();
            return (OnnxModelFile.Read(whole, $"{path}!{name}"), whole);
        }

        throw new ModelFormatException($"{path}: holds no next-character ONNX model (no OnnxModel entry with MLNet.Transformer metadata).", "OnnxModel");
    }

    /// <summary>
    /// A fitted model from a description and PyTorch-named weights (for example <see cref="OnnxModelFile.State"/> of an
    /// exported file, or a state dict trained elsewhere): exported to ONNX and wrapped in ML.NET's scoring chain.
    /// </summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="info">Architecture, columns and vocabularies.</param>
    /// <param name="state">The weights by PyTorch name.</param>
    /// <param name="outputs">The columns the model computes (default: all of them).</param>
    /// <exception cref="TransformerArgumentException">The weights do not fit the architecture.</exception>
    public static NextCharacterPredictionTransformer FromWeights(MLContext mlContext, NextCharacterModelInfo info, IReadOnlyDictionary<string, (long[] Shape, float[] Data)> state, NextCharacterOutputs outputs = NextCharacterOutputs.All)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(info);
        byte[] onnx = OnnxExporter.Export(info, state, ChainExport).ToByteArray();
        var empty = CreateInput(mlContext, info, []);
        return new NextCharacterPredictionTransformer(BuildChain(mlContext, info, onnx, empty, outputs), info, onnx, history: null, outputs);
    }

    /// <summary>
    /// A fitted model from a checkpoint (<see cref="Checkpoints.Checkpoint.Load"/>): its description and weights,
    /// exported to ONNX and wrapped in ML.NET's scoring chain, which <c>mlContext.Model.Save</c> then writes.
    /// </summary>
    /// <exception cref="TransformerArgumentException">The weights do not fit the architecture.</exception>
    public static NextCharacterPredictionTransformer FromCheckpoint(MLContext mlContext, Checkpoints.Checkpoint checkpoint) =>
        FromCheckpoint(mlContext, checkpoint, history: null);

    /// <summary><see cref="FromCheckpoint(MLContext, Checkpoints.Checkpoint)"/> with the training record of the run that made it.</summary>
    internal static NextCharacterPredictionTransformer FromCheckpoint(MLContext mlContext, Checkpoints.Checkpoint checkpoint, TrainingHistory? history)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var info = NextCharacterCheckpoint.InfoOf(checkpoint);
        byte[] onnx = OnnxExporter.Export(checkpoint, ChainExport).ToByteArray();
        var empty = CreateInput(mlContext, info, []);
        return new NextCharacterPredictionTransformer(BuildChain(mlContext, info, onnx, empty), info, onnx, history) { Checkpoint = checkpoint };
    }

    /// <summary>
    /// An ensemble of fitted next-character models: one scoring chain, and one ONNX graph, that runs every model on
    /// each row and averages their next-character probabilities. The log-loss, accuracy and predicted tokens are those
    /// of the averaged probabilities; the attention columns, <see cref="NextCharacterPredictionTransformer.Info"/> and
    /// <see cref="NextCharacterPredictionTransformer.History"/> are the first model's. The models may differ in
    /// architecture but must have been trained on the same columns with the same vocabulary and maximum length (for
    /// example, the top configurations of a sweep, or one configuration with several seeds). An ensemble in the list
    /// contributes each of its members.
    /// </summary>
    /// <exception cref="TransformerArgumentException">No model, or models that do not share columns, vocabulary or maximum length.</exception>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="models">The members.</param>
    /// <param name="outputs">The columns the ensemble computes (default: those of the first model).</param>
    public static NextCharacterPredictionTransformer Ensemble(MLContext mlContext, IReadOnlyList<NextCharacterPredictionTransformer> models, NextCharacterOutputs? outputs = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(models);
        if (models.Count == 0)
        {
            throw new TransformerArgumentException("An ensemble needs at least one model.", nameof(models));
        }

        // A model fitted in this process hands over its checkpoint; one loaded from a zip, its exported graph's weights.
        var members = models
            .Select((m, i) => m ?? throw new TransformerArgumentException($"Model {i} of the ensemble is null.", nameof(models)))
            .SelectMany((m, i) => m.Checkpoint is { } checkpoint
                ? [new OnnxModelMember(NextCharacterCheckpoint.InfoOf(checkpoint), checkpoint.Weights)]
                : OnnxModelFile.Read(m.GetOnnxModel(), $"model {i} of the ensemble").Members)
            .ToArray();
        return Ensemble(mlContext, members, outputs ?? models[0].Outputs, models[0].History);
    }

    /// <summary>
    /// An ensemble of the models that <paramref name="checkpoints"/> hold (see
    /// <see cref="Ensemble(MLContext, IReadOnlyList{NextCharacterPredictionTransformer}, NextCharacterOutputs?)"/>):
    /// for example the checkpoints of several runs, written by <c>CheckpointEvery</c> or a sweep.
    /// </summary>
    /// <exception cref="TransformerArgumentException">No checkpoint, or checkpoints whose models do not share columns, vocabulary or maximum length.</exception>
    public static NextCharacterPredictionTransformer Ensemble(MLContext mlContext, IReadOnlyList<Checkpoints.Checkpoint> checkpoints, NextCharacterOutputs? outputs = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(checkpoints);
        if (checkpoints.Count == 0)
        {
            throw new TransformerArgumentException("An ensemble needs at least one checkpoint.", nameof(checkpoints));
        }

        var members = checkpoints
            .Select((c, i) => c ?? throw new TransformerArgumentException($"Checkpoint {i} of the ensemble is null.", nameof(checkpoints)))
            .Select(c => new OnnxModelMember(NextCharacterCheckpoint.InfoOf(c), c.Weights))
            .ToArray();
        return Ensemble(mlContext, members, outputs ?? NextCharacterOutputs.All, history: null);
    }

    private static NextCharacterPredictionTransformer Ensemble(MLContext mlContext, OnnxModelMember[] members, NextCharacterOutputs profile, TrainingHistory? history)
    {
        byte[] onnx = OnnxExporter.Export(members, ChainExport).ToByteArray();
        var info = members[0].Info;
        var empty = CreateInput(mlContext, info, []);
        return new NextCharacterPredictionTransformer(BuildChain(mlContext, info, onnx, empty, profile), info, onnx, history, profile);
    }

    /// <summary>
    /// A view of texts under the model's input column names (<see cref="NextCharacterModelInfo.TextColumnName"/>, and
    /// <see cref="NextCharacterModelInfo.SourceColumnName"/> for a model with a source column): what its Transform reads.
    /// </summary>
    /// <exception cref="ArgumentException">The model reads a source column and a row has no source text.</exception>
    public static IDataView CreateInput(MLContext mlContext, NextCharacterModelInfo info, IEnumerable<(string Text, string? Source)> rows)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(rows);
        var definition = SchemaDefinition.Create(info.HasSource ? typeof(TextAndSource) : typeof(TextOnly));
        definition[nameof(TextOnly.Text)].ColumnName = info.TextColumnName;
        if (!info.HasSource)
        {
            return mlContext.Data.LoadFromEnumerable(rows.Select(r => new TextOnly { Text = r.Text }).ToList(), definition);
        }

        definition[nameof(TextAndSource.Source)].ColumnName = info.SourceColumnName!;
        return mlContext.Data.LoadFromEnumerable(
            rows.Select(r => new TextAndSource
            {
                Text = r.Text,
                Source = r.Source ?? throw new ArgumentException($"The model reads its source from column '{info.SourceColumnName}': every row needs a source text.", nameof(rows)),
            }).ToList(),
            definition);
    }

    /// <summary>Checks the input columns the model reads, in ML.NET's schema-mismatch style.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or not Text.</exception>
    public static void CheckInput(DataViewSchema schema, NextCharacterModelInfo info)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(info);
        CheckTextColumn(schema, info.TextColumnName);
        if (info.HasSource)
        {
            CheckTextColumn(schema, info.SourceColumnName!);
        }
    }

    /// <summary>Throws ML.NET's schema-mismatch error unless <paramref name="name"/> is a Text column of <paramref name="schema"/>.</summary>
    public static void CheckTextColumn(DataViewSchema schema, string name)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var column = schema.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Could not find input column '{name}' (expected type String).");
        if (column.Type is not TextDataViewType)
        {
            throw new ArgumentOutOfRangeException(nameof(schema), $"Schema mismatch for input column '{name}': expected String, got {column.Type}.");
        }
    }

    /// <summary>
    /// The ML.NET chain that scores <paramref name="onnx"/> (an export with code-point input, batch of one, token
    /// texts and row metrics), fitted on <paramref name="data"/>'s schema (no pass over the data).
    /// </summary>
    internal static ITransformer BuildChain(MLContext ml, NextCharacterModelInfo info, byte[] onnx, IDataView data, NextCharacterOutputs outputs = NextCharacterOutputs.All)
    {
        IEstimator<ITransformer> chain = ml.Transforms.CopyColumns(CodePoints.TextColumn, info.TextColumnName)
            .Append(CodePoints.Mapping(ml, source: false, info.Normalize, info.LowerCase));
        if (info.HasSource)
        {
            chain = chain.Append(ml.Transforms.CopyColumns(CodePoints.SourceColumn, info.SourceColumnName!))
                .Append(CodePoints.Mapping(ml, source: true, info.Normalize, info.LowerCase));
        }

        var file = OnnxModelFile.Read(onnx, "the exported model");
        var onnxInputs = file.Model.Graph.Input.Select(i => i.Name).ToArray();
        var rename = new List<(string Output, string Input)> { (NextCharacterColumns.Score, OnnxNames.Score) };
        string[] onnxOutputs;
        if (outputs == NextCharacterOutputs.NextCharacter)
        {
            // ONNX Runtime runs every node of a graph whatever a call fetches: the graph is cut to the two outputs, so
            // no row pays for attention, token lists or row metrics (a third less time per row at L2 d64).
            onnxOutputs = [OnnxNames.Score, OnnxNames.PredictedToken];
            byte[] lean = OnnxGraphPruning.KeepOutputs(file.Model, onnxOutputs).ToByteArray();
            chain = chain
                .Append(ml.Transforms.ApplyOnnxModel(onnxOutputs, onnxInputs, new MemoryStream(lean)))
                .Append(ml.Transforms.CustomMapping(new PredictedNextCharMapping().GetMapping(), PredictedNextCharMapping.ContractName));
        }
        else
        {
            onnxOutputs = [.. file.Model.Graph.Output.Select(o => o.Name)];
            rename.Add((NextCharacterColumns.InputTokens, OnnxNames.InputTokens));
            rename.Add((NextCharacterColumns.PredictedTokens, OnnxNames.PredictedTokens));
            rename.Add((NextCharacterColumns.Attention, OnnxNames.Attention));
            if (info.IsEncoderDecoder)
            {
                rename.Add((NextCharacterColumns.EncoderAttention, OnnxNames.EncoderAttention));
                rename.Add((NextCharacterColumns.CrossAttention, OnnxNames.CrossAttention));
            }

            if (info.HasSource)
            {
                rename.Add((NextCharacterColumns.SourceTokens, OnnxNames.SourceTokens));
            }

            chain = chain
                .Append(ml.Transforms.ApplyOnnxModel(onnxOutputs, onnxInputs, new MemoryStream(onnx)))
                .Append(ml.Transforms.CustomMapping(new NextCharacterColumnMapping().GetMapping(), NextCharacterColumnMapping.ContractName));
        }

        foreach (var (output, input) in rename)
        {
            chain = chain.Append(ml.Transforms.CopyColumns(output, input));
        }

        // PredictedLabel: a key over the vocabulary (key k = Score's slot k - 1), whose KeyValues the saved zip keeps.
        string[] drop = [CodePoints.TextColumn, .. info.HasSource ? [CodePoints.SourceColumn] : Array.Empty<string>(), .. onnxInputs, .. onnxOutputs];
        var estimator = chain
            .Append(ml.Transforms.Conversion.MapValueToKey(NextCharacterColumns.PredictedLabel, NextCharacterColumns.PredictedNextChar, keyData: VocabularyView(ml, info.Vocabulary)))
            .Append(ml.Transforms.DropColumns(drop));
        return TemporaryFiles.InProcessFolder(ml, () => OnnxSessionRetry.Run(() => estimator.Fit(data)));
    }

    /// <summary>The vocabulary as a one-column Text view in id order (the key data of PredictedLabel and of labels).</summary>
    internal static IDataView VocabularyView(MLContext ml, IEnumerable<string> tokens) =>
        ml.Data.LoadFromEnumerable(tokens.Select(t => new TextOnly { Text = t }).ToList());

    private sealed class TextOnly
    {
        public string Text { get; set; } = "";
    }

    private sealed class TextAndSource
    {
        public string Text { get; set; } = "";

        public string Source { get; set; } = "";
    }

    /// <summary>The export the ML.NET chain runs: code points in, batch of one, every output.</summary>
    internal static OnnxExportOptions ChainExport { get; } = new()
    {
        Input = OnnxInput.CodePoints,
        BatchOfOne = true,
        IncludeTokenText = true,
        IncludeRowMetrics = true,
        IncludePositionProbabilities = false,
        IncludeAttention = true,
    };
}

/// <summary>The row-major layout of the flat attention columns.</summary>
public static class AttentionLayout
{
    /// <summary>
    /// Reshapes a flat [L, H, Q, K] attention vector into [layer][head][query, key] matrices. Q = K for self-attention
    /// (pass <paramref name="keys"/> = 0 to infer a square size); for cross-attention pass the source length.
    /// </summary>
    /// <exception cref="ArgumentException">The length does not factor as L x H x Q x K.</exception>
    public static float[][][,] Reshape(ReadOnlySpan<float> flat, int layers, int heads, int keys = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(layers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(heads, 1);
        int perHead = flat.Length / (layers * heads);
        int q, k;
        if (keys > 0)
        {
            k = keys;
            q = perHead / k;
        }
        else
        {
            q = k = (int)Math.Round(Math.Sqrt(perHead));
        }

        if (q * k * layers * heads != flat.Length)
        {
            throw new ArgumentException($"An attention vector of {flat.Length} values is not [{layers}, {heads}, Q, {(keys > 0 ? keys.ToString(System.Globalization.CultureInfo.InvariantCulture) : "Q")}].", nameof(flat));
        }

        var result = new float[layers][][,];
        int o = 0;
        for (int l = 0; l < layers; l++)
        {
            result[l] = new float[heads][,];
            for (int h = 0; h < heads; h++)
            {
                var m = new float[q, k];
                for (int i = 0; i < q; i++)
                {
                    for (int j = 0; j < k; j++)
                    {
                        m[i, j] = flat[o++];
                    }
                }

                result[l][h] = m;
            }
        }

        return result;
    }
}
