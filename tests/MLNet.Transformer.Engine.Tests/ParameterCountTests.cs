// Parameter counts against hand-computed figures (nn.MultiheadAttention / nn.TransformerEncoderLayer
// arithmetic) and the two seed models' published totals.

using MLNet.Transformer.Engine;
using Xunit;

namespace MLNet.Transformer.Engine.Tests;

public class ParameterCountTests
{
    // E = 6, H = 2, F = 10: MHA = (6 + 1) * 18 + (6 + 1) * 6 = 168 (packed QKV with bias + output projection);
    // block = 168 + norm1 (6 + 6) + linear1 (6 + 1) * 10 + linear2 (10 + 1) * 6 + norm2 (6 + 6) = 328;
    // two blocks + final LayerNorm = 328 + 328 + 12 = 668.
    private static TransformerModelConfig Tiny(bool normFirst) => new()
    {
        VocabSize = 5, ModelDim = 6, Heads = 2, Layers = 2, FeedForwardDim = 10, MaxLength = 8, NormFirst = normFirst, Dropout = 0f,
    };

    private static long Sum(TransformerModel model, Func<string, bool> include) =>
        model.StateInfo.Where(t => include(t.Name)).Sum(t => t.ElementCount);

    [Fact]
    public void SelfAttention_E6H2_Has168Parameters()
    {
        using var model = TransformerModel.Create(Tiny(normFirst: false));
        Assert.Equal(168, Sum(model, n => n.StartsWith("layers.0.self_attn.", StringComparison.Ordinal)));
    }

    [Fact]
    public void EncoderLayer_E6H2F10_Has328Parameters()
    {
        using var model = TransformerModel.Create(Tiny(normFirst: false));
        Assert.Equal(328, Sum(model, n => n.StartsWith("layers.0.", StringComparison.Ordinal)));
    }

    [Fact]
    public void TwoLayersPlusFinalNorm_PreLN_Has668Parameters()
    {
        using var model = TransformerModel.Create(Tiny(normFirst: true));
        Assert.Equal(668, Sum(model, n => n.StartsWith("layers.", StringComparison.Ordinal) || n.StartsWith("norm.", StringComparison.Ordinal)));
        // Plus tok_emb 5 * 6 and lm_head (6 + 1) * 5.
        Assert.Equal(668 + 30 + 35, model.ParameterCount);
    }

    [Fact]
    public void PostLN_NoFinalNorm_StateHasNoNormTensor()
    {
        using var model = TransformerModel.Create(Tiny(normFirst: false));
        Assert.DoesNotContain(model.StateInfo, t => t.Name.StartsWith("norm.", StringComparison.Ordinal));
        Assert.Equal(656 + 30 + 35, model.ParameterCount);
    }

    [Fact]
    public void StateInfo_DecoderNames_ArePyTorchStateDictNames()
    {
        using var model = TransformerModel.Create(Tiny(normFirst: true));
        var shapes = model.StateInfo.ToDictionary(t => t.Name, t => t.Shape.ToArray());
        Assert.Equal([5L, 6], shapes["tok_emb.weight"]);
        Assert.Equal([18L, 6], shapes["layers.1.self_attn.in_proj_weight"]);
        Assert.Equal([18L], shapes["layers.1.self_attn.in_proj_bias"]);
        Assert.Equal([6L, 6], shapes["layers.0.self_attn.out_proj.weight"]);
        Assert.Equal([10L, 6], shapes["layers.0.linear1.weight"]);
        Assert.Equal([6L, 10], shapes["layers.0.linear2.weight"]);
        Assert.Equal([6L], shapes["layers.0.norm2.bias"]);
        Assert.Equal([6L], shapes["norm.weight"]);
        Assert.Equal([5L, 6], shapes["lm_head.weight"]);
        Assert.Equal([5L], shapes["lm_head.bias"]);
        Assert.Equal(model.ParameterCount, model.StateInfo.Sum(t => t.ElementCount));
    }

    [Fact]
    public void MiniFormerConfig_Total8349()
    {
        // The seed's MiniFormer: E 32, one head, one block, F 32, V 29, Post-LN.
        using var model = TransformerModel.Create(new TransformerModelConfig
        {
            VocabSize = 29, ModelDim = 32, Heads = 1, Layers = 1, FeedForwardDim = 32, MaxLength = 16, Dropout = 0f,
        });
        Assert.Equal(8_349, model.ParameterCount);
    }

    [Fact]
    public void FullTransformerConfig_Total173021()
    {
        // The seed's FullTransformer: E 64, H 4, 2 encoder + 2 decoder blocks, F 128, V 29, separate embeddings.
        using var model = TransformerModel.Create(new TransformerModelConfig
        {
            Kind = ModelKind.EncoderDecoder, VocabSize = 29, ModelDim = 64, Heads = 4, Layers = 2, EncoderLayers = 2,
            FeedForwardDim = 128, MaxLength = 16, Dropout = 0.1f,
        });
        Assert.Equal(173_021, model.ParameterCount);
        Assert.Contains(model.StateInfo, t => t.Name == "decoder.layers.1.multihead_attn.in_proj_weight");
        Assert.Contains(model.StateInfo, t => t.Name == "decoder.layers.1.norm3.weight");
        Assert.Contains(model.StateInfo, t => t.Name == "src_emb.weight");
        Assert.Contains(model.StateInfo, t => t.Name == "tgt_emb.weight");
    }
}
