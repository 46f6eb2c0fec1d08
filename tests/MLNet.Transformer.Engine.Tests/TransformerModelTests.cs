// Behaviour of TransformerModel beyond PyTorch parity: state round trips, determinism, masks visible in the
// attention weights, the evaluation loss against a cross-entropy computed here from the logits, and learning.

using MLNet.Transformer.Engine;
using MLNet.Transformer.TestKit;
using Xunit;

namespace MLNet.Transformer.Engine.Tests;

public class TransformerModelTests
{
    [Fact]
    public void Create_SameSeed_SameWeights_DifferentSeed_DifferentWeights()
    {
        using var a = TransformerModel.Create(SmallModels.SmallDecoder(seed: 5));
        using var b = TransformerModel.Create(SmallModels.SmallDecoder(seed: 5));
        using var c = TransformerModel.Create(SmallModels.SmallDecoder(seed: 6));
        Assert.Equal(a.ReadState("layers.1.linear1.weight"), b.ReadState("layers.1.linear1.weight"));
        Assert.NotEqual(a.ReadState("layers.1.linear1.weight"), c.ReadState("layers.1.linear1.weight"));
    }

    [Fact]
    public void ExportImport_IntoDifferentlySeededModel_GivesIdenticalLogits()
    {
        using var a = TransformerModel.Create(SmallModels.SmallEncoderDecoder(seed: 1));
        using var b = TransformerModel.Create(SmallModels.SmallEncoderDecoder(seed: 2));
        var batch = TestModels.Batch(a.Config, new Random(8), [5, 3], 5, [4, 4], 4);
        Assert.NotEqual(a.Forward(batch).Logits!.GetArray(), b.Forward(batch).Logits!.GetArray());

        b.ImportState(a.ExportState());

        Assert.Equal(a.Forward(batch).Logits!.GetArray(), b.Forward(batch).Logits!.GetArray());
    }

    [Fact]
    public void ImportState_MissingTensor_ThrowsAndWritesNothing()
    {
        using var a = TransformerModel.Create(SmallModels.SmallDecoder(seed: 1));
        using var b = TransformerModel.Create(SmallModels.SmallDecoder(seed: 2));
        var before = b.ReadState("tok_emb.weight");
        var state = a.ExportState();
        state.Remove("lm_head.bias");

        var e = Assert.Throws<TransformerArgumentException>(() => b.ImportState(state));

        Assert.Contains("lm_head.bias", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, b.ReadState("tok_emb.weight"));
    }

