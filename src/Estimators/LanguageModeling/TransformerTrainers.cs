// The next-character trainers: a decoder-only transformer (the seed's MiniFormer generalised to N layers and
// H heads) and an encoder-decoder transformer, as ML.NET estimators. Fit reads the Text column of any IDataView,
// learns the character vocabulary, trains the native model with the shared loop, exports it to ONNX and returns a
// NextCharacterPredictionTransformer whose scoring chain is ML.NET's own (OnnxTransformer over the export).
using Google.Protobuf;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Transformer.Checkpoints;
using MLNet.Transformer.Engine;
using MLNet.Transformer.Onnx;
using MLNet.Transformer.Text;

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

    private protected virtual int EncoderLayers => Options.Layers;

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        CheckShape(inputSchema, Options.TextColumnName);
        if (SourceColumnName is { } source)
        {
            CheckShape(inputSchema, source);
        }

        return OutputShapes.AppendModel(_context, inputSchema, Options.TextColumnName, Kind == ModelKind.EncoderDecoder, SourceColumnName is not null, Options.Outputs);
    }

    /// <inheritdoc />
    public NextCharacterPredictionTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckColumns(input.Schema, "training data");
        if (Options.ValidationSet is { } vs)
        {
            CheckColumns(vs.Schema, "ValidationSet");
        }

        if (Options.Mode == TrainingMode.Corpus)
        {
            return FitCorpus(input);
        }

        var resume = Options.ResumeFrom is { } resumePath ? ReadResume(resumePath) : null;
        int seed = resume?.Training!.Seed ?? Options.Seed ?? Random.Shared.Next();
        var texts = ReadTexts(input, "training data");
        if (texts.Count == 0)
        {
            throw new ArgumentException("The training data has no rows.", nameof(input));
        }

        if (texts.All(t => t.Text.Length == 0))
        {
            throw new ArgumentException($"Column '{Options.TextColumnName}' is empty in every one of the {texts.Count} rows of the training data: there is no text to learn from.", nameof(input));
        }

        string device = EngineRuntime.ResolveDevice(Options.Device);
        using var group = JoinGroup(ref device);
        if (group is not null && Options.Seed is null)
        {
            // Every rank must shuffle, split and initialise alike: rank 0's draw wins.
            Span<double> shared = [group.Rank == 0 ? seed : 0];
            group.AllReduceSum(shared);
            seed = (int)shared[0];
        }

        var validTexts = Options.ValidationSet is { } validationSet ? ReadTexts(validationSet, "ValidationSet") : null;
        var initial = Options.InitialModelPath is { } initialPath ? ReadInitialModel(initialPath)
            : resume is null ? null : new InitialModel(NextCharacterCheckpoint.InfoOf(resume), resume.Weights);

        // The vocabulary comes from the rows that are trained on: a row left out by LengthPolicy.Skip adds no character.
        var kept = Options.LengthPolicy == LengthPolicy.Skip ? texts.Where(t => !TooLong(t)).ToList() : texts;
        var vocab = initial is null ? LearnVocabulary(kept.Select(t => t.Text)) : new CharacterVocabulary(initial.Info.Vocabulary);
        var srcVocab = SourceColumnName is null ? null
            : initial is null ? LearnVocabulary(kept.Select(t => t.Source!)) : new CharacterVocabulary(initial.Info.SourceVocabulary!);
        var lengths = new LengthCounter();
        var rows = Encode(texts, vocab, srcVocab, "training data", lengths);
        if (rows.Count == 0)
        {
            throw new ArgumentException($"Every training row is longer than MaximumLength ({Options.MaximumLength}) and LengthPolicy is Skip: nothing is left to train on.", nameof(input));
        }

        List<TokenRow> train;
        List<TokenRow> valid;
        if (validTexts is not null)
        {
            train = rows;
            valid = Encode(validTexts, vocab, srcVocab, "ValidationSet", lengths);
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

            valid = [.. order.Take(nValid).Select(i => rows[i])];
            train = [.. order.Skip(nValid).Select(i => rows[i])];
        }
        else
        {
            train = rows;
            valid = [];
        }

        var config = new TransformerModelConfig
        {
            Kind = Kind,
            VocabSize = vocab.Count,
            SourceVocabSize = srcVocab?.Count ?? 0,
            ModelDim = Options.ModelDimension,
            Heads = Options.Heads,
            Layers = Options.Layers,
            EncoderLayers = EncoderLayers,
            FeedForwardDim = Options.FeedForwardDimension,
            MaxLength = Options.MaximumLength,
            PadId = CharacterVocabulary.PadId,
            Activation = Options.Activation == TransformerActivation.Gelu ? Activation.Gelu : Activation.Relu,
            NormFirst = Options.NormFirst,
            CausalEncoder = Kind == ModelKind.EncoderDecoder && SourceColumnName is null,
            CausalCross = Kind == ModelKind.EncoderDecoder && SourceColumnName is null,
            Dropout = Options.Dropout,
            Seed = (ulong)(uint)seed,
        };
        if (initial is not null)
        {
            CheckSameArchitecture(initial.Info.Architecture, config);
        }

        Options.CheckMemory(config);

        if (group is not null)
        {
            CheckRanksAgree(group, rows.Count, valid.Count, vocab, seed);
        }

        var info = new NextCharacterModelInfo
        {
            Architecture = config,
            TextColumnName = Options.TextColumnName,
            SourceColumnName = SourceColumnName,
            SelfSource = Kind == ModelKind.EncoderDecoder && SourceColumnName is null,
            Vocabulary = [.. vocab.Tokens],
            SourceVocabulary = srcVocab is null ? null : [.. srcVocab.Tokens],
            PadId = CharacterVocabulary.PadId,
            BosId = CharacterVocabulary.BosId,
            EosId = CharacterVocabulary.EosId,
            UnkId = CharacterVocabulary.UnkId,
            Normalize = Options.Normalize,
            LowerCase = Options.LowerCase,
            TrainedOn = device,
        };

        using var model = CreateModel(config, device, initial);
        if (group is not null)
        {
            model.JoinGroup(group);
            model.BroadcastParameters(0);
        }

        var history = new TrainingLoop(Options, CharacterVocabulary.PadId, info.SelfSource).Run(model, train, valid, seed, resume, CheckpointWriter(info, model))
            with { TruncatedRows = lengths.Truncated, SkippedRows = lengths.Skipped };
        return HandOff(info, model, history, input);
    }

    /// <summary>Writes a checkpoint every <see cref="TransformerTrainerOptions.CheckpointEvery"/> steps (null when off).</summary>
    private Action<TrainingPosition>? CheckpointWriter(NextCharacterModelInfo info, TransformerModel model) => Options.CheckpointEvery > 0
        ? position => CheckpointDirectory.Write(Options.CheckpointDirectory!, NextCharacterCheckpoint.Capture(info, model, position), position.Step)
        : null;

    /// <summary>
    /// The end of every Fit: the checkpoint is the hand-off, and the ONNX model, so the ML.NET chain and its zip, are
    /// built from it. The history records the precision the model trained in.
    /// </summary>
    private NextCharacterPredictionTransformer HandOff(NextCharacterModelInfo info, TransformerModel model, TrainingHistory history, IDataView input)
    {
        var checkpoint = NextCharacterCheckpoint.Capture(info, model);
        byte[] onnx = OnnxExporter.Export(checkpoint, NextCharacterModel.ChainExport).ToByteArray();
        var chain = NextCharacterModel.BuildChain(_context, info, onnx, input, Options.Outputs);
        return new NextCharacterPredictionTransformer(chain, info, onnx, history with { Precision = model.Precision }, Options.Outputs) { Checkpoint = checkpoint };
    }

    /// <summary>
    /// Corpus mode: the Text column's rows as one running text held as 16-bit ids (read in two cursor passes, the
    /// rows themselves never kept), random windows from its head, validation on its tail.
    /// </summary>
    private NextCharacterPredictionTransformer FitCorpus(IDataView input)
    {
        if (Kind != ModelKind.Decoder)
        {
            throw OptionError(nameof(Options.Mode), "Option Mode: Corpus trains decoder-only models; use the TransformerDecoder trainer.");
        }

        if (Options.ValidationSet is not null)
        {
            throw OptionError(nameof(Options.ValidationSet), "Option ValidationSet: corpus training validates on the stream's own tail (ValidationFraction); leave ValidationSet null.");
        }

        var resume = Options.ResumeFrom is { } resumePath ? ReadResume(resumePath) : null;
        int seed = resume?.Training!.Seed ?? Options.Seed ?? Random.Shared.Next();
        var initial = Options.InitialModelPath is { } initialPath ? ReadInitialModel(initialPath)
            : resume is null ? null : new InitialModel(NextCharacterCheckpoint.InfoOf(resume), resume.Weights);
        var vocab = initial is null ? LearnCorpusVocabulary(input) : new CharacterVocabulary(initial.Info.Vocabulary);
        if (vocab.Count > ushort.MaxValue + 1)
        {
            throw new ArgumentException($"The corpus has {vocab.Count} distinct tokens; corpus training holds ids in 16 bits (at most 65,536). Raise MinimumCharacterFrequency.", nameof(input));
        }

        var corpus = ReadCorpus(input, vocab);
        if (corpus.TrainLength < Options.ContextLength + 2)
        {
            throw new ArgumentException(
                $"The corpus has {corpus.Length} characters, {corpus.TrainLength} of them for training; ContextLength {Options.ContextLength} needs at least {Options.ContextLength + 2}. Lower ContextLength or ValidationFraction.",
                nameof(input));
        }

        string device = EngineRuntime.ResolveDevice(Options.Device);
        var config = new TransformerModelConfig
        {
            Kind = ModelKind.Decoder,
            VocabSize = vocab.Count,
            ModelDim = Options.ModelDimension,
            Heads = Options.Heads,
            Layers = Options.Layers,
            EncoderLayers = EncoderLayers,
            FeedForwardDim = Options.FeedForwardDimension,
            MaxLength = Options.ContextLength,
            PadId = CharacterVocabulary.PadId,
            Activation = Options.Activation == TransformerActivation.Gelu ? Activation.Gelu : Activation.Relu,
            NormFirst = Options.NormFirst,
            Dropout = Options.Dropout,
            Seed = (ulong)(uint)seed,
        };
        if (initial is not null)
        {
            CheckSameArchitecture(initial.Info.Architecture, config);
        }

        var info = new NextCharacterModelInfo
        {
            Architecture = config,
            TextColumnName = Options.TextColumnName,
            Vocabulary = [.. vocab.Tokens],
            PadId = CharacterVocabulary.PadId,
            BosId = CharacterVocabulary.BosId,
            EosId = CharacterVocabulary.EosId,
            UnkId = CharacterVocabulary.UnkId,
            Normalize = Options.Normalize,
            LowerCase = Options.LowerCase,
            TrainedOn = device,
        };

        using var model = CreateModel(config, device, initial);
        var history = new CorpusTrainingLoop(Options, CharacterVocabulary.PadId, CharacterVocabulary.BosId).Run(model, corpus, seed, resume, CheckpointWriter(info, model));
        return HandOff(info, model, history, input);
    }

    /// <summary>
    /// The engine model of a Fit: its own precision (Auto resolved for the device) and thread count, the initial
    /// weights when there are any. The process-wide engine settings are left alone.
    /// </summary>
    private TransformerModel CreateModel(TransformerModelConfig config, string device, InitialModel? initial)
    {
        var model = TransformerModel.Create(config, device);
        try
        {
            model.Precision = EngineRuntime.ResolvePrecision(Options.Precision, device);
            model.Threads = Options.Threads;
            if (initial is not null)
            {
                model.ImportState(initial.State);
            }

            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Character counts over every row and the separators between them (one cursor pass).</summary>
    private CharacterVocabulary LearnCorpusVocabulary(IDataView data)
    {
        var counts = new Dictionary<System.Text.Rune, long>();
        var scalars = new List<int>();
        var separator = new List<int>();
        CharacterScalars.Append(Options.Separator, Options.Normalize, Options.LowerCase, separator);
        long rows = 0;
        ForEachRow(data, text =>
        {
            scalars.Clear();
            CharacterScalars.Append(text, Options.Normalize, Options.LowerCase, scalars);
            if (rows++ > 0)
            {
                scalars.AddRange(separator);
            }

            foreach (int s in scalars)
            {
                if (s != CharacterScalars.Invalid)
                {
                    var r = new System.Text.Rune(s);
                    counts[r] = counts.GetValueOrDefault(r) + 1;
                }
            }
        });
        if (rows == 0)
        {
            throw new ArgumentException("The training data has no rows.", nameof(data));
        }

        return CharacterVocabulary.FromCounts(counts, Options.MinimumCharacterFrequency);
    }

    /// <summary>The rows joined by the separator, as 16-bit ids (a second cursor pass).</summary>
    private CorpusStream ReadCorpus(IDataView data, CharacterVocabulary vocab)
    {
        var scalars = new List<int>();
        var separator = new List<int>();
        CharacterScalars.Append(Options.Separator, Options.Normalize, Options.LowerCase, separator);
        int[] separatorIds = vocab.Encode(separator, addBos: false, addEos: false);
        var tokens = new ushort[1 << 16];
        int length = 0;
        ForEachRow(data, text =>
        {
            scalars.Clear();
            CharacterScalars.Append(text, Options.Normalize, Options.LowerCase, scalars);
            int[] ids = vocab.Encode(scalars, addBos: false, addEos: false);
            int need = length + ids.Length + (length > 0 ? separatorIds.Length : 0);
            if (need > tokens.Length)
            {
                Array.Resize(ref tokens, (int)Math.Min(Array.MaxLength, Math.Max(need, 2L * tokens.Length)));
            }

            if (length > 0)
            {
                foreach (int id in separatorIds)
                {
                    tokens[length++] = (ushort)id;
                }
            }

            foreach (int id in ids)
            {
                tokens[length++] = (ushort)id;
            }
        });
        return new CorpusStream(tokens, length, Options.ValidationFraction);
    }

    private void ForEachRow(IDataView data, Action<string> row)
    {
        var col = data.Schema[Options.TextColumnName];
        using var cursor = data.GetRowCursor([col]);
        var get = cursor.GetGetter<ReadOnlyMemory<char>>(col);
        ReadOnlyMemory<char> text = default;
        while (cursor.MoveNext())
        {
            Options.CancellationToken.ThrowIfCancellationRequested();
            get(ref text);
            row(text.ToString());
        }
    }

    private static ArgumentException OptionError(string option, string message) => new(message, option);

    /// <summary>
    /// Joins the data-parallel group of <see cref="TransformerTrainerOptions.Distributed"/> (null for one process).
    /// A CUDA rank trains on cuda:LocalRank unless the device names an index.
    /// </summary>
    private ProcessGroup? JoinGroup(ref string device)
    {
        if (Options.Distributed is not { WorldSize: > 1 } settings)
        {
            return null;
        }

        if (device == "cuda")
        {
            device = $"cuda:{settings.LocalRank}";
        }

        return ProcessGroup.Join(settings, device);
    }

    /// <summary>Every rank must have read the same data and learned the same vocabulary; a sum over the ranks tells.</summary>
    private static void CheckRanksAgree(ProcessGroup group, int rows, int validRows, CharacterVocabulary vocab, int seed)
    {
        long hash = 17;
        foreach (var token in vocab.Tokens)
        {
            foreach (char c in token)
            {
                hash = ((hash * 31) + c) % 1_000_000_007;
            }

            hash = ((hash * 31) + 1) % 1_000_000_007;
        }

        double[] mine = [rows, validRows, vocab.Count, hash, seed];
        var sums = (double[])mine.Clone();
        group.AllReduceSum(sums);
        string[] names = ["training rows", "validation rows", "vocabulary size", "vocabulary checksum", "seed"];
        for (int i = 0; i < mine.Length; i++)
        {
            if (sums[i] != mine[i] * group.WorldSize)
            {
                throw new DistributedTrainingException(
                    $"Rank {group.Rank} of {group.WorldSize} at {group.Settings.Endpoint}: the ranks disagree on the {names[i]} (this rank: {mine[i]}, mean over ranks: {sums[i] / group.WorldSize}). " +
                    "Every rank must read the same training data with the same options and seed.");
            }
        }
    }

    /// <summary>True when the row has more characters than MaximumLength allows (the same test Encode applies).</summary>
    private bool TooLong((string Text, string? Source) row)
    {
        var scalars = new List<int>();
        CharacterScalars.Append(row.Text, Options.Normalize, Options.LowerCase, scalars);
        int text = scalars.Count;
        scalars.Clear();
        CharacterScalars.Append(row.Source, Options.Normalize, Options.LowerCase, scalars);
        return text + 2 > Options.MaximumLength + 1 || (SourceColumnName is not null && scalars.Count + 2 > Options.MaximumLength);
    }

    /// <summary>A checkpoint of a run to continue: it must hold the training state and agree with these options.</summary>
    private Checkpoint ReadResume(string path)
    {
        if (!Checkpoint.IsCheckpoint(path))
        {
            throw new FileNotFoundException($"Option ResumeFrom: '{path}' is neither a checkpoint nor a folder of checkpoints ({Checkpoint.DescriptionFile} or '{CheckpointDirectory.LatestFile}' not found).", path);
        }

        var checkpoint = Checkpoint.Load(path);
        if (checkpoint.Training is not { } position || checkpoint.Optimizer is null || checkpoint.RandomState is null)
        {
            throw OptionError(nameof(Options.ResumeFrom), $"Option ResumeFrom: '{path}' holds a model without its training state (position, optimizer, random state); use InitialModelPath to fine-tune it.");
        }

        CheckKind(path, NextCharacterCheckpoint.InfoOf(checkpoint), "ResumeFrom");
        var mine = TrainingLoop.ResumeOptions(Options);
        foreach (var (name, value) in position.Options)
        {
            if (mine.TryGetValue(name, out var now) && now != value)
            {
                throw new ArgumentException($"Option {name}: the run in '{path}' was trained with {value}, the options say {now}; set it to {value} to resume that run.", name);
            }
        }

        if (Options.Seed is int s && s != position.Seed)
        {
            throw OptionError(nameof(Options.Seed), $"Option Seed: the run in '{path}' was trained with seed {position.Seed}, the options say {s}; leave Seed null or set it to {position.Seed} to resume that run.");
        }

        return checkpoint;
    }

    /// <summary>A description and weights to start from.</summary>
    private sealed record InitialModel(NextCharacterModelInfo Info, IReadOnlyDictionary<string, (long[] Shape, float[] Data)> State);

    /// <summary>A checkpoint, the exported model inside a saved zip, or an .onnx file, read back with its weights.</summary>
    private InitialModel ReadInitialModel(string path)
    {
        InitialModel initial;
        if (Checkpoint.IsCheckpoint(path))
        {
            var checkpoint = Checkpoint.Load(path);
            initial = new InitialModel(NextCharacterCheckpoint.InfoOf(checkpoint), checkpoint.Weights);
        }
        else
        {
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"Option InitialModelPath: file '{path}' not found.", path);
            }

            var file = path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? OnnxModelFile.Read(path) : NextCharacterModel.ReadOnnxModel(path).File;
            if (file.IsEnsemble)
            {
                throw new ArgumentException(
                    $"Option InitialModelPath: '{path}' holds an ensemble of {file.Members.Count} models; training continues one model. Train the members one by one, then combine them with NextCharacterModel.Ensemble.",
                    nameof(path));
            }

            initial = new InitialModel(file.Info, file.State);
        }

        CheckKind(path, initial.Info, "InitialModelPath");
        return initial;
    }

    /// <summary>The saved model must be of this trainer's kind and read text as these options do.</summary>
    private void CheckKind(string path, NextCharacterModelInfo info, string option)
    {
        if (info.IsEncoderDecoder != (Kind == ModelKind.EncoderDecoder) || info.HasSource != (SourceColumnName is not null))
        {
            throw new ArgumentException(
                $"Option {option}: '{path}' holds a {Describe(info)} model; this trainer trains a {(Kind == ModelKind.EncoderDecoder ? (SourceColumnName is null ? "single-column encoder-decoder" : "source -> target encoder-decoder") : "decoder-only")} one.",
                option);
        }

        if (info.Normalize != Options.Normalize || info.LowerCase != Options.LowerCase)
        {
            throw new ArgumentException(
                $"Option {option}: '{path}' was trained with Normalize = {info.Normalize}, LowerCase = {info.LowerCase}; set the same options to continue training it.",
                option);
        }

        static string Describe(NextCharacterModelInfo i) => i.IsEncoderDecoder ? (i.HasSource ? "source -> target encoder-decoder" : "single-column encoder-decoder") : "decoder-only";
    }

    /// <summary>The options must describe the initial model's architecture (the vocabulary comes from it).</summary>
    private static void CheckSameArchitecture(TransformerModelConfig saved, TransformerModelConfig wanted)
    {
        foreach (var (option, a, b) in new (string, object, object)[]
        {
            (nameof(TransformerTrainerOptions.ModelDimension), saved.ModelDim, wanted.ModelDim),
            (nameof(TransformerTrainerOptions.Heads), saved.Heads, wanted.Heads),
            (nameof(TransformerTrainerOptions.Layers), saved.Layers, wanted.Layers),
            ("EncoderLayers", saved.Kind == ModelKind.EncoderDecoder ? saved.EncoderLayers : 0, wanted.Kind == ModelKind.EncoderDecoder ? wanted.EncoderLayers : 0),
            (nameof(TransformerTrainerOptions.FeedForwardDimension), saved.FeedForwardDim, wanted.FeedForwardDim),
            (nameof(TransformerTrainerOptions.MaximumLength), saved.MaxLength, wanted.MaxLength),
            (nameof(TransformerTrainerOptions.NormFirst), saved.NormFirst, wanted.NormFirst),
            (nameof(TransformerTrainerOptions.Activation), saved.Activation, wanted.Activation),
        })
        {
            if (!a.Equals(b))
            {
                throw new ArgumentException(
                    $"Option {option}: the initial model has {a}, the options say {b}; set it to {a} to continue training the model.", option);
            }
        }
    }

    private void CheckColumns(DataViewSchema schema, string what)
    {
        try
        {
            NextCharacterModel.CheckTextColumn(schema, Options.TextColumnName);
            if (SourceColumnName is { } source)
            {
                NextCharacterModel.CheckTextColumn(schema, source);
            }
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new ArgumentOutOfRangeException(what == "training data" ? "input" : nameof(Options.ValidationSet), e.Message.Split(" (Parameter")[0]);
        }
    }

    private static void CheckShape(SchemaShape schema, string name)
    {
        var column = schema.FirstOrDefault(c => c.Name == name);
        if (column.Name is null)
        {
            throw new ArgumentOutOfRangeException(nameof(schema), $"Could not find input column '{name}' (expected type String).");
        }

        if (column.Kind != SchemaShape.Column.VectorKind.Scalar || column.ItemType is not TextDataViewType)
        {
            throw new ArgumentOutOfRangeException(nameof(schema), $"Schema mismatch for input column '{name}': expected String, got {column.ItemType}{(column.Kind == SchemaShape.Column.VectorKind.Scalar ? "" : " vector")}.");
        }
    }

    private List<(string Text, string? Source)> ReadTexts(IDataView data, string what)
    {
        var col = data.Schema[Options.TextColumnName];
        DataViewSchema.Column? srcCol = SourceColumnName is { } sc ? data.Schema[sc] : null;
        using var cursor = data.GetRowCursor(srcCol is { } s ? [col, s] : [col]);
        var get = cursor.GetGetter<ReadOnlyMemory<char>>(col);
        var getSrc = srcCol is { } sg ? cursor.GetGetter<ReadOnlyMemory<char>>(sg) : null;
        ReadOnlyMemory<char> text = default, src = default;
        var rows = new List<(string, string?)>();
        while (cursor.MoveNext())
        {
            Options.CancellationToken.ThrowIfCancellationRequested();
            get(ref text);
            getSrc?.Invoke(ref src);
            rows.Add((text.ToString(), getSrc is null ? null : src.ToString()));
        }

        return rows;
    }

    private CharacterVocabulary LearnVocabulary(IEnumerable<string> texts)
    {
        var counts = new Dictionary<System.Text.Rune, long>();
        var scalars = new List<int>();
        foreach (var t in texts)
        {
            scalars.Clear();
            CharacterScalars.Append(t, Options.Normalize, Options.LowerCase, scalars);
            foreach (int s in scalars)
            {
                if (s != CharacterScalars.Invalid)
                {
                    var r = new System.Text.Rune(s);
                    counts[r] = counts.GetValueOrDefault(r) + 1;
                }
            }
        }

        return CharacterVocabulary.FromCounts(counts, Options.MinimumCharacterFrequency);
    }

    /// <summary>Rows of ids BOS .. EOS (sources likewise), with the length policy applied; row numbers in errors are 0-based.</summary>
    private List<TokenRow> Encode(List<(string Text, string? Source)> texts, CharacterVocabulary vocab, CharacterVocabulary? srcVocab, string what, LengthCounter lengths)
    {
        int max = Options.MaximumLength;
        var rows = new List<TokenRow>(texts.Count);
        var scalars = new List<int>();
        for (int r = 0; r < texts.Count; r++)
        {
            scalars.Clear();
            CharacterScalars.Append(texts[r].Text, Options.Normalize, Options.LowerCase, scalars);
            int[] target = vocab.Encode(scalars, addBos: true, addEos: true);
            int[]? source = null;
            if (srcVocab is not null)
            {
                scalars.Clear();
                CharacterScalars.Append(texts[r].Source, Options.Normalize, Options.LowerCase, scalars);
                source = srcVocab.Encode(scalars, addBos: true, addEos: true);
            }

            // The decoder reads BOS + characters (target without its last id), so a row fits when it has <= max + 1 ids.
            bool tooLong = target.Length > max + 1 || (source is not null && source.Length > max);
            if (tooLong)
            {
                switch (Options.LengthPolicy)
                {
                    case LengthPolicy.Throw:
                        string column = target.Length > max + 1 ? Options.TextColumnName : SourceColumnName!;
                        int chars = (target.Length > max + 1 ? target.Length : source!.Length) - 2;
                        throw new ArgumentOutOfRangeException(
                            paramName: null,
                            $"Row {r} of the {what}, column '{column}', has {chars} characters; MaximumLength {max} allows {max - 1} (BOS and EOS count). Raise MaximumLength, or set LengthPolicy to Truncate or Skip.");
                    case LengthPolicy.Skip:
                        lengths.Skipped++;
                        continue;
                    default:
                        lengths.Truncated++;
                        target = target[..(max + 1)];
                        source = source is { Length: var n } && n > max ? source[..max] : source;
                        break;
                }
            }

            rows.Add(new TokenRow(target, source));
        }

        return rows;
    }

    private sealed class LengthCounter
    {
        public int Truncated;
        public int Skipped;
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
