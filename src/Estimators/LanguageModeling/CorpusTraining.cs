// Training on running text (TrainingMode.Corpus): the Text column's rows joined into one token stream held as
// 16-bit ids, random windows of ContextLength drawn from its head as nanoGPT's get_batch does, and a contiguous tail
// held out for validation. The window generator is counter-based (SplitMix64), so a resumed run, and the PyTorch
// reference bench/corpus_reference.py, draw exactly the same windows from the seed and the step alone.
using System.Diagnostics;
using MLNet.Transformer.Checkpoints;
using MLNet.Transformer.Engine;

namespace MLNet.Transformer.LanguageModeling;

/// <summary>A token stream of 16-bit ids (2 bytes per character) and its split into a training head and a validation tail.</summary>
internal sealed class CorpusStream
{
    public CorpusStream(ushort[] tokens, int length, double validationFraction)
    {
        Tokens = tokens;
        Length = length;
        TrainLength = length - (int)Math.Round(length * validationFraction);
    }

    /// <summary>The ids (only the first <see cref="Length"/> are used).</summary>
    public ushort[] Tokens { get; }

    /// <summary>Tokens in the stream.</summary>
    public int Length { get; }

    /// <summary>Tokens of the training head; the validation tail is [TrainLength, Length).</summary>
    public int TrainLength { get; }
}

/// <summary>
/// The window starts of step s: draw n = s * B + b of SplitMix64 seeded by the trainer's seed, modulo the number
/// of start positions (TrainLength - ContextLength). Counter-based, so step s needs no earlier draw.
/// </summary>
internal static class CorpusWindows
{
    private const ulong Gamma = 0x9E3779B97F4A7C15UL;

