// The trial runner for the library's next-character trainers: trains one configuration of a TransformerDecoder or
// TransformerEncoderDecoder trainer, feeding each epoch's validation loss to the sweep and stopping when told to.
using Microsoft.ML;
using MLNet.Transformer.LanguageModeling;

namespace MLNet.Transformer.AutoML;

/// <summary>
/// Trains <see cref="TransformerDecoderTrainerOptions"/> or <see cref="TransformerEncoderDecoderTrainerOptions"/>
/// configurations for a sweep. Per trial it overrides, on the trial's own options copy: <c>Epochs</c> (the sweep's
/// full budget), <c>Seed</c>, <c>Threads</c>, <c>Device</c> (from the sweep's device list),
/// <c>EarlyStoppingMinDelta</c> (the sweep's), <c>KeepBestWeights</c> (true), <c>ValidationSet</c> (when given here),
/// <c>Progress</c> and <c>CancellationToken</c> (to report epochs and to stop pruned or cancelled trials; a
/// <c>Progress</c> already set on the options still receives every report). Early stopping: a configuration whose
/// <c>EarlyStoppingPatience</c> is set (searched, or in the base options) keeps it, otherwise it gets the sweep's
/// <see cref="SweepOptions.EarlyStoppingPatience"/>; the trainer and the sweep apply the same rule, so the trainer
/// stops at the epoch the sweep records and ends with its best epoch's weights. The validation loss of each epoch goes
/// to <see cref="TrialContext.ReportEpoch"/>; when the sweep stops a trial otherwise (pruned, cancelled, out of time),
/// training is cancelled at the next batch.
/// </summary>
/// <remarks>The engine's CPU thread count is process-wide, so with <see cref="SweepOptions.Parallelism"/> above one on
/// the CPU the per-trial thread budget is approximate (the last trial started sets it).</remarks>
/// <typeparam name="TOptions">The trainer options type.</typeparam>
public sealed class NextCharacterTrialRunner<TOptions> : ISweepTrialRunner<TOptions>
    where TOptions : TransformerTrainerOptions
{
    private readonly MLContext _context;
    private readonly Dictionary<int, NextCharacterPredictionTransformer> _models = [];

    /// <summary>Creates the runner.</summary>
    /// <param name="context">The context whose trainers catalog builds the trainers.</param>
    /// <param name="trainData">Training data with the options' text column (<c>TextColumnName</c>, default <c>Text</c>).</param>
    /// <param name="validationData">Held-out data with the same text column; null: the options' <c>ValidationSet</c> or <c>ValidationFraction</c>,
    /// one of which must then be set.</param>
    public NextCharacterTrialRunner(MLContext context, IDataView trainData, IDataView? validationData = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(trainData);
        if (typeof(TOptions) != typeof(TransformerDecoderTrainerOptions) && typeof(TOptions) != typeof(TransformerEncoderDecoderTrainerOptions))
        {
            throw new TransformerArgumentException(
                $"NextCharacterTrialRunner supports TransformerDecoderTrainerOptions and TransformerEncoderDecoderTrainerOptions, not {typeof(TOptions).Name}.");
        }

        _context = context;
        TrainData = trainData;
        ValidationData = validationData;
    }

    /// <summary>The training data.</summary>
    public IDataView TrainData { get; }

    /// <summary>The validation data, if given here.</summary>
    public IDataView? ValidationData { get; }

    /// <summary>Called with each completed trial's fitted model, usable during the call only (e.g. to save the good
    /// ones): unless <see cref="KeepModels"/> is set, its scoring chain is disposed afterwards.</summary>
    public Action<TrialContext, NextCharacterPredictionTransformer>? OnTrained { get; set; }

    /// <summary>Called after <see cref="OnTrained"/> to keep the model somewhere (a study store); a non-null result is
    /// a warning that it was not kept, recorded as the trial's message.</summary>
    internal Func<TrialContext, NextCharacterPredictionTransformer, string?>? Keep { get; set; }

    /// <summary>Keep every trained trial's fitted model (with its best epoch's weights) in <see cref="Models"/>
    /// instead of disposing it; the caller then owns and disposes them. Default false.</summary>
    public bool KeepModels { get; set; }

    /// <summary>The fitted models kept by trial id (<see cref="KeepModels"/>).</summary>
    public IReadOnlyDictionary<int, NextCharacterPredictionTransformer> Models
    {
        get
        {
            lock (_models)
            {
                return new Dictionary<int, NextCharacterPredictionTransformer>(_models);
            }
        }
    }

    /// <inheritdoc/>
    /// <exception cref="TransformerArgumentException">No validation data is available.</exception>
    public Task<TrialOutcome> RunAsync(TOptions options, TrialContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        if (ValidationData is null && options.ValidationSet is null && options.ValidationFraction <= 0)
        {
            throw new TransformerArgumentException(
                "A sweep needs a validation loss: pass validation data to NextCharacterTrialRunner or set ValidationSet or ValidationFraction on the base options.",
                nameof(options));
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var userProgress = options.Progress;
        options.Epochs = context.MaxEpochs;
        options.Seed = context.Seed;
        options.Threads = context.Threads;
        options.Device = context.Device;
        if (options.EarlyStoppingPatience > 0)
        {
            context.EarlyStoppingPatience = options.EarlyStoppingPatience;
        }

        options.EarlyStoppingPatience = context.EarlyStoppingPatience;
        options.EarlyStoppingMinDelta = context.EarlyStoppingMinDelta;
        options.KeepBestWeights = true;
        options.ValidationSet = ValidationData ?? options.ValidationSet;
        options.CancellationToken = stop.Token;
        options.Progress = new EpochForwarder(context, stop, userProgress);

        var model = _context.MulticlassClassification.Trainers.Transformer(options).Fit(TrainData);
        var history = model.History;
        var last = history?.Epochs.Count > 0 ? history.Epochs[^1] : null;
        var metrics = new Dictionary<string, double> { ["ParameterCount"] = model.ParameterCount };
        if (last is not null)
        {
            metrics["TrainLoss"] = last.TrainLoss;
        }

        OnTrained?.Invoke(context, model);
        string? note = Keep?.Invoke(context, model);
        if (KeepModels)
        {
            lock (_models)
            {
                _models[context.TrialId] = model;
            }
        }
        else
        {
            (model.Model as IDisposable)?.Dispose(); // The trial's ONNX Runtime session; the sweep keeps only the numbers.
        }

        return Task.FromResult(new TrialOutcome { EpochsRun = last?.Epoch, Metrics = metrics, Message = note });
    }

    /// <summary>Turns the trainer's end-of-epoch reports into sweep checkpoints (synchronously, on the trainer's thread).</summary>
    private sealed class EpochForwarder(TrialContext context, CancellationTokenSource stop, IProgress<TrainingProgress>? inner)
        : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            inner?.Report(value);
            // A trial that stopped improving is left to the trainer, which stops at the same epoch by the same rule
            // and keeps its best weights; any other stop cancels training.
            if (value.IsEpochEnd && value.ValidationLoss is double loss && !context.ReportEpoch(value.Epoch, loss) && !context.StoppedEarly)
            {
                stop.Cancel();
            }
        }
    }
}
