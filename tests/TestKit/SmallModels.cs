// Small model configurations, fresh parity seeds and elementwise float comparison shared by the engine and ONNX tests.
using System.Globalization;
using MLNet.Transformer.Engine;
using Xunit;

namespace MLNet.Transformer.TestKit;

/// <summary>The small architectures the parity tests use, and their checks.</summary>
public static class SmallModels
{
    /// <summary>A small decoder-only model (E 16, H 4, L 2, F 24, V 11, max length 12), dropout off.</summary>
    public static TransformerModelConfig SmallDecoder(ulong seed = 1) => new()
    {
        Kind = ModelKind.Decoder,
        VocabSize = 11,
        ModelDim = 16,
        Heads = 4,
        Layers = 2,
        FeedForwardDim = 24,
        MaxLength = 12,
        Dropout = 0f,
        Seed = seed,
    };

    /// <summary>A small encoder-decoder model (E 16, H 4, 2 + 2 layers, F 24, V 11), dropout off.</summary>
    public static TransformerModelConfig SmallEncoderDecoder(ulong seed = 1) => SmallDecoder(seed) with
    {
        Kind = ModelKind.EncoderDecoder,
        EncoderLayers = 2,
    };

    /// <summary>A fresh random seed for a parity test, or MLT_PARITY_SEED to replay one.</summary>
    public static ulong RunSeed()
    {
        var fixedSeed = Environment.GetEnvironmentVariable("MLT_PARITY_SEED");
        return string.IsNullOrEmpty(fixedSeed)
            ? (ulong)Random.Shared.NextInt64(1, long.MaxValue)
            : ulong.Parse(fixedSeed, CultureInfo.InvariantCulture);
    }

    /// <summary>Asserts |expected - actual| &lt;= tolerance elementwise, naming the worst element; returns the largest difference.</summary>
    public static double AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: expected {expected.Length} elements, got {actual.Length}");
        int worst = -1;
        double worstDiff = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs((double)expected[i] - actual[i]);
            if (!(diff <= worstDiff))
            {
                worstDiff = diff;
                worst = i;
            }
        }

        Assert.True(
            worstDiff <= tolerance,
            worst < 0
                ? $"{what}: no difference"
                : string.Create(CultureInfo.InvariantCulture, $"{what}: max |diff| = {worstDiff:E3} at flat index {worst} (expected {expected[worst]:R}, got {actual[worst]:R}), tolerance {tolerance:E1}"));
        return worstDiff;
    }

    /// <summary>The largest |expected - actual|.</summary>
    public static double MaxDiff(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs((double)expected[i] - actual[i]));
        }

        return worst;
    }
}
