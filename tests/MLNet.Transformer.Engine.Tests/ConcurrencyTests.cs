// Read-only calls on one model from several threads at once (mlt.h, "Threads"): forward passes and evaluation
// losses computed concurrently must equal, bit for bit, the same calls made one after another.

using MLNet.Transformer.Engine;
using MLNet.Transformer.TestKit;
using Xunit;

namespace MLNet.Transformer.Engine.Tests;

public class ConcurrencyTests
{
    [Fact]
    public void ForwardAndEvaluateLoss_FourThreadsOnOneModel_SameResultsAsSerial()
    {
        using var model = TransformerModel.Create(SmallModels.SmallEncoderDecoder(seed: 12));
        var rng = new Random(21);
        var batches = Enumerable.Range(0, 6)
            .Select(i => TestModels.Batch(model.Config, rng, [5, 2 + (i % 3), 4], 5, [4, 3, 1 + (i % 4)], 4))
            .ToArray();
        var serial = batches.Select(b => Run(model, b)).ToArray();

        var concurrent = new (float[] Logits, float[] Cross, double Sum)[4][];
        var errors = new Exception?[4];
        using var start = new Barrier(4);
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                var mine = new (float[], float[], double)[batches.Length * 3];
                for (var i = 0; i < mine.Length; i++)
                {
                    mine[i] = Run(model, batches[(i + t) % batches.Length]);
                }

                concurrent[t] = mine;
            }
            catch (Exception e) when (e is TransformerException or ArgumentException)
            {
                errors[t] = e;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        for (var t = 0; t < 4; t++)
        {
            Assert.Null(errors[t]);
            Assert.NotNull(concurrent[t]);
            for (var i = 0; i < concurrent[t].Length; i++)
            {
                var expected = serial[(i + t) % batches.Length];
                Assert.Equal(expected.Logits, concurrent[t][i].Logits);
                Assert.Equal(expected.Cross, concurrent[t][i].Cross);
                Assert.Equal(expected.Sum, concurrent[t][i].Sum);
            }
        }
    }

    private static (float[] Logits, float[] Cross, double Sum) Run(TransformerModel model, TokenBatch batch)
    {
        var f = model.Forward(batch, ForwardOutputs.Logits | ForwardOutputs.CrossAttention);
        return (f.Logits!.GetArray(), f.CrossAttention!.GetArray(), model.EvaluateLoss(batch).Sum);
    }
}
