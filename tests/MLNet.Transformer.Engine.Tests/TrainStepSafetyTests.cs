// What the engine does with input it cannot learn from: a non-finite loss or gradient (the step is refused
// with a typed error and nothing in the model changes), all-padding batches, and buffers whose length does not
// match the sizes (checked by the engine itself, reached through the C ABI).

using MLNet.Transformer.Engine;
using MLNet.Transformer.TestKit;
using MLNet.Transformer.Interop;
using Xunit;

namespace MLNet.Transformer.Engine.Tests;

public class TrainStepSafetyTests
{
    [Fact]
    public void TrainStep_NaNWeight_ThrowsTrainingDivergedAndLeavesEveryWeightUnchanged()
    {
        using var model = TransformerModel.Create(SmallModels.SmallDecoder());
        var batch = TestModels.Batch(model.Config, new Random(3), [5, 4], 5);
        Poison(model, "layers.0.linear1.bias");
        var before = model.ExportState();

        var e = Assert.Throws<TrainingDivergedException>(() => model.TrainStep(batch, 1e-2f));

        Assert.True(float.IsNaN(e.Loss), $"loss {e.Loss}");
        Assert.Equal(1e-2f, e.LearningRate);
        Assert.Contains("training step 1 rejected", e.Message, StringComparison.Ordinal);
        Assert.Contains("unchanged", e.Message, StringComparison.Ordinal);
        foreach (var (name, (_, data)) in before)
        {
            Assert.Equal(data, model.ReadState(name)); // bit for bit (NaN equals NaN here)
        }
    }

    [Fact]
    public void TrainStep_AfterARefusedStep_ContinuesExactlyAsIfItNeverHappened()
    {
        // Adam's moments and step count are invisible through the ABI; a refused step that touched them would make
        // the next step differ (NaN moments, or the bias correction of step 3 instead of step 2).
        using var a = TransformerModel.Create(SmallModels.SmallEncoderDecoder(seed: 4));
        using var b = TransformerModel.Create(SmallModels.SmallEncoderDecoder(seed: 4));
        var rng = new Random(9);
        var first = TestModels.Batch(a.Config, rng, [5, 3], 5, [4, 2], 4);
        var second = TestModels.Batch(a.Config, rng, [4, 4], 5, [3, 4], 4);
        a.TrainStep(first, 1e-2f);
        b.TrainStep(first, 1e-2f);

        var clean = a.ReadState("decoder.layers.1.linear2.weight");
        Poison(a, "decoder.layers.1.linear2.weight");
        Assert.Throws<TrainingDivergedException>(() => a.TrainStep(second, 1e-2f));
        a.WriteState("decoder.layers.1.linear2.weight", clean);

        var stepA = a.TrainStep(second, 1e-2f);
        var stepB = b.TrainStep(second, 1e-2f);

        Assert.Equal(stepB, stepA);
        foreach (var info in b.StateInfo)
        {
            Assert.Equal(b.ReadState(info.Name), a.ReadState(info.Name));
        }
    }

    [Fact]
    public unsafe void NativeTrainStep_NonFinite_ReturnsNonFiniteStatusAndWritesTheFigures()
    {
        using var model = TransformerModel.Create(SmallModels.SmallDecoder());
        Poison(model, "lm_head.bias"); // every row's softmax sees the NaN logit
        var tokens = new long[] { 1, 2, 3, 4 };
        var targets = new long[] { 2, 3, 4, 5 };
        float loss = 0f, norm = 0f;
        int status;
        fixed (long* pTokens = tokens)
        fixed (long* pTargets = targets)
        {
            status = NativeMethods.mlt_model_train_step(&loss, &norm, model.Handle, pTokens, 4, pTargets, 4, null, 0, 1, 4, 0, 1e-3f);
        }

        Assert.Equal(NativeMethods.StatusNonFinite, status);
        Assert.Contains("rejected", NativeMethods.LastError(), StringComparison.Ordinal);
        Assert.True(float.IsNaN(loss) && float.IsNaN(norm), $"loss {loss}, norm {norm}");
    }

    [Fact]
    public void Forward_AllPaddingRows_FiniteLogitsAndZeroAttention()
    {
        foreach (var config in new[] { SmallModels.SmallDecoder() with { PadId = 2 }, SmallModels.SmallEncoderDecoder() with { PadId = 2 } })
        {
            using var model = TransformerModel.Create(config);
            var encoderDecoder = config.Kind == ModelKind.EncoderDecoder;
            var pad = Enumerable.Repeat(2L, 2 * 4).ToArray(); // (B, T) = (2, 4), every id the pad id
            var batch = new TokenBatch(pad, 2, 4, default, encoderDecoder ? pad : default, encoderDecoder ? 4 : 0);

            var result = model.Forward(batch, ForwardOutputs.All);

            Assert.All(result.Logits!.GetArray(), v => Assert.True(float.IsFinite(v), $"logit {v}"));
            Assert.All(result.SelfAttention!.GetArray(), w => Assert.Equal(0f, w)); // no key is visible to any query
            if (encoderDecoder)
            {
                Assert.All(result.EncoderAttention!.GetArray(), w => Assert.Equal(0f, w));
                Assert.All(result.CrossAttention!.GetArray(), w => Assert.Equal(0f, w));
            }
        }
    }

