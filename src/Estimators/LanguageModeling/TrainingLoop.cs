// The training loop shared by the next-character trainers: epochs of shuffled, padded batches through the
// native engine, learning-rate schedule, validation over every held-out token, early stopping with the best
// weights kept, progress reports and cancellation. Knows nothing about the architecture.
using System.Diagnostics;
using MLNet.Transformer.Engine;

namespace MLNet.Transformer.LanguageModeling;

internal sealed class TrainingLoop(TransformerTrainerOptions options, int padId, bool selfSource)
{
    /// <summary>Trains <paramref name="model"/> in place and returns the per-epoch history.</summary>
    public TrainingHistory Run(TransformerModel model, IReadOnlyList<TokenRow> train, IReadOnlyList<TokenRow> validation, int seed)
    {
        var ct = options.CancellationToken;
        var rng = new Random(seed);
        model.SetSeed(unchecked((ulong)seed * 2654435761UL + 1));
        model.SetOptimizer(new OptimizerSettings
        {
            Kind = options.Optimizer == TransformerOptimizer.AdamW ? OptimizerKind.AdamW : OptimizerKind.Adam,
            WeightDecay = options.WeightDecay,
            ClipGradNorm = options.GradientClipNorm,
        });

        int batchesPerEpoch = (train.Count + options.BatchSize - 1) / options.BatchSize;
        long totalSteps = (long)batchesPerEpoch * options.Epochs;
        var validationBatches = MakeValidationBatches(validation);
        var history = new List<EpochRecord>();
        var clock = Stopwatch.StartNew();
        long step = 0;
        double bestLoss = double.PositiveInfinity;
        int bestEpoch = 0;
        int sinceBest = 0;
        IDictionary<string, (long[] Shape, float[] Data)>? bestState = null;
        bool stoppedEarly = false;

        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            double lossSum = 0;
            long tokens = 0;
            foreach (int[] order in TrainingBatches.EpochOrder(train, options.BatchSize, options.LengthBucketing, rng))
            {
                ct.ThrowIfCancellationRequested();
                var b = TrainingBatches.Make(train, order, padId, selfSource);
                float lr = TrainingBatches.LearningRate(options, step, totalSteps);
                TrainStepResult result;
                try
                {
                    result = model.TrainStep(ToEngine(b), lr);
                }
                catch (TrainingDivergedException e)
                {
                    // The engine refused the step, so the model still holds the weights of the last finite one.
                    throw new TrainingDivergedException(
                        FormattableString.Invariant(
                            $"Training diverged at epoch {epoch}, step {step + 1} of {totalSteps}: loss {e.Loss}, gradient norm {e.GradientNorm} at learning rate {lr} (peak LearningRate {options.LearningRate}). ") +
                        "The step was refused; the weights are those of the last finite step. Lower LearningRate, add WarmupSteps or set GradientClipNorm.",
                        e.Loss, e.GradientNorm, lr, e);
                }

                lossSum += (double)result.Loss * b.TargetTokens;
                tokens += b.TargetTokens;
                step++;
                if (options.Progress is { } p && (step % 10 == 0))
                {
                    p.Report(Report(epoch, step, totalSteps, lossSum / Math.Max(1, tokens), null, tokens, epochClock, clock, false));
                }
            }

            double trainLoss = lossSum / Math.Max(1, tokens);
            double? validLoss = validationBatches.Count > 0 ? Evaluate(model, validationBatches) : null;
            history.Add(new EpochRecord(epoch, trainLoss, validLoss, epochClock.Elapsed.TotalSeconds, tokens / Math.Max(1e-9, epochClock.Elapsed.TotalSeconds)));
            options.Progress?.Report(Report(epoch, step, totalSteps, trainLoss, validLoss, tokens, epochClock, clock, true));

            if (validLoss is double v)
            {
                if (v < bestLoss - options.EarlyStoppingMinDelta)
                {
                    bestLoss = v;
                    bestEpoch = epoch;
                    sinceBest = 0;
                    if (options.KeepBestWeights && epoch < options.Epochs)
                    {
                        bestState = model.ExportState();
                    }
                    else
                    {
                        bestState = null; // the current weights are the best
                    }
                }
                else
                {
                    sinceBest++;
                    if (options.EarlyStoppingPatience > 0 && sinceBest >= options.EarlyStoppingPatience)
                    {
                        stoppedEarly = true;
                        break;
                    }
                }
            }
        }

        bool restored = false;
        if (options.KeepBestWeights && bestState is not null && bestEpoch != history[^1].Epoch)
        {
            model.ImportState(bestState);
            restored = true;
        }

        return new TrainingHistory(history, bestEpoch == 0 ? null : bestEpoch, bestEpoch == 0 ? null : bestLoss, stoppedEarly, restored, clock.Elapsed.TotalSeconds);
    }

    private TrainingProgress Report(int epoch, long step, long totalSteps, double loss, double? valid, long tokens, Stopwatch epochClock, Stopwatch clock, bool end)
    {
        double cps = tokens / Math.Max(1e-9, epochClock.Elapsed.TotalSeconds);
        var eta = step == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds / step * (totalSteps - step));
        return new TrainingProgress(epoch, options.Epochs, step, totalSteps, loss, valid, cps, clock.Elapsed, eta, end);
    }

    private List<TokenBatch> MakeValidationBatches(IReadOnlyList<TokenRow> rows)
    {
        var list = new List<TokenBatch>();
        int[] order = Enumerable.Range(0, rows.Count).OrderBy(i => rows[i].Target.Length).ToArray();
        int size = Math.Max(options.BatchSize, 64);
        for (int start = 0; start < order.Length; start += size)
        {
            list.Add(ToEngine(TrainingBatches.Make(rows, order.AsSpan(start, Math.Min(size, order.Length - start)), padId, selfSource)));
        }

        return list;
    }

    /// <summary>Mean cross-entropy over every validation token (not a mean of batch means).</summary>
    internal static double Evaluate(TransformerModel model, IEnumerable<TokenBatch> batches)
    {
        double sum = 0;
        long count = 0;
        foreach (var b in batches)
        {
            var (s, c) = model.EvaluateLoss(b);
            sum += s;
            count += c;
        }

        return count == 0 ? double.NaN : sum / count;
    }

    internal static TokenBatch ToEngine(PaddedBatch b) =>
        new(b.Inputs, b.Rows, b.Length, b.Targets, b.Source ?? default(ReadOnlyMemory<long>), b.Source is null ? 0 : b.SourceLength);
}
