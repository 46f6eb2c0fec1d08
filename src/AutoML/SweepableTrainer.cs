// A sweep as a pipeline stage: an estimator that, on Fit, holds out validation rows, sweeps the search space with
// the configured tuner and pruner, then refits the winning configuration (or keeps its best trial) and returns it.
using Microsoft.ML;
using MLNet.Transformer.LanguageModeling;

namespace MLNet.Transformer.AutoML;

/// <summary>What <see cref="SweepableTransformerTrainer{TOptions}.Fit"/> returns after the sweep.</summary>
public enum SweepRefit
{
    /// <summary>Train the winning configuration again on all the input (training and validation rows) for its mean
    /// best epoch count over its runs, with the seed of its best run; nothing is held out, so early stopping is off.</summary>
    AllData,

    /// <summary>Return the best run's own model (trained on the training rows, with its best epoch's weights).</summary>
    BestTrial,
}

/// <summary>
/// <see cref="SweepableTransformerTrainer{TOptions}.Fit"/> ran trials of a shared study (<see cref="SweepOptions.Storage"/>)
/// but another worker finalizes it (repeats, refit, ensemble), or it was already finalized: there is no model to return
/// here. <see cref="Result"/> holds the study's trials; run the sweep with <see cref="SweepOptions.FinalizeOnly"/> to
/// refit from the study.
/// </summary>
public sealed class StudyFinalizedElsewhereException : TransformerException
{
    /// <summary>Creates the exception.</summary>
    public StudyFinalizedElsewhereException(SweepResult result)
        : base(result?.FinalizedBy == "done"
            ? $"Study '{result.Study}' is finalized (its repeats, refit and ensemble were done by another or an earlier worker) and has nothing left to run; every trial is recorded in the store. Finalize it again (sweep --finalize, SweepOptions.FinalizeOnly) to refit here."
            : $"Study '{result?.Study}': this worker's trials are recorded; worker {result?.FinalizedBy} finalizes the study (repeats, refit, ensemble).")
    {
        Result = result!;
    }

    /// <summary>The study's trials as this worker left them.</summary>
    public SweepResult Result { get; }
}

/// <summary>One model of what <see cref="SweepableTransformerTrainer{TOptions}.Fit"/> returned.</summary>
/// <param name="Configuration">Its configuration, with its mean and spread over seeds.</param>
/// <param name="Trial">The configuration's best run (its seed and, for <see cref="SweepRefit.BestTrial"/>, its weights).</param>
/// <param name="Epochs">Epochs the model trained.</param>
/// <param name="TrainLoss">Its last epoch's training loss (nats per character).</param>
/// <param name="Seconds">Wall time of its refit (0 for <see cref="SweepRefit.BestTrial"/>).</param>
public sealed record SweepRefitMember(ConfigurationSummary Configuration, SweepTrialResult Trial, int Epochs, double TrainLoss, double Seconds);

/// <summary>What the last <see cref="SweepableTransformerTrainer{TOptions}.Fit"/> returned, beside the sweep.</summary>
/// <param name="Mode">How the model was made.</param>
/// <param name="Members">The models averaged, best configuration first (one when <see cref="SweepableTransformerTrainer{TOptions}.EnsembleSize"/> is 1).</param>
/// <param name="Rows">Rows they trained on (before any the length policy left out).</param>
public sealed record SweepRefitReport(SweepRefit Mode, IReadOnlyList<SweepRefitMember> Members, long Rows)
{
    /// <summary>The winning configuration, with its mean and spread over seeds.</summary>
    public ConfigurationSummary Configuration => Members[0].Configuration;

    /// <summary>Its best run.</summary>
    public SweepTrialResult Trial => Members[0].Trial;

    /// <summary>Epochs the winner's model trained.</summary>
    public int Epochs => Members[0].Epochs;

    /// <summary>The winner's last epoch's training loss (nats per character).</summary>
    public double TrainLoss => Members[0].TrainLoss;

    /// <summary>Wall time of every refit (0 for <see cref="SweepRefit.BestTrial"/>).</summary>
    public double Seconds => Members.Sum(m => m.Seconds);
}

