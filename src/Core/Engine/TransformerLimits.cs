// Upper bounds on model sizes, threads and processes, checked before any work starts, and the memory a training run
// needs, estimated from the architecture so that a model far beyond the machine is refused with a clear message
// instead of an allocation failure deep in libtorch.
namespace MLNet.Transformer.Engine;

/// <summary>The largest sizes the library accepts, and an estimate of the memory training needs.</summary>
public static class TransformerLimits
{
    /// <summary>Most blocks (decoder or encoder).</summary>
    public const int MaxLayers = 256;

    /// <summary>Most attention heads.</summary>
    public const int MaxHeads = 1024;

    /// <summary>Widest model dimension.</summary>
    public const int MaxModelDimension = 65_536;

    /// <summary>Widest feed-forward layer.</summary>
    public const int MaxFeedForwardDimension = 262_144;

    /// <summary>Longest sequence in tokens (BOS/EOS included).</summary>
    public const int MaxLength = 65_536;

    /// <summary>Largest vocabulary: every Unicode code point plus the special tokens.</summary>
    public const int MaxVocabularySize = 0x110000 + 16;

    /// <summary>Most CPU threads for one engine or trial: four per logical processor.</summary>
    public static int MaxThreads => 4 * Environment.ProcessorCount;

    /// <summary>Most data-parallel worker processes on one machine: two per logical processor.</summary>
    public static int MaxProcessesPerNode => Math.Max(2, 2 * Environment.ProcessorCount);

    /// <summary>
    /// Trainable parameters of <paramref name="config"/>: embeddings, output head and every block (attention
    /// 4E^2 + 4E, feed-forward 2EF + E + F, layer norms), as <c>StateLayout</c> lays them out, within a few percent.
    /// </summary>
    public static long EstimateParameters(TransformerModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        long e = config.ModelDim, f = config.FeedForwardDim, v = config.VocabSize;
        long attention = 4 * e * e + 4 * e;
        long feedForward = 2 * e * f + e + f;
        long block = attention + feedForward + 4 * e;
        long total = v * e + v * e + v + 2 * e + config.Layers * block;
        if (config.Kind == ModelKind.EncoderDecoder)
        {
            total += config.EffectiveSourceVocabSize * e + config.EncoderLayers * block + config.Layers * (attention + 2 * e);
        }

        return total;
    }

    /// <summary>
    /// Bytes a training step needs, roughly: weights, gradients and Adam's two moments (16 bytes per parameter), the
    /// positional table, and the activations of one batch kept for the backward pass (per layer and position: a few
    /// E-wide tensors, the feed-forward's F and H rows of attention over T keys).
    /// </summary>
    public static long EstimateTrainingBytes(TransformerModelConfig config, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(config);
        double e = config.ModelDim, f = config.FeedForwardDim, t = config.MaxLength, h = config.Heads, v = config.VocabSize;
        double layers = config.Layers + (config.Kind == ModelKind.EncoderDecoder ? config.EncoderLayers + config.Layers : 0);
        double perPosition = layers * (12 * e + 2 * f + 3 * h * t) + 3 * v;
        double bytes = 16.0 * EstimateParameters(config) + 4.0 * t * e + 4.0 * Math.Max(1, batchSize) * t * perPosition;
        return bytes >= long.MaxValue ? long.MaxValue : (long)bytes;
    }

    /// <summary>The memory this process may use: the GC's view, which honours a container's limit.</summary>
    public static long AvailableMemoryBytes => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
}
