// Turns tokenised rows into padded training batches: next-token inputs/targets, optional length bucketing,
// and per-epoch shuffling from a generator owned by the trainer.
namespace MLNet.Transformer.LanguageModeling;

/// <summary>One row: decoder tokens (BOS ... EOS) and, for encoder-decoder with a source column, the source tokens.</summary>
internal readonly record struct TokenRow(int[] Target, int[]? Source);

/// <summary>A padded batch, row-major: decoder inputs/targets (B, T) and source (B, S) when present.</summary>
internal sealed class PaddedBatch
{
    public required long[] Inputs { get; init; }   // (B, T)
    public required long[] Targets { get; init; }  // (B, T), pad where ignored
    public long[]? Source { get; init; }            // (B, S)
    public required int Rows { get; init; }         // B
    public required int Length { get; init; }       // T
    public int SourceLength { get; init; }          // S
    public required long TargetTokens { get; init; } // non-pad targets
}

internal static class TrainingBatches
{
    /// <summary>
    /// Pads rows[order] into batches. Decoder input is the row without its last token, the target the row
    /// shifted by one (teacher forcing), exactly the seed's <c>x = seq[:-1], y = seq[1:]</c>.
    /// When <paramref name="selfSource"/> is true the source is the decoder input itself (honest single-column
    /// encoder-decoder: causal encoder over the same prefix).
    /// </summary>
    public static PaddedBatch Make(IReadOnlyList<TokenRow> rows, ReadOnlySpan<int> order, int padId, bool selfSource)
    {
        int b = order.Length;
        int t = 1;
        int s = 0;
        foreach (int i in order)
        {
            t = Math.Max(t, rows[i].Target.Length - 1);
            if (rows[i].Source is { } src)
            {
                s = Math.Max(s, src.Length);
            }
        }

        var inputs = new long[b * t];
        var targets = new long[b * t];
        Array.Fill(inputs, padId);
        Array.Fill(targets, padId);
        long count = 0;
        for (int r = 0; r < b; r++)
        {
            int[] seq = rows[order[r]].Target;
            for (int j = 0; j + 1 < seq.Length; j++)
            {
                inputs[(r * t) + j] = seq[j];
                targets[(r * t) + j] = seq[j + 1];
                if (seq[j + 1] != padId)
                {
                    count++;
                }
            }
        }

        long[]? source = null;
        if (selfSource)
        {
            source = inputs;
            s = t;
        }
        else if (s > 0)
        {
            source = new long[b * s];
            Array.Fill(source, padId);
            for (int r = 0; r < b; r++)
            {
                int[] src = rows[order[r]].Source!;
                for (int j = 0; j < src.Length; j++)
                {
                    source[(r * s) + j] = src[j];
                }
            }
        }

        return new PaddedBatch { Inputs = inputs, Targets = targets, Source = source, Rows = b, Length = t, SourceLength = s, TargetTokens = count };
    }

    /// <summary>Non-pad targets of rows[order] (what <see cref="Make"/> counts), without building the batch.</summary>
    public static long CountTargets(IReadOnlyList<TokenRow> rows, ReadOnlySpan<int> order, int padId)
    {
        long count = 0;
        foreach (int i in order)
        {
            int[] seq = rows[i].Target;
            for (int j = 1; j < seq.Length; j++)
            {
                count += seq[j] != padId ? 1 : 0;
            }
        }

        return count;
    }

    /// <summary>
    /// The batches of one epoch: a random permutation; with bucketing, rows are sorted by length inside windows of
    /// 16 batches and the batches themselves shuffled, so padding shrinks but every epoch differs.
    /// </summary>
    public static List<int[]> EpochOrder(IReadOnlyList<TokenRow> rows, int batchSize, bool bucketing, Random rng)
    {
        int n = rows.Count;
        int[] perm = Enumerable.Range(0, n).ToArray();
        rng.Shuffle(perm);
        if (bucketing)
        {
            int window = batchSize * 16;
            for (int start = 0; start < n; start += window)
            {
                int len = Math.Min(window, n - start);
                Array.Sort(perm, start, len, Comparer<int>.Create((a, b) => rows[a].Target.Length.CompareTo(rows[b].Target.Length)));
            }
        }

        var batches = new List<int[]>((n + batchSize - 1) / batchSize);
        for (int start = 0; start < n; start += batchSize)
        {
            batches.Add(perm[start..Math.Min(n, start + batchSize)]);
        }

        if (bucketing)
        {
            rng.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(batches));
        }

        return batches;
    }

    /// <summary>Learning rate at 0-based <paramref name="step"/> of <paramref name="totalSteps"/>.</summary>
    public static float LearningRate(TransformerTrainerOptions o, long step, long totalSteps)
    {
        if (o.WarmupSteps > 0 && step < o.WarmupSteps)
        {
            return o.LearningRate * (step + 1) / o.WarmupSteps;
        }

        long decaySteps = Math.Max(1, totalSteps - o.WarmupSteps);
        double progress = Math.Clamp((double)(step - o.WarmupSteps) / decaySteps, 0, 1);
        double min = o.MinimumLearningRateFraction;
        double factor = o.Schedule switch
        {
            LearningRateSchedule.Linear => 1 - ((1 - min) * progress),
            LearningRateSchedule.Cosine => min + ((1 - min) * 0.5 * (1 + Math.Cos(Math.PI * progress))),
            _ => 1,
        };
        return (float)(o.LearningRate * factor);
    }
}
