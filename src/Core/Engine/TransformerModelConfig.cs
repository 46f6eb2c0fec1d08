// The architecture of a TransformerModel, with managed validation that names the offending option
// (the engine validates again). Converted to the native mlt_config by ToNative.

using System.Globalization;
using MLNet.Transformer.Interop;

namespace MLNet.Transformer.Engine;

/// <summary>
/// Architecture and initialisation of a <see cref="TransformerModel"/>. Blocks follow
/// nn.TransformerEncoderLayer / nn.TransformerDecoderLayer (batch_first) with fixed sinusoidal positions
/// (Vaswani et al. 2017, section 3.5) added to unscaled embeddings.
/// </summary>
/// <remarks>
/// Options marked "encoder-decoder only" are ignored for <see cref="ModelKind.Decoder"/> models.
/// </remarks>
public sealed record TransformerModelConfig
{
    /// <summary>Model family. Default <see cref="ModelKind.Decoder"/>.</summary>
    public ModelKind Kind { get; init; } = ModelKind.Decoder;

    /// <summary>V: target (decoder) vocabulary size, PAD included. Must be at least 2.</summary>
    public int VocabSize { get; init; }

    /// <summary>V_src: encoder vocabulary size; 0 means the same as <see cref="VocabSize"/>. Encoder-decoder only.</summary>
    public int SourceVocabSize { get; init; }

    /// <summary>E: embedding width. Default 64.</summary>
    public int ModelDim { get; init; } = 64;

    /// <summary>H: attention heads; must divide <see cref="ModelDim"/>. Default 4.</summary>
    public int Heads { get; init; } = 4;

    /// <summary>L: decoder blocks (for decoder-only models, all the blocks). Default 2.</summary>
    public int Layers { get; init; } = 2;

    /// <summary>L_enc: encoder blocks. Default 2. Encoder-decoder only.</summary>
    public int EncoderLayers { get; init; } = 2;

    /// <summary>Width of the feed-forward hidden layer. Default 128.</summary>
    public int FeedForwardDim { get; init; } = 128;

    /// <summary>Longest sequence (T and S) the positional table covers. Default 64.</summary>
    public int MaxLength { get; init; } = 64;

    /// <summary>Token id treated as padding: masked as an attention key and ignored by the loss. Default 0.</summary>
    public int PadId { get; init; }

    /// <summary>Feed-forward activation. Default <see cref="Engine.Activation.Relu"/>.</summary>
    public Activation Activation { get; init; } = Activation.Relu;

    /// <summary>False: Post-LN (PyTorch's default); true: Pre-LN with a final LayerNorm per stack.</summary>
    public bool NormFirst { get; init; }

    /// <summary>Encoder self-attention is causal. Encoder-decoder only.</summary>
    public bool CausalEncoder { get; init; }

    /// <summary>Decoder position t attends memory positions &lt;= t only. Encoder-decoder only.</summary>
    public bool CausalCross { get; init; }

    /// <summary>Dropout probability, placed as in PyTorch's layers; in [0, 1). Default 0.1.</summary>
    public float Dropout { get; init; } = 0.1f;

    /// <summary>LayerNorm epsilon; positive. Default 1e-5.</summary>
    public float LayerNormEps { get; init; } = 1e-5f;

    /// <summary>Initialisation seed. Default 0.</summary>
    public ulong Seed { get; init; }

    /// <summary>The encoder vocabulary in effect (<see cref="SourceVocabSize"/>, or <see cref="VocabSize"/> when 0).</summary>
    public int EffectiveSourceVocabSize => SourceVocabSize == 0 ? VocabSize : SourceVocabSize;

