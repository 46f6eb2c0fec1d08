// The C# entry point of the sweeps: mlContext.TransformerSweep() returns a TransformerSweepCatalog that creates search
// spaces, sweeps and sweepable trainers. Not mlContext.Auto(): that name belongs to Microsoft.ML.AutoML, and a program
// that references both packages must be able to reach both.
using Microsoft.ML;
using MLNet.Transformer.LanguageModeling;

namespace MLNet.Transformer.AutoML;

/// <summary>Extension methods that hang the transformer sweeps off <see cref="MLContext"/>.</summary>
public static class TransformerSweepExtensions
{
    /// <summary>The hyperparameter sweep catalog of <paramref name="context"/>.</summary>
    public static TransformerSweepCatalog TransformerSweep(this MLContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new TransformerSweepCatalog(context);
    }
}

/// <summary>
/// Creates search spaces and sweeps. A sweep without <see cref="SweepOptions.Seed"/> draws a random seed;
/// set <see cref="SweepOptions.Seed"/> to make it reproducible (ML.NET does not expose the seed of an
/// <see cref="MLContext"/>).
/// </summary>
/// <example><code>
/// var space = ml.TransformerSweep().CreateSearchSpace(baseOptions)
///     .Choice(o =&gt; o.Heads, 1, 2, 4)
///     .Constraint("heads must divide dim", o =&gt; o.ModelDimension % o.Heads == 0);
/// var result = await ml.TransformerSweep().CreateSweep(space, runner, new SweepOptions { MaxTrials = 20, MaxEpochs = 9, Seed = 1 })
///     .WithTuner(new TpeTuner())
///     .WithPruner(new AshaPruner(minEpochs: 1, reductionFactor: 3))
///     .RunAsync(token);
/// </code></example>
public sealed class TransformerSweepCatalog
{
    internal TransformerSweepCatalog(MLContext context) => Context = context;

    /// <summary>The owning context.</summary>
    public MLContext Context { get; }

    /// <summary>A search space over <typeparamref name="TOptions"/>, declared by the search attributes on its
    /// properties (none: empty) and refined with the fluent methods.</summary>
    /// <param name="baseOptions">Supplies every value that is not searched; null: a default instance.</param>
#pragma warning disable CA1822 // An instance member on purpose: catalogs are reached through mlContext.TransformerSweep().
    public SweepSearchSpace<TOptions> CreateSearchSpace<TOptions>(TOptions? baseOptions = null)
        where TOptions : class => SweepSearchSpace.FromAttributes(baseOptions);

    /// <summary>The default search space over a trainer's options (<see cref="DefaultTransformerSearchSpace"/>):
    /// every option that shapes the model or its training; refine it with the fluent methods.</summary>
    /// <param name="baseOptions">Supplies every value that is not searched; null: defaults.</param>
    public SweepSearchSpace<TOptions> CreateDefaultSearchSpace<TOptions>(TOptions? baseOptions = null)
        where TOptions : TransformerTrainerOptions, new() => DefaultTransformerSearchSpace.Create(baseOptions);

    /// <summary>A sweep over <paramref name="space"/> trained by <paramref name="runner"/>; set the tuner, pruner and
    /// monitor with the <c>With*</c> methods, then call <see cref="SweepExperiment{TOptions}.RunAsync"/>.</summary>
    /// <param name="space">What to search.</param>
    /// <param name="runner">Trains one configuration.</param>
    /// <param name="options">Budget and control; null: defaults.</param>
    public SweepExperiment<TOptions> CreateSweep<TOptions>(SweepSearchSpace<TOptions> space, ISweepTrialRunner<TOptions> runner, SweepOptions? options = null)
        where TOptions : class => new(space, runner, options);
#pragma warning restore CA1822
}
