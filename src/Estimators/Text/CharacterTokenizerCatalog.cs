// Catalog methods, the public way to create the character tokenizer: a flat overload and an Options overload.
using D = MLNet.Transformer.Text.CharacterTokenizerEstimator.Defaults;

namespace MLNet.Transformer.Text;

/// <summary>Character tokenizer methods on <see cref="TransformsCatalog.TextTransforms"/>.</summary>
public static class CharacterTokenizerCatalog
{
    /// <summary>
    /// Tokenizes a Text column into character ids (one per Unicode scalar value), framed by &lt;BOS&gt;/&lt;EOS&gt;.
    /// Appends <paramref name="outputColumnName"/> (variable-length Int32 vector, vocabulary annotation) and
    /// <c>{outputColumnName}Length</c> (Int32).
    /// </summary>
    /// <param name="catalog">The text transforms catalog.</param>
    /// <param name="outputColumnName">The id column to create.</param>
    /// <param name="inputColumnName">The Text column to read (default: <paramref name="outputColumnName"/>).</param>
    /// <param name="maximumLength">The most ids per sequence, BOS/EOS included.</param>
    /// <param name="lengthPolicy">Throw (default) or truncate when a text is longer.</param>
    /// <param name="addBos">Start each sequence with &lt;BOS&gt;.</param>
    /// <param name="addEos">End each sequence with &lt;EOS&gt;.</param>
    /// <param name="normalize">NFC-normalise first.</param>
    /// <param name="lowerCase">Lower-case (invariant culture).</param>
    /// <param name="minimumFrequency">Rarer characters map to &lt;UNK&gt;.</param>
    /// <param name="maximumVocabularySize">The most ids in the vocabulary, special tokens included.</param>
    public static CharacterTokenizerEstimator TokenizeIntoCharacterIds(
        this TransformsCatalog.TextTransforms catalog,
        string outputColumnName,
        string? inputColumnName = null,
        int maximumLength = D.MaximumLength,
        LengthPolicy lengthPolicy = D.Policy,
        bool addBos = D.AddBos,
        bool addEos = D.AddEos,
        bool normalize = D.Normalize,
        bool lowerCase = D.LowerCase,
        int minimumFrequency = D.MinimumFrequency,
        int maximumVocabularySize = D.MaximumVocabularySize)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new CharacterTokenizerEstimator(new CharacterTokenizerEstimator.Options
        {
            OutputColumnName = outputColumnName,
            InputColumnName = inputColumnName,
            MaximumLength = maximumLength,
            LengthPolicy = lengthPolicy,
            AddBos = addBos,
            AddEos = addEos,
            Normalize = normalize,
            LowerCase = lowerCase,
            MinimumFrequency = minimumFrequency,
            MaximumVocabularySize = maximumVocabularySize,
        });
    }

    /// <summary>Tokenizes a Text column into character ids with the given <paramref name="options"/>.</summary>
    public static CharacterTokenizerEstimator TokenizeIntoCharacterIds(
        this TransformsCatalog.TextTransforms catalog,
        CharacterTokenizerEstimator.Options options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new CharacterTokenizerEstimator(options);
    }
}
