// Options of the next-character transformer trainers (decoder-only and encoder-decoder), ML.NET style:
// one Defaults class shared by options, constructors and catalog methods.
using MLNet.Transformer.Engine;

namespace MLNet.Transformer.LanguageModeling;

/// <summary>Feed-forward activation of every block.</summary>
public enum TransformerActivation
{
    /// <summary>max(0, x), PyTorch's default.</summary>
    Relu,

    /// <summary>Exact (erf) GELU.</summary>
    Gelu,
}

/// <summary>How the learning rate changes after warm-up.</summary>
public enum LearningRateSchedule
{
    /// <summary>Constant after warm-up.</summary>
    Constant,

    /// <summary>Linear decay to <see cref="TransformerTrainerOptions.MinimumLearningRateFraction"/> of the peak.</summary>
    Linear,

    /// <summary>Cosine decay to <see cref="TransformerTrainerOptions.MinimumLearningRateFraction"/> of the peak.</summary>
    Cosine,
}

/// <summary>The weight-update rule.</summary>
public enum TransformerOptimizer
{
    /// <summary>Adam (weight decay, if any, added to the gradient as L2), as torch.optim.Adam.</summary>
    Adam,

    /// <summary>AdamW (decoupled weight decay), as torch.optim.AdamW.</summary>
    AdamW,
}

/// <summary>Hyper-parameters shared by the decoder-only and encoder-decoder trainers.</summary>
public class TransformerTrainerOptions
{
    /// <summary>Defaults shared by options, constructors and catalog methods.</summary>
    internal static class Defaults
    {
        public const string TextColumnName = "Text";
        public const int Layers = 1;
        public const int Heads = 1;
        public const int ModelDimension = 32;
        public const int FeedForwardDimension = 32;
        public const float Dropout = 0f;
        public const int Epochs = 100;
        public const int BatchSize = 16;
        public const float LearningRate = 1e-3f;
        public const int WarmupSteps = 0;
        public const float MinimumLearningRateFraction = 0.1f;
        public const float WeightDecay = 0f;
        public const float GradientClipNorm = 0f;
        public const string Device = "auto";
        public const int EarlyStoppingPatience = 0;
        public const float EarlyStoppingMinDelta = 1e-4f;
        public const int MaximumLength = 64;
    }

    /// <summary>The Text column to learn from and to score (default "Text").</summary>
    public string TextColumnName { get; set; } = Defaults.TextColumnName;

    /// <summary>NFC-normalise text before splitting it into characters. Default true.</summary>
    public bool Normalize { get; set; } = true;

    /// <summary>Lower-case characters first (invariant culture). Default false.</summary>
    public bool LowerCase { get; set; }

    /// <summary>
    /// Fine-tune: a checkpoint (a directory written by <see cref="Checkpoints.Checkpoint.Save"/> or a
    /// <see cref="CheckpointDirectory"/>), or a model .zip saved with <c>mlContext.Model.Save</c>, or an exported .onnx
    /// file, whose weights start the training (fresh optimiser). Its vocabulary, normalisation and architecture are
    /// kept; the architecture options here must agree with it. Null (default): fresh weights. To continue a run
    /// exactly, use <see cref="ResumeFrom"/> instead.
    /// </summary>
    public string? InitialModelPath { get; set; }

    /// <summary>
    /// <see cref="TrainingMode.Rows"/> (default): one example per row, epochs over shuffled rows.
    /// <see cref="TrainingMode.Corpus"/>: the rows form one running text (joined by <see cref="Separator"/>), trained on
    /// random windows of <see cref="ContextLength"/> characters for <see cref="MaxSteps"/> steps, validated on its last
    /// <see cref="ValidationFraction"/> every <see cref="EvaluateEvery"/> steps. Decoder-only.
    /// </summary>
    public TrainingMode Mode { get; set; } = TrainingMode.Rows;

    /// <summary>Corpus mode: characters per training window (the model's context). Default 128.</summary>
    public int ContextLength { get; set; } = 128;

    /// <summary>Corpus mode: the text put between consecutive rows. Default a newline.</summary>
    public string Separator { get; set; } = "\n";

    /// <summary>Corpus mode: optimisation steps (each over <see cref="BatchSize"/> windows). Default 2,000.</summary>
    public int MaxSteps { get; set; } = 2000;

    /// <summary>Corpus mode: evaluate on the validation tail every this many steps (and after the last). Default 200.</summary>
    public int EvaluateEvery { get; set; } = 200;

    /// <summary>
    /// Write a checkpoint (weights, Adam's moments and step, dropout generators, data position) every this many
    /// steps into <see cref="CheckpointDirectory"/>. 0 (default): none.
    /// </summary>
    public int CheckpointEvery { get; set; }

