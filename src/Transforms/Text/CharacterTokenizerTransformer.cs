// The character tokenizer as an ML.NET estimator/transformer pair: Fit learns the vocabulary (one streamed pass);
// the fitted transformer is ML.NET's own chain (CopyColumns -> stateless code-point CustomMapping -> OnnxTransformer
// over a vocabulary-lookup ONNX model -> CopyColumns -> DropColumns), so it saves and loads as a standard ML.NET zip.
using Google.Protobuf;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.Onnx;

namespace MLNet.Transformer.Text;

/// <summary>
/// Learns a <see cref="CharacterVocabulary"/> from a Text column. Created by
/// <c>mlContext.Transforms.Text.TokenizeIntoCharacterIds</c>; fits a <see cref="CharacterTokenizerTransformer"/>.
/// </summary>
public sealed class CharacterTokenizerEstimator : IEstimator<CharacterTokenizerTransformer>
{
    private readonly MLContext _context;

    internal CharacterTokenizerEstimator(MLContext context, Options options)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _context = context;
        Settings = options;
    }

    /// <summary>The options this estimator was created with.</summary>
    public Options Settings { get; }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        var input = inputSchema.FirstOrDefault(c => c.Name == Settings.InputColumnName);
        if (input.Name is null)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Could not find input column '{Settings.InputColumnName}' (expected type String).");
        }

        if (input.Kind != SchemaShape.Column.VectorKind.Scalar || input.ItemType is not TextDataViewType)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Schema mismatch for input column '{Settings.InputColumnName}': expected String, got {input.ItemType}{(input.Kind == SchemaShape.Column.VectorKind.Scalar ? "" : " vector")}.");
        }

        return OutputShapes.Append(_context, inputSchema, Settings.InputColumnName, OutputShapes.Tokens(Settings.OutputColumnName));
    }

    /// <inheritdoc />
    public CharacterTokenizerTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        NextCharacterModel.CheckTextColumn(input.Schema, Settings.InputColumnName);
        var counts = new Dictionary<System.Text.Rune, long>();
        var scalars = new List<int>();
        var column = input.Schema[Settings.InputColumnName];
        using (var cursor = input.GetRowCursor([column]))
        {
            var get = cursor.GetGetter<ReadOnlyMemory<char>>(column);
            ReadOnlyMemory<char> text = default;
            while (cursor.MoveNext())
            {
                get(ref text);
                scalars.Clear();
                CharacterScalars.Append(text.ToString(), Settings.Normalize, Settings.LowerCase, scalars);
                foreach (int s in scalars)
                {
                    if (s != CharacterScalars.Invalid)
                    {
                        var r = new System.Text.Rune(s);
                        counts[r] = counts.GetValueOrDefault(r) + 1;
                    }
                }
            }
        }

        var vocabulary = CharacterVocabulary.FromCounts(counts, Settings.MinimumFrequency, Settings.MaximumVocabularySize);
        byte[] onnx = OnnxExporter.ExportTokenizer(vocabulary.Tokens, CharacterVocabulary.PadId, CharacterVocabulary.BosId, CharacterVocabulary.EosId, CharacterVocabulary.UnkId).ToByteArray();
        var estimator = _context.Transforms.CopyColumns(CodePoints.SourceColumn, Settings.InputColumnName)
            .Append(CodePoints.SourceMapping(_context, Settings.Normalize, Settings.LowerCase))
            .Append(_context.Transforms.ApplyOnnxModel([OnnxNames.TokenIds], [OnnxNames.SourceCodePoints], new MemoryStream(onnx)))
            .Append(_context.Transforms.CopyColumns(Settings.OutputColumnName, OnnxNames.TokenIds))
            .Append(_context.Transforms.DropColumns(CodePoints.SourceColumn, OnnxNames.SourceCodePoints, OnnxNames.TokenIds));
        var chain = OnnxSessionRetry.Run(() => estimator.Fit(input));
        return new CharacterTokenizerTransformer(chain, vocabulary, Settings);
    }

    /// <summary>Options of the character tokenizer.</summary>
    public sealed class Options
    {
        /// <summary>The id column to create: variable-length Int64 vector, &lt;BOS&gt; first and &lt;EOS&gt; last.</summary>
        public required string OutputColumnName { get; init; }

        /// <summary>The Text column to read.</summary>
        public required string InputColumnName { get; init; }

        /// <summary>NFC-normalise text before splitting it (so "e" + U+0301 is the single token "é"). Default true.</summary>
        public bool Normalize { get; init; } = true;

        /// <summary>Lower-case every character (invariant culture). Default false.</summary>
        public bool LowerCase { get; init; }

        /// <summary>Characters seen fewer times than this during Fit map to &lt;UNK&gt;. Default 1.</summary>
        public int MinimumFrequency { get; init; } = 1;

        /// <summary>The most ids in the vocabulary, the four special tokens included; the most frequent characters are kept (ties: lower code point). Default: no limit.</summary>
        public int MaximumVocabularySize { get; init; } = int.MaxValue;

        /// <summary>Throws an <see cref="ArgumentException"/> naming the first bad option.</summary>
        public void Validate()
        {
            if (string.IsNullOrEmpty(OutputColumnName))
            {
                throw new ArgumentException("Option OutputColumnName: must name the id column.", nameof(OutputColumnName));
            }

            if (string.IsNullOrEmpty(InputColumnName))
            {
                throw new ArgumentException("Option InputColumnName: must name the Text column.", nameof(InputColumnName));
            }

            if (MinimumFrequency < 1)
            {
                throw new ArgumentException($"Option MinimumFrequency: must be >= 1 (got {MinimumFrequency}).", nameof(MinimumFrequency));
            }

            if (MaximumVocabularySize < CharacterVocabulary.SpecialTokenCount)
            {
                throw new ArgumentException($"Option MaximumVocabularySize: must be >= {CharacterVocabulary.SpecialTokenCount} (got {MaximumVocabularySize}).", nameof(MaximumVocabularySize));
            }
        }
    }
}

