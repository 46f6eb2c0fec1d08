// The training loop shared by the next-character trainers: epochs of shuffled, padded batches through the
// native engine, learning-rate schedule, validation over every held-out token, early stopping with the best
// weights kept, progress reports and cancellation. Knows nothing about the architecture. With a process group,
// every rank draws the same global batches and trains on its slice of each (data parallelism, as PyTorch's
// DistributedSampler + DDP); validation is summed over the ranks, so every rank stops at the same epoch.
// It reports its position to a checkpoint callback every CheckpointEvery steps, and continues from such a position.
using System.Diagnostics;
using MLNet.Transformer.Checkpoints;
using MLNet.Transformer.Engine;

namespace MLNet.Transformer.LanguageModeling;

internal sealed class TrainingLoop(TransformerTrainerOptions options, int padId, bool selfSource)
{
    /// <summary>
    /// Readies a model for a run: the dropout seed (one stream per rank), the optimiser from the options, and, when
    /// resuming, the checkpoint's optimiser and random-number state. Returns where the checkpoint left off (null: start).
    /// </summary>
    internal static TrainingPosition? Prepare(TransformerModel model, TransformerTrainerOptions options, int seed, int rank, Checkpoint? resume)
    {
        model.SetSeed(unchecked(((ulong)seed * 2654435761UL) + 1 + (ulong)rank));
        model.SetOptimizer(new OptimizerSettings
        {
            Kind = options.Optimizer == TransformerOptimizer.AdamW ? OptimizerKind.AdamW : OptimizerKind.Adam,
            WeightDecay = options.WeightDecay,
            ClipGradNorm = options.GradientClipNorm,
        });
        if (resume is not null)
        {
            model.ImportOptimizerState(resume.Optimizer ?? throw new ModelFormatException("The checkpoint to resume holds no optimizer state.", "optimizer"));
            model.ImportRandomState(resume.RandomState ?? throw new ModelFormatException("The checkpoint to resume holds no random-number state.", "rng"));
        }

        return resume?.Training;
    }

    /// <summary>Trains <paramref name="model"/> in place and returns the per-epoch history.</summary>
    /// <param name="model">The model, holding the resumed weights when <paramref name="resume"/> is given.</param>
    /// <param name="train">Training rows.</param>
    /// <param name="validation">Validation rows (may be empty).</param>
    /// <param name="seed">The trainer's seed.</param>
    /// <param name="resume">A checkpoint's position, optimiser and random state to continue from, or null.</param>
    /// <param name="checkpoint">Called every <see cref="TransformerTrainerOptions.CheckpointEvery"/> steps with the position (the model holds the rest).</param>
    public TrainingHistory Run(
        TransformerModel model, IReadOnlyList<TokenRow> train, IReadOnlyList<TokenRow> validation, int seed,
        Checkpoint? resume = null, Action<TrainingPosition>? checkpoint = null)
    {
        var group = model.Group;
        int world = group?.WorldSize ?? 1;
        int rank = group?.Rank ?? 0;
        var collectiveStart = group?.Statistics().AllReduceTime ?? TimeSpan.Zero;
        var ct = options.CancellationToken;
        var rng = new Random(seed);
        // Dropout streams differ between ranks (independent masks, as with one process's larger batch).
        var position = Prepare(model, options, seed, rank, resume);

        // BatchSize is per rank: one step consumes BatchSize rows on each of the world's ranks.
        int globalBatch = options.BatchSize * world;
        int batchesPerEpoch = (train.Count + globalBatch - 1) / globalBatch;
        long totalSteps = (long)batchesPerEpoch * options.Epochs;
        var validationBatches = MakeValidationBatches(validation);
        bool validating = validationBatches.Count > 0;
        if (world > 1)
        {
            // This rank evaluates every world-th validation batch; the sums are added over the ranks.
            validationBatches = [.. validationBatches.Where((_, i) => i % world == rank)];
        }

        var history = position is null ? [] : position.History.Select(h => new EpochRecord(h.Epoch, h.TrainLoss, h.ValidationLoss, h.Seconds, h.CharactersPerSecond)).ToList();
        var clock = Stopwatch.StartNew();
        double elapsedBefore = position?.ElapsedSeconds ?? 0;
        long step = position?.Step ?? 0;
        double bestLoss = position?.BestLoss ?? double.PositiveInfinity;
        int bestEpoch = position?.BestEpoch ?? 0;
        int sinceBest = position?.SinceBest ?? 0;
        IDictionary<string, (long[] Shape, float[] Data)>? bestState = position?.BestWeights?.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        bool stoppedEarly = false;
        int firstEpoch = position?.Epoch ?? 1;

        // The shuffles of the epochs already done are drawn again, so the generator stands where the run left it.
        for (int epoch = 1; epoch < firstEpoch; epoch++)
        {
            TrainingBatches.EpochOrder(train, globalBatch, options.LengthBucketing, rng);
        }

        for (int epoch = firstEpoch; epoch <= options.Epochs; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            bool resumed = position is not null && epoch == position.Epoch;
            double lossSum = resumed ? position!.EpochLossSum : 0;
            long tokens = resumed ? position!.EpochTokens : 0;
            int batchInEpoch = 0;
            int skip = resumed ? position!.BatchInEpoch : 0;
            foreach (int[] global in TrainingBatches.EpochOrder(train, globalBatch, options.LengthBucketing, rng))
            {
                if (batchInEpoch < skip)
                {
                    batchInEpoch++;
                    continue;
                }

                ct.ThrowIfCancellationRequested();
                var b = world == 1 ? TrainingBatches.Make(train, global, padId, selfSource) : Slice(train, global, world, rank);
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

                // The step's loss is the mean over every rank's targets: weight it by the global batch's count.
                long stepTokens = world == 1 ? b.TargetTokens : TrainingBatches.CountTargets(train, global, padId);
                lossSum += (double)result.Loss * stepTokens;
                tokens += stepTokens;
                step++;
                batchInEpoch++;
                if (checkpoint is not null && options.CheckpointEvery > 0 && step % options.CheckpointEvery == 0)
                {
                    checkpoint(new TrainingPosition
                    {
                        Seed = seed,
                        Step = step,
                        Epoch = epoch,
                        BatchInEpoch = batchInEpoch,
                        EpochLossSum = lossSum,
                        EpochTokens = tokens,
                        BestLoss = bestEpoch == 0 ? null : bestLoss,
                        BestEpoch = bestEpoch,
                        SinceBest = sinceBest,
                        ElapsedSeconds = elapsedBefore + clock.Elapsed.TotalSeconds,
                        History = [.. history.Select(h => new CheckpointEpoch(h.Epoch, h.TrainLoss, h.ValidationLoss, h.Seconds, h.CharactersPerSecond))],
                        BestWeights = bestState?.AsReadOnly(),
                        Options = ResumeOptions(options),
                    });
                }

                if (options.Progress is { } p && (step % 10 == 0))
                {
                    p.Report(Report(epoch, step, totalSteps, lossSum / Math.Max(1, tokens), null, tokens, epochClock, clock, false));
                }
            }

            double trainLoss = lossSum / Math.Max(1, tokens);
            double? validLoss = validating ? Evaluate(model, validationBatches, group) : null;
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

        // Every rank leaves the loop together before anyone leaves the group.
        group?.Barrier();
        return new TrainingHistory(history, bestEpoch == 0 ? null : bestEpoch, bestEpoch == 0 ? null : bestLoss, stoppedEarly, restored, elapsedBefore + clock.Elapsed.TotalSeconds)
        {
            WorldSize = world,
            Rank = rank,
            Steps = step,
            AllReduceTime = group is null ? TimeSpan.Zero : group.Statistics().AllReduceTime - collectiveStart,
        };
    }

    /// <summary>
    /// The options a resumed run must share with the run that wrote the checkpoint, by option name: they decide the
    /// batches, the schedule and the stopping rule.
    /// </summary>
    internal static IReadOnlyDictionary<string, string> ResumeOptions(TransformerTrainerOptions o) => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [nameof(o.Epochs)] = Invariant(o.Epochs),
        [nameof(o.BatchSize)] = Invariant(o.BatchSize),
        [nameof(o.LearningRate)] = Invariant(o.LearningRate),
        [nameof(o.WarmupSteps)] = Invariant(o.WarmupSteps),
        [nameof(o.Schedule)] = o.Schedule.ToString(),
        [nameof(o.LengthBucketing)] = Invariant(o.LengthBucketing),
        [nameof(o.EarlyStoppingPatience)] = Invariant(o.EarlyStoppingPatience),
        [nameof(o.KeepBestWeights)] = Invariant(o.KeepBestWeights),
        [nameof(o.Optimizer)] = o.Optimizer.ToString(),
        [nameof(o.WeightDecay)] = Invariant(o.WeightDecay),
        [nameof(o.GradientClipNorm)] = Invariant(o.GradientClipNorm),
        [nameof(o.Dropout)] = Invariant(o.Dropout),
        [nameof(o.ValidationFraction)] = Invariant(o.ValidationFraction),
        [nameof(o.Mode)] = o.Mode.ToString(),
        [nameof(o.ContextLength)] = Invariant(o.ContextLength),
        [nameof(o.MaxSteps)] = Invariant(o.MaxSteps),
        [nameof(o.EvaluateEvery)] = Invariant(o.EvaluateEvery),
        [nameof(o.Separator)] = o.Separator,
    };

