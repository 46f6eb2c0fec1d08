// Models, batches, exports and checks shared by the ONNX tests: small random models straight from the engine,
// right-padded batches, the onnx checker (python3-onnx) and elementwise comparison that names the worst element.

using Google.Protobuf;
using MLNet.Transformer.Engine;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.TestKit;
using Xunit;

namespace MLNet.Transformer.Onnx.Tests;

internal static class OnnxTestKit
{
    /// <summary>A small decoder-only model (E 16, H 4, L 2, F 24, V 11, max length 12), dropout off.</summary>
    public static TransformerModelConfig SmallDecoder(ulong seed = 1) => new()
    {
        Kind = ModelKind.Decoder,
        VocabSize = 11,
        ModelDim = 16,
        Heads = 4,
        Layers = 2,
        FeedForwardDim = 24,
        MaxLength = 12,
        Dropout = 0f,
        Seed = seed,
    };

    /// <summary>A small encoder-decoder model (E 16, H 4, 2 + 2 layers, F 24, V 11), dropout off.</summary>
    public static TransformerModelConfig SmallEncoderDecoder(ulong seed = 1) => SmallDecoder(seed) with
    {
        Kind = ModelKind.EncoderDecoder,
        EncoderLayers = 2,
    };

    /// <summary>A fresh random seed, or MLT_PARITY_SEED to replay one.</summary>
    public static ulong RunSeed()
    {
        var fixedSeed = Environment.GetEnvironmentVariable("MLT_PARITY_SEED");
        return string.IsNullOrEmpty(fixedSeed)
            ? (ulong)Random.Shared.NextInt64(1, long.MaxValue)
            : ulong.Parse(fixedSeed, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// A model description with placeholder vocabularies of the right sizes. <paramref name="selfSource"/>: a
    /// single-column encoder-decoder; otherwise an encoder-decoder reads a source column.
    /// </summary>
    public static NextCharacterModelInfo Info(TransformerModelConfig cfg, bool selfSource = false)
    {
        bool trueSource = cfg.Kind == ModelKind.EncoderDecoder && !selfSource;
        return new NextCharacterModelInfo
        {
            Architecture = cfg,
            TextColumnName = "Text",
            SourceColumnName = trueSource ? "Source" : null,
            SelfSource = cfg.Kind == ModelKind.EncoderDecoder && selfSource,
            Vocabulary = Vocabulary(cfg.VocabSize, cfg.PadId),
            SourceVocabulary = trueSource ? Vocabulary(cfg.EffectiveSourceVocabSize, cfg.PadId) : null,
            PadId = cfg.PadId,
            BosId = (cfg.PadId + 1) % cfg.VocabSize,
            EosId = (cfg.PadId + 2) % cfg.VocabSize,
            UnkId = -1,
        };
    }

    /// <summary>Tokens "c0", "c1", ... with "&lt;PAD&gt;" at the pad id.</summary>
    public static string[] Vocabulary(int size, int pad) =>
        [.. Enumerable.Range(0, size).Select(i => i == pad ? "<PAD>" : $"c{i}")];

    /// <summary>Right-padded (rows, width) ids: row r has lengths[r] non-PAD ids drawn at random, then PAD.</summary>
    public static long[] Batch(Random rng, int[] lengths, int width, int vocab, int pad)
    {
        var ids = new long[lengths.Length * width];
        for (int r = 0; r < lengths.Length; r++)
        {
            for (int c = 0; c < width; c++)
            {
                long id = pad;
                if (c < lengths[r])
                {
                    do
                    {
                        id = rng.Next(vocab);
                    }
                    while (id == pad);
                }

                ids[(r * width) + c] = id;
            }
        }

        return ids;
    }

    public static byte[] ExportBytes(TransformerModel model, NextCharacterModelInfo info, OnnxExportOptions? options = null) =>
        OnnxExporter.Export(info, model.ExportState().AsReadOnly(), options).ToByteArray();

    /// <summary>Runs python3-onnx's full checker over <paramref name="files"/>; fails with its report otherwise.</summary>
    public static void AssertCheckerAccepts(params string[] files)
    {
        using var workspace = new PyTorchWorkspace();
        var script = RepoPaths.Combine("tests", "MLNet.Transformer.Onnx.Tests", "python", "check_onnx.py");
        var report = PyTorchReference.Run(script, workspace, TimeSpan.FromMinutes(2), files);
        Assert.Equal(files.Length, report.Split('\n').Count(l => l.StartsWith("OK ", StringComparison.Ordinal)));
    }

    /// <summary>Asserts |expected - actual| &lt;= tolerance elementwise, naming the worst element; returns the largest difference.</summary>
    public static double AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: expected {expected.Length} elements, got {actual.Length}");
        int worst = -1;
        double worstDiff = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs((double)expected[i] - actual[i]);
            if (!(diff <= worstDiff))
            {
                worstDiff = diff;
                worst = i;
            }
        }

        Assert.True(
            worstDiff <= tolerance,
            $"{what}: max |diff| = {worstDiff:E3} at flat index {worst} (expected {(worst < 0 ? 0 : expected[worst]):R}, got {(worst < 0 ? 0 : actual[worst]):R}), tolerance {tolerance:E1}");
        return worstDiff;
    }

    /// <summary>Softmax over the last axis of (rows, v) logits, in double, rounded to float.</summary>
    public static float[] Softmax(ReadOnlySpan<float> logits, int v)
    {
        var p = new float[logits.Length];
        for (int r = 0; r < logits.Length / v; r++)
        {
            var row = logits.Slice(r * v, v);
            double max = double.NegativeInfinity;
            foreach (var x in row)
            {
                max = Math.Max(max, x);
            }

            double sum = 0;
            foreach (var x in row)
            {
                sum += Math.Exp(x - max);
            }

            for (int j = 0; j < v; j++)
            {
                p[(r * v) + j] = (float)(Math.Exp(row[j] - max) / sum);
            }
        }

        return p;
    }

    /// <summary>(L, N, rest) -> (N, L, rest): the engine's layer-major attention in the export's row-major order.</summary>
    public static float[] LayerMajorToRowMajor(ReadOnlySpan<float> src, int layers, int n)
    {
        int block = src.Length / (layers * n);
        var dst = new float[src.Length];
        for (int l = 0; l < layers; l++)
        {
            for (int r = 0; r < n; r++)
            {
                src.Slice(((l * n) + r) * block, block).CopyTo(dst.AsSpan(((r * layers) + l) * block, block));
            }
        }

        return dst;
    }
}
