// A training checkpoint: everything needed to rebuild a model exactly (architecture, tokenizer, weights by PyTorch
// state-dict name) and to continue training it exactly (Adam's moments and step, the dropout generators, the data
// position). Engine-neutral and versioned; the layout is documented in docs/checkpoint.md.
using System.Globalization;
using System.Text;
using System.Text.Json;
using MLNet.Transformer.Engine;
using MLNet.Transformer.IO;

namespace MLNet.Transformer.Checkpoints;

/// <summary>The character tokenizer a checkpoint's model reads with: vocabularies (index = id) and text settings.</summary>
public sealed record CheckpointTokenizer
{
    /// <summary>Token of each id of the decoder (target) vocabulary; special tokens such as <c>&lt;PAD&gt;</c> included.</summary>
    public required IReadOnlyList<string> Vocabulary { get; init; }

    /// <summary>Token of each id of the encoder vocabulary, for a model with a separate source column; else null.</summary>
    public IReadOnlyList<string>? SourceVocabulary { get; init; }

    /// <summary>Padding id.</summary>
    public int PadId { get; init; }

    /// <summary>Beginning-of-sequence id.</summary>
    public int BosId { get; init; } = 1;

    /// <summary>End-of-sequence id.</summary>
    public int EosId { get; init; } = 2;

    /// <summary>Unknown-character id, or -1.</summary>
    public int UnkId { get; init; } = -1;

    /// <summary>Text is NFC-normalised before it is split into characters.</summary>
    public bool Normalize { get; init; } = true;

    /// <summary>Text is lower-cased (invariant culture) first.</summary>
    public bool LowerCase { get; init; }
}

/// <summary>One finished epoch (or evaluation) of the run so far.</summary>
/// <param name="Epoch">1-based epoch (or evaluation) number.</param>
/// <param name="TrainLoss">Mean training loss (nats per token).</param>
/// <param name="ValidationLoss">Validation loss, when there was validation.</param>
/// <param name="Seconds">Wall time of the epoch.</param>
/// <param name="CharactersPerSecond">Training throughput.</param>
public sealed record CheckpointEpoch(int Epoch, double TrainLoss, double? ValidationLoss, double Seconds, double CharactersPerSecond);

/// <summary>Where a run stood when the checkpoint was written: enough for the trainer to continue exactly.</summary>
public sealed record TrainingPosition
{
    /// <summary>The trainer's seed (the split, the shuffles and the dropout streams derive from it).</summary>
    public int Seed { get; init; }

    /// <summary>Optimisation steps done.</summary>
    public long Step { get; init; }

    /// <summary>The epoch in progress (1-based).</summary>
    public int Epoch { get; init; } = 1;

    /// <summary>Batches of <see cref="Epoch"/> already trained on (the data position inside the epoch's order).</summary>
    public int BatchInEpoch { get; init; }

    /// <summary>Token-weighted training loss summed over the epoch's batches so far.</summary>
    public double EpochLossSum { get; init; }

    /// <summary>Target tokens of the epoch's batches so far.</summary>
    public long EpochTokens { get; init; }

    /// <summary>Best validation loss so far, or null.</summary>
    public double? BestLoss { get; init; }

    /// <summary>Epoch of <see cref="BestLoss"/> (0 when none).</summary>
    public int BestEpoch { get; init; }

    /// <summary>Epochs since the best one (early stopping's counter).</summary>
    public int SinceBest { get; init; }

    /// <summary>Wall seconds trained before this checkpoint.</summary>
    public double ElapsedSeconds { get; init; }

    /// <summary>Finished epochs.</summary>
    public IReadOnlyList<CheckpointEpoch> History { get; init; } = [];

    /// <summary>The weights of the best epoch when they differ from the current ones (kept for early stopping), else null.</summary>
    public IReadOnlyDictionary<string, (long[] Shape, float[] Data)>? BestWeights { get; init; }