    private static string Invariant(IFormattable v) => v.ToString(null, System.Globalization.CultureInfo.InvariantCulture);

    private static string Invariant(bool v) => v ? "true" : "false";

    /// <summary>
    /// This rank's share of a global batch: the ranks take consecutive, equal slices (the last ones shorter or
    /// empty). An empty share is one padding row, which the engine counts as no target.
    /// </summary>
    private PaddedBatch Slice(IReadOnlyList<TokenRow> rows, int[] global, int world, int rank)
    {
        int chunk = (global.Length + world - 1) / world;
        int start = Math.Min(global.Length, rank * chunk);
        int end = Math.Min(global.Length, start + chunk);
        if (end > start)
        {
            return TrainingBatches.Make(rows, global.AsSpan(start, end - start), padId, selfSource);
        }

        bool source = selfSource || (rows.Count > 0 && rows[0].Source is not null);
        return new PaddedBatch
        {
            Inputs = [padId], Targets = [padId], Source = source ? [padId] : null, Rows = 1, Length = 1,
            SourceLength = source ? 1 : 0, TargetTokens = 0,
        };
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

    /// <summary>Mean cross-entropy over every validation token (not a mean of batch means), over every rank's batches in a group.</summary>
    internal static double Evaluate(TransformerModel model, IEnumerable<TokenBatch> batches, ProcessGroup? group = null)
    {
        double sum = 0;
        long count = 0;
        foreach (var b in batches)
        {
            var (s, c) = model.EvaluateLoss(b);
            sum += s;
            count += c;
        }

        if (group is not null)
        {
            Span<double> totals = [sum, count];
            group.AllReduceSum(totals);
            (sum, count) = (totals[0], (long)totals[1]);
        }

        return count == 0 ? double.NaN : sum / count;
    }

    internal static TokenBatch ToEngine(PaddedBatch b) =>
        new(b.Inputs, b.Rows, b.Length, b.Targets, b.Source ?? default(ReadOnlyMemory<long>), b.Source is null ? 0 : b.SourceLength);
}
