// Seeded, realistic attention weights for the tests: softmax rows (sum 1), causal masks for decoder self-attention,
// and heads with recognisable habits (previous token, first token, current token, diffuse).
namespace MLNet.Transformer.Visualization.Tests;

internal static class TestData
{
    public static readonly string[] Flycatcher = ["<BOS>", "f", "l", "y", "c", "a", "t", "c", "h", "e", "r"];

    /// <summary>A decoder-only model, 2 layers x 4 heads, over "&lt;BOS&gt; f l y c a t c h e r".</summary>
    public static AttentionData DecoderOnly(int seed = 42) =>
        new("flycatcher", [Section(AttentionKind.DecoderSelf, Flycatcher, Flycatcher, 2, 4, seed)],
            "decoder-only \u00b7 L2 H4 d64 \u00b7 char-level names");

    /// <summary>An encoder-decoder model (transliteration-like) with encoder, decoder and cross sections.</summary>
    public static AttentionData EncoderDecoder(int seed = 7)
    {
        string[] source = ["<BOS>", "k", "a", "t", "z", "e", "<EOS>"];
        string[] target = ["<BOS>", "c", "a", "t", "s"];
        return new AttentionData("katze \u2192 cats",
        [
            Section(AttentionKind.EncoderSelf, source, source, 3, 2, seed),
            Section(AttentionKind.DecoderSelf, target, target, 2, 2, seed + 1),
            Section(AttentionKind.Cross, target, source, 2, 2, seed + 2),
        ], "encoder-decoder \u00b7 enc L3 H2 \u00b7 dec L2 H2 \u00b7 d32");
    }

    /// <summary>Softmax attention of the given shape; decoder self-attention is causal.</summary>
    public static AttentionSection Section(AttentionKind kind, string[] queries, string[] keys, int layers, int heads, int seed)
    {
        var random = new Random(seed);
        int tq = queries.Length, tk = keys.Length;
        var weights = new float[layers * heads * tq * tk];
        var logits = new double[tk];
        for (int l = 0; l < layers; l++)
        {
            for (int h = 0; h < heads; h++)
            {
                int habit = (h + l) % 4;
                double sharpness = 1.5 + (2.5 * random.NextDouble());
                for (int q = 0; q < tq; q++)
                {
                    int last = kind == AttentionKind.DecoderSelf ? q : tk - 1; // causal: keys 0..q only
                    int diagonal = (int)Math.Round(q * (tk - 1) / (double)Math.Max(1, tq - 1));
                    double max = double.NegativeInfinity;
                    for (int k = 0; k <= last; k++)
                    {
                        double bias = habit switch
                        {
                            0 => k == Math.Max(0, (kind == AttentionKind.Cross ? diagonal : q) - 1) ? sharpness : 0,
                            1 => k == 0 ? sharpness : 0,
                            2 => k == (kind == AttentionKind.Cross ? diagonal : q) ? sharpness : 0,
                            _ => 0,
                        };
                        logits[k] = bias + (0.8 * Gaussian(random));
                        max = Math.Max(max, logits[k]);
                    }

                    double sum = 0;
                    for (int k = 0; k <= last; k++)
                    {
                        logits[k] = Math.Exp(logits[k] - max);
                        sum += logits[k];
                    }

                    int row = ((l * heads + h) * tq + q) * tk;
                    for (int k = 0; k <= last; k++)
                    {
                        weights[row + k] = (float)(logits[k] / sum);
                    }
                }
            }
        }

        return new AttentionSection(kind, queries, keys, layers, heads, weights);
    }

    /// <summary>Uniform causal attention (each row spreads evenly over the keys it may see).</summary>
    public static float[] UniformCausal(int layers, int heads, int t)
    {
        var w = new float[layers * heads * t * t];
        for (int m = 0; m < layers * heads; m++)
        {
            for (int q = 0; q < t; q++)
            {
                for (int k = 0; k <= q; k++)
                {
                    w[((m * t) + q) * t + k] = 1f / (q + 1);
                }
            }
        }

        return w;
    }

    private static double Gaussian(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2); // Box-Muller
    }
}
