// The character tokenizer's estimator: checks that the input column is Text and learns the character
// vocabulary (frequency cut-off, size cap) in one streamed pass. The fitted stage is CharacterTokenizerTransformer.
using System.Text;
using MLNet.Transformer.Data;

namespace MLNet.Transformer.Text;

/// <summary>
/// Learns a <see cref="CharacterVocabulary"/> from a Text column and returns a
/// <see cref="CharacterTokenizerTransformer"/>. Created by <c>mlContext.Transforms.Text.TokenizeIntoCharacterIds</c>.
/// </summary>
public sealed class CharacterTokenizerEstimator : IEstimator<CharacterTokenizerTransformer>
{
    /// <summary>Default option values, shared by <see cref="Options"/> and the catalog methods.</summary>
    internal static class Defaults
    {
        public const bool Normalize = true;
        public const bool LowerCase = false;
        public const bool AddBos = true;
        public const bool AddEos = true;
        public const int MaximumLength = 1024;
        public const LengthPolicy Policy = LengthPolicy.Throw;
        public const int MinimumFrequency = 1;
        public const int MaximumVocabularySize = int.MaxValue;
    }

    /// <summary>Options of the character tokenizer.</summary>
    public sealed class Options
    {
        /// <summary>The id column to create; the length column is <c>{OutputColumnName}Length</c>.</summary>
        public required string OutputColumnName { get; init; }

        /// <summary>The Text column to read (default: <see cref="OutputColumnName"/>).</summary>
        public string? InputColumnName { get; init; }

        /// <summary>NFC-normalise text before splitting it (so "e" + U+0301 is the single token "é"). Default true. Uses
        /// <see cref="string.Normalize(System.Text.NormalizationForm)"/>, so the process needs ICU (InvariantGlobalization off);
        /// without it, tokenizing non-ASCII text throws a <see cref="TransformerException"/> that says so.</summary>
        public bool Normalize { get; init; } = Defaults.Normalize;

        /// <summary>Lower-case every character (invariant culture). Default false.</summary>
        public bool LowerCase { get; init; } = Defaults.LowerCase;

        /// <summary>Start each sequence with &lt;BOS&gt;. Default true.</summary>
        public bool AddBos { get; init; } = Defaults.AddBos;

        /// <summary>End each sequence with &lt;EOS&gt;. Default true.</summary>
        public bool AddEos { get; init; } = Defaults.AddEos;

        /// <summary>The most ids per sequence, BOS/EOS included. Default 1024.</summary>
        public int MaximumLength { get; init; } = Defaults.MaximumLength;

        /// <summary>What to do with longer texts: <see cref="LengthPolicy.Throw"/> (default) or <see cref="LengthPolicy.Truncate"/>.</summary>
        public LengthPolicy LengthPolicy { get; init; } = Defaults.Policy;

        /// <summary>Characters seen fewer times than this during Fit map to &lt;UNK&gt;. Default 1.</summary>
        public int MinimumFrequency { get; init; } = Defaults.MinimumFrequency;

        /// <summary>The most ids in the vocabulary, the four special tokens included; the most frequent characters are kept (ties: lower code point). Default: no limit.</summary>
        public int MaximumVocabularySize { get; init; } = Defaults.MaximumVocabularySize;

        /// <summary>Throws an argument error naming the first bad option (column and length options are checked with the config).</summary>
        internal void Validate()
        {
            if (!Enum.IsDefined(LengthPolicy))
            {
                throw new TransformerArgumentException($"LengthPolicy {(int)LengthPolicy} is not one of Truncate, Throw.", nameof(LengthPolicy));
            }

            if (MinimumFrequency < 1)
            {
                throw new TransformerArgumentException($"MinimumFrequency is {MinimumFrequency}; it must be at least 1.", nameof(MinimumFrequency));
            }

            if (MaximumVocabularySize < CharacterVocabulary.SpecialTokenCount)
            {
                throw new TransformerArgumentException(
                    $"MaximumVocabularySize is {MaximumVocabularySize}; it counts the {CharacterVocabulary.SpecialTokenCount} special tokens, so it must be at least {CharacterVocabulary.SpecialTokenCount}.",
                    nameof(MaximumVocabularySize));
            }
        }
    }

    private readonly CharacterTokenizerConfig _config;
    private readonly int _minimumFrequency;
    private readonly int _maximumVocabularySize;

    internal CharacterTokenizerEstimator(Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _config = new CharacterTokenizerConfig
        {
            OutputColumnName = options.OutputColumnName,
            InputColumnName = options.InputColumnName ?? options.OutputColumnName,
            Normalize = options.Normalize,
            LowerCase = options.LowerCase,
            AddBos = options.AddBos,
            AddEos = options.AddEos,
            MaximumLength = options.MaximumLength,
            LengthPolicy = options.LengthPolicy.ToString(),
        };
        options.Validate();
        _config.Validate();
        _minimumFrequency = options.MinimumFrequency;
        _maximumVocabularySize = options.MaximumVocabularySize;
    }

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CharacterTokenizerTransformer.CheckInput(inputSchema, _config.InputColumnName);
        return RowToRowTransformerBase.AppendColumns(inputSchema, CharacterTokenizerTransformer.OutputColumns(_config.OutputColumnName, null));
    }

    /// <summary>Counts the characters of the input column (one streamed pass) and builds the vocabulary.</summary>
    /// <exception cref="SchemaException">The input column is missing or not Text.</exception>
    public CharacterTokenizerTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var column = CharacterTokenizerTransformer.CheckInput(input.Schema, _config.InputColumnName);
        var counts = new Dictionary<Rune, long>();
        var scalars = new List<int>();
        using (var cursor = input.GetRowCursor([column]))
        {
            var getter = cursor.GetGetter<string>(column);
            while (cursor.MoveNext())
            {
                string text = null!;
                getter(ref text);
                scalars.Clear();
                CharacterScalars.Append(text, _config.Normalize, _config.LowerCase, scalars);
                foreach (int s in scalars)
                {
                    if (s != CharacterScalars.Invalid)
                    {
                        var rune = new Rune(s);
                        counts[rune] = counts.GetValueOrDefault(rune) + 1;
                    }
                }
            }
        }

        var vocabulary = CharacterVocabulary.FromCounts(counts, _minimumFrequency, _maximumVocabularySize);
        return new CharacterTokenizerTransformer(vocabulary, new CharacterTokenizerConfig
        {
            InputColumnName = _config.InputColumnName,
            OutputColumnName = _config.OutputColumnName,
            Normalize = _config.Normalize,
            LowerCase = _config.LowerCase,
            AddBos = _config.AddBos,
            AddEos = _config.AddEos,
            MaximumLength = _config.MaximumLength,
            LengthPolicy = _config.LengthPolicy,
        });
    }
}
