// A sweep as a pipeline stage: an estimator that, on Fit, holds out validation rows, sweeps the search space with
// the configured tuner and pruner, then refits the best configuration and returns it as the fitted model.
using Microsoft.ML;
using MLNet.Transformer.LanguageModeling;

namespace MLNet.Transformer.AutoML;

/// <summary>
/// An ML.NET <see cref="IEstimator{TTransformer}"/> that chooses its own hyper-parameters. Use it where a trainer would
/// go: <c>ml.TransformerSweep().NextCharacterSweep(space, options).Fit(data)</c>, on the text column of the space's
/// base options. Fit splits the input (<see cref="ValidationFraction"/>, with ML.NET's <c>TrainTestSplit</c> seeded by
/// the sweep seed), runs the sweep, and retrains the best configuration on the training part for the full epoch
/// budget, keeping its best validation epoch. <see cref="LastResult"/> holds the trials of the last Fit.
/// </summary>
/// <typeparam name="TOptions">Decoder or encoder-decoder trainer options.</typeparam>
public sealed class SweepableTransformerTrainer<TOptions> : IEstimator<NextCharacterPredictionTransformer>
    where TOptions : TransformerTrainerOptions
{
    private readonly MLContext _context;

    internal SweepableTransformerTrainer(MLContext context, SweepSearchSpace<TOptions> space, SweepOptions options)
    {
        ArgumentNullException.ThrowIfNull(space);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _context = context;
        Space = space;
        Options = options;
    }

    /// <summary>What is searched.</summary>
    public SweepSearchSpace<TOptions> Space { get; }

    /// <summary>Budget and control of the sweep.</summary>
    public SweepOptions Options { get; }

    /// <summary>The tuner (default TPE).</summary>
    public ISweepTuner Tuner { get; set; } = new TpeTuner();

    /// <summary>The pruner (default ASHA with a first rung at one epoch and reduction factor 3).</summary>
    public IPruner Pruner { get; set; } = new AshaPruner(minEpochs: 1, reductionFactor: 3);

    /// <summary>Receives sweep progress.</summary>
    public ISweepMonitor? Monitor { get; set; }

    /// <summary>Fraction of the input held out to rank the trials.</summary>
    public double ValidationFraction { get; set; } = 0.2;

    /// <summary>Cancels the sweep (finished trials are kept in <see cref="LastResult"/>; Fit then throws).</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>The sweep of the last <see cref="Fit"/>.</summary>
    public SweepResult? LastResult { get; private set; }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => Trainer(Space.BaseOptions).GetOutputSchema(inputSchema);

    /// <inheritdoc />
    public NextCharacterPredictionTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        NextCharacterModel.CheckTextColumn(input.Schema, Space.BaseOptions.TextColumnName);
        if (Space.BaseOptions is TransformerEncoderDecoderTrainerOptions { SourceColumnName: { } source })
        {
            NextCharacterModel.CheckTextColumn(input.Schema, source);
        }

        if (ValidationFraction is <= 0 or >= 1)
        {
            throw new ArgumentException($"Option ValidationFraction: must be in (0, 1) (got {ValidationFraction}).", nameof(input));
        }

        int seed = Options.Seed ?? Random.Shared.Next();
        var split = _context.Data.TrainTestSplit(input, ValidationFraction, seed: seed);
        var runner = new NextCharacterTrialRunner<TOptions>(_context, split.TrainSet, split.TestSet);
        var sweepOptions = Clone(Options, seed);
        var sweep = new SweepExperiment<TOptions>(Space, runner, sweepOptions).WithTuner(Tuner).WithPruner(Pruner).WithMonitor(Monitor);
        LastResult = sweep.RunAsync(CancellationToken).GetAwaiter().GetResult();
        CancellationToken.ThrowIfCancellationRequested();
        var best = LastResult.Best ?? throw new TransformerException(
            $"The sweep finished no trial ({LastResult.Trials.Count} tried: {string.Join(", ", LastResult.Trials.GroupBy(t => t.Status).Select(g => $"{g.Count()} {g.Key}"))}); nothing to refit.");

        var options = Space.Materialize(best.Parameters);
        options.Epochs = Options.MaxEpochs;
        options.Seed = best.Seed;
        options.ValidationSet = split.TestSet;
        options.ValidationFraction = 0;
        options.Device = Options.Devices[0];
        options.CancellationToken = CancellationToken;
        return Trainer(options).Fit(split.TrainSet);
    }

    private TransformerTrainerBase Trainer(TOptions options) => _context.MulticlassClassification.Trainers.Transformer(options);

    private static SweepOptions Clone(SweepOptions o, int seed) => new()
    {
        MaxTrials = o.MaxTrials,
        TimeBudget = o.TimeBudget,
        Parallelism = o.Parallelism,
        Seed = seed,
        ThreadsPerTrial = o.ThreadsPerTrial,
        Devices = o.Devices,
        MaxEpochs = o.MaxEpochs,
        Metric = o.Metric,
        MaximizeMetric = o.MaximizeMetric,
        MaxConsecutiveSkips = o.MaxConsecutiveSkips,
        TimeProvider = o.TimeProvider,
    };
}

/// <summary>Catalog methods for the sweepable trainers.</summary>
public static class SweepableTrainerCatalog
{
    /// <summary>A next-character trainer that sweeps <paramref name="space"/> on Fit and returns the best model, refitted.</summary>
    public static SweepableTransformerTrainer<TOptions> NextCharacterSweep<TOptions>(this TransformerSweepCatalog catalog, SweepSearchSpace<TOptions> space, SweepOptions? options = null)
        where TOptions : TransformerTrainerOptions
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new SweepableTransformerTrainer<TOptions>(catalog.Context, space, options ?? new SweepOptions());
    }
}