/// <summary>
/// The fitted character tokenizer: Text -> ids (one per Unicode scalar value after optional NFC and lower-casing,
/// unknown characters -> &lt;UNK&gt;, framed by &lt;BOS&gt; and &lt;EOS&gt;), as a variable-length Int64 vector.
/// </summary>
public sealed class CharacterTokenizerTransformer : ITransformer
{
    internal CharacterTokenizerTransformer(ITransformer model, CharacterVocabulary vocabulary, CharacterTokenizerEstimator.Options options)
    {
        Model = model;
        Vocabulary = vocabulary;
        Settings = options;
    }

    /// <summary>The ML.NET chain that tokenizes (what is saved).</summary>
    public ITransformer Model { get; }

    /// <summary>The fitted vocabulary.</summary>
    public CharacterVocabulary Vocabulary { get; }

    /// <summary>The options it was fitted with.</summary>
    public CharacterTokenizerEstimator.Options Settings { get; }

    /// <inheritdoc />
    public bool IsRowToRowMapper => true;

    /// <summary>The ids of one text, exactly as the column holds them.</summary>
    public long[] Tokenize(string text)
    {
        var scalars = new List<int>();
        CharacterScalars.Append(text, Settings.Normalize, Settings.LowerCase, scalars);
        return [.. Vocabulary.Encode(scalars, addBos: true, addEos: true).Select(i => (long)i)];
    }

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        NextCharacterModel.CheckTextColumn(inputSchema, Settings.InputColumnName);
        return Model.GetOutputSchema(inputSchema);
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        NextCharacterModel.CheckTextColumn(inputSchema, Settings.InputColumnName);
        return Model.GetRowToRowMapper(inputSchema);
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        NextCharacterModel.CheckTextColumn(input.Schema, Settings.InputColumnName);
        return Model.Transform(input);
    }

    /// <summary>Writes the ML.NET chain.</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => Model.Save(ctx);
}
