// Autoregressive generation from a next-character model: greedy, temperature and top-k sampling, optional
// prefix, maximum length, stop at EOS. Every step re-runs the model over the whole prefix (the models are tiny;
// the engine keeps no KV cache), batched over the requested samples.
namespace MLNet.Transformer.LanguageModeling;

/// <summary>Settings of <see cref="NextCharacterPredictionTransformer.Generate"/>.</summary>
public sealed record GenerationOptions
{
    /// <summary>Text every sample starts with (characters outside the vocabulary map to UNK or are rejected).</summary>
    public string Prefix { get; init; } = "";

    /// <summary>For an encoder-decoder with a source column: the source text the output is conditioned on.</summary>
    public string? Source { get; init; }

    /// <summary>Number of samples.</summary>
    public int Count { get; init; } = 1;

    /// <summary>Most characters generated after the prefix (the model's maximum length also bounds it).</summary>
    public int MaximumLength { get; init; } = 32;

    /// <summary>0 = greedy (argmax); otherwise logits are divided by this before sampling.</summary>
    public float Temperature { get; init; } = 1f;

    /// <summary>Sample only among the K most probable tokens; 0 = all.</summary>
    public int TopK { get; init; }

    /// <summary>Seed of the sampler; the same seed gives the same samples.</summary>
    public int Seed { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (Count < 1)
        {
            throw new ArgumentException($"Option {nameof(Count)}: must be >= 1 (got {Count}).", nameof(Count));
        }

        if (MaximumLength < 1)
        {
            throw new ArgumentException($"Option {nameof(MaximumLength)}: must be >= 1 (got {MaximumLength}).", nameof(MaximumLength));
        }

        if (!(Temperature >= 0) || float.IsInfinity(Temperature))
        {
            throw new ArgumentException($"Option {nameof(Temperature)}: must be >= 0 and finite (got {Temperature}).", nameof(Temperature));
        }

        if (TopK < 0)
        {
            throw new ArgumentException($"Option {nameof(TopK)}: must be >= 0 (got {TopK}).", nameof(TopK));
        }
    }
}

internal static class TextGenerator
{
    public static IReadOnlyList<string> Generate(NextCharacterPredictor predictor, GenerationOptions options, Func<string, int[]> encodeChars, Func<string, int[]>? encodeSource)
    {
        options.Validate();
        var info = predictor.Info;
        var rng = new Random(options.Seed);
        int[] prefix = encodeChars(options.Prefix);
        int[]? source = null;
        if (info.HasSource)
        {
            source = encodeSource!(options.Source ?? throw new ArgumentException("This model reads a source column: GenerationOptions.Source is required.", nameof(options)));
        }

        int limit = Math.Min(options.MaximumLength, info.Architecture.MaxLength - 1 - prefix.Length);
        if (limit < 1)
        {
            throw new ArgumentException($"Option Prefix: '{options.Prefix}' leaves no room under the model's maximum length ({info.Architecture.MaxLength}).", nameof(options));
        }

        var seqs = new List<int>[options.Count];
        for (int i = 0; i < seqs.Length; i++)
        {
            seqs[i] = [info.BosId, .. prefix];
        }

        bool[] done = new bool[options.Count];
        for (int step = 0; step < limit && done.Contains(false); step++)
        {
            var live = Enumerable.Range(0, seqs.Length).Where(i => !done[i]).ToArray();
            var rows = live.Select(i => seqs[i].ToArray()).ToArray();
            var scored = predictor.Score(rows, source is null ? null : live.Select(_ => source).ToArray(), RowOutputs.Distribution | RowOutputs.Positions);
            for (int k = 0; k < live.Length; k++)
            {
                int next = Pick(scored[k], options, rng, info);
                if (next == info.EosId)
                {
                    done[live[k]] = true;
                }
                else
                {
                    seqs[live[k]].Add(next);
                }
            }
        }

        return seqs.Select(s => string.Concat(s.Skip(1).Select(id => info.Vocabulary[id]))).ToArray();
    }

    private static int Pick(ScoredRow row, GenerationOptions o, Random rng, NextCharacterModelInfo info)
    {
        float[] p = row.NextDistribution!;
        // Never emit PAD or BOS: they are not characters.
        p[info.PadId] = 0;
        if (info.BosId >= 0)
        {
            p[info.BosId] = 0;
        }

        if (o.Temperature == 0)
        {
            return LogSoftmax.ArgMax(p);
        }

        // p is softmax(logits); softmax(logits / T) is proportional to p^(1/T).
        var w = new double[p.Length];
        for (int i = 0; i < p.Length; i++)
        {
            w[i] = p[i] <= 0 ? 0 : Math.Pow(p[i], 1.0 / o.Temperature);
        }

        if (o.TopK > 0 && o.TopK < w.Length)
        {
            // Keep exactly the K largest (ties broken by lower id), zero the rest.
            int[] ranked = Enumerable.Range(0, w.Length).OrderByDescending(i => w[i]).ThenBy(i => i).ToArray();
            foreach (int i in ranked.AsSpan(o.TopK))
            {
                w[i] = 0;
            }
        }

        double total = w.Sum();
        if (!(total > 0))
        {
            return LogSoftmax.ArgMax(p);
        }

        double u = rng.NextDouble() * total;
        for (int i = 0; i < w.Length; i++)
        {
            u -= w[i];
            if (u < 0)
            {
                return i;
            }
        }

        return Array.FindLastIndex(w, x => x > 0);
    }
}
