// Writing and reading one pipeline stage's entries inside a model .zip (see docs/model-zip.md for the layout).
using MLNet.Transformer.Data;

namespace MLNet.Transformer.Persistence;

/// <summary>A named float32 tensor: row-major <see cref="Data"/> of the given <see cref="Shape"/>.</summary>
/// <param name="Shape">Dimensions.</param>
/// <param name="Data">Values, row-major; length = product of <paramref name="Shape"/>.</param>
public sealed record TensorData(long[] Shape, float[] Data);

/// <summary>The writer handed to <see cref="ICanSaveModel.Save"/>: one stage's folder in the .zip.</summary>
public sealed partial class ModelSaveContext
{
    /// <summary>Declares the stage: its loader signature, the version written and the oldest version that can read it.</summary>
    public void SetStage(string signature, int version, int minReadableVersion) => throw new NotImplementedException();

    /// <summary>Writes the stage's configuration as JSON (System.Text.Json, camelCase).</summary>
    public void WriteConfig<T>(T config) => throw new NotImplementedException();

    /// <summary>Writes a JSON entry (e.g. a vocabulary).</summary>
    public void WriteJson<T>(string name, T value) => throw new NotImplementedException();

    /// <summary>Writes tensors in the safetensors format (checksummed in the manifest).</summary>
    public void WriteTensors(string name, IReadOnlyDictionary<string, TensorData> tensors) => throw new NotImplementedException();

    /// <summary>Saves a nested stage (e.g. a chain's elements) into a sub-folder.</summary>
    public void WriteStage(string name, ICanSaveModel stage) => throw new NotImplementedException();
}

/// <summary>The reader handed to a <see cref="StageLoader"/>.</summary>
public sealed partial class ModelLoadContext
{
    /// <summary>The stage's signature.</summary>
    public string Signature => throw new NotImplementedException();

    /// <summary>The version the stage was written with.</summary>
    public int Version => throw new NotImplementedException();

    /// <summary>Reads the configuration written by <see cref="ModelSaveContext.WriteConfig{T}"/>.</summary>
    public T ReadConfig<T>() => throw new NotImplementedException();

    /// <summary>Reads a JSON entry.</summary>
    public T ReadJson<T>(string name) => throw new NotImplementedException();

    /// <summary>Reads a safetensors entry, verifying its checksum.</summary>
    public IReadOnlyDictionary<string, TensorData> ReadTensors(string name) => throw new NotImplementedException();

    /// <summary>Loads a nested stage written by <see cref="ModelSaveContext.WriteStage"/>.</summary>
    public ITransformer ReadStage(string name) => throw new NotImplementedException();
}

/// <summary>Explicit registry of stage loaders, keyed by stage signature. No reflection scanning.</summary>
public static class ModelLoaderRegistry
{
    /// <summary>Registers <paramref name="loader"/> for <paramref name="signature"/> (idempotent for the same loader).</summary>
    public static void Register(string signature, StageLoader loader) => throw new NotImplementedException();
}

/// <summary>Saves and loads whole fitted pipelines. Reached through <see cref="MLContext.Model"/>.</summary>
public sealed class ModelOperationsCatalog
{
    internal ModelOperationsCatalog() { }

    /// <summary>Saves <paramref name="model"/> and the schema it expects to <paramref name="path"/> (temp file + rename).</summary>
    public void Save(ITransformer model, DataViewSchema inputSchema, string path) => throw new NotImplementedException();

    /// <summary>Loads a model saved by <see cref="Save"/>; <paramref name="inputSchema"/> receives the schema it expects.</summary>
    public ITransformer Load(string path, out DataViewSchema inputSchema) => throw new NotImplementedException();
}