    /// <summary>Folder of the periodic checkpoints (the newest complete one is named by its <c>latest</c> file).</summary>
    public string? CheckpointDirectory { get; set; }

    /// <summary>
    /// Continue the run whose checkpoint (or folder of checkpoints) is here, exactly where it stopped: same data and
    /// options (the seed, vocabulary and architecture come from the checkpoint; the options that decide batches and
    /// schedule must match). On the CPU the resumed run ends with the same weights, bit for bit, as an uninterrupted one.
    /// </summary>
    public string? ResumeFrom { get; set; }

    /// <summary>Characters seen fewer times than this in the training data map to &lt;UNK&gt;. Default 1.</summary>
    public int MinimumCharacterFrequency { get; set; } = 1;

    /// <summary>What Fit does with a row longer than <see cref="MaximumLength"/>. Default <see cref="LengthPolicy.Throw"/>.</summary>
    public LengthPolicy LengthPolicy { get; set; } = LengthPolicy.Throw;

    /// <summary>Number of (decoder) blocks.</summary>
    public int Layers { get; set; } = Defaults.Layers;

    /// <summary>Attention heads per block; must divide <see cref="ModelDimension"/>.</summary>
    public int Heads { get; set; } = Defaults.Heads;

    /// <summary>Model (embedding) dimension d_model.</summary>
    public int ModelDimension { get; set; } = Defaults.ModelDimension;

    /// <summary>Inner width of the feed-forward network.</summary>
    public int FeedForwardDimension { get; set; } = Defaults.FeedForwardDimension;

    /// <summary>Dropout probability, placed as in nn.TransformerEncoderLayer.</summary>
    public float Dropout { get; set; } = Defaults.Dropout;

    /// <summary>Pre-LN (LayerNorm before each sub-layer, plus a final LayerNorm) instead of PyTorch's default Post-LN.</summary>
    public bool NormFirst { get; set; }

    /// <summary>Feed-forward activation.</summary>
    public TransformerActivation Activation { get; set; } = TransformerActivation.Relu;

    /// <summary>
    /// The most positions the model reads: &lt;BOS&gt; and up to MaximumLength - 1 characters (EOS is only a target).
    /// Training rows with more characters (or sources with more than MaximumLength - 2) follow <see cref="LengthPolicy"/>;
    /// scoring reads the first MaximumLength - 1 characters of a longer text.
    /// </summary>
    public int MaximumLength { get; set; } = Defaults.MaximumLength;

    /// <summary>Passes over the training data.</summary>
    public int Epochs { get; set; } = Defaults.Epochs;

    /// <summary>Rows per training step.</summary>
    public int BatchSize { get; set; } = Defaults.BatchSize;

    /// <summary>Peak learning rate.</summary>
    public float LearningRate { get; set; } = Defaults.LearningRate;

    /// <summary>Steps of linear warm-up from 0 to <see cref="LearningRate"/>.</summary>
    public int WarmupSteps { get; set; } = Defaults.WarmupSteps;

    /// <summary>Decay after warm-up.</summary>
    public LearningRateSchedule Schedule { get; set; } = LearningRateSchedule.Constant;

    /// <summary>Final learning rate as a fraction of the peak, for decaying schedules.</summary>
    public float MinimumLearningRateFraction { get; set; } = Defaults.MinimumLearningRateFraction;

    /// <summary>Optimiser.</summary>
    public TransformerOptimizer Optimizer { get; set; } = TransformerOptimizer.Adam;

    /// <summary>Weight decay (L2 for Adam, decoupled for AdamW).</summary>
    public float WeightDecay { get; set; } = Defaults.WeightDecay;

    /// <summary>Clip the total gradient norm to this value; 0 disables clipping.</summary>
    public float GradientClipNorm { get; set; } = Defaults.GradientClipNorm;

    /// <summary>
    /// What the fitted model computes for each row: <see cref="NextCharacterOutputs.All"/> (default: every column,
    /// attention included) or <see cref="NextCharacterOutputs.NextCharacter"/> (Score, PredictedLabel and
    /// PredictedNextChar only, the fastest to score).
    /// </summary>
    public NextCharacterOutputs Outputs { get; set; } = NextCharacterOutputs.All;

    /// <summary>Seed of initialisation, shuffling and dropout; null draws one from the MLContext.</summary>
    public int? Seed { get; set; }

    /// <summary>"auto" (CUDA when present, else CPU), "cpu", "cuda" or "cuda:N". An absent device is an error.</summary>
    public string Device { get; set; } = Defaults.Device;

