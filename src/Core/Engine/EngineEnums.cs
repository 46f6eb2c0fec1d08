// The small enumerations of the engine API: model family, feed-forward activation, optimiser and the
// outputs a forward pass may return. Values equal the MLT_* constants of mlt.h where one exists.

namespace MLNet.Transformer.Engine;

/// <summary>The model family.</summary>
public enum ModelKind
{
    /// <summary>Decoder-only language model: a stack of causal self-attention blocks (nn.TransformerEncoderLayer with a causal mask).</summary>
    Decoder = 0,

    /// <summary>Encoder-decoder (nn.TransformerEncoderLayer stack + nn.TransformerDecoderLayer stack).</summary>
    EncoderDecoder = 1,
}

/// <summary>The activation between the two feed-forward linears of every block.</summary>
public enum Activation
{
    /// <summary>max(0, x), PyTorch's default.</summary>
    Relu = 0,

    /// <summary>Exact (erf) GELU, x * Phi(x) (Hendrycks and Gimpel 2016).</summary>
    Gelu = 1,
}

/// <summary>The optimiser of <see cref="TransformerModel.TrainStep(TokenBatch, float)"/>.</summary>
public enum OptimizerKind
{
    /// <summary>Adam (Kingma and Ba 2015), weight decay added to the gradient as L2, as torch.optim.Adam.</summary>
    Adam = 0,

    /// <summary>AdamW (Loshchilov and Hutter 2019), decoupled weight decay, as torch.optim.AdamW.</summary>
    AdamW = 1,
}

/// <summary>Which outputs <see cref="TransformerModel.Forward"/> computes.</summary>
[Flags]
public enum ForwardOutputs
{
    /// <summary>Nothing (a forward pass that only checks its inputs).</summary>
    None = 0,

    /// <summary>Logits, (B, T, V).</summary>
    Logits = 1,

    /// <summary>Decoder self-attention per layer and head, (L, B, H, T, T).</summary>
    SelfAttention = 2,

    /// <summary>Encoder self-attention per layer and head, (L_enc, B, H, S, S); encoder-decoder only.</summary>
    EncoderAttention = 4,

    /// <summary>Decoder cross-attention per layer and head, (L, B, H, T, S); encoder-decoder only.</summary>
    CrossAttention = 8,

    /// <summary>Logits and every attention the model has.</summary>
    All = Logits | SelfAttention | EncoderAttention | CrossAttention,
}

/// <summary>The arithmetic of a model's training steps and evaluations. Saved models and ONNX exports are float32 either way.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720:Identifiers should not contain type names",
    Justification = "Float32 and BFloat16 are the names of the number formats, as in torch.float32 and torch.bfloat16.")]
public enum Precision
{
    /// <summary>
    /// <see cref="BFloat16"/> where the device computes it natively (a CPU with AVX512_BF16 or AMX, a CUDA device of
    /// compute capability 8.0 or later; <see cref="EngineRuntime.IsBFloat16Native"/>), else <see cref="Float32"/>.
    /// </summary>
    Auto = -1,

    /// <summary>Every operation in float32.</summary>
    Float32 = 0,

    /// <summary>
    /// Matmuls (projections, feed-forward, output head; attention on the stock path) round their inputs to bfloat16
    /// and accumulate in float32, as <c>torch.autocast(dtype=torch.bfloat16)</c>; weights, gradients, optimiser moments,
    /// the loss, softmax and LayerNorm statistics stay float32.
    /// </summary>
    BFloat16 = 1,
}
