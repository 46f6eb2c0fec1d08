// Ensembles built from checkpoints: fitted models hand their checkpoints to NextCharacterModel.Ensemble, which scores
// exactly as an ensemble of the same weights read back out of the models' ONNX graphs, and as the mean of the members.
using Microsoft.ML;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.Onnx;
using Xunit;

namespace MLNet.Transformer.Tests;

[Collection(nameof(SerialEngine))]
public sealed class EnsembleCheckpointTests
{
    [Fact]
    public void Ensemble_FromCheckpoints_ScoresAsFromGraphsAndAveragesTheMembers()
    {
        var ml = new MLContext(1);
        var data = NamesData.View(ml, NamesData.All);
        var a = NamesData.Trainer(ml, NamesData.MiniFormer(epochs: 2, seed: 1)).Fit(data);
        var second = NamesData.MiniFormer(epochs: 2, seed: 2);
        second.Heads = 2;
        var b = NamesData.Trainer(ml, second).Fit(data);
        Assert.NotNull(a.Checkpoint);
        Assert.NotNull(b.Checkpoint);

        var fromFitted = NextCharacterModel.Ensemble(ml, [a, b]);
        var fromCheckpoints = NextCharacterModel.Ensemble(ml, [a.Checkpoint!, b.Checkpoint!]);
        NextCharacterPredictionTransformer FromGraph(NextCharacterPredictionTransformer m)
        {
            var file = OnnxModelFile.Read(m.GetOnnxModel(), "test");
            return NextCharacterModel.FromWeights(ml, file.Info, file.State);
        }

        var fromGraphs = NextCharacterModel.Ensemble(ml, [FromGraph(a), FromGraph(b)]);
        Assert.Null(fromGraphs.Checkpoint);

        string[] probes = ["ca", "flyca", "z", "bat"];
        float[][] Score(ITransformer m) => NamesData.Column<float[]>(m.Transform(NamesData.View(ml, probes)), NextCharacterColumns.Score);
        var expected = Score(fromGraphs);
        Assert.Equal(expected, Score(fromFitted));
        Assert.Equal(expected, Score(fromCheckpoints));

        var (pa, pb) = (Score(a), Score(b));
        for (int r = 0; r < probes.Length; r++)
        {
            for (int k = 0; k < expected[r].Length; k++)
            {
                Assert.Equal((pa[r][k] + pb[r][k]) / 2, expected[r][k], 1e-6);
            }
        }

        // "Next character" only: the chain runs the ensemble's graph cut to two outputs, scores the same, and its zip
        // loads back with the whole ensemble graph.
        var lean = NextCharacterModel.Ensemble(ml, [a.Checkpoint!, b.Checkpoint!], NextCharacterOutputs.NextCharacter);
        Assert.Equal(expected, Score(lean));
        string zip = Path.Combine(Path.GetTempPath(), $"mlt-lean-ensemble-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(lean, NamesData.View(ml, probes).Schema, zip);
            using var loaded = NextCharacterModel.Load(new MLContext(2), zip);
            Assert.Equal(expected, Score(loaded.Model));
            Assert.Equal(fromCheckpoints.GetOnnxModel(), loaded.GetOnnxModel());
            Assert.Equal(2, loaded.Onnx.Members.Count);
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [Fact]
    public void Ensemble_NoCheckpoint_IsRefused()
    {
        var e = Assert.Throws<TransformerArgumentException>(() => NextCharacterModel.Ensemble(new MLContext(1), Array.Empty<Checkpoints.Checkpoint>()));
        Assert.Contains("at least one checkpoint", e.Message, StringComparison.Ordinal);
    }
}