    /// <summary>
    /// CPU threads of this Fit's model (<see cref="Engine.TransformerModel.Threads"/>; other models and the process are
    /// left alone, so fits side by side can split the cores); null lets the engine choose: the process-wide
    /// <see cref="Engine.EngineRuntime.NumThreads"/> when set, else every core for large steps and one thread for small ones.
    /// </summary>
    public int? Threads { get; set; }

    /// <summary>
    /// Arithmetic of training and validation: <see cref="Engine.Precision.Auto"/> (the default) trains in bfloat16 where the
    /// device computes it natively (<see cref="Engine.EngineRuntime.IsBFloat16Native"/>) and in float32 elsewhere. The fitted
    /// model, its ONNX graph and its scores are float32 either way; <see cref="TrainingHistory.Precision"/> says which was used.
    /// </summary>
    public Engine.Precision Precision { get; set; } = Engine.Precision.Auto;

    /// <summary>Held-out rows for validation loss and early stopping (takes precedence over <see cref="ValidationFraction"/>).</summary>
    public Microsoft.ML.IDataView? ValidationSet { get; set; }

    /// <summary>Fraction of the training rows held out for validation when no <see cref="ValidationSet"/> is given (0 = none).</summary>
    public double ValidationFraction { get; set; }

    /// <summary>Stop after this many epochs without a validation improvement of at least <see cref="EarlyStoppingMinDelta"/>; 0 disables. The best weights are kept.</summary>
    public int EarlyStoppingPatience { get; set; } = Defaults.EarlyStoppingPatience;

    /// <summary>Smallest validation-loss decrease that counts as an improvement.</summary>
    public float EarlyStoppingMinDelta { get; set; } = Defaults.EarlyStoppingMinDelta;

    /// <summary>Keep the weights of the best validation epoch (when there is validation data).</summary>
    public bool KeepBestWeights { get; set; } = true;

    /// <summary>Group rows of similar length into batches (less padding); batches are still shuffled.</summary>
    public bool LengthBucketing { get; set; } = true;

    /// <summary>
    /// Data-parallel training over several processes (on one machine or several), through the engine's c10d
    /// process group (Gloo on the CPU, NCCL on CUDA builds). Every rank calls Fit with the same data, options and
    /// <see cref="Seed"/> (a null seed is drawn by rank 0 and shared) and its own <see cref="Engine.DistributedSettings.Rank"/>;
    /// <see cref="Engine.DistributedSettings.FromEnvironment"/> reads what PyTorch's launcher sets (MASTER_ADDR, MASTER_PORT,
    /// RANK, WORLD_SIZE, LOCAL_RANK). <see cref="BatchSize"/> is per rank: N ranks train exactly as one process
    /// with batch N x BatchSize (dropout aside). Every rank returns the same model; only rank 0 should save it
    /// (<see cref="TrainingHistory.Rank"/>). Null (default) or a world of 1: one process.
    /// </summary>
    public Engine.DistributedSettings? Distributed { get; set; }

    /// <summary>Receives step and epoch reports (loss, validation loss, characters per second, ETA).</summary>
    public IProgress<TrainingProgress>? Progress { get; set; }

