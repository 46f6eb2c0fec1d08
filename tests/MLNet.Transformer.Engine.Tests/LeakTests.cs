// Native memory behaviour: many training steps and many create/free cycles keep the resident set flat.
// Run alone (no parallel tests move RSS meanwhile); filter with --filter Category!=Leak to skip.

using MLNet.Transformer.Engine;
using Xunit;
using Xunit.Abstractions;

namespace MLNet.Transformer.Engine.Tests;

[Collection(SerialTests.Name)]
[Trait("Category", "Leak")]
public class LeakTests(ITestOutputHelper output)
{
    // A leaked activation set of one step of the training model is about 50 KB, one leaked model about 200 KB:
    // either leak over 5,000 iterations would exceed this bound several times over.
    private const long AllowedGrowthBytes = 30L * 1024 * 1024;

    private static TransformerModelConfig LeakModel(ulong seed) => new()
    {
        VocabSize = 32, ModelDim = 32, Heads = 4, Layers = 2, FeedForwardDim = 64, MaxLength = 16, Dropout = 0.1f, Seed = seed,
    };

    [Fact]
    public void TrainStep_TenThousandSteps_ResidentSetStaysFlat()
    {
        using var model = TransformerModel.Create(LeakModel(3));
        var batch = TestModels.Batch(model.Config, new Random(3), [12, 9, 12, 4, 7, 12, 10, 2], 12);
        for (var i = 0; i < 500; i++)
        {
            model.TrainStep(batch, 1e-4f);
        }

        const int steps = 10_000;
        var start = ResidentBytes();
        long middle = 0;
        float loss = 0;
        for (var i = 1; i <= steps; i++)
        {
            loss = model.TrainStep(batch, 1e-4f).Loss;
            if (i == steps / 2)
            {
                middle = ResidentBytes();
            }
        }

        var end = ResidentBytes();
        output.WriteLine($"RSS after warm-up {Mb(start)}, after {steps / 2} steps {Mb(middle)}, after {steps} {Mb(end)}; last loss {loss}");
        Assert.True(float.IsFinite(loss));
        Assert.True(end - middle < AllowedGrowthBytes, $"RSS grew {Mb(end - middle)} over the second {steps / 2} steps");
        Assert.True(end - start < 2 * AllowedGrowthBytes, $"RSS grew {Mb(end - start)} over {steps} steps");
    }

    [Fact]
    public void CreateAndDispose_ThousandCycles_ResidentSetStaysFlat()
    {
        var batch = TestModels.Batch(LeakModel(0), new Random(4), [8, 5], 8);
        void Cycle(int i)
        {
            using var model = TransformerModel.Create(LeakModel((ulong)i));
            model.TrainStep(batch, 1e-3f);
            _ = model.Forward(batch, ForwardOutputs.All);
        }

        for (var i = 0; i < 50; i++)
        {
            Cycle(i);
        }

        const int cycles = 1_000;
        var start = ResidentBytes();
        long middle = 0;
        for (var i = 1; i <= cycles; i++)
        {
            Cycle(i);
            if (i == cycles / 2)
            {
                middle = ResidentBytes();
            }
        }

        var end = ResidentBytes();
        output.WriteLine($"RSS after warm-up {Mb(start)}, after {cycles / 2} cycles {Mb(middle)}, after {cycles} {Mb(end)}");
        Assert.True(end - middle < AllowedGrowthBytes, $"RSS grew {Mb(end - middle)} over the second {cycles / 2} cycles");
        Assert.True(end - start < 2 * AllowedGrowthBytes, $"RSS grew {Mb(end - start)} over {cycles} cycles");
    }

    private static long ResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kb = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
                return kb * 1024;
            }
        }

        throw new InvalidOperationException("/proc/self/status has no VmRSS line.");
    }

    private static string Mb(long bytes) => $"{bytes / (1024.0 * 1024.0):F1} MB";
}
