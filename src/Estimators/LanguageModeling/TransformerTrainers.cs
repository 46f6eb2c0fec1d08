// The next-character trainers: a decoder-only transformer (the seed's MiniFormer generalised to N layers and
// H heads) and an encoder-decoder transformer. Each checks the schema, reads the token rows, builds the native
// model and runs the shared training loop; the fitted result is a NextCharacterPredictionTransformer.
using MLNet.Transformer.Data;
using MLNet.Transformer.Engine;

namespace MLNet.Transformer.LanguageModeling;

/// <summary>Shared schema checks and Fit of the two trainers.</summary>
public abstract class TransformerTrainerBase : IEstimator<NextCharacterPredictionTransformer>
{
    private readonly MLContext _context;

    private protected TransformerTrainerBase(MLContext context, TransformerTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _context = context;
        Options = options;
    }

    /// <summary>The options this trainer was created with.</summary>
    public TransformerTrainerOptions Options { get; }

    private protected abstract ModelKind Kind { get; }

    private protected abstract string? SourceColumnName { get; }

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        // The vocabulary, when the input already carries it, fixes the Score column's size and slot names.
        string[]? vocab = CheckTokenColumn(inputSchema, Options.TokensColumnName, requireVocabulary: false);
        if (SourceColumnName is { } src)
        {
            CheckTokenColumn(inputSchema, src, requireVocabulary: false);
        }

        return RowToRowTransformerBase.AppendColumns(
            inputSchema,
            NextCharacterPredictionTransformer.OutputColumns(Kind == ModelKind.EncoderDecoder, vocab, Options.Layers, Options.Heads, EncoderLayers, SourceColumnName is not null));
    }

    private protected virtual int EncoderLayers => Options.Layers;

    /// <inheritdoc />
    public NextCharacterPredictionTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        string[] vocab = CheckTokenColumn(input.Schema, Options.TokensColumnName, requireVocabulary: true)!;
        string[]? srcVocab = SourceColumnName is { } sc ? CheckTokenColumn(input.Schema, sc, requireVocabulary: true) : null;
        if (Options.ValidationSet is { } vs)
        {
            // The validation set must be tokenized by the same tokenizer: same vocabulary, same ids.
            CheckSameVocabulary(vs.Schema, Options.TokensColumnName, vocab);
            if (SourceColumnName is { } vsc)
            {
                CheckSameVocabulary(vs.Schema, vsc, srcVocab!);
            }
        }

        int padId = NextCharacterModelInfo.FindId(vocab, "<PAD>");
        int bosId = NextCharacterModelInfo.FindId(vocab, "<BOS>");
        int eosId = NextCharacterModelInfo.FindId(vocab, "<EOS>");
        if (padId < 0 || bosId < 0 || eosId < 0)
        {
            throw new SchemaException($"Column '{Options.TokensColumnName}': its vocabulary must contain <PAD>, <BOS> and <EOS> (tokenize with AddBos and AddEos).", Options.TokensColumnName);
        }

        int seed = Options.Seed ?? _context.NextSeed();
        var rows = ReadRows(input, "training data");
        if (rows.Count == 0)
        {
            throw new ArgumentException("The training data has no rows.", nameof(input));
        }

        List<TokenRow> train;
        List<TokenRow> valid;
        if (Options.ValidationSet is { } validationSet)
        {
            train = rows;
            valid = ReadRows(validationSet, "validation set");
        }
        else if (Options.ValidationFraction > 0)
        {
            // Deterministic split from the trainer's seed.
            var order = Enumerable.Range(0, rows.Count).ToArray();
            new Random(seed ^ 0x5bd1e995).Shuffle(order);
            int nValid = Math.Max(1, (int)Math.Round(rows.Count * Options.ValidationFraction));
            if (nValid >= rows.Count)
            {
                throw new ArgumentException($"Option ValidationFraction: {Options.ValidationFraction} leaves no training rows out of {rows.Count}.", nameof(input));
            }

            valid = order.Take(nValid).Select(i => rows[i]).ToList();
            train = order.Skip(nValid).Select(i => rows[i]).ToList();
        }
        else
        {
            train = rows;
            valid = [];
        }

        var config = new TransformerModelConfig
        {
            Kind = Kind,
            VocabSize = vocab.Length,
            SourceVocabSize = srcVocab?.Length ?? 0,
            ModelDim = Options.ModelDimension,
            Heads = Options.Heads,
            Layers = Options.Layers,
            EncoderLayers = EncoderLayers,
            FeedForwardDim = Options.FeedForwardDimension,
            MaxLength = Options.MaximumLength,
            PadId = padId,
            Activation = Options.Activation == TransformerActivation.Gelu ? Activation.Gelu : Activation.Relu,
            NormFirst = Options.NormFirst,
            CausalEncoder = Kind == ModelKind.EncoderDecoder && SourceColumnName is null,
            CausalCross = Kind == ModelKind.EncoderDecoder && SourceColumnName is null,
            Dropout = Options.Dropout,
            Seed = (ulong)(uint)seed,
        };
        string device = EngineRuntime.ResolveDevice(Options.Device);
        var info = new NextCharacterModelInfo
        {
            Architecture = config,
            TokensColumnName = Options.TokensColumnName,
            SourceColumnName = SourceColumnName,
            SelfSource = Kind == ModelKind.EncoderDecoder && SourceColumnName is null,
            Vocabulary = vocab,
            SourceVocabulary = srcVocab,
            PadId = padId,
            BosId = bosId,
            EosId = eosId,
            UnkId = NextCharacterModelInfo.FindId(vocab, "<UNK>"),
            TrainedOn = device,
        };

        // The engine's thread count is process-wide: set it for this Fit only, then put it back.
        int? previousThreads = null;
        if (Options.Threads is int threads)
        {
            previousThreads = EngineRuntime.NumThreads;
            EngineRuntime.NumThreads = threads;
        }

        var model = TransformerModel.Create(config, device);
        try
        {
            var loop = new TrainingLoop(Options, padId, info.SelfSource);
            var history = loop.Run(model, train, valid, seed);
            if (device != "cpu")
            {
                // Scoring happens on the CPU, where the fitted pipeline is saved and reloaded.
                var cpu = TransformerModel.Create(config, "cpu");
                cpu.ImportState(model.ExportState());
                model.Dispose();
                model = cpu;
            }

            return new NextCharacterPredictionTransformer(model, info, history);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        finally
        {
            if (previousThreads is int previous)
            {
                EngineRuntime.NumThreads = previous;
            }
        }
    }

    private List<TokenRow> ReadRows(IDataView data, string what)
    {
        var col = data.Schema[Options.TokensColumnName];
        var srcCol = SourceColumnName is { } sc ? data.Schema[sc] : null;
        var needed = srcCol is null ? new[] { col } : new[] { col, srcCol };
        var rows = new List<TokenRow>();
        using var cursor = data.GetRowCursor(needed);
        var get = cursor.GetGetter<int[]>(col);
        var getSrc = srcCol is null ? null : cursor.GetGetter<int[]>(srcCol);
        int[] value = [];
        int[] src = [];
        while (cursor.MoveNext())
        {
            Options.CancellationToken.ThrowIfCancellationRequested();
            get(ref value);
            int[] target = (int[])value.Clone();
            if (target.Length < 2)
            {
                throw new ArgumentException($"Row {cursor.Position} of the {what}, column '{col.Name}', has {target.Length} token(s); a row needs at least BOS and EOS.");
            }

            if (target.Length > Options.MaximumLength + 1)
            {
                throw new ArgumentException($"Row {cursor.Position} of the {what}, column '{col.Name}', has {target.Length} tokens; MaximumLength is {Options.MaximumLength} (+1 for the shifted target). Raise MaximumLength or truncate in the tokenizer.");
            }

            int[]? source = null;
            if (getSrc is not null)
            {
                getSrc(ref src);
                source = (int[])src.Clone();
                if (source.Length > Options.MaximumLength)
                {
                    throw new ArgumentException($"Row {cursor.Position} of the {what}, column '{srcCol!.Name}', has {source.Length} tokens; MaximumLength is {Options.MaximumLength}.");
                }
            }

            rows.Add(new TokenRow(target, source));
        }

        return rows;
    }

    private static void CheckSameVocabulary(DataViewSchema validation, string column, string[] vocabulary)
    {
        string[]? other = CheckTokenColumn(validation, column, requireVocabulary: false);
        if (other is not null && !other.SequenceEqual(vocabulary))
        {
            throw new SchemaException(
                $"ValidationSet column '{column}' was tokenized with a different vocabulary ({other.Length} tokens) than the training data ({vocabulary.Length} tokens): transform it with the same fitted tokenizer.", column);
        }
    }

    /// <summary>Checks a token-id column; returns its vocabulary when present (required by Fit).</summary>
    internal static string[]? CheckTokenColumn(DataViewSchema schema, string name, bool requireVocabulary)
    {
        var col = schema.GetColumnOrNull(name) ?? throw SchemaException.MissingColumn(name, schema);
        if (col.Type is not VectorDataViewType { ItemType: var item } || !item.Equals(NumberDataViewType.Int32))
        {
            throw SchemaException.WrongType(name, "Vector<Int32> (token ids, e.g. from TokenizeIntoCharacterIds)", col.Type);
        }

        if (col.Annotations.TryGetValue<string[]>(Annotations.Kinds.Vocabulary, out var vocab))
        {
            return vocab;
        }

        return requireVocabulary
            ? throw new SchemaException($"Column '{name}' has no {Annotations.Kinds.Vocabulary} annotation: produce it with TokenizeIntoCharacterIds so the model knows its characters.", name)
            : null;
    }
}

