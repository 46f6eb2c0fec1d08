// Small configurations, batches and numeric assertions shared by the engine tests.

using MLNet.Transformer.Engine;
using MLNet.Transformer.TestKit;
using Xunit;

namespace MLNet.Transformer.Engine.Tests;

internal static class TestModels
{
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
        using var model = TransformerModel.Create(SmallModels.SmallDecoder(seed: 99));
        var batch = Batch(model.Config, new Random(5), [4, 2], 4);
        var loss = model.TrainStep(batch, 1e-3f).Loss;
        Assert.True(float.IsFinite(loss) && loss > 0, $"loss {loss}");
        var logits = model.Forward(batch).Logits!;
        Assert.All(logits.GetArray(), v => Assert.True(float.IsFinite(v)));
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
