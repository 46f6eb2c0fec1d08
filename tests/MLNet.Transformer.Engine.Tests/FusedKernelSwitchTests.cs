// MLT_FUSED=0 (mlt.h, "Kernels"): a model created while it is set runs libtorch's stock kernels instead of the
// engine's fused CPU kernels. Both paths must compute the same forward; dropout shows the switch took effect,
// since the two paths draw their masks from different generators. Serial: it changes the process environment.

using System.Runtime.InteropServices;
using MLNet.Transformer.Engine;
using MLNet.Transformer.TestKit;
using Xunit;

namespace MLNet.Transformer.Engine.Tests;

[Collection(SerialTests.Name)]
public partial class FusedKernelSwitchTests
{
    private const double Tolerance = 1e-5;

    [Fact]
    [Trait("Category", "GlobalState")]
    public void StockKernels_SameWeights_SameForwardAsFusedWithin1e5()
    {
        foreach (var config in new[] { SmallModels.SmallDecoder(seed: 31), SmallModels.SmallEncoderDecoder(seed: 32) with { CausalCross = true } })
        {
            using var fused = TransformerModel.Create(config);
            using var stock = CreateStock(config);
            // Row 2 is all padding, and so is source row 1: rows with no visible key on both paths.
            var batch = config.Kind == ModelKind.EncoderDecoder
                ? TestModels.Batch(config, new Random(4), [6, 3, 0], 6, [5, 0, 4], 5)
                : TestModels.Batch(config, new Random(4), [6, 3, 0], 6);

            var a = fused.Forward(batch, ForwardOutputs.All);
            var b = stock.Forward(batch, ForwardOutputs.All);

            SmallModels.AssertClose(a.Logits!.GetArray(), b.Logits!.GetArray(), Tolerance, $"{config.Kind} logits");
            SmallModels.AssertClose(a.SelfAttention!.GetArray(), b.SelfAttention!.GetArray(), Tolerance, $"{config.Kind} self-attention");
            if (config.Kind == ModelKind.EncoderDecoder)
            {
                SmallModels.AssertClose(a.CrossAttention!.GetArray(), b.CrossAttention!.GetArray(), Tolerance, $"{config.Kind} cross-attention");
            }

            var (sumA, countA) = fused.EvaluateLoss(batch);
            var (sumB, countB) = stock.EvaluateLoss(batch);
            Assert.Equal(countA, countB);
            Assert.True(Math.Abs(sumA - sumB) <= Tolerance * countA, $"eval loss sum fused {sumA:R}, stock {sumB:R}");
        }
    }

    [Fact]
    [Trait("Category", "GlobalState")]
    public void StockKernels_HeadsLargeEnoughForMatrixProducts_SameForwardAndGradientsAsFused()
    {
        // T x S x D >= 2^15: the fused path computes each head's attention as oneDNN matrix products (ops.cpp,
        // kAttnGemmMinWork) instead of its loops; libtorch's stock attention is the reference.
        var decoder = SmallModels.SmallDecoder(seed: 35) with { VocabSize = 30, ModelDim = 64, Heads = 2, FeedForwardDim = 96, MaxLength = 48 };
        foreach (var config in new[] { decoder, decoder with { Kind = ModelKind.EncoderDecoder, EncoderLayers = 1, CausalCross = true } })
        {
            using var fused = TransformerModel.Create(config);
            using var stock = CreateStock(config);
            int[] lengths = [48, 40, 0, 45];  // row 2 all padding: no visible key
            var batch = config.Kind == ModelKind.EncoderDecoder
                ? TestModels.Batch(config, new Random(8), lengths, 48, [44, 0, 48, 30], 48)
                : TestModels.Batch(config, new Random(8), lengths, 48);

            var a = fused.Forward(batch, ForwardOutputs.All);
            var b = stock.Forward(batch, ForwardOutputs.All);
            SmallModels.AssertClose(a.Logits!.GetArray(), b.Logits!.GetArray(), Tolerance, $"{config.Kind} logits");
            SmallModels.AssertClose(a.SelfAttention!.GetArray(), b.SelfAttention!.GetArray(), Tolerance, $"{config.Kind} self-attention");
            if (config.Kind == ModelKind.EncoderDecoder)
            {
                SmallModels.AssertClose(a.CrossAttention!.GetArray(), b.CrossAttention!.GetArray(), Tolerance, $"{config.Kind} cross-attention");
            }

            Assert.True(Math.Abs(fused.TrainStep(batch, 0f).Loss - stock.TrainStep(batch, 0f).Loss) <= Tolerance, $"{config.Kind} loss");
            foreach (var t in fused.StateInfo)
            {
                SmallModels.AssertClose(stock.ReadState(t.Name, gradient: true), fused.ReadState(t.Name, gradient: true), 1e-4, $"{config.Kind} grad {t.Name}");
            }
        }
    }

    [Fact]
    [Trait("Category", "GlobalState")]
    public void StockKernels_WithDropout_DrawDifferentMasksThanFused()
    {
        var config = SmallModels.SmallDecoder(seed: 33) with { Dropout = 0.5f };
        using var fused = TransformerModel.Create(config);
        using var fusedAgain = TransformerModel.Create(config);
        using var stock = CreateStock(config);
        var batch = TestModels.Batch(config, new Random(6), [6, 5], 6);

        var lossFused = fused.TrainStep(batch, 0f).Loss;
        var lossStock = stock.TrainStep(batch, 0f).Loss;

        Assert.Equal(lossFused, fusedAgain.TrainStep(batch, 0f).Loss); // same path, same seed: same masks
        Assert.NotEqual(lossFused, lossStock);                          // the switch reached the engine
    }

    internal static TransformerModel CreateStock(TransformerModelConfig config)
    {
        // .NET's Environment.SetEnvironmentVariable does not reach the native environment on Unix: use libc.
        Assert.Equal(0, SetEnv("MLT_FUSED", "0", 1));
        try
        {
            return TransformerModel.Create(config);
        }
        finally
        {
            Assert.Equal(0, UnsetEnv("MLT_FUSED"));
        }
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    [LibraryImport("libc", EntryPoint = "unsetenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UnsetEnv(string name);
}