/// <summary>
/// An ML.NET <see cref="IEstimator{TTransformer}"/> that chooses its own hyper-parameters. Use it where a trainer would
/// go: <c>ml.TransformerSweep().NextCharacterSweep(space, options).Fit(data)</c>, on the text column of the space's
/// base options. Fit splits the input (<see cref="ValidationFraction"/>, with ML.NET's <c>TrainTestSplit</c> seeded by
/// the sweep seed), runs the sweep, and then, as <see cref="Refit"/> says, trains the winning configuration again on
/// all the input for its best epoch count (default) or returns its best trial's model. <see cref="LastResult"/> holds
/// the trials of the last Fit, <see cref="LastRefit"/> what was returned.
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

    /// <summary>How the returned model is made after the sweep. Default <see cref="SweepRefit.AllData"/>.</summary>
    public SweepRefit Refit { get; set; } = SweepRefit.AllData;

    /// <summary>
    /// How many of the leaderboard's top configurations the returned model averages (<c>NextCharacterModel.Ensemble</c>):
    /// each is refitted (or its best trial kept) as <see cref="Refit"/> says, and the returned chain scores with the
    /// mean of their probabilities. Default 1: the winner alone. Fewer configurations than this give fewer members.
    /// The command line's <c>sweep</c> uses 3 (<c>--ensemble</c>); the README gives what it measured on held-out names.
    /// </summary>
    public int EnsembleSize { get; set; } = 1;

    /// <summary>The sweep of the last <see cref="Fit"/>.</summary>
    public SweepResult? LastResult { get; private set; }

    /// <summary>What the last <see cref="Fit"/> returned.</summary>
    public SweepRefitReport? LastRefit { get; private set; }

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

        if (EnsembleSize < 1)
        {
            throw new ArgumentException($"Option EnsembleSize: must be at least 1 (got {EnsembleSize}).", nameof(input));
        }

        if (ValidationFraction is <= 0 or >= 1)
        {
            throw new ArgumentException($"Option ValidationFraction: must be in (0, 1) (got {ValidationFraction}).", nameof(input));
        }

        int seed = Options.Seed ?? SweepExperiment<TOptions>.StudySeed(Options) ?? Random.Shared.Next();
        var split = _context.Data.TrainTestSplit(input, ValidationFraction, seed: seed);
        var runner = new NextCharacterTrialRunner<TOptions>(_context, split.TrainSet, split.TestSet) { KeepModels = Refit == SweepRefit.BestTrial };

        // A shared study keeps every trial's model, so that whichever worker finalizes it returns the best trial's
        // own model instead of training it again.
        using var shared = Refit == SweepRefit.BestTrial && Options.Storage is { } url ? new SharedTrialModels(url, Options.StudyName) : null;
        if (shared is not null)
        {
            runner.Keep = (context, model) => shared.Save(context.TrialId, model);
        }

        var sweepOptions = Clone(Options, seed);
        var sweep = new SweepExperiment<TOptions>(Space, runner, sweepOptions).WithTuner(Tuner).WithPruner(Pruner).WithMonitor(Monitor);
        sweep.DeferFinalization = true;
        LastRefit = null;
        var kept = runner.Models;
        bool finalized = false;
        try
        {
            LastResult = sweep.RunAsync(CancellationToken).GetAwaiter().GetResult();
            kept = runner.Models;
            CancellationToken.ThrowIfCancellationRequested();
            if (!LastResult.Finalizes)
            {
                throw new StudyFinalizedElsewhereException(LastResult);
            }

            if (LastResult.BestConfiguration is null)
            {
                throw new TransformerException(
                    $"The sweep finished no trial ({LastResult.Trials.Count} tried: {string.Join(", ", LastResult.Trials.GroupBy(t => t.Status).Select(g => $"{g.Count()} {g.Key}"))}); nothing to refit."
                    + (LastResult.Trials.FirstOrDefault(t => t.Message is not null) is { } failed ? $" Trial #{failed.Id}: {failed.Message}" : ""));
            }

            var chosen = LastResult.Leaderboard.Configurations.Take(EnsembleSize).ToArray();
            var models = new List<NextCharacterPredictionTransformer>();
            var members = new List<SweepRefitMember>();
            long rows = CountRows(Refit == SweepRefit.BestTrial ? split.TrainSet : input);
            bool returned = false;
            try
            {
                foreach (var configuration in chosen)
                {
                    var best = configuration.BestRun;
                    NextCharacterPredictionTransformer model;
                    double seconds = 0; // the best trial's own model, whoever trained it, is not trained again
                    if (Refit == SweepRefit.BestTrial && kept.TryGetValue(best.Id, out var own))
                    {
                        model = own;
                        kept = kept.Where(kv => kv.Key != best.Id).ToDictionary();
                    }
                    else if (shared?.Load(_context, best.Id) is { } stored)
                    {
                        model = stored; // another worker's trial, as that worker trained it
                    }
                    else
                    {
                        // All data; or, for a best trial that another worker of a shared study ran, that trial again: its
                        // training rows, seed and best epoch count.
                        bool again = Refit == SweepRefit.BestTrial;
                        var options = Space.Materialize(best.Parameters);
                        options.Epochs = again ? Math.Max(1, best.BestEpoch) : Math.Max(1, (int)Math.Round(configuration.MeanBestEpoch, MidpointRounding.AwayFromZero));
                        options.Seed = best.Seed;
                        options.ValidationSet = null;
                        options.ValidationFraction = 0;
                        options.EarlyStoppingPatience = 0;
                        options.Device = Options.Devices[0];
                        options.Threads = Options.ThreadsPerTrial;
                        options.CancellationToken = CancellationToken;
                        model = Trainer(options).Fit(again ? split.TrainSet : input);
                        seconds = model.History!.TrainingSeconds;
                    }

                    members.Add(new SweepRefitMember(configuration, best, model.History!.Epochs.Count, model.History.Epochs[^1].TrainLoss, seconds));
                    models.Add(model);
                }

                LastRefit = new SweepRefitReport(Refit, members, rows);
                var result = models.Count == 1 ? models[0] : NextCharacterModel.Ensemble(_context, models);
                returned = models.Count == 1;
                finalized = true;
                return result;
            }
            finally
            {
                // The members' own chains are not returned when they were combined (or a refit failed).
                foreach (var model in returned ? [] : models)
                {
                    (model.Model as IDisposable)?.Dispose();
                }
            }
        }
        finally
        {
            foreach (var model in kept.Values)
            {
                (model.Model as IDisposable)?.Dispose();
            }

            // A shared study is finalized once its refit is done; a failed refit leaves it to the next worker.
            LastResult?.EndFinalization?.Invoke(finalized);
        }
    }

    private static long CountRows(IDataView data)
    {
        if (data.GetRowCount() is long n)
        {
            return n;
        }

        long count = 0;
        using var cursor = data.GetRowCursor([]);
        while (cursor.MoveNext())
        {
            count++;
        }

        return count;
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
        EarlyStoppingPatience = o.EarlyStoppingPatience,
        EarlyStoppingMinDelta = o.EarlyStoppingMinDelta,
        RepeatTopConfigurations = o.RepeatTopConfigurations,
        RepeatSeeds = o.RepeatSeeds,
        RepeatBudgetFraction = o.RepeatBudgetFraction,
        TimeProvider = o.TimeProvider,
        Storage = o.Storage,
        StudyName = o.StudyName,
        HeartbeatInterval = o.HeartbeatInterval,
        HeartbeatGrace = o.HeartbeatGrace,
        FinalizeOnly = o.FinalizeOnly,
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

/// <summary>The trial models of a shared study (<see cref="SweepOptions.Storage"/>), kept in its store.</summary>
internal sealed class SharedTrialModels(string url, string study) : IDisposable
{
    private readonly Lock _lock = new();
    private StudyStore? _store;
    private StudyInfo? _study;

    /// <summary>
    /// Keeps trial <paramref name="trial"/>'s model (called as each trial ends, before it is recorded as finished).
    /// Best effort: the trial's result does not depend on it, and a finalizer that finds no model trains the trial again.
    /// Returns null, or the warning (recorded as the trial's message) when the model was not kept.
    /// </summary>
    public string? Save(int trial, NextCharacterPredictionTransformer model)
    {
        try
        {
            byte[] archive = TrialModelArchive.Pack(model);
            lock (_lock)
            {
                Store.SaveTrialModel(Study(), trial, archive);
            }

            return null;
        }
        catch (Exception e) when (e is StudyStoreException or System.Data.Common.DbException or IOException)
        {
            return $"model not kept in the study store ({e.Message}); a finalizer trains it again if it wins";
        }
    }

    /// <summary>Trial <paramref name="trial"/>'s model, or null when no worker kept it (a store written by an older version).</summary>
    public NextCharacterPredictionTransformer? Load(MLContext ml, int trial)
    {
        byte[]? archive;
        lock (_lock)
        {
            archive = Store.LoadTrialModel(Study(), trial);
        }

        return archive is null ? null : TrialModelArchive.Unpack(ml, archive, $"Trial #{trial}'s model in study '{study}' ({Store.Host})");
    }

    public void Dispose() => _store?.Dispose();

    // Opened at the first trial's end, so that a sweep refused before it creates no store file.
    private StudyStore Store => _store ??= StudyStore.Open(url);

    // The sweep creates the study before its first trial.
    private StudyInfo Study() => _study ??= Store.FindStudy(study) ?? throw new StudyStoreException($"Study '{study}' is not in the store {Store.Host}.");
}
