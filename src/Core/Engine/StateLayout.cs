// The state-dict layout of a TransformerModel computed from its configuration alone, in the engine's declaration
// order: what an exported or saved model must hold, checked without loading the native engine.

namespace MLNet.Transformer.Engine;

/// <summary>
/// Names (PyTorch state-dict names) and shapes of every state tensor of a model with a given
/// <see cref="TransformerModelConfig"/>, in the order the native engine declares them
/// (<see cref="TransformerModel.StateInfo"/> lists the same).
/// </summary>
public static class StateLayout
{
    /// <summary>The layout of <paramref name="config"/>'s model.</summary>
    /// <exception cref="TransformerArgumentException">The configuration is invalid.</exception>
    public static IReadOnlyList<TensorInfo> For(TransformerModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        long v = config.VocabSize, e = config.ModelDim, f = config.FeedForwardDim;
        var list = new List<TensorInfo>();
        void Add(string name, params long[] shape) => list.Add(new TensorInfo(name, shape));
        void Pair(string name, long outDim, long inDim)
        {
            Add(name + ".weight", outDim, inDim);
            Add(name + ".bias", outDim);
        }

        void Norm(string name)
        {
            Add(name + ".weight", e);
            Add(name + ".bias", e);
        }

        void Attention(string name)
        {
            Add(name + ".in_proj_weight", 3 * e, e);   // packed [W_q; W_k; W_v]
            Add(name + ".in_proj_bias", 3 * e);
            Pair(name + ".out_proj", e, e);
        }

        void FeedForward(string prefix)
        {
            Pair(prefix + ".linear1", f, e);
            Pair(prefix + ".linear2", e, f);
        }

        if (config.Kind == ModelKind.Decoder)
        {
            Add("tok_emb.weight", v, e);
            for (int i = 0; i < config.Layers; i++)
            {
                string p = $"layers.{i}";
                Attention(p + ".self_attn");
                FeedForward(p);
                Norm(p + ".norm1");
                Norm(p + ".norm2");
            }

            if (config.NormFirst)
            {
                Norm("norm");
            }
        }
        else
        {
            Add("src_emb.weight", config.EffectiveSourceVocabSize, e);
            Add("tgt_emb.weight", v, e);
            for (int i = 0; i < config.EncoderLayers; i++)
            {
                string p = $"encoder.layers.{i}";
                Attention(p + ".self_attn");
                FeedForward(p);
                Norm(p + ".norm1");
                Norm(p + ".norm2");
            }

            if (config.NormFirst)
            {
                Norm("encoder.norm");
            }

            for (int i = 0; i < config.Layers; i++)
            {
                string p = $"decoder.layers.{i}";
                Attention(p + ".self_attn");
                Attention(p + ".multihead_attn");
                FeedForward(p);
                Norm(p + ".norm1");
                Norm(p + ".norm2");
                Norm(p + ".norm3");
            }

            if (config.NormFirst)
            {
                Norm("decoder.norm");
            }
        }

        Pair("lm_head", v, e);
        return list;
    }
}
