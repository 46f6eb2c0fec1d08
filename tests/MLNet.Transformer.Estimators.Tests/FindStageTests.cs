// Finding stages inside fitted and loaded pipelines.
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.Text;
using Xunit;

namespace MLNet.Transformer.Tests;

[Collection(nameof(SerialEngine))]
public class FindStageTests
{
    [Fact]
    public void FindStage_FittedAndLoadedChains_FindsTheModelAndFlattensStages()
    {
        var ml = new MLContext(1);
        var data = NamesData.View(ml, NamesData.All.Take(50));
        using var fitted = NamesData.Pipeline(ml, NamesData.MiniFormer(epochs: 1)).Fit(data);
        Assert.Same(fitted.LastTransformer, fitted.FindStage<NextCharacterPredictionTransformer>());
        Assert.Equal([typeof(CharacterTokenizerTransformer), typeof(NextCharacterPredictionTransformer)], fitted.Stages().Select(s => s.GetType()));

        string path = Path.Combine(Path.GetTempPath(), $"mlt-findstage-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(fitted, data.Schema, path);
            using var loaded = new MLContext().Model.Load(path, out _);
            var model = loaded.FindStage<NextCharacterPredictionTransformer>();
            Assert.NotNull(model);
            Assert.Equal(fitted.LastTransformer.ParameterCount, model.ParameterCount);
            Assert.Equal(2, loaded.Stages().Count());
            Assert.Null(loaded.FindStage<TransformerChain<ITransformer>>()); // chains are looked through, not returned
        }
        finally
        {
            File.Delete(path);
        }
    }
}
