// The fitted character tokenizer: text -> variable-length Int32 id vector (with BOS/EOS, no padding) plus its
// length, using a learned CharacterVocabulary attached to the id column. Saved as stage "CharacterTokenizer" v1.
using MLNet.Transformer.Data;
using MLNet.Transformer.Persistence;

namespace MLNet.Transformer.Text;

/// <summary>What the tokenizer does with a text longer than its maximum length.</summary>
public enum LengthPolicy
{
    /// <summary>Keep the first MaximumLength ids (BOS and the leading characters; the EOS is dropped since the text did not end there).</summary>
    Truncate,

    /// <summary>Raise a <see cref="SequenceTooLongException"/> naming the column, the row and the length.</summary>
    Throw,
}

/// <summary>A text tokenizes to more ids than the tokenizer's maximum length allows (policy <see cref="LengthPolicy.Throw"/>).</summary>
public sealed class SequenceTooLongException : TransformerException
{
    /// <summary>Creates the exception.</summary>
    public SequenceTooLongException() { }

    /// <summary>Creates the exception.</summary>
    public SequenceTooLongException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public SequenceTooLongException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for row <paramref name="row"/> of column <paramref name="columnName"/>.</summary>
    public SequenceTooLongException(string columnName, long row, int length, int maximumLength)
        : base($"Column '{columnName}', row {row}: the text tokenizes to {length} ids (BOS/EOS included), more than MaximumLength = {maximumLength}. " +
               "Raise MaximumLength or choose LengthPolicy.Truncate.")
    {
        ColumnName = columnName;
        Row = row;
        Length = length;
        MaximumLength = maximumLength;
    }

    /// <summary>The input column.</summary>
    public string? ColumnName { get; }

    /// <summary>The zero-based row (-1 when tokenizing a single string outside a data view).</summary>
    public long Row { get; }

    /// <summary>The number of ids the text needs.</summary>
    public int Length { get; }

    /// <summary>The limit.</summary>
    public int MaximumLength { get; }
}

/// <summary>The settings a character tokenizer is fitted with; also its saved config (JSON, camelCase).</summary>
internal sealed class CharacterTokenizerConfig
{
    public string InputColumnName { get; set; } = "";

    public string OutputColumnName { get; set; } = "";

    public bool Normalize { get; set; }

    public bool LowerCase { get; set; }

    public bool AddBos { get; set; }

    public bool AddEos { get; set; }

    public int MaximumLength { get; set; }

    /// <summary>The <see cref="Text.LengthPolicy"/> by name, so the saved file reads plainly.</summary>
    public string LengthPolicy { get; set; } = nameof(Text.LengthPolicy.Throw);

    /// <summary>Throws an argument error naming the first bad setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrEmpty(InputColumnName))
        {
            throw new TransformerArgumentException("InputColumnName must be set.", nameof(InputColumnName));
        }

        if (string.IsNullOrEmpty(OutputColumnName))
        {
            throw new TransformerArgumentException("OutputColumnName must be set.", nameof(OutputColumnName));
        }

        int minimum = (AddBos ? 1 : 0) + (AddEos ? 1 : 0) + 1;
        if (MaximumLength < minimum)
        {
            throw new TransformerArgumentException(
                $"MaximumLength is {MaximumLength}; it counts BOS/EOS, so it must be at least {minimum}.", nameof(MaximumLength));
        }

        if (!Enum.TryParse<Text.LengthPolicy>(LengthPolicy, out _))
        {
            throw new TransformerArgumentException($"LengthPolicy '{LengthPolicy}' is not one of Truncate, Throw.", nameof(LengthPolicy));
        }
    }
}

/// <summary>
/// Tokenizes a Text column into character ids: one id per Unicode scalar value (an emoji or a supplementary CJK
/// character is one token; a lone surrogate is <c>&lt;UNK&gt;</c>), after optional NFC normalisation and invariant
/// lower-casing, framed by optional BOS/EOS. Appends <c>{output}</c> (variable-length Int32 vector, vocabulary
/// annotation attached, no padding) and <c>{output}Length</c> (Int32). Created by
/// <c>mlContext.Transforms.Text.TokenizeIntoCharacterIds(...).Fit(data)</c>.
/// </summary>
public sealed class CharacterTokenizerTransformer : RowToRowTransformerBase
{
    /// <summary>The stage signature in saved models.</summary>
    public const string LoaderSignature = "CharacterTokenizer";

    /// <summary>Suffix of the length column's name.</summary>
    public const string LengthColumnSuffix = "Length";

    private const int SaveVersion = 1;
    private const string VocabularyEntry = "vocabulary";

    private readonly CharacterTokenizerConfig _config;

