// Model descriptions, batches, exports and checks shared by the ONNX tests: placeholder vocabularies, right-padded
// batches, the onnx checker (python3-onnx), softmax and layout helpers (the small models are TestKit's SmallModels).

using Google.Protobuf;
using MLNet.Transformer.Engine;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.TestKit;
using MLNet.Transformer.Text;
using Xunit;

namespace MLNet.Transformer.Onnx.Tests;

internal static class OnnxTestKit
{
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

    /// <summary>
    /// A model description over a real character vocabulary, as the code-point exports need (they map text through
    /// it); an encoder-decoder reads its own text (single column).
    /// </summary>
    public static NextCharacterModelInfo CharacterInfo(TransformerModelConfig cfg, CharacterVocabulary vocab) => new()
    {
        Architecture = cfg, TextColumnName = "Text", SelfSource = cfg.Kind == ModelKind.EncoderDecoder, Vocabulary = [.. vocab.Tokens],
        PadId = CharacterVocabulary.PadId, BosId = CharacterVocabulary.BosId, EosId = CharacterVocabulary.EosId, UnkId = CharacterVocabulary.UnkId,
    };

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
