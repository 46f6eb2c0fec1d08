// The engine's threads: the fused kernels and oneDNN's matmuls split over a model's own thread count give the
// same training as one thread (a race or a lost partial sum would not), a model's count applies on whichever
// thread calls it, and OpenBLAS keeps one thread while oneDNN serves the matmuls (two spinning pools on the same
// cores are what made two threads slower than one).

using System.Runtime.InteropServices;
using MLNet.Transformer.TestKit;
using Xunit;

namespace MLNet.Transformer.Engine.Tests;

public class ThreadingTests
{
    // Large enough that every parallel loop splits in two (48 rows x 24 columns, 4 heads, 64-wide blocks, 64 tokens),
    // dropout on.
    private static TransformerModelConfig Config(ModelKind kind) => (kind == ModelKind.Decoder ? SmallModels.SmallDecoder() : SmallModels.SmallEncoderDecoder()) with
    {
        VocabSize = 64, ModelDim = 64, Heads = 4, FeedForwardDim = 256, Layers = 2, MaxLength = 24, Dropout = 0.1f, Seed = 11,
    };

    [Theory]
    [InlineData(ModelKind.Decoder, Precision.Float32)]
    [InlineData(ModelKind.EncoderDecoder, Precision.Float32)]
    [InlineData(ModelKind.Decoder, Precision.BFloat16)]
    public void TrainSteps_TwoThreadsAndOne_SameLossesAndWeights(ModelKind kind, Precision precision)
    {
        var config = Config(kind);
        var rng = new Random(3);
        var lengths = Enumerable.Range(0, 48).Select(i => 24 - (i % 9)).ToArray();
        var batches = Enumerable.Range(0, 4)
            .Select(_ => kind == ModelKind.Decoder
                ? TestModels.Batch(config, rng, lengths, 24)
                : TestModels.Batch(config, rng, lengths, 24, lengths, 24))
            .ToArray();

        (float[] Losses, IDictionary<string, (long[] Shape, float[] Data)> State) Train(int threads)
        {
            using var model = TransformerModel.Create(config);
            model.Precision = precision;
            model.Threads = threads;
            // eps 1e-3 makes Adam's steps scale with the gradient: with PyTorch's 1e-8, gradients that are zero in exact
            // arithmetic (the key bias, rows of absent tokens) carry float noise that g / (|g| + eps) blows up to lr.
            model.SetOptimizer(new OptimizerSettings { Epsilon = 1e-3f });
            var losses = batches.Select(b => model.TrainStep(b, 3e-3f).Loss).ToArray();
            return (losses, model.ExportState());
        }

        // Threads change only the order of float32 additions (~1e-7). Under bfloat16 such a difference can carry a value
        // across a rounding boundary (one bfloat16 step, 2^-8 of it), which a few steps of training spread (measured:
        // losses 2e-5 apart, weights 1.1e-4; 4 steps of lr 3e-3 move a weight by up to 1.2e-2, so 1e-3 still catches a
        // lost or doubled share of work).
        var (lossTolerance, weightTolerance) = precision == Precision.Float32 ? (1e-5, 1e-5) : (1e-4, 1e-3);
        var one = Train(1);
        var two = Train(2);
        for (var i = 0; i < one.Losses.Length; i++)
        {
            Assert.True(Math.Abs(one.Losses[i] - two.Losses[i]) <= lossTolerance, $"step {i}: loss {one.Losses[i]} with 1 thread, {two.Losses[i]} with 2");
        }

        foreach (var (name, (_, data)) in one.State)
        {
            var diff = SmallModels.MaxDiff(data, two.State[name].Data);
            Assert.True(diff <= weightTolerance, $"{name} after 4 steps: max |diff| {diff:E2} between 1 and 2 threads");
        }
    }

    [Fact]
    public void Threads_SetOnTheModel_ReadsBackAndRejectsZero()
    {
        using var model = TransformerModel.Create(Config(ModelKind.Decoder));
        Assert.Null(model.Threads);
        model.Threads = 2;
        Assert.Equal(2, model.Threads);
        model.Threads = null;
        Assert.Null(model.Threads);
        Assert.Throws<TransformerArgumentException>(() => model.Threads = 0);
    }

    [Fact]
    public void Precision_Auto_IsRefusedOnAModelAndResolvedByTheRuntime()
    {
        using var model = TransformerModel.Create(Config(ModelKind.Decoder));
        Assert.Equal(Precision.Float32, model.Precision);
        Assert.Throws<TransformerArgumentException>(() => model.Precision = Precision.Auto);
        var auto = EngineRuntime.ResolvePrecision(Precision.Auto, "cpu");
        Assert.Equal(EngineRuntime.IsBFloat16Native("cpu") ? Precision.BFloat16 : Precision.Float32, auto);
        Assert.Equal(Precision.Float32, EngineRuntime.ResolvePrecision(Precision.Float32, "cpu"));
        Assert.Equal(Precision.BFloat16, EngineRuntime.ResolvePrecision(Precision.BFloat16, "cpu"));
    }

    [Fact]
    public void IsBFloat16Native_Cpu_AgreesWithTheCpuFlags()
    {
        var flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal)) ?? "";
        var words = flags.Split([' ', '\t', ':'], StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(words.Contains("avx512_bf16") || words.Contains("amx_bf16"), EngineRuntime.IsBFloat16Native("cpu"));
    }

    [Collection(SerialTests.Name)]
    public class ProcessWide
    {
        [Fact]
        public void NumThreads_Two_LeavesOpenBlasAtOneThreadWhenOneDnnServesTheMatmuls()
        {
            Assert.Equal("oneDNN", EngineRuntime.CpuMatmulBackend);  // Debian's libtorch loads libdnnl
            var before = EngineRuntime.NumThreads;
            try
            {
                EngineRuntime.NumThreads = 2;
                Assert.Equal(2, EngineRuntime.NumThreads);
                Assert.Equal(1, OpenBlasThreads());
            }
            finally
            {
                EngineRuntime.NumThreads = before;
            }
        }

        private static int OpenBlasThreads()
        {
            var handle = NativeLibrary.Load("libopenblas.so.0");
            var get = NativeLibrary.GetExport(handle, "openblas_get_num_threads");
            unsafe
            {
                return ((delegate* unmanaged<int>)get)();
            }
        }
    }
}
