// Catalog entries of the scoring-side assembly: the character tokenizer on mlContext.Transforms.Text and the
// next-character evaluation on mlContext.MulticlassClassification, the label mapping on mlContext.Transforms.Conversion. In namespace Microsoft.ML, as ML.NET's own.
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.Text;

namespace Microsoft.ML;

/// <summary>Creates the character tokenizer and evaluates next-character models.</summary>
public static class TextTransformerCatalog
{
    /// <summary>
    /// Tokenizes the Text column <paramref name="inputColumnName"/> (default: <paramref name="outputColumnName"/>) into
    /// character ids: &lt;BOS&gt;, one id per Unicode scalar value (after NFC and optional lower-casing; characters not
    /// seen by Fit become &lt;UNK&gt;), &lt;EOS&gt;. The vocabulary is learned by Fit. Unlike ML.NET's
    /// TokenizeIntoCharactersAsKeys, ids are contiguous and the special tokens are part of the vocabulary.
    /// </summary>
    public static CharacterTokenizerEstimator TokenizeIntoCharacterIds(
        this TransformsCatalog.TextTransforms catalog, string outputColumnName, string? inputColumnName = null, bool normalize = true, bool lowerCase = false)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return catalog.TokenizeIntoCharacterIds(new CharacterTokenizerEstimator.Options
        {
            OutputColumnName = outputColumnName,
            InputColumnName = inputColumnName ?? outputColumnName,
            Normalize = normalize,
            LowerCase = lowerCase,
        });
    }

    /// <summary>The character tokenizer with every option.</summary>
    public static CharacterTokenizerEstimator TokenizeIntoCharacterIds(this TransformsCatalog.TextTransforms catalog, CharacterTokenizerEstimator.Options options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new CharacterTokenizerEstimator(OnnxSessionRetry.Context(), options);
    }

    /// <summary>
    /// The label for ML.NET's multiclass evaluation of (prefix, next character) rows: maps the Text column
    /// <paramref name="inputColumnName"/> (one character, or <c>&lt;EOS&gt;</c> after the last) to a key over the
    /// vocabulary of the next-character model that precedes it, written to <paramref name="outputColumnName"/>. Append
    /// it after the model (or fit it on scored data): then <c>mlContext.MulticlassClassification.Evaluate</c> and
    /// <c>CrossValidate</c> read Score, PredictedLabel and this label as from any ML.NET multiclass trainer.
    /// </summary>
    public static NextCharacterLabelEstimator MapNextCharacterToKey(this TransformsCatalog.ConversionTransforms catalog, string outputColumnName = "Label", string inputColumnName = "NextChar")
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
        ArgumentException.ThrowIfNullOrWhiteSpace(inputColumnName);
        return new NextCharacterLabelEstimator(OnnxSessionRetry.Context(), outputColumnName, inputColumnName);
    }

    /// <summary>
    /// Log-loss (nats per character), perplexity, accuracy and top-5 accuracy over every target character (EOS
    /// included) of data scored by a next-character model, fitted or loaded.
    /// </summary>
    public static NextCharacterMetrics EvaluateNextCharacter(this MulticlassClassificationCatalog catalog, IDataView predictions)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return NextCharacterEvaluation.Evaluate(predictions);
    }
}
