// The training state a checkpoint needs beyond the weights: Adam's moments and step, and the dropout generators.
// A model that imports another's state mid-run continues bit for bit as the original does, dropout on, on the
// fused kernels and on libtorch's stock ones (serial: the stock model is created under MLT_FUSED=0).

using MLNet.Transformer.TestKit;
using Xunit;

namespace MLNet.Transformer.Engine.Tests;

[Collection(SerialTests.Name)]
public class TrainingStateTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ImportedState_DropoutOn_ContinuesBitForBit(bool fused)
    {
        TransformerModel Create(TransformerModelConfig c) => fused ? TransformerModel.Create(c) : FusedKernelSwitchTests.CreateStock(c);
        var config = SmallModels.SmallDecoder(seed: 3) with { Heads = 2, Dropout = 0.2f };
        var rng = new Random(8);
        var batches = Enumerable.Range(0, 6).Select(_ => TestModels.Batch(config, rng, [6, 4, 5], 6)).ToList();
        using var original = Create(config);
        original.SetSeed(77);
        for (int i = 0; i < 3; i++)
        {
            original.TrainStep(batches[i], 1e-2f);
        }

        // A model with other weights and another dropout seed takes over the state.
        using var resumed = Create(config with { Seed = 1234 });
        resumed.SetSeed(5);
        resumed.ImportState(original.ExportState());
        resumed.ImportOptimizerState(original.ExportOptimizerState());
        resumed.ImportRandomState(original.ExportRandomState());
        Assert.Equal(3, resumed.ExportOptimizerState().Step);

        for (int i = 3; i < batches.Count; i++)
        {
            var a = original.TrainStep(batches[i], 1e-2f);
            var b = resumed.TrainStep(batches[i], 1e-2f);
            Assert.Equal(a.Loss, b.Loss);
        }

        foreach (var info in original.StateInfo)
        {
            Assert.Equal(original.ReadState(info.Name), resumed.ReadState(info.Name));
        }
    }

    [Fact]
    public void ImportedState_WithoutRandomState_DropoutDiffers()
    {
        // The control: the dropout generators matter, so the bit-for-bit test above could fail.
        var config = SmallModels.SmallDecoder(seed: 3) with { Heads = 2, Dropout = 0.2f };
        var batch = TestModels.Batch(config, new Random(8), [6, 4, 5], 6);
        using var a = TransformerModel.Create(config);
        using var b = TransformerModel.Create(config);
        a.SetSeed(77);
        b.SetSeed(78);
        Assert.NotEqual(a.TrainStep(batch, 1e-2f).Loss, b.TrainStep(batch, 1e-2f).Loss);
    }

    [Fact]
    public void ImportRandomState_Garbage_ThrowsArgumentError()
    {
        using var model = TransformerModel.Create(SmallModels.SmallDecoder());
        var e = Assert.Throws<TransformerArgumentException>(() => model.ImportRandomState(new byte[40]));
        Assert.Contains("random-number state", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ImportOptimizerState_MissingMoment_ThrowsNamingIt()
    {
        using var model = TransformerModel.Create(SmallModels.SmallDecoder());
        var state = model.ExportOptimizerState();
        string dropped = model.StateInfo[0].Name;
        var partial = state with { ExpAvg = state.ExpAvg.Where(kv => kv.Key != dropped).ToDictionary(kv => kv.Key, kv => kv.Value) };
        var e = Assert.Throws<TransformerArgumentException>(() => model.ImportOptimizerState(partial));
        Assert.Contains(dropped, e.Message, StringComparison.Ordinal);
    }
}