    /// <summary>Cancels training; no native memory or half-written file is left behind.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>Checks every option and throws <see cref="ArgumentException"/> naming the first invalid one.</summary>
    public virtual void Validate()
    {
        static void Require(bool ok, string option, string message)
        {
            if (!ok)
            {
                throw new ArgumentException($"Option {option}: {message}", option);
            }
        }

        Require(!string.IsNullOrEmpty(TextColumnName), nameof(TextColumnName), "must name the Text column.");
        Require(MinimumCharacterFrequency >= 1, nameof(MinimumCharacterFrequency), $"must be >= 1 (got {MinimumCharacterFrequency}).");
        Require(Enum.IsDefined(LengthPolicy), nameof(LengthPolicy), $"must be Throw, Truncate or Skip (got {LengthPolicy}).");
        Require(Layers >= 1, nameof(Layers), $"must be >= 1 (got {Layers}).");
        Require(Heads >= 1, nameof(Heads), $"must be >= 1 (got {Heads}).");
        Require(ModelDimension >= 1, nameof(ModelDimension), $"must be >= 1 (got {ModelDimension}).");
        Require(ModelDimension % Math.Max(Heads, 1) == 0, nameof(Heads), $"heads ({Heads}) must divide the model dimension ({ModelDimension}).");
        Require(FeedForwardDimension >= 1, nameof(FeedForwardDimension), $"must be >= 1 (got {FeedForwardDimension}).");
        Require(Dropout is >= 0f and < 1f, nameof(Dropout), $"must be in [0, 1) (got {Dropout}).");
        Require(MaximumLength >= 2, nameof(MaximumLength), $"must be >= 2 (got {MaximumLength}).");
        Require(Epochs >= 1, nameof(Epochs), $"must be >= 1 (got {Epochs}).");
        Require(BatchSize >= 1, nameof(BatchSize), $"must be >= 1 (got {BatchSize}).");
        Require(LearningRate > 0f && float.IsFinite(LearningRate), nameof(LearningRate), $"must be a positive number (got {LearningRate}).");
        Require(WarmupSteps >= 0, nameof(WarmupSteps), $"must be >= 0 (got {WarmupSteps}).");
        Require(MinimumLearningRateFraction is >= 0f and <= 1f, nameof(MinimumLearningRateFraction), $"must be in [0, 1] (got {MinimumLearningRateFraction}).");
        Require(WeightDecay >= 0f, nameof(WeightDecay), $"must be >= 0 (got {WeightDecay}).");
        Require(GradientClipNorm >= 0f, nameof(GradientClipNorm), $"must be >= 0 (got {GradientClipNorm}).");
        Require(ValidationFraction is >= 0 and < 1, nameof(ValidationFraction), $"must be in [0, 1) (got {ValidationFraction}).");
        Require(EarlyStoppingPatience >= 0, nameof(EarlyStoppingPatience), $"must be >= 0 (got {EarlyStoppingPatience}).");
        Require(Threads is null or >= 1, nameof(Threads), $"must be >= 1 (got {Threads}).");
        Require(Enum.IsDefined(Precision), nameof(Precision), $"must be Auto, Float32 or BFloat16 (got {Precision}).");
        Require(Layers <= TransformerLimits.MaxLayers, nameof(Layers), $"must be <= {TransformerLimits.MaxLayers} (got {Layers}).");
        Require(Heads <= TransformerLimits.MaxHeads, nameof(Heads), $"must be <= {TransformerLimits.MaxHeads} (got {Heads}).");
        Require(ModelDimension <= TransformerLimits.MaxModelDimension, nameof(ModelDimension), $"must be <= {TransformerLimits.MaxModelDimension} (got {ModelDimension}).");
        Require(FeedForwardDimension <= TransformerLimits.MaxFeedForwardDimension, nameof(FeedForwardDimension), $"must be <= {TransformerLimits.MaxFeedForwardDimension} (got {FeedForwardDimension}).");
        Require(MaximumLength <= TransformerLimits.MaxLength, nameof(MaximumLength), $"must be <= {TransformerLimits.MaxLength} (got {MaximumLength}).");
        Require(Threads is null || Threads <= TransformerLimits.MaxThreads, nameof(Threads), $"must be <= {TransformerLimits.MaxThreads}, four per logical processor (got {Threads}).");
        // The vocabulary is not known before Fit: a small one stands in (Fit checks again with the real one).
        CheckMemory(ToConfig(vocabularySize: 64));
        Require(!string.IsNullOrWhiteSpace(Device), nameof(Device), "must be auto, cpu, cuda or cuda:N.");
        Require(Enum.IsDefined(Mode), nameof(Mode), $"must be Rows or Corpus (got {Mode}).");
        Require(ContextLength >= 1, nameof(ContextLength), $"must be >= 1 (got {ContextLength}).");
        Require(Separator is not null, nameof(Separator), "must not be null (use an empty string to join rows directly).");
        Require(MaxSteps >= 1, nameof(MaxSteps), $"must be >= 1 (got {MaxSteps}).");
        Require(EvaluateEvery >= 1, nameof(EvaluateEvery), $"must be >= 1 (got {EvaluateEvery}).");
        Require(Mode == TrainingMode.Rows || Distributed is not { WorldSize: > 1 }, nameof(Mode), "corpus training runs in one process; data-parallel corpus training is not supported yet.");
        Require(CheckpointEvery >= 0, nameof(CheckpointEvery), $"must be >= 0 (got {CheckpointEvery}).");
        Require(CheckpointEvery == 0 || !string.IsNullOrWhiteSpace(CheckpointDirectory), nameof(CheckpointDirectory), "must name a folder when CheckpointEvery > 0.");
        Require(ResumeFrom is null || InitialModelPath is null, nameof(ResumeFrom), "and InitialModelPath exclude each other: ResumeFrom continues a run, InitialModelPath starts a new one from trained weights.");
        Require((CheckpointEvery == 0 && ResumeFrom is null) || Distributed is not { WorldSize: > 1 }, nameof(CheckpointEvery),
            "checkpoints and ResumeFrom are for single-process training; data-parallel runs cannot be resumed yet.");
        Distributed?.Validate();
    }

