// The persistence contract of pipeline stages: each stage writes its own entries into a model .zip
// through a ModelSaveContext and is rebuilt by a loader registered under its stage signature.
namespace MLNet.Transformer.Persistence;

/// <summary>A pipeline stage that can write itself into a model .zip.</summary>
public interface ICanSaveModel
{
    /// <summary>Writes this stage (signature, version, config, vocabularies, tensors) into <paramref name="context"/>.</summary>
    void Save(ModelSaveContext context);
}

/// <summary>Rebuilds a stage from the entries it wrote. Registered in <see cref="ModelLoaderRegistry"/>.</summary>
public delegate ITransformer StageLoader(ModelLoadContext context);