    /// <summary>
    /// The training options that must not change on resume (batch size, epochs, learning rate...), as invariant
    /// strings by option name; the trainer compares them.
    /// </summary>
    public IReadOnlyDictionary<string, string> Options { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// A model and, optionally, its training state, saved as a directory: <c>checkpoint.json</c> (format, architecture,
/// tokenizer, columns, position), <c>model.safetensors</c> (weights by PyTorch state-dict name),
/// <c>optimizer.safetensors</c> (Adam's moments) and <c>best.safetensors</c> (early stopping's best weights).
/// </summary>
public sealed record Checkpoint
{
    /// <summary>The <c>format</c> field of <c>checkpoint.json</c>.</summary>
    public const string FormatName = "mlnet-transformer-checkpoint";

    /// <summary>The version this library writes and the newest it reads.</summary>
    public const int FormatVersion = 1;

    /// <summary>File name of the description inside a checkpoint directory.</summary>
    public const string DescriptionFile = "checkpoint.json";

    /// <summary>File name of the weights inside a checkpoint directory.</summary>
    public const string WeightsFile = "model.safetensors";

    /// <summary>File name of the optimiser's moments inside a checkpoint directory.</summary>
    public const string OptimizerFile = "optimizer.safetensors";

    /// <summary>File name of early stopping's best weights inside a checkpoint directory.</summary>
    public const string BestWeightsFile = "best.safetensors";

    /// <summary>Architecture of the model.</summary>
    public required TransformerModelConfig Architecture { get; init; }

    /// <summary>Tokenizer and vocabularies.</summary>
    public required CheckpointTokenizer Tokenizer { get; init; }

    /// <summary>Text column the model reads.</summary>
    public string TextColumnName { get; init; } = "Text";

    /// <summary>Source column (encoder-decoder with a true source), else null.</summary>
    public string? SourceColumnName { get; init; }

    /// <summary>Single-column encoder-decoder: the encoder reads the decoder's own prefix.</summary>
    public bool SelfSource { get; init; }

    /// <summary>Device the model was trained on (informational).</summary>
    public string TrainedOn { get; init; } = "cpu";

    /// <summary>Weights by PyTorch state-dict name: (shape, row-major float32 data).</summary>
    public required IReadOnlyDictionary<string, (long[] Shape, float[] Data)> Weights { get; init; }

    /// <summary>Adam's state, or null for a model-only checkpoint.</summary>
    public OptimizerState? Optimizer { get; init; }

    /// <summary>The engine's dropout generators (opaque, engine-versioned bytes), or null.</summary>
    public byte[]? RandomState { get; init; }

    /// <summary>The run's position, or null for a model-only checkpoint.</summary>
    public TrainingPosition? Training { get; init; }

    /// <summary>True when <paramref name="path"/> is a checkpoint or a folder of periodic checkpoints (<see cref="CheckpointDirectory"/>).</summary>
    public static bool IsCheckpoint(string path) =>
        File.Exists(Path.Combine(path, DescriptionFile)) || File.Exists(Path.Combine(path, CheckpointDirectory.LatestFile));

    /// <summary>
    /// Writes the checkpoint as the directory <paramref name="directory"/>: every file goes into a temporary sibling
    /// first, which is then renamed into place, so a crash never leaves a half-written checkpoint under that name.
    /// An existing checkpoint there is replaced.
    /// </summary>
    public void Save(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        string full = Path.GetFullPath(directory);
        string parent = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{directory}' has no parent folder.", nameof(directory));
        Directory.CreateDirectory(parent);
        string temp = Path.Combine(parent, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(temp);
        try
        {
            WriteFiles(temp);
            if (Directory.Exists(full))
            {
                if (Directory.EnumerateFileSystemEntries(full).Any() && !File.Exists(Path.Combine(full, DescriptionFile)))
                {
                    throw new IOException($"'{directory}' exists and is not a checkpoint; refusing to replace it.");
                }

                string old = Path.Combine(parent, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.old");
                Directory.Move(full, old);
                Directory.Move(temp, full);
                Directory.Delete(old, recursive: true);
            }
            else
            {
                Directory.Move(temp, full);
            }
        }
        catch
        {
            if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }

            throw;
        }
    }

    /// <summary>
    /// Reads a checkpoint: a checkpoint directory, or a folder of periodic checkpoints (its newest complete one).
    /// </summary>
    /// <exception cref="FileNotFoundException">Neither is found at <paramref name="path"/>.</exception>
    /// <exception cref="ModelFormatException">A file is missing, malformed, of a newer version, or the parts disagree.</exception>
    public static Checkpoint Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string dir = CheckpointDirectory.Resolve(path);
        string descriptionPath = Path.Combine(dir, DescriptionFile);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(descriptionPath));
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"'{descriptionPath}' is not JSON: {e.Message}", DescriptionFile, e);
        }

