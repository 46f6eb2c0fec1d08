// The search space a sweep uses when nobody names one: every trainer option that shapes the model or its training,
// with ranges wide enough to hold both the seed's small model and regularised 2-3 layer models.
using MLNet.Transformer.LanguageModeling;

namespace MLNet.Transformer.AutoML;

/// <summary>
/// The default search space over a next-character trainer's options. Searched (declaration order):
/// <c>Layers</c> {1, 2, 3}, <c>Heads</c> {1, 2, 4}, <c>ModelDimension</c> {32, 48, 64}, <c>FeedForwardRatio</c>
/// {2, 4} (feed-forward width = ratio x model dimension), <c>Dropout</c> uniform on [0, 0.6], <c>LearningRate</c>
/// log-uniform on [3e-4, 3e-3], <c>WeightDecay</c> {0, 0.01, 0.05, 0.1} (decoupled: AdamW), <c>NormFirst</c> (Pre-LN)
/// {true, false}, <c>Activation</c> {Relu, Gelu}, <c>WarmupSteps</c> {0, 100}, <c>Schedule</c> {Constant, Cosine},
/// <c>BatchSize</c> {16, 32}. The constraint "heads divide the model dimension" holds for every combination of these
/// values, but stays declared for spaces refined from this one. Early stopping comes from the sweep
/// (<see cref="SweepOptions.EarlyStoppingPatience"/>); search it with <c>.Choice(o =&gt; o.EarlyStoppingPatience, ...)</c>.
/// It holds about 10^4 discrete points and two continuous dimensions: search it with <see cref="TpeTuner"/>.
/// </summary>
public static class DefaultTransformerSearchSpace
{
    /// <summary>The name of the derived feed-forward ratio parameter.</summary>
    public const string FeedForwardRatio = "FeedForwardRatio";

    /// <summary>The default space over a copy of <paramref name="baseOptions"/> (whose unsearched values, such as the
    /// text column, stay), with <c>Optimizer</c> set to AdamW.</summary>
    /// <param name="baseOptions">Supplies every value that is not searched; null: defaults.</param>
    /// <typeparam name="TOptions">Decoder or encoder-decoder trainer options.</typeparam>
    public static SweepSearchSpace<TOptions> Create<TOptions>(TOptions? baseOptions = null)
        where TOptions : TransformerTrainerOptions, new()
    {
        var options = baseOptions is null ? new TOptions() : Internal.PropertyPath.ShallowClone(baseOptions);
        options.Optimizer = TransformerOptimizer.AdamW;
        return SweepSearchSpace.Create(options)
            .Choice(o => o.Layers, 1, 2, 3)
            .Choice(o => o.Heads, 1, 2, 4)
            .Choice(o => o.ModelDimension, 32, 48, 64)
            .Choice<int>(FeedForwardRatio, (o, r) => o.FeedForwardDimension = r * o.ModelDimension, 2, 4)
            .Uniform(o => o.Dropout, 0.0, 0.6)
            .LogUniform(o => o.LearningRate, 3e-4, 3e-3)
            .Choice(o => o.WeightDecay, 0f, 0.01f, 0.05f, 0.1f)
            .Choice(o => o.NormFirst, true, false)
            .Choice(o => o.Activation, TransformerActivation.Relu, TransformerActivation.Gelu)
            .Choice(o => o.WarmupSteps, 0, 100)
            .Choice(o => o.Schedule, LearningRateSchedule.Constant, LearningRateSchedule.Cosine)
            .Choice(o => o.BatchSize, 16, 32)
            .Constraint("heads must divide the model dimension", o => o.ModelDimension % o.Heads == 0);
    }
}
