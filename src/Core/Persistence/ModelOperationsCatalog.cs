// Saving and loading whole fitted pipelines as a model .zip (layout: docs/model-zip.md). Reached through MLContext.Model.
using MLNet.Transformer.Data;

namespace MLNet.Transformer.Persistence;

/// <summary>Options of <see cref="ModelOperationsCatalog.Save(ITransformer, DataViewSchema, string, ModelSaveOptions?)"/>.</summary>
public sealed class ModelSaveOptions
{
    /// <summary>
    /// The creation time recorded in manifest.json (whole seconds, UTC); null records the current time. Pin it to
    /// make saving the same model twice produce byte-identical files.
    /// </summary>
    public DateTimeOffset? CreationTime { get; init; }
}

/// <summary>Saves and loads whole fitted pipelines. Reached through <see cref="MLContext.Model"/>.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822:Mark members as static", Justification = "ML.NET's catalog API: instance methods reached through MLContext.Model.")]
public sealed class ModelOperationsCatalog
{
    internal ModelOperationsCatalog() { }

    /// <summary>Saves <paramref name="model"/> and the schema it expects to <paramref name="path"/> (temp file + rename).</summary>
    /// <remarks>
    /// The archive is written to a temp file in the target's directory and renamed over <paramref name="path"/>
    /// only once complete, so a failure (or a crash) mid-save leaves any previous file intact.
    /// </remarks>
    public void Save(ITransformer model, DataViewSchema inputSchema, string path) => Save(model, inputSchema, path, null);

    /// <summary>Saves <paramref name="model"/> and the schema it expects to <paramref name="path"/> (temp file + rename).</summary>
    public void Save(ITransformer model, DataViewSchema inputSchema, string path, ModelSaveOptions? options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputSchema);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var created = options?.CreationTime ?? DateTimeOffset.UtcNow;
        IO.AtomicFile.Write(path, stream => ModelZipWriter.Write(model, inputSchema, stream, created));
    }

    /// <summary>Writes <paramref name="model"/> and the schema it expects as a model .zip into <paramref name="stream"/> (left open).</summary>
    public void Save(ITransformer model, DataViewSchema inputSchema, Stream stream) => Save(model, inputSchema, stream, null);

    /// <summary>Writes <paramref name="model"/> and the schema it expects as a model .zip into <paramref name="stream"/> (left open).</summary>
    public void Save(ITransformer model, DataViewSchema inputSchema, Stream stream, ModelSaveOptions? options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputSchema);
        ArgumentNullException.ThrowIfNull(stream);
        ModelZipWriter.Write(model, inputSchema, stream, options?.CreationTime ?? DateTimeOffset.UtcNow);
    }

    /// <summary>Loads a model saved by <see cref="Save(ITransformer, DataViewSchema, string)"/>; <paramref name="inputSchema"/> receives the schema it expects.</summary>
    /// <returns>
    /// A <see cref="LoadedModel"/> wrapping the saved root stage: its <see cref="ITransformer.Transform"/> and
    /// <see cref="ITransformer.GetOutputSchema"/> first check the input against the saved input schema.
    /// </returns>
    /// <exception cref="ModelFormatException">The file is not a valid model (a subclass says why).</exception>
    public ITransformer Load(string path, out DataViewSchema inputSchema)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return Load(stream, out inputSchema);
    }

    /// <summary>Loads a model .zip from <paramref name="stream"/> (left open); <paramref name="inputSchema"/> receives the schema it expects.</summary>
    /// <exception cref="ModelFormatException">The data is not a valid model (a subclass says why).</exception>
    public ITransformer Load(Stream stream, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var (model, schema) = ModelZipReader.Read(stream);
        inputSchema = schema;
        return new LoadedModel(model, schema);
    }
}
