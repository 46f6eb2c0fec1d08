// Autoregressive generation from a next-character model through ONNX Runtime: greedy, temperature and top-k
// sampling, optional prefix, maximum length, stop at EOS. Every step re-runs the model over the whole prefix.
using MLNet.Transformer.Onnx;
using MLNet.Transformer.Text;

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
    /// <summary>
    /// Samples from an exported model one token at a time (the models are tiny and keep no KV cache: each step
    /// re-reads the whole prefix). Samples start with the prefix as the model reads it (normalised and cased as in
    /// training) and end before EOS.
    /// </summary>
    public static IReadOnlyList<string> Generate(OnnxNextCharacterScorer scorer, GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (scorer.Input != OnnxInput.CodePoints)
        {
            throw new ArgumentException("Generation reads a code-point export (the model inside a fitted pipeline).", nameof(scorer));
        }

        var info = scorer.Info;
        var rng = new Random(options.Seed);
        long[] prefix = CodePoints.Encode(options.Prefix, info.Normalize, info.LowerCase, addEos: false);
        long[]? source = null;
        if (!info.HasSource && options.Source is not null)
        {
            throw new ArgumentException("Option Source: this model reads no source column; leave Source unset.", nameof(options));
        }

        if (info.HasSource)
        {
            source = CodePoints.Encode(
                options.Source ?? throw new ArgumentException("This model reads a source column: GenerationOptions.Source is required.", nameof(options)),
                info.Normalize, info.LowerCase, addEos: true);
            if (source.Length > info.Architecture.MaxLength)
            {
                throw new ArgumentException($"Option Source: '{Shorten(options.Source)}' ({options.Source.Length:N0} characters) is longer than the model's maximum length ({info.Architecture.MaxLength}).", nameof(options));
            }
        }

        int limit = Math.Min(options.MaximumLength, info.Architecture.MaxLength - prefix.Length);
        if (limit < 1)
        {
            throw new ArgumentException($"Option Prefix: '{Shorten(options.Prefix)}' ({options.Prefix.Length:N0} characters) leaves no room under the model's maximum length ({info.Architecture.MaxLength}).", nameof(options));
        }

        string start = string.Concat(prefix.Skip(1).Select(c => c == CodePoints.Unknown ? "\uFFFD" : char.ConvertFromUtf32((int)c)));
        var samples = new string[options.Count];
        for (int i = 0; i < samples.Length; i++)
        {
            var seq = new List<long>(prefix);
            var text = new System.Text.StringBuilder(start);
            for (int step = 0; step < limit; step++)
            {
                var p = scorer.Run([.. seq], 1, seq.Count, source, source?.Length ?? 0, OnnxNames.NextTokenProbabilities)[OnnxNames.NextTokenProbabilities].Data;
                int next = Pick(p, options, rng, info);
                if (next == info.EosId)
                {
                    break;
                }

                string token = info.Vocabulary[next];
                text.Append(token);
                seq.Add(CodePoints.OfToken(token));
            }

            samples[i] = text.ToString();
        }

        return samples;
    }

    /// <summary>A text for an error message: at most 40 characters of it.</summary>
    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";

    private static int Pick(float[] p, GenerationOptions o, Random rng, NextCharacterModelInfo info)
    {
        // Never emit PAD, BOS or UNK: they are not characters (UNK stands for any character the model never saw).
        p[info.PadId] = 0;
        if (info.BosId >= 0)
        {
            p[info.BosId] = 0;
        }

        if (info.UnkId >= 0)
        {
            p[info.UnkId] = 0;
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