    [Fact]
    public void TrainStepAndEvaluate_AllTargetsPadding_ThrowArgumentNamingTargets()
    {
        using var model = TransformerModel.Create(SmallModels.SmallDecoder() with { PadId = 2 });
        var tokens = new long[] { 1, 3, 4, 5 };
        var targets = new long[] { 2, 2, 2, 2 };
        var batch = new TokenBatch(tokens, 1, 4, targets);
        var before = model.ReadState("lm_head.weight");

        Assert.Equal("targets", Assert.Throws<TransformerArgumentException>(() => model.TrainStep(batch, 1e-3f)).ParamName);
        Assert.Equal("targets", Assert.Throws<TransformerArgumentException>(() => model.EvaluateLoss(batch)).ParamName);
        Assert.Equal(before, model.ReadState("lm_head.weight"));
    }

    [Fact]
    public unsafe void NativeTrainStepAndEval_AllTargetsPadding_ReturnArgumentStatus()
    {
        using var model = TransformerModel.Create(SmallModels.SmallDecoder() with { PadId = 2 });
        var tokens = new long[] { 1, 3, 4, 5 };
        var targets = new long[] { 2, 2, 2, 2 };
        float loss, norm;
        double sum;
        long count;
        fixed (long* pTokens = tokens)
        fixed (long* pTargets = targets)
        {
            Assert.Equal(NativeMethods.StatusArgument, NativeMethods.mlt_model_train_step(&loss, &norm, model.Handle, pTokens, 4, pTargets, 4, null, 0, 1, 4, 0, 1e-3f));
            Assert.Contains("pad_id (2)", NativeMethods.LastError(), StringComparison.Ordinal);
            Assert.Equal(NativeMethods.StatusArgument, NativeMethods.mlt_model_eval_loss(&sum, &count, model.Handle, pTokens, 4, pTargets, 4, null, 0, 1, 4, 0));
            Assert.Contains("pad_id (2)", NativeMethods.LastError(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public unsafe void NativeCompute_BufferLengthsNotMatchingTheSizes_ReturnArgumentStatusNamingTheBuffer()
    {
        using var decoder = TransformerModel.Create(SmallModels.SmallDecoder());
        using var encdec = TransformerModel.Create(SmallModels.SmallEncoderDecoder());
        var ids = new long[] { 1, 2, 3, 4, 5, 6, 7, 8 };
        var logits = new float[2 * 4 * 11];
        float loss, norm;
        double sum;
        long count;
        fixed (long* p = ids)
        fixed (float* pLogits = logits)
        {
            // (B, T) = (2, 4) needs 8 ids; say 7.
            Assert.Equal(NativeMethods.StatusArgument, NativeMethods.mlt_model_train_step(&loss, &norm, decoder.Handle, p, 7, p, 8, null, 0, 2, 4, 0, 1e-3f));
            Assert.Contains("tokens_len is 7, expected B*T = 2*4 = 8", NativeMethods.LastError(), StringComparison.Ordinal);
            Assert.Equal(NativeMethods.StatusArgument, NativeMethods.mlt_model_eval_loss(&sum, &count, decoder.Handle, p, 8, p, 6, null, 0, 2, 4, 0));
            Assert.Contains("targets_len is 6", NativeMethods.LastError(), StringComparison.Ordinal);
            Assert.Equal(NativeMethods.StatusArgument, NativeMethods.mlt_model_forward(pLogits, logits.Length, null, 0, null, 0, null, 0, decoder.Handle, p, 9, null, 0, 2, 4, 0));
            Assert.Contains("tokens_len is 9", NativeMethods.LastError(), StringComparison.Ordinal);
            Assert.Equal(NativeMethods.StatusArgument, NativeMethods.mlt_model_forward(pLogits, logits.Length, null, 0, null, 0, null, 0, encdec.Handle, p, 8, p, 5, 2, 4, 3));
            Assert.Contains("src_len is 5, expected B*S = 2*3 = 6", NativeMethods.LastError(), StringComparison.Ordinal);
            Assert.Equal(NativeMethods.StatusArgument, NativeMethods.mlt_model_forward(pLogits, logits.Length, null, 0, null, 0, null, 0, decoder.Handle, p, 8, null, 3, 2, 4, 0));
            Assert.Contains("src_len", NativeMethods.LastError(), StringComparison.Ordinal);
        }

        TestModels.AssertEngineStillWorks();
    }

    private static void Poison(TransformerModel model, string name)
    {
        var w = model.ReadState(name);
        w[0] = float.NaN;
        model.WriteState(name, w);
    }
}