    /// <summary>The architecture these options describe, for a vocabulary of <paramref name="vocabularySize"/> tokens.</summary>
    internal virtual TransformerModelConfig ToConfig(int vocabularySize) => new()
    {
        Kind = ModelKind.Decoder,
        VocabSize = vocabularySize,
        ModelDim = ModelDimension,
        Heads = Heads,
        Layers = Layers,
        FeedForwardDim = FeedForwardDimension,
        MaxLength = MaximumLength,
    };

    /// <summary>
    /// Refuses a model whose training would need more memory than this process may use
    /// (<see cref="TransformerLimits.EstimateTrainingBytes"/> against <see cref="TransformerLimits.AvailableMemoryBytes"/>).
    /// </summary>
    internal void CheckMemory(TransformerModelConfig config)
    {
        long needed = TransformerLimits.EstimateTrainingBytes(config, BatchSize);
        long available = TransformerLimits.AvailableMemoryBytes;
        if (needed > available)
        {
            throw TransformerArgumentException.ForOption(
                string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"Option {nameof(ModelDimension)}: training this model needs about {needed / (double)(1L << 30):F1} GiB ({TransformerLimits.EstimateParameters(config):N0} parameters with their gradients and Adam's moments, and one batch's activations), more than the {available / (double)(1L << 30):F1} GiB this process may use. Lower {nameof(ModelDimension)}, {nameof(Layers)}, {nameof(FeedForwardDimension)}, {nameof(MaximumLength)} or {nameof(BatchSize)}."),
                nameof(ModelDimension));
        }
    }
}

/// <summary>How a trainer reads its Text column.</summary>
public enum TrainingMode
{
    /// <summary>Each row is one example (BOS + characters + EOS), in epochs of shuffled rows.</summary>
    Rows,

    /// <summary>The rows are one running text; training samples random windows of it (nanoGPT's get_batch).</summary>
    Corpus,
}

/// <summary>Options of the decoder-only next-character trainer (the seed's MiniFormer generalised to N layers and H heads).</summary>
public sealed class TransformerDecoderTrainerOptions : TransformerTrainerOptions
{
}

/// <summary>
/// Options of the encoder-decoder trainer. With a <see cref="SourceColumnName"/> it learns source -> target
/// (e.g. word -> reversed word); without one it predicts the next character of <see cref="TransformerTrainerOptions.TextColumnName"/>
/// honestly: the encoder reads the same prefix causally and cross-attention sees memory positions up to the current one only.
/// </summary>
public sealed class TransformerEncoderDecoderTrainerOptions : TransformerTrainerOptions
{
    /// <summary>Text column of the source sequence; null for single-column next-character prediction.</summary>
    public string? SourceColumnName { get; set; }

    /// <summary>Number of encoder blocks; null means the same as <see cref="TransformerTrainerOptions.Layers"/>.</summary>
    public int? EncoderLayers { get; set; }

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (EncoderLayers is < 1 or > TransformerLimits.MaxLayers)
        {
            throw new ArgumentException($"Option {nameof(EncoderLayers)}: must be in [1, {TransformerLimits.MaxLayers}] (got {EncoderLayers}).", nameof(EncoderLayers));
        }
    }

    /// <inheritdoc />
    internal override TransformerModelConfig ToConfig(int vocabularySize) => base.ToConfig(vocabularySize) with
    {
        Kind = ModelKind.EncoderDecoder,
        EncoderLayers = EncoderLayers ?? Layers,
    };
}

/// <summary>A training report sent to <see cref="TransformerTrainerOptions.Progress"/>.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="TotalEpochs">Planned epochs.</param>
/// <param name="Step">Global 1-based step.</param>
/// <param name="TotalSteps">Planned steps.</param>
/// <param name="TrainLoss">Mean training loss (nats per token) of the epoch so far.</param>
/// <param name="ValidationLoss">Validation loss at the end of the epoch (null within an epoch or without validation).</param>
/// <param name="CharactersPerSecond">Training throughput (target tokens per second) over the epoch so far.</param>
/// <param name="Elapsed">Training time so far.</param>
/// <param name="EstimatedRemaining">Estimated time to finish all epochs.</param>
/// <param name="IsEpochEnd">True for the report at the end of an epoch.</param>
public sealed record TrainingProgress(
    int Epoch, int TotalEpochs, long Step, long TotalSteps, double TrainLoss, double? ValidationLoss,
    double CharactersPerSecond, TimeSpan Elapsed, TimeSpan EstimatedRemaining, bool IsEpochEnd);