    /// <summary>SplitMix64's output for counter <paramref name="n"/> (Steele, Lea and Flood 2014).</summary>
    public static ulong Draw(ulong seed, ulong n)
    {
        unchecked
        {
            ulong z = seed + ((n + 1) * Gamma);
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary>
    /// Inputs <c>&lt;BOS&gt;</c>, s[i+1 .. i+T) and targets s[i+1 .. i+T] of the <paramref name="batch"/> windows of
    /// <paramref name="step"/>: a window starts with BOS in place of its first character, as every text the fitted
    /// model scores or continues does (BOS, then at most T - 1 characters).
    /// </summary>
    public static TokenBatch Batch(CorpusStream corpus, ulong seed, long step, int batch, int context, int bosId)
    {
        var inputs = new long[batch * context];
        var targets = new long[batch * context];
        ulong starts = (ulong)(corpus.TrainLength - context);
        for (int b = 0; b < batch; b++)
        {
            int i = (int)(Draw(seed, ((ulong)step * (ulong)batch) + (ulong)b) % starts);
            for (int t = 0; t < context; t++)
            {
                inputs[(b * context) + t] = t == 0 ? bosId : corpus.Tokens[i + t];
                targets[(b * context) + t] = corpus.Tokens[i + t + 1];
            }
        }

        return new TokenBatch(inputs, batch, context, targets, default, 0);
    }

    /// <summary>
    /// The validation tail as consecutive, non-overlapping windows: window k reads s[v + kT .. v + kT + T), BOS in
    /// place of its first character as in training, and predicts the next character of each position; every tail
    /// character but the first is a target exactly once (a last, shorter window is padded).
    /// </summary>
    public static List<TokenBatch> Validation(CorpusStream corpus, int context, int padId, int bosId, int rowsPerBatch = 64)
    {
        var batches = new List<TokenBatch>();
        int start = corpus.TrainLength;
        int targetsLeft = corpus.Length - start - 1;
        var windows = new List<int>();
        for (int k = 0; k * context < targetsLeft; k++)
        {
            windows.Add(start + (k * context));
        }

        for (int w0 = 0; w0 < windows.Count; w0 += rowsPerBatch)
        {
            int rows = Math.Min(rowsPerBatch, windows.Count - w0);
            var inputs = new long[rows * context];
            var targets = new long[rows * context];
            Array.Fill(inputs, padId);
            Array.Fill(targets, padId);
            for (int r = 0; r < rows; r++)
            {
                int i = windows[w0 + r];
                int n = Math.Min(context, corpus.Length - 1 - i);
                for (int t = 0; t < n; t++)
                {
                    inputs[(r * context) + t] = t == 0 ? bosId : corpus.Tokens[i + t];
                    targets[(r * context) + t] = corpus.Tokens[i + t + 1];
                }
            }

            batches.Add(new TokenBatch(inputs, rows, context, targets, default, 0));
        }

        return batches;
    }
}

/// <summary>The step loop of corpus training: a step budget, evaluation every EvaluateEvery steps, checkpoints.</summary>
internal sealed class CorpusTrainingLoop(TransformerTrainerOptions options, int padId, int bosId)
{
    public TrainingHistory Run(TransformerModel model, CorpusStream corpus, int seed, Checkpoint? resume, Action<TrainingPosition>? checkpoint)
    {
        var ct = options.CancellationToken;
        int T = options.ContextLength, B = options.BatchSize;
        var position = TrainingLoop.Prepare(model, options, seed, rank: 0, resume);

        var validation = CorpusWindows.Validation(corpus, T, padId, bosId);
        var history = position is null ? [] : position.History.Select(h => new EpochRecord(h.Epoch, h.TrainLoss, h.ValidationLoss, h.Seconds, h.CharactersPerSecond)).ToList();
        double bestLoss = position?.BestLoss ?? double.PositiveInfinity;
        int bestEval = position?.BestEpoch ?? 0;
        double lossSum = position?.EpochLossSum ?? 0;
        long tokens = position?.EpochTokens ?? 0;
        double elapsedBefore = position?.ElapsedSeconds ?? 0;
        long total = options.MaxSteps;
        var clock = Stopwatch.StartNew();
        var evalClock = Stopwatch.StartNew();
        for (long step = position?.Step ?? 0; step < total; step++)
        {
            ct.ThrowIfCancellationRequested();
            float lr = TrainingBatches.LearningRate(options, step, total);
            var result = model.TrainStep(CorpusWindows.Batch(corpus, (ulong)(uint)seed, step, B, T, bosId), lr);
            lossSum += (double)result.Loss * B * T;
            tokens += (long)B * T;
            long done = step + 1;
            if (done % options.EvaluateEvery == 0 || done == total)
            {
                double? valid = validation.Count > 0 ? TrainingLoop.Evaluate(model, validation) : null;
                double seconds = evalClock.Elapsed.TotalSeconds;
                history.Add(new EpochRecord(history.Count + 1, lossSum / Math.Max(1, tokens), valid, seconds, tokens / Math.Max(1e-9, seconds)));
                if (valid is double v && v < bestLoss)
                {
                    (bestLoss, bestEval) = (v, history.Count);
                }

                options.Progress?.Report(new TrainingProgress(history.Count, (int)((total + options.EvaluateEvery - 1) / options.EvaluateEvery), done, total,
                    lossSum / Math.Max(1, tokens), valid, tokens / Math.Max(1e-9, seconds), clock.Elapsed, TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds / Math.Max(1, done - (position?.Step ?? 0)) * (total - done)), true));
                (lossSum, tokens) = (0, 0);
                evalClock.Restart();
            }
            else if (options.Progress is { } p && done % 10 == 0)
            {
                p.Report(new TrainingProgress(history.Count + 1, (int)((total + options.EvaluateEvery - 1) / options.EvaluateEvery), done, total,
                    lossSum / Math.Max(1, tokens), null, tokens / Math.Max(1e-9, evalClock.Elapsed.TotalSeconds), clock.Elapsed, TimeSpan.Zero, false));
            }

            if (checkpoint is not null && options.CheckpointEvery > 0 && done % options.CheckpointEvery == 0)
            {
                checkpoint(new TrainingPosition
                {
                    Seed = seed, Step = done, Epoch = history.Count + 1, BatchInEpoch = 0, EpochLossSum = lossSum, EpochTokens = tokens,
                    BestLoss = bestEval == 0 ? null : bestLoss, BestEpoch = bestEval, ElapsedSeconds = elapsedBefore + clock.Elapsed.TotalSeconds,
                    History = [.. history.Select(h => new CheckpointEpoch(h.Epoch, h.TrainLoss, h.ValidationLoss, h.Seconds, h.CharactersPerSecond))],
                    Options = TrainingLoop.ResumeOptions(options),
                });
            }
        }

        return new TrainingHistory(history, bestEval == 0 ? null : bestEval, bestEval == 0 ? null : bestLoss, false, false, elapsedBefore + clock.Elapsed.TotalSeconds)
        {
            Steps = total,
        };
    }
}
