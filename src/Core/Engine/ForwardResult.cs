// The outputs of one evaluation forward pass; each is null unless it was requested with ForwardOutputs.

namespace MLNet.Transformer.Engine;

/// <summary>Outputs of <see cref="TransformerModel.Forward"/>. Attention weights are per layer and head, after softmax.</summary>
public sealed class ForwardResult
{
    internal ForwardResult(FloatTensor? logits, FloatTensor? selfAttention, FloatTensor? encoderAttention, FloatTensor? crossAttention)
    {
        Logits = logits;
        SelfAttention = selfAttention;
        EncoderAttention = encoderAttention;
        CrossAttention = crossAttention;
    }

    /// <summary>Logits (B, T, V), or null when not requested.</summary>
    public FloatTensor? Logits { get; }

    /// <summary>Decoder self-attention (L, B, H, T, T), or null when not requested.</summary>
    public FloatTensor? SelfAttention { get; }

    /// <summary>Encoder self-attention (L_enc, B, H, S, S), or null when not requested.</summary>
    public FloatTensor? EncoderAttention { get; }

    /// <summary>Decoder cross-attention (L, B, H, T, S), or null when not requested.</summary>
    public FloatTensor? CrossAttention { get; }
}