    [Fact]
    public void ImportState_WrongShape_ThrowsNamingTensorAndShapes()
    {
        using var a = TransformerModel.Create(SmallModels.SmallDecoder() with { FeedForwardDim = 20 });
        using var b = TransformerModel.Create(SmallModels.SmallDecoder());
        var e = Assert.Throws<TransformerArgumentException>(() => b.ImportState(a.ExportState()));
        Assert.Contains("[24, 16]", e.Message, StringComparison.Ordinal);
        Assert.Contains("[20, 16]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteState_ThenReadState_ReturnsTheData()
    {
        using var model = TransformerModel.Create(SmallModels.SmallDecoder());
        var data = Enumerable.Range(0, 11).Select(i => i * 0.25f).ToArray();
        model.WriteState("lm_head.bias", data);
        Assert.Equal(data, model.ReadState("lm_head.bias"));
    }

    [Fact]
    public void ReadGradient_BeforeAnyStep_IsZero_AfterAStep_IsNot()
    {
        using var model = TransformerModel.Create(SmallModels.SmallDecoder());
        Assert.All(model.ReadState("lm_head.weight", gradient: true), g => Assert.Equal(0f, g));
        model.TrainStep(TestModels.Batch(model.Config, new Random(1), [4, 3], 4), 1e-3f);
        Assert.Contains(model.ReadState("lm_head.weight", gradient: true), g => g != 0f);
    }

    [Fact]
    public void EvaluateLoss_EqualsCrossEntropyOfForwardLogits()
    {
        using var model = TransformerModel.Create(SmallModels.SmallDecoder() with { PadId = 2 });
        var batch = TestModels.Batch(model.Config, new Random(11), [6, 4, 2], 6);
        var logits = model.Forward(batch).Logits!;
        var targets = batch.Targets.ToArray();
        double sum = 0;
        long count = 0;
        var v = model.Config.VocabSize;
        for (var i = 0; i < targets.Length; i++)
        {
            if (targets[i] == model.Config.PadId)
            {
                continue;
            }

            // -log softmax(z)[y] = logsumexp(z) - z[y]
            var row = logits.GetArray().AsSpan(i * v, v);
            var max = row.ToArray().Max();
            var lse = max + Math.Log(row.ToArray().Sum(z => Math.Exp(z - max)));
            sum += lse - row[(int)targets[i]];
            count++;
        }

        var (nativeSum, nativeCount) = model.EvaluateLoss(batch);
        Assert.Equal(count, nativeCount);
        Assert.Equal(sum, nativeSum, 1e-4);
    }

    [Fact]
    public void Forward_DecoderSelfAttention_IsCausalMasksPaddingAndSumsToOne()
    {
        using var model = TransformerModel.Create(SmallModels.SmallDecoder());
        var batch = TestModels.Batch(model.Config, new Random(2), [5, 3], 5);
        var attn = model.Forward(batch, ForwardOutputs.SelfAttention).SelfAttention!;
        Assert.Equal([2L, 2, 4, 5, 5], attn.Shape);
        for (var l = 0; l < 2; l++)
        {
            for (var b = 0; b < 2; b++)
            {
                var length = b == 0 ? 5 : 3;
                for (var h = 0; h < 4; h++)
                {
                    for (var t = 0; t < 5; t++)
                    {
                        double rowSum = 0;
                        for (var s = 0; s < 5; s++)
                        {
                            var w = attn[l, b, h, t, s];
                            rowSum += w;
                            if (s > t || s >= length)
                            {
                                Assert.Equal(0f, w);
                            }
                        }

                        Assert.Equal(1.0, rowSum, 1e-5);
                    }
                }
            }
        }
    }

    [Fact]
    public void Forward_CausalCross_HidesLaterMemoryPositions()
    {
        using var model = TransformerModel.Create(SmallModels.SmallEncoderDecoder() with { CausalCross = true, CausalEncoder = true });
        var batch = TestModels.Batch(model.Config, new Random(3), [6, 6], 6, [6, 6], 6);
        var result = model.Forward(batch, ForwardOutputs.All);
        Assert.Equal([2L, 2, 4, 6, 6], result.CrossAttention!.Shape);
        Assert.Equal([2L, 2, 4, 6, 6], result.EncoderAttention!.Shape);
        for (var t = 0; t < 6; t++)
        {
            for (var s = t + 1; s < 6; s++)
            {
                Assert.Equal(0f, result.CrossAttention[1, 0, 3, t, s]);
                Assert.Equal(0f, result.EncoderAttention[0, 1, 2, t, s]);
            }
        }
    }

    [Fact]
    public void SetSeed_SameSeed_SameDropoutTrajectory()
    {
        var config = SmallModels.SmallDecoder(seed: 4) with { Dropout = 0.3f };
        var batch = TestModels.Batch(config, new Random(4), [6, 5], 6);
        float[] Trajectory(ulong dropoutSeed)
        {
            using var model = TransformerModel.Create(config);
            model.SetSeed(dropoutSeed);
            return [.. Enumerable.Range(0, 4).Select(_ => model.TrainStep(batch, 1e-3f).Loss)];
        }

        Assert.Equal(Trajectory(7), Trajectory(7));
        Assert.NotEqual(Trajectory(7), Trajectory(8));
    }

    [Fact]
    public void TrainStep_RepeatedOnOneBatch_LossFalls()
    {
        using var model = TransformerModel.Create(SmallModels.SmallEncoderDecoder());
        var batch = TestModels.Batch(model.Config, new Random(6), [6, 5, 4], 6, [5, 5, 3], 5);
        var first = model.TrainStep(batch, 1e-2f).Loss;
        var last = first;
        for (var i = 0; i < 150; i++)
        {
            last = model.TrainStep(batch, 1e-2f).Loss;
        }

        Assert.True(last < first / 2, $"loss {first} -> {last}");
    }

    [Fact]
    public void TokenBatch_BufferNotMatchingShape_Throws()
    {
        Assert.Throws<TransformerArgumentException>(() => new TokenBatch(new long[5], 2, 3));
        Assert.Throws<TransformerArgumentException>(() => new TokenBatch(new long[6], 2, 3, new long[5]));
        Assert.Throws<TransformerArgumentException>(() => new TokenBatch(new long[6], 2, 3, default, new long[3], 2));
        Assert.Throws<TransformerArgumentException>(() => new TokenBatch(Array.Empty<long>(), 0, 3));
    }
}
