// Bad configurations, bad ids, wrong buffer sizes and absent devices: each gives the right typed exception
// with a message naming the problem, both from the managed checks and from the engine's own checks (reached by
// calling the C ABI directly), and the process keeps working afterwards.

using MLNet.Transformer.Engine;
using MLNet.Transformer.TestKit;
using MLNet.Transformer.Interop;
using Xunit;

namespace MLNet.Transformer.Engine.Tests;

public class ErrorHandlingTests
{
    public static TheoryData<string, string, string> BadConfigurations() => new()
    {
        { "heads_not_dividing_dim", "TransformerModelConfig.Heads", "divide" },
        { "zero_layers", "TransformerModelConfig.Layers", "at least 1" },
        { "empty_vocabulary", "TransformerModelConfig.VocabSize", "at least 2" },
        { "pad_outside_vocabulary", "TransformerModelConfig.PadId", "[0, 11)" },
        { "dropout_one", "TransformerModelConfig.Dropout", "[0, 1)" },
        { "encoder_decoder_without_encoder", "TransformerModelConfig.EncoderLayers", "at least 1" },
    };

    private static TransformerModelConfig Bad(string name) => name switch
    {
        "heads_not_dividing_dim" => SmallModels.SmallDecoder() with { ModelDim = 10, Heads = 3 },
        "zero_layers" => SmallModels.SmallDecoder() with { Layers = 0 },
        "empty_vocabulary" => SmallModels.SmallDecoder() with { VocabSize = 0 },
        "pad_outside_vocabulary" => SmallModels.SmallDecoder() with { PadId = 11 },
        "dropout_one" => SmallModels.SmallDecoder() with { Dropout = 1f },
        "encoder_decoder_without_encoder" => SmallModels.SmallEncoderDecoder() with { EncoderLayers = 0 },
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(BadConfigurations))]
    public void Create_BadConfiguration_ThrowsArgumentExceptionNamingTheOption(string name, string option, string problem)
    {
        var e = Assert.Throws<TransformerArgumentException>(() => TransformerModel.Create(Bad(name)));
        Assert.Equal(option, e.ParamName);
        Assert.Contains(option, e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        TestModels.AssertEngineStillWorks();
    }

    [Theory]
    [InlineData("heads_not_dividing_dim", "head")]
    [InlineData("zero_layers", "layer")]
    [InlineData("empty_vocabulary", "vocab")]
    [InlineData("pad_outside_vocabulary", "pad")]
    [InlineData("encoder_decoder_without_encoder", "encoder")]
    public void NativeCreate_BadConfiguration_ReturnsArgumentStatusWithMessage(string name, string mentions)
    {
        // Bypasses the managed validation: the engine must reject the configuration by itself.
        var native = Bad(name).ToNative();
        var status = NativeMethods.mlt_model_create(out var handle, in native, "cpu");
        var message = NativeMethods.LastError();
        using (handle)
        {
            Assert.True(handle.IsInvalid, "the engine returned a model for an invalid configuration");
        }

        Assert.Equal(NativeMethods.StatusArgument, status);
        Assert.Contains(mentions, message, StringComparison.OrdinalIgnoreCase);
        TestModels.AssertEngineStillWorks();
    }

    [Fact]
    public void TrainStep_TokenIdOutOfRange_ThrowsNamingTheIdAndVocabulary()
    {
        using var model = TransformerModel.Create(SmallModels.SmallDecoder());
        var batch = TestModels.Batch(model.Config, new Random(1), [4, 4], 4);
        var tokens = batch.Tokens.ToArray();
        tokens[5] = 11;

        var e = Assert.Throws<TransformerArgumentException>(
            () => model.TrainStep(new TokenBatch(tokens, 2, 4, batch.Targets), 1e-3f));

        Assert.Contains("tokens[5] = 11", e.Message, StringComparison.Ordinal);
        Assert.Contains("VocabSize", e.Message, StringComparison.Ordinal);
        TestModels.AssertEngineStillWorks();
    }

    [Fact]
    public void Forward_NegativeSourceId_ThrowsNamingTheSource()
    {
        using var model = TransformerModel.Create(SmallModels.SmallEncoderDecoder());
        var batch = TestModels.Batch(model.Config, new Random(1), [4, 4], 4, [3, 3], 3);
        var source = batch.Source.ToArray();
        source[0] = -1;

        var e = Assert.Throws<TransformerArgumentException>(() => model.Forward(new TokenBatch(batch.Tokens, 2, 4, default, source, 3)));

        Assert.Contains("source[0] = -1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public unsafe void NativeTrainStep_TokenIdOutOfRange_ReturnsArgumentStatus()
    {
        using var model = TransformerModel.Create(SmallModels.SmallDecoder());
        var tokens = new long[] { 1, 2, 3, 99 };
        var targets = new long[] { 2, 3, 4, 5 };
        float loss, norm;
        int status;
        fixed (long* pTokens = tokens)
        fixed (long* pTargets = targets)
        {
            status = NativeMethods.mlt_model_train_step(&loss, &norm, model.Handle, pTokens, tokens.Length, pTargets, targets.Length, null, 0, 1, 4, 0, 1e-3f);
        }

        var message = NativeMethods.LastError();
        Assert.Equal(NativeMethods.StatusArgument, status);
        Assert.Contains("99", message, StringComparison.Ordinal);
        var again = Assert.IsType<TransformerArgumentException>(NativeStatus.CreateException(status, message));
        Assert.Contains("99", again.Message, StringComparison.Ordinal);
        Assert.True(float.IsFinite(model.TrainStep(TestModels.Batch(model.Config, new Random(2), [4], 4), 1e-3f).Loss));
    }

    [Fact]
    public void TrainStep_WrongBufferSizes_ThrowNamingTheBuffer()
    {
        using var model = TransformerModel.Create(SmallModels.SmallDecoder());
        var tokens = new long[8];
        var targets = new long[8];
        Assert.Equal("tokens", Assert.Throws<TransformerArgumentException>(
            () => model.TrainStep(tokens.AsSpan(1), targets, [], 2, 4, 0, 1e-3f, out _)).ParamName);
        Assert.Equal("targets", Assert.Throws<TransformerArgumentException>(
            () => model.TrainStep(tokens, targets.AsSpan(0, 6), [], 2, 4, 0, 1e-3f, out _)).ParamName);
        Assert.Equal("source", Assert.Throws<TransformerArgumentException>(
            () => model.TrainStep(tokens, targets, [1, 2], 2, 4, 0, 1e-3f, out _)).ParamName);
        Assert.Equal("targetLength", Assert.Throws<TransformerArgumentException>(
            () => model.TrainStep(new long[26], new long[26], [], 2, 13, 0, 1e-3f, out _)).ParamName);
        Assert.Equal("sourceLength", Assert.Throws<TransformerArgumentException>(
            () => model.TrainStep(tokens, targets, new long[4], 2, 4, 2, 1e-3f, out _)).ParamName);
        Assert.Throws<TransformerArgumentException>(() => model.WriteState("lm_head.bias", new float[10]));
        TestModels.AssertEngineStillWorks();
    }

    [Fact]
    public unsafe void NativeForward_WrongOutputLength_ReturnsArgumentStatusNamingTheBuffer()
    {
        using var model = TransformerModel.Create(SmallModels.SmallDecoder());
        var tokens = new long[] { 1, 2, 3, 4 };
        var logits = new float[(4 * 11) - 1];
        int status;
        fixed (long* pTokens = tokens)
        fixed (float* pLogits = logits)
        {
            status = NativeMethods.mlt_model_forward(pLogits, logits.Length, null, 0, null, 0, null, 0, model.Handle, pTokens, tokens.Length, null, 0, 1, 4, 0);
        }

        var message = NativeMethods.LastError();
        Assert.Equal(NativeMethods.StatusArgument, status);
        Assert.Contains("logits", message, StringComparison.OrdinalIgnoreCase);
        TestModels.AssertEngineStillWorks();
    }

    [Fact]
    public unsafe void NativeStateWrite_WrongLengthOrUnknownName_ReturnsArgumentStatus()
    {
        using var model = TransformerModel.Create(SmallModels.SmallDecoder());
        var data = new float[10];
        fixed (float* p = data)
        {
            Assert.Equal(NativeMethods.StatusArgument, NativeMethods.mlt_model_state_write(model.Handle, "lm_head.bias", p, data.Length));
            Assert.Contains("lm_head.bias", NativeMethods.LastError(), StringComparison.Ordinal);
            Assert.Equal(NativeMethods.StatusArgument, NativeMethods.mlt_model_state_read(p, model.Handle, "no.such.tensor", NativeMethods.ReadValue, 10));
            Assert.Contains("no.such.tensor", NativeMethods.LastError(), StringComparison.Ordinal);
        }

        TestModels.AssertEngineStillWorks();
    }

    [Fact]
    public void ReadState_UnknownName_ThrowsNamingIt()
    {
        using var model = TransformerModel.Create(SmallModels.SmallDecoder());
        var e = Assert.Throws<TransformerArgumentException>(() => model.ReadState("layers.9.linear1.weight"));
        Assert.Contains("layers.9.linear1.weight", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Forward_EncoderAttentionFromDecoderOnlyModel_Throws()
    {
        using var model = TransformerModel.Create(SmallModels.SmallDecoder());
        var batch = TestModels.Batch(model.Config, new Random(1), [3], 3);
        Assert.Throws<TransformerArgumentException>(() => model.Forward(batch, ForwardOutputs.CrossAttention));
    }

    [Fact]
    public void Create_CudaWhereAbsent_ThrowsDeviceUnavailableNamingTheValue()
    {
        var count = EngineRuntime.CudaDeviceCount;
        var spec = count == 0 ? "cuda" : $"cuda:{count}";

        var e = Assert.Throws<DeviceUnavailableException>(() => TransformerModel.Create(SmallModels.SmallDecoder(), spec));

        Assert.Contains($"'{spec}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("cpu", e.Message, StringComparison.Ordinal);
        TestModels.AssertEngineStillWorks();
    }

    [Fact]
    public void NativeCreate_CudaWhereAbsent_ReturnsDeviceStatus()
    {
        var count = EngineRuntime.CudaDeviceCount;
        var native = SmallModels.SmallDecoder().ToNative();
        var status = NativeMethods.mlt_model_create(out var handle, in native, $"cuda:{count}");
        var message = NativeMethods.LastError();
        handle.Dispose();

        Assert.Equal(NativeMethods.StatusDevice, status);
        Assert.Contains("cuda", message, StringComparison.OrdinalIgnoreCase);
        Assert.IsType<DeviceUnavailableException>(NativeStatus.CreateException(status, message));
        TestModels.AssertEngineStillWorks();
    }

    [Fact]
    public void Disposed_AnyCall_ThrowsObjectDisposed()
    {
        var model = TransformerModel.Create(SmallModels.SmallDecoder());
        model.Dispose();
        model.Dispose();
        Assert.Throws<ObjectDisposedException>(() => model.ReadState("lm_head.bias"));
        Assert.Throws<ObjectDisposedException>(() => model.TrainStep(TestModels.Batch(SmallModels.SmallDecoder(), new Random(1), [2], 2), 1e-3f));
    }

    [Fact]
    public void SetOptimizer_BadSetting_ThrowsNamingIt()
    {
        using var model = TransformerModel.Create(SmallModels.SmallDecoder());
        var e = Assert.Throws<TransformerArgumentException>(() => model.SetOptimizer(new OptimizerSettings { Beta2 = 1f }));
        Assert.Equal("OptimizerSettings.Beta2", e.ParamName);
    }
}
