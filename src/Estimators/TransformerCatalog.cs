// The trainers' catalog entries: extension methods on ML.NET's multiclass-classification trainers (next-character
// prediction is a V-way classification per position; the fitted model's Score column follows that convention), with
// a flat overload and an Options overload each. In namespace Microsoft.ML so that `using Microsoft.ML;` finds them,
// as ML.NET's own packages do.
using MLNet.Transformer.LanguageModeling;
using D = MLNet.Transformer.LanguageModeling.TransformerTrainerOptions.Defaults;

namespace Microsoft.ML;

/// <summary>Creates the next-character transformer trainers: <c>mlContext.MulticlassClassification.Trainers.TransformerDecoder(...)</c>.</summary>
public static class TransformerCatalog
{
    /// <summary>The flat overloads' default number of epochs: enough for the small models they describe to converge on a few thousand short rows.</summary>
    public const int FlatEpochs = 20;

    /// <summary>
    /// A decoder-only next-character transformer (the seed's MiniFormer generalised to N layers and H heads), trained
    /// on the Text column <paramref name="textColumnName"/>. The fitted model appends Score (next-character
    /// probabilities), PredictedNextChar, per-row LogLoss/TokenCount and the attention of every layer and head.
    /// Trains on the GPU with <paramref name="device"/> "cuda" (or "auto": CUDA when present). <paramref name="seed"/>
    /// fixes initialisation, shuffling and dropout (default: a random seed); <paramref name="epochs"/> defaults to
    /// <see cref="FlatEpochs"/> (the options overload offers early stopping and every other setting).
    /// </summary>
    public static TransformerDecoderTrainer TransformerDecoder(
        this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string textColumnName = D.TextColumnName,
        int layers = D.Layers,
        int heads = D.Heads,
        int modelDimension = D.ModelDimension,
        int feedForwardDimension = D.FeedForwardDimension,
        int epochs = FlatEpochs,
        float learningRate = D.LearningRate,
        string device = D.Device,
        int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return catalog.TransformerDecoder(new TransformerDecoderTrainerOptions
        {
            TextColumnName = textColumnName,
            Layers = layers,
            Heads = heads,
            ModelDimension = modelDimension,
            FeedForwardDimension = feedForwardDimension,
            Epochs = epochs,
            LearningRate = learningRate,
            Device = device,
            Seed = seed,
        });
    }

    /// <summary>A decoder-only next-character transformer with every option.</summary>
    public static TransformerDecoderTrainer TransformerDecoder(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, TransformerDecoderTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        return new TransformerDecoderTrainer(OnnxSessionRetry.Context(options.Seed), options);
    }

    /// <summary>
    /// An encoder-decoder transformer. With <paramref name="sourceColumnName"/> it learns source -> target text;
    /// without, it predicts the next character of <paramref name="textColumnName"/> honestly (causal encoder over the
    /// same prefix, cross-attention restricted to positions up to the current one). <paramref name="seed"/> fixes
    /// initialisation, shuffling and dropout (default: a random seed).
    /// </summary>
    public static TransformerEncoderDecoderTrainer TransformerEncoderDecoder(
        this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string textColumnName = D.TextColumnName,
        string? sourceColumnName = null,
        int layers = 2,
        int heads = 4,
        int modelDimension = 64,
        int feedForwardDimension = 128,
        int epochs = FlatEpochs,
        float learningRate = D.LearningRate,
        string device = D.Device,
        int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return catalog.TransformerEncoderDecoder(new TransformerEncoderDecoderTrainerOptions
        {
            TextColumnName = textColumnName,
            SourceColumnName = sourceColumnName,
            Layers = layers,
            Heads = heads,
            ModelDimension = modelDimension,
            FeedForwardDimension = feedForwardDimension,
            Epochs = epochs,
            LearningRate = learningRate,
            Device = device,
            Seed = seed,
        });
    }

    /// <summary>An encoder-decoder transformer with every option.</summary>
    public static TransformerEncoderDecoderTrainer TransformerEncoderDecoder(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, TransformerEncoderDecoderTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        return new TransformerEncoderDecoderTrainer(OnnxSessionRetry.Context(options.Seed), options);
    }

    /// <summary>The trainer its options describe (decoder-only or encoder-decoder).</summary>
    public static TransformerTrainerBase Transformer(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, TransformerTrainerOptions options) => options switch
    {
        TransformerDecoderTrainerOptions d => catalog.TransformerDecoder(d),
        TransformerEncoderDecoderTrainerOptions e => catalog.TransformerEncoderDecoder(e),
        null => throw new ArgumentNullException(nameof(options)),
        _ => throw new ArgumentException($"Options of type {options.GetType().Name} name no trainer; use TransformerDecoderTrainerOptions or TransformerEncoderDecoderTrainerOptions.", nameof(options)),
    };
}