    internal CharacterTokenizerTransformer(CharacterVocabulary vocabulary, CharacterTokenizerConfig config)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Vocabulary = vocabulary;
        _config = config;
        LengthPolicy = Enum.Parse<LengthPolicy>(config.LengthPolicy);
    }

    /// <summary>The fitted vocabulary (also attached to the output column as its Vocabulary annotation).</summary>
    public CharacterVocabulary Vocabulary { get; }

    /// <summary>The Text column read.</summary>
    public string InputColumnName => _config.InputColumnName;

    /// <summary>The id column written.</summary>
    public string OutputColumnName => _config.OutputColumnName;

    /// <summary>The length column written: <c>{OutputColumnName}Length</c>.</summary>
    public string LengthColumnName => _config.OutputColumnName + LengthColumnSuffix;

    /// <summary>Whether text is NFC-normalised first.</summary>
    public bool Normalize => _config.Normalize;

    /// <summary>Whether characters are lower-cased (invariant culture).</summary>
    public bool LowerCase => _config.LowerCase;

    /// <summary>Whether a BOS id starts each sequence.</summary>
    public bool AddBos => _config.AddBos;

    /// <summary>Whether an EOS id ends each sequence.</summary>
    public bool AddEos => _config.AddEos;

    /// <summary>The most ids a sequence may have, BOS/EOS included.</summary>
    public int MaximumLength => _config.MaximumLength;

    /// <summary>What happens to longer texts.</summary>
    public LengthPolicy LengthPolicy { get; }

    /// <summary>Tokenizes one text with this transformer's settings (the values of the id column).</summary>
    /// <exception cref="SequenceTooLongException">Too long under <see cref="LengthPolicy.Throw"/> (row -1).</exception>
    public int[] Tokenize(string text) => Tokenize(text, -1, []);

    private int[] Tokenize(string? text, long row, List<int> scratch)
    {
        scratch.Clear();
        CharacterScalars.Append(text, Normalize, LowerCase, scratch);
        var ids = Vocabulary.Encode(scratch, AddBos, AddEos);
        if (ids.Length <= MaximumLength)
        {
            return ids;
        }

        return LengthPolicy == LengthPolicy.Throw
            ? throw new SequenceTooLongException(InputColumnName, row, ids.Length, MaximumLength)
            : ids[..MaximumLength];
    }

    /// <summary>The output columns for the given vocabulary (null: unknown before fitting, no annotation).</summary>
    internal static OutputColumn[] OutputColumns(string outputColumnName, CharacterVocabulary? vocabulary) =>
    [
        new(outputColumnName, new VectorDataViewType(NumberDataViewType.Int32), vocabulary?.ToAnnotations()),
        new(outputColumnName + LengthColumnSuffix, NumberDataViewType.Int32),
    ];

    /// <summary>Checks that <paramref name="inputColumnName"/> exists in <paramref name="schema"/> and is Text.</summary>
    /// <exception cref="SchemaException">Missing, or not Text.</exception>
    internal static DataViewSchema.Column CheckInput(DataViewSchema schema, string inputColumnName)
    {
        var column = schema.GetColumnOrNull(inputColumnName) ?? throw SchemaException.MissingColumn(inputColumnName, schema);
        return column.Type is TextDataViewType
            ? column
            : throw SchemaException.WrongType(inputColumnName, TextDataViewType.Instance.ToString(), column.Type);
    }

    /// <inheritdoc />
    protected override RowBatchMapper CreateMapper(DataViewSchema inputSchema) => new Mapper(this, inputSchema);

    /// <summary>
    /// Writes stage "CharacterTokenizer" version 1: the config (column names, normalize, lowerCase, addBos, addEos,
    /// maximumLength, lengthPolicy by name) and the JSON entry "vocabulary": the token list, index = id.
    /// </summary>
    public override void Save(ModelSaveContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        context.SetStage(LoaderSignature, SaveVersion, 1);
        context.WriteConfig(_config);
        context.WriteJson(VocabularyEntry, Vocabulary.Tokens.ToArray());
    }

    /// <summary>Rebuilds a tokenizer saved by <see cref="Save"/>.</summary>
    internal static ITransformer Load(ModelLoadContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var config = context.ReadConfig<CharacterTokenizerConfig>();
        var tokens = context.ReadJson<string[]>(VocabularyEntry);
        return new CharacterTokenizerTransformer(new CharacterVocabulary(tokens), config);
    }

    /// <summary>Registers the loader of saved tokenizers (idempotent); runs when this assembly loads.</summary>
    internal static void RegisterLoader() => ModelLoaderRegistry.Register(LoaderSignature, Load, SaveVersion);

    /// <summary>Maps a batch of texts to ids and lengths.</summary>
    private sealed class Mapper : RowBatchMapper
    {
        private readonly CharacterTokenizerTransformer _parent;
        private readonly DataViewSchema.Column _input;
        private readonly OutputColumn[] _outputs;

        public Mapper(CharacterTokenizerTransformer parent, DataViewSchema inputSchema)
            : base(inputSchema)
        {
            _parent = parent;
            _input = CheckInput(inputSchema, parent.InputColumnName);
            _outputs = OutputColumns(parent.OutputColumnName, parent.Vocabulary);
        }

        public override IReadOnlyList<OutputColumn> OutputColumns => _outputs;

        protected override IEnumerable<DataViewSchema.Column> GetDependencies(IReadOnlyList<bool> activeOutputs) => [_input];

        protected override void MapBatch(InputBatch input, OutputBatch output)
        {
            var texts = input.GetColumn<string>(_input);
            var ids = output.IsActive(0) ? output.GetColumn<int[]>(0) : default;
            var lengths = output.IsActive(1) ? output.GetColumn<int>(1) : default;
            var scratch = new List<int>();
            for (int i = 0; i < input.Count; i++)
            {
                var row = _parent.Tokenize(texts[i], input.FirstRowPosition + i, scratch);
                if (!ids.IsEmpty)
                {
                    ids[i] = row;
                }

                if (!lengths.IsEmpty)
                {
                    lengths[i] = row.Length;
                }
            }
        }
    }
}
