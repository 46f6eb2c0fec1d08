// Reading one pipeline stage's entries back from a model .zip; handed to the stage's registered loader.
namespace MLNet.Transformer.Persistence;

/// <summary>
/// The reader handed to a <see cref="StageLoader"/>: one stage's folder in the .zip. Every byte it returns was
/// checked against the manifest's SHA-256; every failure is a <see cref="ModelFormatException"/> naming the entry.
/// </summary>
public sealed partial class ModelLoadContext
{
    private readonly ModelZipReader _reader;
    private readonly ModelZipFormat.StageInfo _info;

    internal ModelLoadContext(ModelZipReader reader, string folder, ModelZipFormat.StageInfo info)
    {
        _reader = reader;
        Folder = folder;
        _info = info;
    }

    /// <summary>The stage's signature.</summary>
    public string Signature => _info.Signature;

    /// <summary>The version the stage was written with.</summary>
    public int Version => _info.Version;

    /// <summary>The oldest loader version able to read the stage, as its writer declared.</summary>
    public int MinReadableVersion => _info.MinReadableVersion;

    /// <summary>The stage's folder inside the archive (e.g. <c>stages/0000-CharTokenizer/</c>).</summary>
    public string Folder { get; }

    /// <summary>Reads the configuration written by <see cref="ModelSaveContext.WriteConfig{T}"/>.</summary>
    /// <exception cref="MissingModelEntryException">The stage has no config.json.</exception>
    /// <exception cref="InvalidModelJsonException">It is not valid JSON for <typeparamref name="T"/>.</exception>
    public T ReadConfig<T>() => _reader.ReadJson<T>(Folder + ModelZipFormat.ConfigFile, strict: false);

    /// <summary>Reads a JSON entry written by <see cref="ModelSaveContext.WriteJson{T}"/>.</summary>
    /// <exception cref="MissingModelEntryException">No such entry.</exception>
    /// <exception cref="InvalidModelJsonException">It is not valid JSON for <typeparamref name="T"/>.</exception>
    public T ReadJson<T>(string name)
    {
        ModelZipFormat.CheckName(name, nameof(name));
        return _reader.ReadJson<T>(Folder + name + ModelZipFormat.JsonExtension, strict: false);
    }

    /// <summary>Reads a safetensors entry written by <see cref="ModelSaveContext.WriteTensors"/> (its checksum already verified).</summary>
    /// <exception cref="MissingModelEntryException">No such entry.</exception>
    /// <exception cref="SafeTensorsFormatException">The entry is not valid safetensors of F32 tensors.</exception>
    public IReadOnlyDictionary<string, TensorData> ReadTensors(string name)
    {
        ModelZipFormat.CheckName(name, nameof(name));
        string path = Folder + name + ModelZipFormat.TensorsExtension;
        return SafeTensors.Read(_reader.GetBytes(path), path, out _);
    }

    /// <summary>Reads a byte entry written by <see cref="ModelSaveContext.WriteBytes"/>.</summary>
    /// <exception cref="MissingModelEntryException">No such entry.</exception>
    public byte[] ReadBytes(string name)
    {
        ModelZipFormat.CheckName(name, nameof(name));
        return (byte[])_reader.GetBytes(Folder + name + ModelZipFormat.BytesExtension).Clone();
    }

    /// <summary>True when the stage holds a JSON, tensors or bytes entry, or a nested stage, named <paramref name="name"/>.</summary>
    public bool Contains(string name)
    {
        ModelZipFormat.CheckName(name, nameof(name));
        string stem = Folder + name;
        return _reader.Contains(stem + ModelZipFormat.JsonExtension) ||
               _reader.Contains(stem + ModelZipFormat.TensorsExtension) ||
               _reader.Contains(stem + ModelZipFormat.BytesExtension) ||
               _reader.ContainsStage(Folder, name);
    }

    /// <summary>Loads a nested stage written by <see cref="ModelSaveContext.WriteStage"/>, through its own registered loader.</summary>
    /// <exception cref="MissingModelEntryException">No nested stage of that name.</exception>
    /// <exception cref="UnknownStageException">Its signature has no registered loader.</exception>
    public ITransformer ReadStage(string name)
    {
        ModelZipFormat.CheckName(name, nameof(name));
        return _reader.LoadStage(Folder, name, out _);
    }
}