        using (doc)
        {
            var root = new Reader(doc.RootElement, descriptionPath, string.Empty);
            string format = root.String("format");
            if (format != FormatName)
            {
                throw new ModelFormatException($"'{descriptionPath}' is not an MLNet.Transformer checkpoint (format '{format}', expected '{FormatName}').", "format");
            }

            int version = root.Int("version");
            if (version < 1 || version > FormatVersion)
            {
                throw new ModelFormatException(
                    $"'{descriptionPath}' is checkpoint format version {version}; this library reads versions 1 to {FormatVersion}. Update MLNet.Transformer to read it.", "version");
            }

            var arch = ReadArchitecture(root.Object("model"));
            var tok = root.Object("tokenizer");
            var tokenizer = new CheckpointTokenizer
            {
                Vocabulary = tok.Strings("vocabulary"),
                SourceVocabulary = tok.Has("source_vocabulary") ? tok.Strings("source_vocabulary") : null,
                PadId = tok.Int("pad_id"),
                BosId = tok.Int("bos_id"),
                EosId = tok.Int("eos_id"),
                UnkId = tok.Int("unk_id"),
                Normalize = tok.String("normalization") switch
                {
                    "nfc" => true,
                    "none" => false,
                    var other => throw tok.Error("normalization", $"is '{other}', expected 'nfc' or 'none'"),
                },
                LowerCase = tok.Bool("lower_case"),
            };
            if (tokenizer.Vocabulary.Count != arch.VocabSize)
            {
                throw new ModelFormatException($"'{descriptionPath}': the vocabulary has {tokenizer.Vocabulary.Count} tokens, model.vocab_size says {arch.VocabSize}.", "tokenizer.vocabulary");
            }

            var cols = root.Object("columns");
            var weights = SafeTensors.Read(Path.Combine(dir, root.String("weights"))).Tensors;
            OptimizerState? optimizer = null;
            if (root.Has("optimizer"))
            {
                var o = root.Object("optimizer");
                var moments = SafeTensors.Read(Path.Combine(dir, o.String("file"))).Tensors;
                optimizer = new OptimizerState(
                    o.Long("step"),
                    Moments(moments, ".exp_avg"),
                    Moments(moments, ".exp_avg_sq"));
            }

            byte[]? rng = root.Has("rng") ? Convert.FromBase64String(root.Object("rng").String("engine")) : null;
            TrainingPosition? training = null;
            if (root.Has("training"))
            {
                var t = root.Object("training");
                var best = t.Has("best_weights") ? SafeTensors.Read(Path.Combine(dir, t.String("best_weights"))).Tensors : null;
                training = new TrainingPosition
                {
                    Seed = t.Int("seed"),
                    Step = t.Long("step"),
                    Epoch = t.Int("epoch"),
                    BatchInEpoch = t.Int("batch_in_epoch"),
                    EpochLossSum = t.Double("epoch_loss_sum"),
                    EpochTokens = t.Long("epoch_tokens"),
                    BestLoss = t.Has("best_loss") ? t.Double("best_loss") : null,
                    BestEpoch = t.Int("best_epoch"),
                    SinceBest = t.Int("since_best"),
                    ElapsedSeconds = t.Double("elapsed_seconds"),
                    History = [.. t.Array("history").Select(h => new CheckpointEpoch(
                        h.Int("epoch"), h.Double("train_loss"), h.Has("validation_loss") ? h.Double("validation_loss") : null,
                        h.Double("seconds"), h.Double("characters_per_second")))],
                    BestWeights = best,
                    Options = t.Object("options").StringMap(),
                };
            }

            return new Checkpoint
            {
                Architecture = arch,
                Tokenizer = tokenizer,
                TextColumnName = cols.String("text"),
                SourceColumnName = cols.Has("source") ? cols.String("source") : null,
                SelfSource = cols.Bool("self_source"),
                TrainedOn = root.Has("trained_on") ? root.String("trained_on") : "cpu",
                Weights = weights,
                Optimizer = optimizer,
                RandomState = rng,
                Training = training,
            };
        }
    }

    private void WriteFiles(string dir)
    {
        SafeTensors.Write(Path.Combine(dir, WeightsFile), Weights, new Dictionary<string, string> { ["format"] = "pt" });
        if (Optimizer is { } o)
        {
            var moments = o.ExpAvg.Select(kv => KeyValuePair.Create(kv.Key + ".exp_avg", kv.Value))
                .Concat(o.ExpAvgSq.Select(kv => KeyValuePair.Create(kv.Key + ".exp_avg_sq", kv.Value)));
            SafeTensors.Write(Path.Combine(dir, OptimizerFile), moments);
        }

        if (Training?.BestWeights is { } best)
        {
            SafeTensors.Write(Path.Combine(dir, BestWeightsFile), best, new Dictionary<string, string> { ["format"] = "pt" });
        }

        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            WriteDescription(w);
        }

        using var stream = new FileStream(Path.Combine(dir, DescriptionFile), FileMode.CreateNew, FileAccess.Write);
        stream.Write(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        stream.Flush(flushToDisk: true);
    }

    private void WriteDescription(Utf8JsonWriter w)
    {
        var a = Architecture;
        w.WriteStartObject();
        w.WriteString("format", FormatName);
        w.WriteNumber("version", FormatVersion);
        w.WriteStartObject("model");
        w.WriteString("kind", a.Kind == ModelKind.Decoder ? "decoder" : "encoder_decoder");
        w.WriteNumber("vocab_size", a.VocabSize);
        w.WriteNumber("src_vocab_size", a.SourceVocabSize); // 0: the same as vocab_size
        w.WriteNumber("d_model", a.ModelDim);
        w.WriteNumber("n_heads", a.Heads);
        w.WriteNumber("n_layers", a.Layers);
        w.WriteNumber("n_encoder_layers", a.EncoderLayers); // read by encoder-decoders only, kept as given
        w.WriteNumber("d_ff", a.FeedForwardDim);
        w.WriteNumber("max_len", a.MaxLength);
        w.WriteNumber("pad_id", a.PadId);
        w.WriteString("activation", a.Activation == Activation.Gelu ? "gelu" : "relu");
        w.WriteBoolean("norm_first", a.NormFirst);
        w.WriteBoolean("causal_encoder", a.CausalEncoder);
        w.WriteBoolean("causal_cross", a.CausalCross);
        w.WriteNumber("dropout", a.Dropout);
        w.WriteNumber("layer_norm_eps", a.LayerNormEps);
        w.WriteString("init_seed", a.Seed.ToString(CultureInfo.InvariantCulture));
        w.WriteEndObject();

        var t = Tokenizer;
        w.WriteStartObject("tokenizer");
        w.WriteString("type", "character");
        w.WriteString("normalization", t.Normalize ? "nfc" : "none");
        w.WriteBoolean("lower_case", t.LowerCase);
        w.WriteNumber("pad_id", t.PadId);
        w.WriteNumber("bos_id", t.BosId);
        w.WriteNumber("eos_id", t.EosId);
        w.WriteNumber("unk_id", t.UnkId);
        WriteStrings(w, "vocabulary", t.Vocabulary);
        if (t.SourceVocabulary is { } sv)
        {
            WriteStrings(w, "source_vocabulary", sv);
        }

        w.WriteEndObject();

        w.WriteStartObject("columns");
        w.WriteString("text", TextColumnName);
        if (SourceColumnName is { } s)
        {
            w.WriteString("source", s);
        }

        w.WriteBoolean("self_source", SelfSource);
        w.WriteEndObject();
        w.WriteString("trained_on", TrainedOn);
        w.WriteString("weights", WeightsFile);
        if (Optimizer is { } o)
        {
            w.WriteStartObject("optimizer");
            w.WriteString("type", "adam");
            w.WriteString("file", OptimizerFile);
            w.WriteNumber("step", o.Step);
            w.WriteEndObject();
        }

        if (RandomState is { } rng)
        {
            w.WriteStartObject("rng");
            w.WriteString("engine", Convert.ToBase64String(rng));
            w.WriteEndObject();
        }

        if (Training is { } p)
        {
            w.WriteStartObject("training");
            w.WriteNumber("seed", p.Seed);
            w.WriteNumber("step", p.Step);
            w.WriteNumber("epoch", p.Epoch);
            w.WriteNumber("batch_in_epoch", p.BatchInEpoch);
            w.WriteNumber("epoch_loss_sum", p.EpochLossSum);
            w.WriteNumber("epoch_tokens", p.EpochTokens);
            if (p.BestLoss is double bl)
            {
                w.WriteNumber("best_loss", bl);
            }

            w.WriteNumber("best_epoch", p.BestEpoch);
            w.WriteNumber("since_best", p.SinceBest);
            w.WriteNumber("elapsed_seconds", p.ElapsedSeconds);
            if (p.BestWeights is not null)
            {
                w.WriteString("best_weights", BestWeightsFile);
            }

            w.WriteStartArray("history");
            foreach (var h in p.History)
            {
                w.WriteStartObject();
                w.WriteNumber("epoch", h.Epoch);
                w.WriteNumber("train_loss", h.TrainLoss);
                if (h.ValidationLoss is double vl)
                {
                    w.WriteNumber("validation_loss", vl);
                }

                w.WriteNumber("seconds", h.Seconds);
                w.WriteNumber("characters_per_second", h.CharactersPerSecond);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartObject("options");
            foreach (var (k, v) in p.Options)
            {
                w.WriteString(k, v);
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, IReadOnlyList<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStringValue(v);
        }

        w.WriteEndArray();
    }

    private static TransformerModelConfig ReadArchitecture(Reader m)
    {
        var kind = m.String("kind") switch
        {
            "decoder" => ModelKind.Decoder,
            "encoder_decoder" => ModelKind.EncoderDecoder,
            var other => throw m.Error("kind", $"is '{other}', expected 'decoder' or 'encoder_decoder'"),
        };
        var config = new TransformerModelConfig
        {
            Kind = kind,
            VocabSize = m.Int("vocab_size"),
            SourceVocabSize = m.Int("src_vocab_size"),
            ModelDim = m.Int("d_model"),
            Heads = m.Int("n_heads"),
            Layers = m.Int("n_layers"),
            EncoderLayers = m.Int("n_encoder_layers"),
            FeedForwardDim = m.Int("d_ff"),
            MaxLength = m.Int("max_len"),
            PadId = m.Int("pad_id"),
            Activation = m.String("activation") switch
            {
                "relu" => Activation.Relu,
                "gelu" => Activation.Gelu,
                var other => throw m.Error("activation", $"is '{other}', expected 'relu' or 'gelu'"),
            },
            NormFirst = m.Bool("norm_first"),
            CausalEncoder = m.Bool("causal_encoder"),
            CausalCross = m.Bool("causal_cross"),
            Dropout = (float)m.Double("dropout"),
            LayerNormEps = (float)m.Double("layer_norm_eps"),
            Seed = ulong.Parse(m.String("init_seed"), CultureInfo.InvariantCulture),
        };
        try
        {
            config.Validate();
        }
        catch (TransformerArgumentException e)
        {
            throw new ModelFormatException($"'{m.File}': the model section is not a valid architecture: {e.Message}", "model", e);
        }

        return config;
    }

    private static Dictionary<string, (long[] Shape, float[] Data)> Moments(IReadOnlyDictionary<string, (long[] Shape, float[] Data)> all, string suffix) =>
        all.Where(kv => kv.Key.EndsWith(suffix, StringComparison.Ordinal) && (suffix != ".exp_avg" || !kv.Key.EndsWith(".exp_avg_sq", StringComparison.Ordinal)))
            .ToDictionary(kv => kv.Key[..^suffix.Length], kv => kv.Value, StringComparer.Ordinal);

    /// <summary>Typed field access over checkpoint.json that names the file and the field path in every error.</summary>
    private sealed class Reader(JsonElement element, string file, string path)
    {
        public string File => file;

        public bool Has(string name) => element.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

        public ModelFormatException Error(string name, string problem) =>
            new($"'{file}': field '{path}{name}' {problem}.", path + name);

        public JsonElement Get(string name, JsonValueKind kind)
        {
            if (!element.TryGetProperty(name, out var v))
            {
                throw Error(name, "is missing");
            }

            bool ok = kind == JsonValueKind.True ? v.ValueKind is JsonValueKind.True or JsonValueKind.False : v.ValueKind == kind;
            return ok ? v : throw Error(name, $"is {v.ValueKind}, expected {(kind == JsonValueKind.True ? "a boolean" : kind.ToString())}");
        }

        public string String(string name) => Get(name, JsonValueKind.String).GetString()!;

        public int Int(string name) => Get(name, JsonValueKind.Number).TryGetInt32(out int v) ? v : throw Error(name, "is not a 32-bit integer");

        public long Long(string name) => Get(name, JsonValueKind.Number).TryGetInt64(out long v) ? v : throw Error(name, "is not a 64-bit integer");

        public double Double(string name) => Get(name, JsonValueKind.Number).GetDouble();

        public bool Bool(string name) => Get(name, JsonValueKind.True).GetBoolean();

        public Reader Object(string name) => new(Get(name, JsonValueKind.Object), file, $"{path}{name}.");

        public IEnumerable<Reader> Array(string name)
        {
            var items = Get(name, JsonValueKind.Array).EnumerateArray().ToList();
            string f = file, p = path;
            return items.Select((e, i) => new Reader(e, f, $"{p}{name}[{i}]."));
        }

        public IReadOnlyList<string> Strings(string name) =>
            [.. Get(name, JsonValueKind.Array).EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Error(name, "holds a value that is not a string"))];

        public Dictionary<string, string> StringMap() =>
            element.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ToString(), StringComparer.Ordinal);
    }
}

