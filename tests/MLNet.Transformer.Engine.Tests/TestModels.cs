// Small configurations, batches and numeric assertions shared by the engine tests.

using MLNet.Transformer.Engine;
using Xunit;

namespace MLNet.Transformer.Engine.Tests;

internal static class TestModels
{
    /// <summary>A small decoder-only model (E 16, H 4, L 2, F 24, V 11), dropout off.</summary>
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

    /// <summary>A small encoder-decoder model (E 16, H 4, 2+2, F 24, V 11), dropout off.</summary>
    public static TransformerModelConfig SmallEncoderDecoder(ulong seed = 1) => SmallDecoder(seed) with
    {
        Kind = ModelKind.EncoderDecoder,
        EncoderLayers = 2,
    };

    /// <summary>
    /// A right-padded batch: row b has lengths[b] real tokens (ids drawn from [0, V) without the pad id) and then
    /// padding; targets are random non-pad ids where the token is real (one of them set to pad, to be ignored).
    /// Sources likewise with sourceLengths when given.
    /// </summary>
    public static TokenBatch Batch(TransformerModelConfig config, Random rng, int[] lengths, int t, int[]? sourceLengths = null, int s = 0)
    {
        var b = lengths.Length;
        var tokens = Fill(rng, lengths, t, config.VocabSize, config.PadId);
        var targets = Fill(rng, lengths, t, config.VocabSize, config.PadId);
        targets[1] = config.PadId;
        var source = sourceLengths is null
            ? []
            : Fill(rng, sourceLengths, s, config.EffectiveSourceVocabSize, config.PadId);
        return new TokenBatch(tokens, b, t, targets, source, sourceLengths is null ? 0 : s);
    }

    /// <summary>Runs a fresh model through every entry point: the engine still works after an error.</summary>
    public static void AssertEngineStillWorks()
    {
        using var model = TransformerModel.Create(SmallDecoder(seed: 99));
        var batch = Batch(model.Config, new Random(5), [4, 2], 4);
        var loss = model.TrainStep(batch, 1e-3f).Loss;
        Assert.True(float.IsFinite(loss) && loss > 0, $"loss {loss}");
        var logits = model.Forward(batch).Logits!;
        Assert.All(logits.GetArray(), v => Assert.True(float.IsFinite(v)));
    }

    /// <summary>Asserts |expected - actual| &lt;= tolerance elementwise, reporting the worst element.</summary>
    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: expected {expected.Length} elements, got {actual.Length}");
        var worst = -1;
        double worstDiff = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            var diff = Math.Abs((double)expected[i] - actual[i]);
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
                : $"{what}: max |diff| = {worstDiff:E3} at flat index {worst} (expected {expected[worst]:R}, got {actual[worst]:R}), tolerance {tolerance:E1}");
    }

    /// <summary>The largest |expected - actual|.</summary>
    public static double MaxDiff(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        double worst = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs((double)expected[i] - actual[i]));
        }

        return worst;
    }

    private static long[] Fill(Random rng, int[] lengths, int width, int vocab, int pad)
    {
        var ids = new long[lengths.Length * width];
        for (var row = 0; row < lengths.Length; row++)
        {
            for (var col = 0; col < width; col++)
            {
                long id = pad;
                if (col < lengths[row])
                {
                    do
                    {
                        id = rng.Next(vocab);
                    }
                    while (id == pad);
                }

                ids[(row * width) + col] = id;
            }
        }

        return ids;
    }
}
