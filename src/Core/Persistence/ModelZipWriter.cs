// Writes a model .zip: schema.json, the stages' folders, then manifest.json listing every entry's size and
// SHA-256. Entries carry a fixed timestamp and are written in a fixed order, so equal models give equal bytes
// (up to the manifest's creation time, which ModelSaveOptions.CreationTime can pin).
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using MLNet.Transformer.Data;

namespace MLNet.Transformer.Persistence;

/// <summary>Adds checksummed entries to a zip being created, then the manifest.</summary>
internal sealed class ModelZipWriter
{
    private readonly ZipArchive _zip;
    private readonly List<ModelZipFormat.ManifestEntry> _entries = [];
    private readonly HashSet<string> _paths = new(StringComparer.Ordinal);

    private ModelZipWriter(ZipArchive zip) => _zip = zip;

    /// <summary>Writes <paramref name="model"/> and <paramref name="inputSchema"/> as a model .zip into <paramref name="stream"/>.</summary>
    public static void Write(ITransformer model, DataViewSchema inputSchema, Stream stream, DateTimeOffset created)
    {
        if (model is LoadedModel loaded)
        {
            model = loaded.Model;
        }

        using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true, entryNameEncoding: Encoding.UTF8);
        var writer = new ModelZipWriter(zip);
        writer.AddJson(ModelZipFormat.SchemaPath, SchemaJson.FromSchema(inputSchema));
        var root = new ModelSaveContext(writer, ModelZipFormat.StagesFolder, ModelZipFormat.RootStageName, model);
        model.Save(root);
        string rootFolder = root.Complete();

        var manifest = new ModelZipFormat.Manifest(
            ModelZipFormat.FormatSignature,
            ModelZipFormat.FormatVersion,
            ModelZipFormat.MinReaderVersion,
            typeof(ModelZipWriter).Assembly.GetName().Version?.ToString() ?? "0.0.0.0",
            new DateTimeOffset(created.UtcTicks - (created.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero),
            rootFolder,
            writer._entries);
        writer.AddEntry(ModelZipFormat.ManifestPath, JsonSerializer.SerializeToUtf8Bytes(manifest, ModelZipFormat.Json), compress: true);
    }

    /// <summary>Adds a JSON entry (camelCase, indented).</summary>
    public void AddJson<T>(string path, T value) =>
        Add(path, JsonSerializer.SerializeToUtf8Bytes(value, ModelZipFormat.Json), compress: true);

    /// <summary>Adds an entry and records its size and SHA-256 for the manifest.</summary>
    /// <exception cref="InvalidOperationException">The entry was already written.</exception>
    public void Add(string path, byte[] bytes, bool compress)
    {
        AddEntry(path, bytes, compress);
        _entries.Add(new ModelZipFormat.ManifestEntry(path, bytes.LongLength, ModelZipFormat.Sha256Hex(bytes)));
    }

    private void AddEntry(string path, byte[] bytes, bool compress)
    {
        if (!_paths.Add(path))
        {
            throw new InvalidOperationException($"The model entry '{path}' was written twice.");
        }

        var entry = _zip.CreateEntry(path, compress ? CompressionLevel.Optimal : CompressionLevel.NoCompression);
        entry.LastWriteTime = ModelZipFormat.EntryTimestamp;
        using var s = entry.Open();
        s.Write(bytes);
    }
}
