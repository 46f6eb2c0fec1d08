// The default search space: every trainer option it promises, values the trainers accept, the derived feed-forward
// ratio applied after the searched dimension, and a size that calls for TPE rather than a grid.
using MLNet.Transformer.AutoML;
using MLNet.Transformer.LanguageModeling;
using Xunit;

namespace MLNet.Transformer.AutoML.Tests;

public class DefaultTransformerSearchSpaceTests
{
    [Fact]
    public void Create_SearchesEveryTrainingOptionTheIssueNames()
    {
        var space = DefaultTransformerSearchSpace.Create<TransformerDecoderTrainerOptions>();

        Assert.Equal(
            ["Layers", "Heads", "ModelDimension", "FeedForwardRatio", "Dropout", "LearningRate", "WeightDecay", "NormFirst", "Activation",
                "WarmupSteps", "Schedule", "BatchSize"],
            space.Parameters.Select(p => p.Name));
        var lr = Assert.IsType<FloatRangeParameter>(space.Parameters.Single(p => p.Name == "LearningRate"));
        Assert.True(lr.LogScale);
        Assert.Equal(TransformerOptimizer.AdamW, space.BaseOptions.Optimizer); // weight decay is decoupled
        Assert.Null(space.GridSize); // continuous dimensions: no grid, TPE
    }

    [Fact]
    public void Materialize_EveryDrawOfTheRandomTuner_IsAValidTrainerConfiguration()
    {
        var baseOptions = new TransformerDecoderTrainerOptions { TextColumnName = "Name", Optimizer = TransformerOptimizer.Adam };
        var space = DefaultTransformerSearchSpace.Create(baseOptions);
        var tuner = new RandomTuner();
        tuner.Initialize(space, 5, TunerObjective.Minimize);

        for (int i = 0; i < 300; i++)
        {
            var parameters = tuner.Propose([])!;
            Assert.Null(space.FindViolation(parameters));
            var options = space.Materialize(parameters);
            options.Validate();
            Assert.Equal(parameters.Get<int>("FeedForwardRatio") * parameters.Get<int>("ModelDimension"), options.FeedForwardDimension);
            Assert.InRange(options.Dropout, 0f, 0.6f);
            Assert.InRange(options.LearningRate, 3e-4f, 3e-3f);
            Assert.Equal("Name", options.TextColumnName); // unsearched values come from the base options
        }

        Assert.Equal(TransformerOptimizer.Adam, baseOptions.Optimizer); // the caller's options are not changed
    }

    [Fact]
    public void DerivedChoice_AppliedAfterThePropertiesItReads_AndReplacedByAPropertyOfTheSameName()
    {
        var space = SweepSearchSpace.Create(new TransformerDecoderTrainerOptions { ModelDimension = 32 })
            .Choice<int>("FeedForwardRatio", (o, r) => o.FeedForwardDimension = r * o.ModelDimension, 2, 4)
            .Choice(o => o.ModelDimension, 48, 64);

        var options = space.Materialize(space.ParseKey("FeedForwardRatio=4,ModelDimension=48"));

        Assert.Equal(192, options.FeedForwardDimension); // 4 x the searched 48, not x the base 32
        Assert.Equal(48, options.ModelDimension);
        var e = Assert.Throws<TransformerArgumentException>(() => space.Choice<int>("Bad=Name", (_, _) => { }, 1));
        Assert.Contains("Bad=Name", e.Message, StringComparison.Ordinal);
    }
}
