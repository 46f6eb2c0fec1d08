// Which attention block of a transformer a set of weights comes from.
namespace MLNet.Transformer.Visualization;

/// <summary>The attention block an <see cref="AttentionSection"/> was captured from.</summary>
public enum AttentionKind
{
    /// <summary>Causal self-attention of a decoder: queries and keys are the decoder tokens.</summary>
    DecoderSelf = 0,

    /// <summary>Bidirectional self-attention of an encoder: queries and keys are the encoder (source) tokens.</summary>
    EncoderSelf = 1,

    /// <summary>Cross-attention of an encoder-decoder: queries are decoder tokens, keys are encoder tokens.</summary>
    Cross = 2,
}
