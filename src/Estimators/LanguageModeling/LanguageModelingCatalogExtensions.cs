// Catalog methods, the public way to create the next-character trainers: a flat overload and an Options overload each.
using MLNet.Transformer.Data;
using D = MLNet.Transformer.LanguageModeling.TransformerTrainerOptions.Defaults;

namespace MLNet.Transformer.LanguageModeling;

/// <summary>Trainer and evaluation methods on <see cref="MLContext.LanguageModeling"/>.</summary>
public static class LanguageModelingCatalogExtensions
{
    /// <summary>A decoder-only next-character transformer trainer.</summary>
    /// <param name="catalog">The trainers catalog.</param>
    /// <param name="tokensColumnName">Token-id column from TokenizeIntoCharacterIds.</param>
    /// <param name="layers">Number of blocks.</param>
    /// <param name="heads">Attention heads (must divide <paramref name="modelDimension"/>).</param>
    /// <param name="modelDimension">Embedding width.</param>
    /// <param name="feedForwardDimension">Feed-forward width.</param>
    /// <param name="epochs">Passes over the data.</param>
    /// <param name="learningRate">Adam learning rate.</param>
    /// <param name="device">auto, cpu or cuda:N.</param>
    public static TransformerDecoderTrainer TransformerDecoder(
        this LanguageModelingCatalog.TrainerCatalog catalog,
        string tokensColumnName = D.TokensColumnName,
        int layers = D.Layers,
        int heads = D.Heads,
        int modelDimension = D.ModelDimension,
        int feedForwardDimension = D.FeedForwardDimension,
        int epochs = D.Epochs,
        float learningRate = D.LearningRate,
        string device = D.Device)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new TransformerDecoderTrainer(catalog.Context, new TransformerDecoderTrainerOptions
        {
            TokensColumnName = tokensColumnName,
            Layers = layers,
            Heads = heads,
            ModelDimension = modelDimension,
            FeedForwardDimension = feedForwardDimension,
            Epochs = epochs,
            LearningRate = learningRate,
            Device = device,
        });
    }

    /// <summary>A decoder-only next-character transformer trainer with every option.</summary>
    public static TransformerDecoderTrainer TransformerDecoder(this LanguageModelingCatalog.TrainerCatalog catalog, TransformerDecoderTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new TransformerDecoderTrainer(catalog.Context, options);
    }

    /// <summary>An encoder-decoder transformer trainer: source -> target, or honest next-character prediction without a source.</summary>
    /// <param name="catalog">The trainers catalog.</param>
    /// <param name="tokensColumnName">Target token-id column.</param>
    /// <param name="sourceColumnName">Source token-id column, or null for single-column next-character prediction.</param>
    /// <param name="layers">Encoder and decoder blocks each.</param>
    /// <param name="heads">Attention heads.</param>
    /// <param name="modelDimension">Embedding width.</param>
    /// <param name="feedForwardDimension">Feed-forward width.</param>
    /// <param name="epochs">Passes over the data.</param>
    /// <param name="learningRate">Adam learning rate.</param>
    /// <param name="device">auto, cpu or cuda:N.</param>
    public static TransformerEncoderDecoderTrainer TransformerEncoderDecoder(
        this LanguageModelingCatalog.TrainerCatalog catalog,
        string tokensColumnName = D.TokensColumnName,
        string? sourceColumnName = null,
        int layers = 2,
        int heads = 4,
        int modelDimension = 64,
        int feedForwardDimension = 128,
        int epochs = D.Epochs,
        float learningRate = D.LearningRate,
        string device = D.Device)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new TransformerEncoderDecoderTrainer(catalog.Context, new TransformerEncoderDecoderTrainerOptions
        {
            TokensColumnName = tokensColumnName,
            SourceColumnName = sourceColumnName,
            Layers = layers,
            Heads = heads,
            ModelDimension = modelDimension,
            FeedForwardDimension = feedForwardDimension,
            Epochs = epochs,
            LearningRate = learningRate,
            Device = device,
        });
    }

    /// <summary>An encoder-decoder transformer trainer with every option.</summary>
    public static TransformerEncoderDecoderTrainer TransformerEncoderDecoder(this LanguageModelingCatalog.TrainerCatalog catalog, TransformerEncoderDecoderTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new TransformerEncoderDecoderTrainer(catalog.Context, options);
    }

    /// <summary>
    /// The trainer for <paramref name="options"/>: decoder-only for <see cref="TransformerDecoderTrainerOptions"/>,
    /// encoder-decoder for <see cref="TransformerEncoderDecoderTrainerOptions"/> (for code that holds either).
    /// </summary>
    /// <exception cref="ArgumentException">Another options type.</exception>
    public static TransformerTrainerBase Transformer(this LanguageModelingCatalog.TrainerCatalog catalog, TransformerTrainerOptions options) => options switch
    {
        TransformerDecoderTrainerOptions d => catalog.TransformerDecoder(d),
        TransformerEncoderDecoderTrainerOptions e => catalog.TransformerEncoderDecoder(e),
        _ => throw new ArgumentException($"Unsupported trainer options type {options?.GetType().Name ?? "null"}: use TransformerDecoderTrainerOptions or TransformerEncoderDecoderTrainerOptions.", nameof(options)),
    };

    /// <summary>
    /// Log-loss (nats per character), perplexity, accuracy and top-K accuracy over every real target position (EOS
    /// included, PAD excluded) of <paramref name="predictions"/>, the output of a next-character model's Transform.
    /// </summary>
    public static NextCharacterMetrics Evaluate(this LanguageModelingCatalog catalog, IDataView predictions) =>
        NextCharacterPredictionTransformer.Evaluate(predictions);
}
