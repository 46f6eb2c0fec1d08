// Autoregressive generation from a next-character model through ONNX Runtime: greedy, temperature and top-k
// sampling, optional prefix, maximum length, stop at EOS. Each step feeds only the new character to the model's
// key/value-cache export (the whole prefix without the cache).
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNet.Transformer.Onnx;
using MLNet.Transformer.Text;

namespace MLNet.Transformer.LanguageModeling;

/// <summary>Settings of <see cref="NextCharacterPredictionTransformer.Generate(GenerationOptions)"/>.</summary>
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

    /// <summary>
    /// Keep every attention's keys and values between steps (a key/value cache, the model's
    /// <see cref="OnnxExportOptions.Incremental"/> export), so that each character costs one position instead of the
    /// whole text so far. Default true; false re-reads the whole text at every step (the same probabilities within
    /// float rounding, so the same samples). A model that cannot be cached (see <see cref="OnnxExporter.CanCache"/>)
    /// generates without it.
    /// </summary>
    public bool UseCache { get; init; } = true;

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
    /// Samples from an exported model (the code-point graph of a fitted pipeline) one token at a time. Samples start
    /// with the prefix as the model reads it (normalised and cased as in training) and end before EOS.
    /// <paramref name="onText"/>, when given, receives each sample's index and its text as it grows: the prefix
    /// first, then one token at a time.
    /// </summary>
    public static IReadOnlyList<string> Generate(byte[] onnx, string source, GenerationOptions options, Action<int, string>? onText = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var file = OnnxModelFile.Read(onnx, source);
        if (options.UseCache && file.Members.All(m => OnnxExporter.CanCache(m.Info)))
        {
            using var cached = new CachedSteps(file, source);
            return Generate(cached, file.Info, options, onText);
        }

        using var scorer = new OnnxNextCharacterScorer(onnx, source);
        if (scorer.Input != OnnxInput.CodePoints)
        {
            throw new ArgumentException("Generation reads a code-point export (the model inside a fitted pipeline).", nameof(onnx));
        }

        using var full = new FullSteps(scorer);
        return Generate(full, file.Info, options, onText);
    }

    private static string[] Generate(IStepper stepper, NextCharacterModelInfo info, GenerationOptions options, Action<int, string>? onText)
    {
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
            onText?.Invoke(i, start);
            stepper.Reset();
            for (int step = 0; step < limit; step++)
            {
                float[] p = stepper.Next(seq, source);
                int next = Pick(p, options, rng, info);
                if (next == info.EosId)
                {
                    break;
                }

                string token = info.Vocabulary[next];
                text.Append(token);
                onText?.Invoke(i, token);
                seq.Add(CodePoints.OfToken(token));
            }

            samples[i] = text.ToString();
        }

        return samples;
    }

    /// <summary>Next-token probabilities after a growing sequence of code points.</summary>
    private interface IStepper : IDisposable
    {
        /// <summary>Starts a new sequence.</summary>
        void Reset();

        /// <summary>The probabilities after the last of <paramref name="sequence"/>, which extends the previous call's.</summary>
        float[] Next(List<long> sequence, long[]? source);
    }

    /// <summary>Without a cache: the model runs over the whole sequence at every step.</summary>
    private sealed class FullSteps(OnnxNextCharacterScorer scorer) : IStepper
    {
        public void Reset()
        {
        }

        public float[] Next(List<long> sequence, long[]? source) =>
            scorer.Run([.. sequence], 1, sequence.Count, source, source?.Length ?? 0, OnnxNames.NextTokenProbabilities)[OnnxNames.NextTokenProbabilities].Data;

        public void Dispose()
        {
        }
    }

    /// <summary>
    /// With a key/value cache: the model's <see cref="OnnxExportOptions.Incremental"/> export, built in memory from
    /// its weights; each call feeds the positions the cache lacks and keeps the present keys and values.
    /// </summary>
    private sealed class CachedSteps : IStepper
    {
        private readonly InferenceSession _session;
        private readonly string[] _past;
        private readonly long[][] _emptyShapes;
        private readonly string[] _outputs;
        private readonly string? _sourceName;
        private readonly RunOptions _run = new();
        private IDisposableReadOnlyCollection<OrtValue>? _results;
        private int _consumed;

        public CachedSteps(OnnxModelFile file, string source)
        {
            var model = OnnxExporter.Export(file.Members, OnnxExportOptions.Incremental with { Input = OnnxInput.CodePoints });
            using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
            try
            {
                _session = new InferenceSession(model.ToByteArray(), options);
            }
            catch (OnnxRuntimeException e)
            {
                throw new OnnxModelFormatException($"ONNX Runtime cannot load the key/value-cache graph: {e.Message}", source, "graph", e);
            }

            _past = [.. _session.InputMetadata.Keys.Where(k => k.StartsWith(OnnxNames.PastPrefix, StringComparison.Ordinal))];
            _emptyShapes = [.. _past.Select(k => new long[] { 1, _session.InputMetadata[k].Dimensions[1], 0, _session.InputMetadata[k].Dimensions[3] })];
            _outputs = [OnnxNames.NextTokenProbabilities, .. _past.Select(k => OnnxNames.PresentPrefix + k[OnnxNames.PastPrefix.Length..])];
            _sourceName = _session.InputMetadata.ContainsKey(OnnxNames.SourceCodePoints) ? OnnxNames.SourceCodePoints : null;
        }

        public void Reset()
        {
            _results?.Dispose();
            _results = null;
            _consumed = 0;
        }

        public float[] Next(List<long> sequence, long[]? source)
        {
            int count = sequence.Count - _consumed;
            var names = new List<string>(_past.Length + 2) { OnnxNames.CodePoints };
            var owned = new List<OrtValue> { OrtValue.CreateTensorValueFromMemory(sequence.GetRange(_consumed, count).ToArray(), [1, count]) };
            try
            {
                if (_sourceName is not null)
                {
                    names.Add(_sourceName);
                    owned.Add(OrtValue.CreateTensorValueFromMemory(source!, [1, source!.Length]));
                }

                var values = new List<OrtValue>(owned);
                for (int i = 0; i < _past.Length; i++)
                {
                    names.Add(_past[i]);
                    if (_results is null)
                    {
                        var empty = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, _emptyShapes[i]);
                        owned.Add(empty);
                        values.Add(empty);
                    }
                    else
                    {
                        values.Add(_results[i + 1]);   // present.{module} of the previous call
                    }
                }

                var results = _session.Run(_run, names, values, _outputs);
                _results?.Dispose();
                _results = results;
                _consumed = sequence.Count;
                return results[0].GetTensorDataAsSpan<float>().ToArray();
            }
            finally
            {
                foreach (var v in owned)
                {
                    v.Dispose();
                }
            }
        }

        public void Dispose()
        {
            _results?.Dispose();
            _run.Dispose();
            _session.Dispose();
        }
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
