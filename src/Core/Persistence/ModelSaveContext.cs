// Writing one pipeline stage's entries inside a model .zip (see docs/model-zip.md for the layout).
// A stage's folder is "<parent><name>-<Signature>/"; the root stage's is "stages/0000-<Signature>/".
namespace MLNet.Transformer.Persistence;

/// <summary>A named float32 tensor: row-major <see cref="Data"/> of the given <see cref="Shape"/>.</summary>
/// <param name="Shape">Dimensions.</param>
/// <param name="Data">Values, row-major; length = product of <paramref name="Shape"/>.</param>
public sealed record TensorData(long[] Shape, float[] Data);

/// <summary>
/// The writer handed to <see cref="ICanSaveModel.Save"/>: one stage's folder in the .zip. Call
/// <see cref="SetStage"/> first, then write the config, JSON, tensor, byte and nested-stage entries, each
/// under a name of letters, digits and '_' that is unique within the stage (the extension is added).
/// </summary>
public sealed partial class ModelSaveContext
{
    private static readonly Dictionary<string, string> TensorMetadata = new(StringComparer.Ordinal) { ["format"] = "pt" };

    private readonly ModelZipWriter _writer;
    private readonly string _parentFolder;
    private readonly string _name;
    private readonly ICanSaveModel _stage;
    private readonly HashSet<string> _stageNames = new(StringComparer.Ordinal);
    private string? _folder;

    internal ModelSaveContext(ModelZipWriter writer, string parentFolder, string name, ICanSaveModel stage)
    {
        _writer = writer;
        _parentFolder = parentFolder;
        _name = name;
        _stage = stage;
    }

    /// <summary>The stage's folder inside the archive (e.g. <c>stages/0000-CharTokenizer/</c>); null before <see cref="SetStage"/>.</summary>
    public string? Folder => _folder;

    /// <summary>Declares the stage: its loader signature, the version written and the oldest version that can read it.</summary>
    /// <param name="signature">The key of the stage's loader in <see cref="ModelLoaderRegistry"/>: a letter, then letters, digits, '_' or '.'.</param>
    /// <param name="version">The version of the stage's layout written (&gt;= 1).</param>
    /// <param name="minReadableVersion">The oldest loader version able to read it (1 ..= <paramref name="version"/>).</param>
    /// <exception cref="ArgumentException">Invalid signature or versions.</exception>
    /// <exception cref="InvalidOperationException">Called twice.</exception>
    public void SetStage(string signature, int version, int minReadableVersion)
    {
        ModelZipFormat.CheckSignature(signature);
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(minReadableVersion, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minReadableVersion, version);
        if (_folder is not null)
        {
            throw new InvalidOperationException($"SetStage was already called for the stage in '{_folder}'.");
        }

        _folder = ModelZipFormat.StageFolder(_parentFolder, _name, signature);
        string assembly = ModelLoaderRegistry.LoaderAssemblyName(signature)
            ?? _stage.GetType().Assembly.GetName().Name
            ?? string.Empty;
        _writer.AddJson(_folder + ModelZipFormat.StageFile, new ModelZipFormat.StageInfo(signature, version, minReadableVersion, assembly));
    }

    /// <summary>Writes the stage's configuration as <c>config.json</c> (System.Text.Json, camelCase, indented).</summary>
    public void WriteConfig<T>(T config) => _writer.AddJson(RequireStage() + ModelZipFormat.ConfigFile, config);

    /// <summary>Writes a JSON entry <c>&lt;name&gt;.json</c> (e.g. a vocabulary).</summary>
    public void WriteJson<T>(string name, T value)
    {
        ModelZipFormat.CheckName(name, nameof(name));
        _writer.AddJson(RequireStage() + name + ModelZipFormat.JsonExtension, value);
    }

    /// <summary>Writes tensors as a safetensors entry <c>&lt;name&gt;.safetensors</c> (stored uncompressed, checksummed in the manifest).</summary>
    /// <exception cref="ArgumentException">A tensor's data length does not match its shape, or a name is invalid.</exception>
    public void WriteTensors(string name, IReadOnlyDictionary<string, TensorData> tensors)
    {
        ModelZipFormat.CheckName(name, nameof(name));
        string folder = RequireStage();
        _writer.Add(folder + name + ModelZipFormat.TensorsExtension, SafeTensors.Write(tensors, TensorMetadata), compress: false);
    }

    /// <summary>Writes raw bytes as an entry <c>&lt;name&gt;.bin</c>.</summary>
    public void WriteBytes(string name, ReadOnlySpan<byte> bytes)
    {
        ModelZipFormat.CheckName(name, nameof(name));
        _writer.Add(RequireStage() + name + ModelZipFormat.BytesExtension, bytes.ToArray(), compress: true);
    }

    /// <summary>Saves a nested stage (e.g. a chain's elements) into the sub-folder <c>&lt;name&gt;-&lt;its signature&gt;/</c>.</summary>
    /// <exception cref="InvalidOperationException">A nested stage of that name was already written, or the stage did not call <see cref="SetStage"/>.</exception>
    public void WriteStage(string name, ICanSaveModel stage)
    {
        ModelZipFormat.CheckName(name, nameof(name));
        ArgumentNullException.ThrowIfNull(stage);
        string folder = RequireStage();
        if (!_stageNames.Add(name))
        {
            throw new InvalidOperationException($"A nested stage named '{name}' was already written in '{folder}'.");
        }

        if (stage is LoadedModel loaded)
        {
            stage = loaded.Model;
        }

        var child = new ModelSaveContext(_writer, folder, name, stage);
        stage.Save(child);
        child.Complete();
    }

    /// <summary>Checks that the stage declared itself; called after its <see cref="ICanSaveModel.Save"/> returns.</summary>
    internal string Complete() =>
        _folder ?? throw new InvalidOperationException(
            $"Stage {_stage.GetType().FullName} wrote no SetStage(signature, version, minReadableVersion) in its Save method.");

    private string RequireStage() =>
        _folder ?? throw new InvalidOperationException(
            $"Stage {_stage.GetType().FullName} must call SetStage before writing entries.");
}
