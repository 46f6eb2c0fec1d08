// The entry point of the library, as in ML.NET: a seeded context whose catalogs are the public way in.
using MLNet.Transformer.Persistence;

namespace MLNet.Transformer;

/// <summary>
/// The starting point for all operations: loading data (<see cref="Data"/>), transforms (<see cref="Transforms"/>),
/// next-character models (<see cref="LanguageModeling"/>) and saving/loading (<see cref="Model"/>).
/// One seed makes every random choice (shuffles, initialisation, sampling) reproducible.
/// </summary>
public sealed class MLContext
{
    private readonly Random _seeds;

    /// <summary>Creates a context. With a <paramref name="seed"/>, everything random is reproducible.</summary>
    public MLContext(int? seed = null)
    {
        Seed = seed;
        _seeds = seed is int s ? new Random(s) : new Random();
        Data = new DataOperationsCatalog(this);
        Transforms = new TransformsCatalog(this);
        Model = new ModelOperationsCatalog();
        LanguageModeling = new LanguageModelingCatalog(this);
    }

    /// <summary>The seed given at construction, if any.</summary>
    public int? Seed { get; }

    /// <summary>Loading, splitting and reading back data.</summary>
    public DataOperationsCatalog Data { get; }

    /// <summary>Data transforms (tokenizers and the like), extended by extension methods.</summary>
    public TransformsCatalog Transforms { get; }

    /// <summary>Saving and loading fitted pipelines.</summary>
    public ModelOperationsCatalog Model { get; }

    /// <summary>Next-character language models: trainers and evaluation.</summary>
    public LanguageModelingCatalog LanguageModeling { get; }

    /// <summary>Draws the seed of the next component (deterministic when the context is seeded).</summary>
    public int NextSeed()
    {
        lock (_seeds)
        {
            return _seeds.Next();
        }
    }
}

/// <summary>Transforms catalog; the tokenizers and other transforms hang off it as extension methods.</summary>
public sealed class TransformsCatalog
{
    internal TransformsCatalog(MLContext context)
    {
        Context = context;
        Text = new TextTransforms(context);
    }

    /// <summary>The owning context.</summary>
    public MLContext Context { get; }

    /// <summary>Text transforms (character tokenizer).</summary>
    public TextTransforms Text { get; }

    /// <summary>Text transforms; extended by extension methods.</summary>
    public sealed class TextTransforms
    {
        internal TextTransforms(MLContext context) => Context = context;

        /// <summary>The owning context.</summary>
        public MLContext Context { get; }
    }
}

/// <summary>Next-character language modelling: trainers (extension methods on <see cref="Trainers"/>) and evaluation.</summary>
public sealed class LanguageModelingCatalog
{
    internal LanguageModelingCatalog(MLContext context)
    {
        Context = context;
        Trainers = new TrainerCatalog(context);
    }

    /// <summary>The owning context.</summary>
    public MLContext Context { get; }

    /// <summary>Trainers; extended by extension methods in MLNet.Transformer.Estimators.</summary>
    public TrainerCatalog Trainers { get; }

    /// <summary>The trainers catalog.</summary>
    public sealed class TrainerCatalog
    {
        internal TrainerCatalog(MLContext context) => Context = context;

        /// <summary>The owning context.</summary>
        public MLContext Context { get; }
    }
}
