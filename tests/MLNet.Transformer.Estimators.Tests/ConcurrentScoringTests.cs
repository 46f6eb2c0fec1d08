// One fitted next-character transformer scoring from several threads at once (ML.NET's OnnxTransformer over one
// ONNX Runtime session): every thread must get the scores a serial run gets, bit for bit.
using Microsoft.ML;
using MLNet.Transformer.LanguageModeling;
using Xunit;

namespace MLNet.Transformer.Tests;

[Collection(nameof(SerialEngine))]
public class ConcurrentScoringTests
{
    [Fact]
    public void Transform_FourThreadsOnOneModel_SameScoresAsSerial()
    {
        var ml = new MLContext(1);
        var chain = NamesData.Trainer(ml, NamesData.MiniFormer(epochs: 1)).Fit(NamesData.View(ml, NamesData.All.Take(120)));
        var inputs = Enumerable.Range(0, 6).Select(i => NamesData.All.Skip(200 + (i * 40)).Take(40).ToArray()).ToArray();
        float[][] Score(string[] words) => NamesData.Column<float[]>(chain.Transform(NamesData.View(ml, words)), NextCharacterColumns.Score);
        var serial = inputs.Select(Score).ToArray();

        var results = new float[4][][][];
        var errors = new Exception?[4];
        using var start = new Barrier(4);
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                results[t] = Enumerable.Range(0, inputs.Length * 2).Select(i => Score(inputs[(i + t) % inputs.Length])).ToArray();
            }
            catch (Exception e) when (e is TransformerException or ArgumentException or InvalidOperationException)
            {
                errors[t] = e;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        for (int t = 0; t < 4; t++)
        {
            Assert.Null(errors[t]);
            for (int i = 0; i < results[t].Length; i++)
            {
                Assert.Equal(serial[(i + t) % inputs.Length], results[t][i]);
            }
        }
    }
}