/// <summary>
/// A folder of periodic checkpoints (<c>--checkpoint-dir</c>): each is written completely as <c>step-NNNNNNNNN</c>,
/// then the one-line file <c>latest</c> is replaced atomically to name it, then older ones are removed. A run killed
/// at any moment leaves <c>latest</c> naming a complete checkpoint.
/// </summary>
public static class CheckpointDirectory
{
    /// <summary>Name of the file that names the newest complete checkpoint.</summary>
    public const string LatestFile = "latest";

    /// <summary>Writes <paramref name="checkpoint"/> as the newest of <paramref name="root"/>; returns its directory.</summary>
    public static string Write(string root, Checkpoint checkpoint, long step)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        Directory.CreateDirectory(root);
        string name = string.Create(CultureInfo.InvariantCulture, $"step-{step:D9}");
        string dir = Path.Combine(root, name);
        checkpoint.Save(dir);
        AtomicFile.WriteAllText(Path.Combine(root, LatestFile), name + "\n");
        foreach (var old in Directory.EnumerateDirectories(root, "step-*"))
        {
            if (!string.Equals(Path.GetFileName(old), name, StringComparison.Ordinal))
            {
                Directory.Delete(old, recursive: true);
            }
        }

        return dir;
    }

    /// <summary>The checkpoint directory <paramref name="path"/> stands for: itself, or the one its <c>latest</c> names.</summary>
    /// <exception cref="FileNotFoundException">Neither a checkpoint nor a folder of checkpoints is at <paramref name="path"/>.</exception>
    public static string Resolve(string path)
    {
        if (File.Exists(Path.Combine(path, Checkpoint.DescriptionFile)))
        {
            return path;
        }

        string latest = Path.Combine(path, LatestFile);
        if (File.Exists(latest))
        {
            string name = File.ReadAllText(latest, Encoding.UTF8).Trim();
            string dir = Path.Combine(path, name);
            if (name.Length == 0 || name.Contains('/') || name.Contains('\\') || !File.Exists(Path.Combine(dir, Checkpoint.DescriptionFile)))
            {
                throw new ModelFormatException($"'{latest}' names '{name}', which is not a checkpoint in '{path}'.", LatestFile);
            }

            return dir;
        }

        throw new FileNotFoundException(
            $"'{path}' is neither a checkpoint (no {Checkpoint.DescriptionFile}) nor a folder of checkpoints (no '{LatestFile}' file).", path);
    }
}
