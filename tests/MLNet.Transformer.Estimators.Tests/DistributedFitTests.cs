// Fit with the Distributed option: ranks are threads of this process, each with its own MLContext, calling Fit on
// the same data as separate processes would (the CLI tests run real processes). References: one Fit with the union
// batch; the ranks' own results.
using Microsoft.ML;
using MLNet.Transformer.Engine;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.TestKit;
using Xunit;

namespace MLNet.Transformer.Tests;

[Collection(nameof(SerialEngine))]
public class DistributedFitTests
{
    private static readonly string[] Names = NamesData.All.Take(200).ToArray();

    [Fact]
    public void Fit_TwoRanks_ShareRank0sSeedReturnTheSameModelAndTrainLikeOneProcessWithTwiceTheBatch()
    {
        int port = LoopbackRanks.FreePort();
        var ranks = LoopbackRanks.Run(2, rank =>
        {
            var ml = new MLContext(rank); // different contexts: the seed must come from rank 0, not from them
            var options = Options(batch: 8, validationFraction: 0.2);
            options.Seed = null;
            options.Distributed = new DistributedSettings { Rank = rank, WorldSize = 2, MasterPort = port, Timeout = TimeSpan.FromSeconds(20) };
            return NamesData.Trainer(ml, options).Fit(NamesData.View(ml, Names));
        });

        var (h0, h1) = (ranks[0].History!, ranks[1].History!);
        Assert.Equal((0, 2, 1, 2), (h0.Rank, h0.WorldSize, h1.Rank, h1.WorldSize));
        Assert.True(h0.AllReduceTime > TimeSpan.Zero);
        Assert.Equal(h0.Epochs.Select(e => e.ValidationLoss), h1.Epochs.Select(e => e.ValidationLoss));
        Assert.Equal(ranks[0].GetOnnxModel(), ranks[1].GetOnnxModel());

        // With a fixed seed, against one Fit with batch 16 on the same data.
        port = LoopbackRanks.FreePort();
        var fixedRanks = LoopbackRanks.Run(2, rank =>
        {
            var ml = new MLContext(0);
            var options = Options(batch: 8, validationFraction: 0.2);
            options.Distributed = new DistributedSettings { Rank = rank, WorldSize = 2, MasterPort = port, Timeout = TimeSpan.FromSeconds(20) };
            return NamesData.Trainer(ml, options).Fit(NamesData.View(ml, Names));
        });
        var single = NamesData.Trainer(new MLContext(0), Options(batch: 16, validationFraction: 0.2)).Fit(NamesData.View(new MLContext(0), Names));

        var two = fixedRanks[0].History!;
        Assert.Equal(single.History!.Steps, two.Steps);
        for (int e = 0; e < two.Epochs.Count; e++)
        {
            Assert.Equal(single.History.Epochs[e].TrainLoss, two.Epochs[e].TrainLoss, 5);
            Assert.Equal(single.History.Epochs[e].ValidationLoss!.Value, two.Epochs[e].ValidationLoss!.Value, 5);
        }
    }

    [Fact]
    public void Fit_RanksReadingDifferentData_StopWithAnErrorNamingTheDisagreement()
    {
        int port = LoopbackRanks.FreePort();
        var errors = LoopbackRanks.Run(2, rank =>
        {
            var ml = new MLContext(0);
            var options = Options(batch: 8, validationFraction: 0.2);
            options.Distributed = new DistributedSettings { Rank = rank, WorldSize = 2, MasterPort = port, Timeout = TimeSpan.FromSeconds(20) };
            var data = rank == 0 ? Names : Names.Take(150);
            return Record.Exception(() => NamesData.Trainer(ml, options).Fit(NamesData.View(ml, data)));
        });

        foreach (var e in errors)
        {
            var error = Assert.IsType<DistributedTrainingException>(e);
            Assert.Contains("the ranks disagree on the training rows", error.Message, StringComparison.Ordinal);
            Assert.Contains($"127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Validate_BadDistributedSetting_ThrowsNamingIt()
    {
        var options = Options(batch: 8, validationFraction: 0);
        options.Distributed = new DistributedSettings { Rank = 2, WorldSize = 2 };

        var e = Assert.Throws<TransformerArgumentException>(options.Validate);

        Assert.Equal("Rank", e.ParamName);
    }

    private static TransformerDecoderTrainerOptions Options(int batch, double validationFraction)
    {
        var o = NamesData.MiniFormer(epochs: 2, seed: 9);
        o.BatchSize = batch;
        o.ValidationFraction = validationFraction;
        o.Device = "cpu";
        return o;
    }
}
