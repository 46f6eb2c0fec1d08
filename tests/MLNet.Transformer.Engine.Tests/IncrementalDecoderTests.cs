// The engine's key/value cache (TransformerModel.CreateDecoder): fed a sequence in uneven chunks, the decoder gives
// the logits of a full forward over the same sequence (itself checked against PyTorch in ParityTests), for both
// architectures, Post-LN and Pre-LN, ReLU and GELU, causal and full cross-attention, a padded source; greedy
// generation with the cache picks the same tokens as re-running the prefix; bad input is refused and feeds nothing.

using MLNet.Transformer.Engine;
using MLNet.Transformer.TestKit;
using Xunit;

namespace MLNet.Transformer.Engine.Tests;

public class IncrementalDecoderTests
{
    public static TheoryData<bool, bool, Activation, bool> Architectures()
    {
        var data = new TheoryData<bool, bool, Activation, bool>();
        foreach (var encoderDecoder in new[] { false, true })
        {
            foreach (var normFirst in new[] { false, true })
            {
                foreach (var act in new[] { Activation.Relu, Activation.Gelu })
                {
                    data.Add(encoderDecoder, normFirst, act, false);
                    if (encoderDecoder)
                    {
                        data.Add(encoderDecoder, normFirst, act, true);
                    }
                }
            }
        }

        return data;
    }

    private static TransformerModelConfig Config(bool encoderDecoder, bool normFirst, Activation act, bool causal) =>
        (encoderDecoder ? SmallModels.SmallEncoderDecoder(seed: 17) : SmallModels.SmallDecoder(seed: 17)) with
        {
            MaxLength = 24,
            NormFirst = normFirst,
            Activation = act,
            CausalEncoder = causal,
            CausalCross = causal,
            Dropout = 0.1f, // the decoder is inference: dropout must not apply
        };

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Feed_InChunks_EqualsTheFullForwardPositionByPosition(bool encoderDecoder, bool normFirst, Activation act, bool causal)
    {
        using var model = TransformerModel.Create(Config(encoderDecoder, normFirst, act, causal));
        var rng = new Random(3);
        const int T = 21;
        var tokens = Enumerable.Range(0, T).Select(_ => (long)rng.Next(1, model.Config.VocabSize)).ToArray();
        long[] source = encoderDecoder ? [.. Enumerable.Range(0, 7).Select(_ => (long)rng.Next(1, 11)), 0, 0] : [];
        var full = model.Forward(new TokenBatch(tokens, 1, T, source: source, sourceLength: source.Length)).Logits!.GetArray();

        using var decoder = model.CreateDecoder(source);
        var fed = new List<float>();
        var at = 0;
        foreach (var n in new[] { 3, 1, 1, 5, 1, 2, 8 })
        {
            var logits = decoder.Feed(tokens.AsSpan(at, n));
            Assert.Equal(new long[] { n, model.Config.VocabSize }, logits.Shape);
            fed.AddRange(logits.GetArray());
            at += n;
            Assert.Equal(at, decoder.Length);
        }

        SmallModels.AssertClose(full, fed.ToArray(), 1e-5, "cached logits vs full forward");
    }

    [Fact]
    public void GreedyGeneration_WithTheCache_PicksTheSameTokensAsRerunningThePrefix()
    {
        using var model = TransformerModel.Create(SmallModels.SmallDecoder(seed: 4) with { MaxLength = 32 });
        var rng = new Random(9);
        var batch = TestModels.Batch(model.Config, rng, [20, 20, 20, 20], 20);
        for (var i = 0; i < 30; i++)
        {
            model.TrainStep(batch, 3e-3f); // distinct, non-uniform predictions
        }

        List<long> slow = [1], fast = [1];
        using var decoder = model.CreateDecoder();
        var last = decoder.Feed(fast.ToArray()).GetArray();
        while (fast.Count < model.Config.MaxLength)
        {
            var v = model.Config.VocabSize;
            var logits = model.Forward(new TokenBatch(slow.ToArray(), 1, slow.Count)).Logits!.GetArray();
            slow.Add(ArgMax(logits.AsSpan((slow.Count - 1) * v, v)));
            fast.Add(ArgMax(last));
            if (fast.Count < model.Config.MaxLength)
            {
                last = decoder.Feed([fast[^1]]).GetArray();
            }
        }

        Assert.Equal(slow, fast);
        Assert.True(fast.Distinct().Count() > 2, "the trained model should not repeat one token: " + string.Join(",", fast));
    }

    [Fact]
    public void BadInput_IsRefusedWithATypedErrorAndFeedsNothing()
    {
        using var decoderOnly = TransformerModel.Create(SmallModels.SmallDecoder());
        Assert.Throws<TransformerArgumentException>(() => decoderOnly.CreateDecoder([1, 2]));
        using var encDec = TransformerModel.Create(SmallModels.SmallEncoderDecoder());
        Assert.Throws<TransformerArgumentException>(() => encDec.CreateDecoder());
        Assert.Throws<TransformerArgumentException>(() => encDec.CreateDecoder([1, 99]));

        using var decoder = decoderOnly.CreateDecoder();
        decoder.Feed(new long[10]);
        var full = Assert.Throws<TransformerArgumentException>(() => decoder.Feed(new long[3]));
        Assert.Contains("MaxLength", full.Message);
        Assert.Throws<TransformerArgumentException>(() => decoder.Feed([11]));
        Assert.Throws<TransformerArgumentException>(() => decoder.Feed([]));
        Assert.Equal(10, decoder.Length);
        Assert.Equal(new long[] { 2, 11 }, decoder.Feed([1, 2]).Shape); // the two positions left still work
    }

    [Fact]
    public void Decoder_OutlivesItsDisposedModel()
    {
        var model = TransformerModel.Create(SmallModels.SmallDecoder(seed: 2));
        long[] tokens = [3, 4, 5, 6];
        var expected = model.Forward(new TokenBatch(tokens, 1, 4)).Logits!.GetArray();
        var decoder = model.CreateDecoder();
        decoder.Feed(tokens.AsSpan(0, 2));
        model.Dispose();
        var rest = decoder.Feed(tokens.AsSpan(2)).GetArray();
        SmallModels.AssertClose(expected.AsSpan(2 * 11), rest, 1e-5, "after the model was disposed");
        decoder.Dispose();
        Assert.Throws<ObjectDisposedException>(() => decoder.Feed([1]));
    }

    private static long ArgMax(ReadOnlySpan<float> row)
    {
        var best = 0;
        for (var i = 1; i < row.Length; i++)
        {
            if (row[i] > row[best])
            {
                best = i;
            }
        }

        return best;
    }
}
