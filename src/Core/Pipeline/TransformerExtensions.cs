// Looking inside a fitted or loaded pipeline: chains nest, and a loaded model wraps its chain.
using MLNet.Transformer.Persistence;

namespace MLNet.Transformer;

/// <summary>Helpers over fitted pipelines.</summary>
public static class TransformerExtensions
{
    /// <summary>The stages of <paramref name="transformer"/> in order, with chains and loaded models flattened.</summary>
    public static IEnumerable<ITransformer> Stages(this ITransformer transformer) => transformer switch
    {
        LoadedModel loaded => loaded.Model.Stages(),
        IEnumerable<ITransformer> chain => chain.SelectMany(Stages),
        null => throw new ArgumentNullException(nameof(transformer)),
        _ => [transformer],
    };

    /// <summary>The last stage of type <typeparamref name="T"/> in <paramref name="transformer"/>, or null.</summary>
    /// <example><c>var model = ml.Model.Load("names.zip", out _).FindStage&lt;NextCharacterPredictionTransformer&gt;();</c></example>
    public static T? FindStage<T>(this ITransformer transformer)
        where T : class, ITransformer => transformer.Stages().OfType<T>().LastOrDefault();
}