    /// <summary>Checks every option; throws <see cref="TransformerArgumentException"/> naming the first bad one.</summary>
    /// <exception cref="TransformerArgumentException">An option is out of range.</exception>
    public void Validate()
    {
        if (!Enum.IsDefined(Kind))
        {
            throw Bad(nameof(Kind), $"is {(int)Kind}, which is not a ModelKind");
        }

        if (VocabSize < 2)
        {
            throw Bad(nameof(VocabSize), $"must be at least 2 (PAD and one token), got {VocabSize}");
        }

        if (ModelDim < 1)
        {
            throw Bad(nameof(ModelDim), $"must be at least 1, got {ModelDim}");
        }

        if (Heads < 1)
        {
            throw Bad(nameof(Heads), $"must be at least 1, got {Heads}");
        }

        if (ModelDim % Heads != 0)
        {
            throw Bad(nameof(Heads), $"({Heads}) must divide ModelDim ({ModelDim})");
        }

        if (Layers < 1)
        {
            throw Bad(nameof(Layers), $"must be at least 1, got {Layers}");
        }

        if (FeedForwardDim < 1)
        {
            throw Bad(nameof(FeedForwardDim), $"must be at least 1, got {FeedForwardDim}");
        }

        if (MaxLength < 1)
        {
            throw Bad(nameof(MaxLength), $"must be at least 1, got {MaxLength}");
        }

        CheckUpper(nameof(VocabSize), VocabSize, TransformerLimits.MaxVocabularySize);
        CheckUpper(nameof(SourceVocabSize), SourceVocabSize, TransformerLimits.MaxVocabularySize);
        CheckUpper(nameof(ModelDim), ModelDim, TransformerLimits.MaxModelDimension);
        CheckUpper(nameof(Heads), Heads, TransformerLimits.MaxHeads);
        CheckUpper(nameof(Layers), Layers, TransformerLimits.MaxLayers);
        CheckUpper(nameof(EncoderLayers), EncoderLayers, TransformerLimits.MaxLayers);
        CheckUpper(nameof(FeedForwardDim), FeedForwardDim, TransformerLimits.MaxFeedForwardDimension);
        CheckUpper(nameof(MaxLength), MaxLength, TransformerLimits.MaxLength);
        // Every tensor is one array: the largest (embedding, output head, feed-forward, positional table) must fit.
        long largest = Math.Max(Math.Max((long)Math.Max(VocabSize, EffectiveSourceVocabSize) * ModelDim, (long)FeedForwardDim * ModelDim), Math.Max(3L * ModelDim * ModelDim, (long)MaxLength * ModelDim));
        if (largest > Array.MaxLength)
        {
            throw Bad(nameof(ModelDim), $"({ModelDim}) makes a tensor of {largest:N0} values; one tensor holds at most {Array.MaxLength:N0}");
        }

        if (PadId < 0 || PadId >= VocabSize)
        {
            throw Bad(nameof(PadId), $"({PadId}) must lie in [0, VocabSize) = [0, {VocabSize})");
        }

        if (!Enum.IsDefined(Activation))
        {
            throw Bad(nameof(Activation), $"is {(int)Activation}, which is not an Activation");
        }

        if (!(Dropout >= 0f && Dropout < 1f))
        {
            throw Bad(nameof(Dropout), $"must lie in [0, 1), got {Dropout.ToString(CultureInfo.InvariantCulture)}");
        }

        if (!(LayerNormEps > 0f) || float.IsInfinity(LayerNormEps))
        {
            throw Bad(nameof(LayerNormEps), $"must be positive and finite, got {LayerNormEps.ToString(CultureInfo.InvariantCulture)}");
        }

        if (Kind == ModelKind.EncoderDecoder)
        {
            if (EncoderLayers < 1)
            {
                throw Bad(nameof(EncoderLayers), $"must be at least 1 for an encoder-decoder model, got {EncoderLayers}");
            }

            if (SourceVocabSize != 0 && SourceVocabSize < 2)
            {
                throw Bad(nameof(SourceVocabSize), $"must be 0 (same as VocabSize) or at least 2, got {SourceVocabSize}");
            }

            if (PadId >= EffectiveSourceVocabSize)
            {
                throw Bad(nameof(PadId), $"({PadId}) must lie in [0, SourceVocabSize) = [0, {EffectiveSourceVocabSize})");
            }
        }
    }

    /// <summary>The native mirror; call <see cref="Validate"/> first.</summary>
    internal NativeConfig ToNative()
    {
        var encoderDecoder = Kind == ModelKind.EncoderDecoder;
        return new NativeConfig
        {
            Kind = (int)Kind,
            VocabSize = VocabSize,
            SourceVocabSize = encoderDecoder ? SourceVocabSize : 0,
            DModel = ModelDim,
            NHeads = Heads,
            NLayers = Layers,
            NEncoderLayers = encoderDecoder ? EncoderLayers : 0,
            DFf = FeedForwardDim,
            MaxLen = MaxLength,
            PadId = PadId,
            Activation = (int)Activation,
            NormFirst = NormFirst ? 1 : 0,
            CausalEncoder = encoderDecoder && CausalEncoder ? 1 : 0,
            CausalCross = encoderDecoder && CausalCross ? 1 : 0,
            Dropout = Dropout,
            LayerNormEps = LayerNormEps,
            Seed = Seed,
        };
    }

    private static void CheckUpper(string option, int value, int max)
    {
        if (value > max)
        {
            throw Bad(option, $"must be at most {max.ToString("N0", CultureInfo.InvariantCulture)}, got {value.ToString("N0", CultureInfo.InvariantCulture)}");
        }
    }

    private static TransformerArgumentException Bad(string option, string problem) =>
        new($"TransformerModelConfig.{option} {problem}.", $"TransformerModelConfig.{option}");
}
