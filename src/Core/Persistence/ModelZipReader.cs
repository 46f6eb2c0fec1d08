// Reads a model .zip: checks the zip, the manifest (format, versions), that the archive holds exactly the
// entries the manifest lists with their sizes and SHA-256, then rebuilds the stages through their loaders.
// Every failure is a ModelFormatException subclass; loaders only ever see verified bytes.
using System.IO.Compression;
using System.Text.Json;
using MLNet.Transformer.Data;

namespace MLNet.Transformer.Persistence;

/// <summary>The verified entries of one model .zip and the stage loading over them.</summary>
internal sealed class ModelZipReader
{
    private static readonly JsonSerializerOptions StrictJson = new(ModelZipFormat.Json)
    {
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    private readonly Dictionary<string, byte[]> _entries;
    private readonly List<ITransformer> _created = [];

    private ModelZipReader(Dictionary<string, byte[]> entries) => _entries = entries;

    /// <summary>Loads the model in <paramref name="stream"/>; on failure disposes every stage already built.</summary>
    public static (ITransformer Model, DataViewSchema InputSchema) Read(Stream stream)
    {
        var reader = new ModelZipReader(ReadVerifiedEntries(stream, out var manifest));
        try
        {
            var schema = SchemaJson.ToSchema(reader.ReadJson<SchemaJson.SchemaRecord>(ModelZipFormat.SchemaPath, strict: true), ModelZipFormat.SchemaPath);
            var model = reader.LoadStage(ModelZipFormat.StagesFolder, ModelZipFormat.RootStageName, out string rootFolder);
            if (rootFolder != manifest.RootStage)
            {
                model.Dispose();
                throw new ModelFormatException(
                    $"The manifest names '{manifest.RootStage}' as the root stage but the root stage is '{rootFolder}'.",
                    ModelZipFormat.ManifestPath);
            }

            return (model, schema);
        }
        catch
        {
            for (int i = reader._created.Count - 1; i >= 0; i--)
            {
                reader._created[i].Dispose();
            }

            throw;
        }
    }

    /// <summary>True when the archive holds <paramref name="path"/>.</summary>
    public bool Contains(string path) => _entries.ContainsKey(path);

    /// <summary>True when <paramref name="parentFolder"/> holds a nested stage named <paramref name="name"/>.</summary>
    public bool ContainsStage(string parentFolder, string name) => FindStageFolders(parentFolder, name).Any();

    /// <summary>The verified bytes of <paramref name="path"/>.</summary>
    /// <exception cref="MissingModelEntryException">No such entry.</exception>
    public byte[] GetBytes(string path) =>
        _entries.TryGetValue(path, out var bytes)
            ? bytes
            : throw new MissingModelEntryException($"The model has no entry '{path}'.", path);

    /// <summary>Deserialises the JSON entry <paramref name="path"/>.</summary>
    /// <exception cref="InvalidModelJsonException">Not valid JSON for <typeparamref name="T"/>, or null.</exception>
    public T ReadJson<T>(string path, bool strict)
    {
        byte[] bytes = GetBytes(path);
        try
        {
            return JsonSerializer.Deserialize<T>(bytes, strict ? StrictJson : ModelZipFormat.Json)
                ?? throw new InvalidModelJsonException($"The model entry '{path}' holds null; a {typeof(T).Name} was expected.", path);
        }
        catch (JsonException e)
        {
            throw new InvalidModelJsonException($"The model entry '{path}' is not valid JSON for {typeof(T).Name}: {e.Message}", path, e);
        }
    }

    /// <summary>Loads the nested stage <paramref name="name"/> of the stage in <paramref name="parentFolder"/>.</summary>
    public ITransformer LoadStage(string parentFolder, string name, out string folder)
    {
        var folders = FindStageFolders(parentFolder, name).ToList();
        if (folders.Count == 0)
        {
            throw new MissingModelEntryException(
                $"The model has no stage '{name}' in '{(parentFolder.Length == 0 ? "/" : parentFolder)}' (expected '{parentFolder}{name}-<Signature>/{ModelZipFormat.StageFile}').",
                $"{parentFolder}{name}-");
        }

        if (folders.Count > 1)
        {
            throw new UnexpectedModelEntryException(
                $"The model holds {folders.Count} stages named '{name}' in '{parentFolder}': {string.Join(", ", folders.Select(f => f.Folder))}.", folders[1].Folder);
        }

        (folder, string folderSignature) = folders[0];
        string stagePath = folder + ModelZipFormat.StageFile;
        var info = ReadJson<ModelZipFormat.StageInfo>(stagePath, strict: true);
        if (info.Signature != folderSignature)
        {
            throw new ModelFormatException(
                $"'{stagePath}' declares signature '{info.Signature}' but its folder is named for '{folderSignature}'.", stagePath);
        }

        if (info.Version < 1 || info.MinReadableVersion < 1 || info.MinReadableVersion > info.Version)
        {
            throw new InvalidModelJsonException(
                $"'{stagePath}' has inconsistent versions (version {info.Version}, minReadableVersion {info.MinReadableVersion}).", stagePath);
        }

        var registration = ModelLoaderRegistry.Resolve(info.Signature, info.Assembly, stagePath);
        if (info.MinReadableVersion > registration.SupportedVersion)
        {
            throw new UnsupportedModelVersionException(
                $"Stage '{info.Signature}' in '{folder}' was written with version {info.Version} and needs a loader that reads version {info.MinReadableVersion} or newer; " +
                $"the registered loader reads versions up to {registration.SupportedVersion}. Update the library that defines the stage ('{info.Assembly}').",
                stagePath, info.MinReadableVersion, registration.SupportedVersion);
        }

        var context = new ModelLoadContext(this, folder, info);
        ITransformer stage;
        try
        {
            stage = registration.Loader(context)
                ?? throw new ModelFormatException($"The loader of stage '{info.Signature}' returned null.", stagePath);
        }
        catch (TransformerException)
        {
            throw;
        }
        catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
        {
            throw new ModelFormatException(
                $"Stage '{info.Signature}' in '{folder}' could not be rebuilt from its entries: {e.Message}", stagePath, e);
        }

        _created.Add(stage);
        return stage;
    }

    private IEnumerable<(string Folder, string Signature)> FindStageFolders(string parentFolder, string name)
    {
        string prefix = parentFolder + name + "-";
        string suffix = "/" + ModelZipFormat.StageFile;
        foreach (string path in _entries.Keys)
        {
            if (path.StartsWith(prefix, StringComparison.Ordinal) && path.EndsWith(suffix, StringComparison.Ordinal) &&
                path.Length > prefix.Length + suffix.Length)
            {
                string signature = path[prefix.Length..^suffix.Length];
                if (ModelZipFormat.SignaturePattern().IsMatch(signature))
                {
                    yield return (path[..^ModelZipFormat.StageFile.Length], signature);
                }
            }
        }
    }

    private static Dictionary<string, byte[]> ReadVerifiedEntries(Stream stream, out ModelZipFormat.Manifest manifest)
    {
        ZipArchive zip;
        IReadOnlyList<ZipArchiveEntry> entries;
        try
        {
            zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
            try
            {
                entries = zip.Entries;
            }
            catch
            {
                zip.Dispose();
                throw;
            }
        }
        catch (Exception e) when (IsZipError(e))
        {
            throw new InvalidModelArchiveException($"The model file is not a readable zip archive: {e.Message}", e);
        }

        using (zip)
        {
            var byName = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
            foreach (var entry in entries)
            {
                if (!byName.TryAdd(entry.FullName, entry))
                {
                    throw new UnexpectedModelEntryException($"The model archive holds the entry '{entry.FullName}' twice.", entry.FullName);
                }
            }

            if (!byName.TryGetValue(ModelZipFormat.ManifestPath, out var manifestEntry))
            {
                throw new MissingModelEntryException(
                    $"The archive has no '{ModelZipFormat.ManifestPath}': it is not an MLNet.Transformer model (or the manifest was removed).",
                    ModelZipFormat.ManifestPath);
            }

            byte[] manifestBytes = ReadEntry(manifestEntry, ModelZipFormat.MaxManifestLength);
            if (manifestBytes.Length > ModelZipFormat.MaxManifestLength)
            {
                throw new CorruptModelEntryException(
                    $"'{ModelZipFormat.ManifestPath}' is larger than {ModelZipFormat.MaxManifestLength} bytes.", ModelZipFormat.ManifestPath);
            }

            manifest = ParseManifest(manifestBytes);
            var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            var listed = new HashSet<string>(manifest.Entries.Select(e => e.Path), StringComparer.Ordinal);
            foreach (string name in byName.Keys)
            {
                if (name != ModelZipFormat.ManifestPath && !listed.Contains(name))
                {
                    throw new UnexpectedModelEntryException(
                        $"The model archive holds '{name}', which its manifest does not list (an added or renamed entry).", name);
                }
            }

            foreach (var item in manifest.Entries)
            {
                if (!byName.TryGetValue(item.Path, out var entry))
                {
                    throw new MissingModelEntryException(
                        $"The manifest lists '{item.Path}' but the archive does not hold it (a removed or renamed entry).", item.Path);
                }

                byte[] bytes = ReadEntry(entry, item.Size);
                if (bytes.LongLength != item.Size)
                {
                    throw new CorruptModelEntryException(
                        $"The model entry '{item.Path}' holds {(bytes.LongLength > item.Size ? "more than " : string.Empty)}{bytes.LongLength} bytes; the manifest records {item.Size} (truncated or corrupted).",
                        item.Path);
                }

                string sha = ModelZipFormat.Sha256Hex(bytes);
                if (!string.Equals(sha, item.Sha256, StringComparison.Ordinal))
                {
                    throw new CorruptModelEntryException(
                        $"The model entry '{item.Path}' is corrupted: its SHA-256 is {sha}, the manifest records {item.Sha256}.", item.Path);
                }

                result.Add(item.Path, bytes);
            }

            return result;
        }
    }

    private static ModelZipFormat.Manifest ParseManifest(byte[] bytes)
    {
        const string path = ModelZipFormat.ManifestPath;
        ModelZipFormat.Manifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ModelZipFormat.Manifest>(bytes, StrictJson);
        }
        catch (JsonException e)
        {
            throw new InvalidModelJsonException($"'{path}' is not a valid model manifest: {e.Message}", path, e);
        }

        if (manifest is null)
        {
            throw new InvalidModelJsonException($"'{path}' holds null.", path);
        }

        if (manifest.Format != ModelZipFormat.FormatSignature)
        {
            throw new ModelFormatException(
                $"'{path}' declares format '{manifest.Format}'; an MLNet.Transformer model declares '{ModelZipFormat.FormatSignature}'.", path);
        }

        if (manifest.FormatVersion < 1 || manifest.MinReaderVersion < 1 || manifest.MinReaderVersion > manifest.FormatVersion)
        {
            throw new InvalidModelJsonException(
                $"'{path}' has inconsistent versions (formatVersion {manifest.FormatVersion}, minReaderVersion {manifest.MinReaderVersion}).", path);
        }

        if (manifest.MinReaderVersion > ModelZipFormat.FormatVersion)
        {
            throw new UnsupportedModelVersionException(
                $"The model was written in format version {manifest.FormatVersion} by MLNet.Transformer {manifest.LibraryVersion} and needs a reader of format version {manifest.MinReaderVersion} or newer; " +
                $"this library reads format versions up to {ModelZipFormat.FormatVersion}. Update MLNet.Transformer to load it.",
                path, manifest.MinReaderVersion, ModelZipFormat.FormatVersion);
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in manifest.Entries)
        {
            if (e is null || e.Path.Length == 0 || e.Path == path || e.Path.EndsWith('/') || e.Path.StartsWith('/') ||
                e.Path.Contains('\\', StringComparison.Ordinal) || e.Path.Split('/').Any(p => p is "" or "." or ".."))
            {
                throw new InvalidModelJsonException($"'{path}' lists an invalid entry path '{e?.Path}'.", path);
            }

            if (!seen.Add(e.Path))
            {
                throw new InvalidModelJsonException($"'{path}' lists '{e.Path}' twice.", path);
            }

            if (e.Size < 0 || e.Sha256.Length != 64 || !e.Sha256.All(char.IsAsciiHexDigitLower))
            {
                throw new InvalidModelJsonException($"'{path}' records an invalid size or SHA-256 for '{e.Path}'.", path);
            }
        }

        return manifest;
    }

    /// <summary>Reads at most <paramref name="limit"/> + 1 bytes of <paramref name="entry"/> (more means the entry is larger than declared).</summary>
    private static byte[] ReadEntry(ZipArchiveEntry entry, long limit)
    {
        try
        {
            using var s = entry.Open();
            var buffer = new MemoryStream();
            var chunk = new byte[81920];
            while (buffer.Length <= limit)
            {
                int want = (int)Math.Min(chunk.Length, limit + 1 - buffer.Length);
                int n = s.Read(chunk, 0, want);
                if (n == 0)
                {
                    break;
                }

                buffer.Write(chunk, 0, n);
            }

            return buffer.ToArray();
        }
        catch (Exception e) when (IsZipError(e))
        {
            throw new CorruptModelEntryException(
                $"The model entry '{entry.FullName}' cannot be read (truncated or corrupted): {e.Message}", entry.FullName, e);
        }
    }

    private static bool IsZipError(Exception e) =>
        e is InvalidDataException or IOException or NotSupportedException or ArgumentException or OverflowException or IndexOutOfRangeException
            && e is not (FileNotFoundException or DirectoryNotFoundException);
}
