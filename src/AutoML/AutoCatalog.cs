// The C# entry point of the sweeps: mlContext.Auto() returns an AutoCatalog that creates search spaces and sweeps.
namespace MLNet.Transformer.AutoML;

/// <summary>Extension methods that hang the sweeps off <see cref="MLContext"/>.</summary>
public static class MLContextAutoExtensions
{
    /// <summary>The hyperparameter sweep catalog of <paramref name="context"/>.</summary>
    public static AutoCatalog Auto(this MLContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new AutoCatalog(context);
    }
}

/// <summary>
/// Creates search spaces and sweeps. A sweep created here without <see cref="SweepOptions.Seed"/> draws its seed from
/// the context, so a seeded <see cref="MLContext"/> makes the sweep reproducible.
/// </summary>
/// <example><code>
/// var space = ml.Auto().CreateSearchSpace(baseOptions)
///     .Choice(o =&gt; o.Heads, 1, 2, 4)
///     .Constraint("heads must divide dim", o =&gt; o.ModelDimension % o.Heads == 0);
/// var result = await ml.Auto().CreateSweep(space, runner, new SweepOptions { MaxTrials = 20, MaxEpochs = 9 })
///     .WithTuner(new TpeTuner())
///     .WithPruner(new AshaPruner(minEpochs: 1, reductionFactor: 3))
///     .RunAsync(token);
/// </code></example>
public sealed class AutoCatalog
{
    internal AutoCatalog(MLContext context) => Context = context;

    /// <summary>The owning context.</summary>
    public MLContext Context { get; }

    /// <summary>A search space over <typeparamref name="TOptions"/>, declared by the search attributes on its
    /// properties (none: empty) and refined with the fluent methods.</summary>
    /// <param name="baseOptions">Supplies every value that is not searched; null: a default instance.</param>
#pragma warning disable CA1822 // An instance member on purpose: catalogs are reached through mlContext.Auto().
    public SearchSpace<TOptions> CreateSearchSpace<TOptions>(TOptions? baseOptions = null)
        where TOptions : class => SearchSpace.FromAttributes(baseOptions);
#pragma warning restore CA1822

    /// <summary>A sweep over <paramref name="space"/> trained by <paramref name="runner"/>; set the tuner, pruner and
    /// monitor with the <c>With*</c> methods, then call <see cref="SweepExperiment{TOptions}.RunAsync"/>.</summary>
    /// <param name="space">What to search.</param>
    /// <param name="runner">Trains one configuration.</param>
    /// <param name="options">Budget and control; null: defaults.</param>
    public SweepExperiment<TOptions> CreateSweep<TOptions>(SearchSpace<TOptions> space, ITrialRunner<TOptions> runner, SweepOptions? options = null)
        where TOptions : class => new(space, runner, options, options?.Seed ?? Context.NextSeed());
}