/// <summary>
/// Trains a decoder-only next-character transformer: token embedding, fixed sinusoidal positions, N causal
/// self-attention blocks (nn.TransformerEncoderLayer semantics), and a projection to the vocabulary.
/// </summary>
public sealed class TransformerDecoderTrainer : TransformerTrainerBase
{
    internal TransformerDecoderTrainer(MLContext context, TransformerDecoderTrainerOptions options)
        : base(context, options)
    {
    }

    private protected override ModelKind Kind => ModelKind.Decoder;

    private protected override string? SourceColumnName => null;
}

/// <summary>
/// Trains an encoder-decoder transformer (nn.TransformerEncoderLayer / nn.TransformerDecoderLayer stacks). With a
/// source column it learns source -> target; without one it predicts the next character honestly: a causal encoder
/// over the same prefix and cross-attention restricted to memory positions up to the current one, so no position can
/// read the character it must predict (the seed's FullTransformer could, which made its loss near zero).
/// </summary>
public sealed class TransformerEncoderDecoderTrainer : TransformerTrainerBase
{
    private readonly TransformerEncoderDecoderTrainerOptions _options;

    internal TransformerEncoderDecoderTrainer(MLContext context, TransformerEncoderDecoderTrainerOptions options)
        : base(context, options) => _options = options;

    private protected override ModelKind Kind => ModelKind.EncoderDecoder;

    private protected override string? SourceColumnName => _options.SourceColumnName;

    private protected override int EncoderLayers => _options.EncoderLayers ?? _options.Layers;
}
