// Batched scoring of token rows with a native model: one forward pass per batch of rows serves every output
// (next-character distribution, teacher-forced predictions, row log-loss, attention of every layer and head).
using MLNet.Transformer.Engine;

namespace MLNet.Transformer.LanguageModeling;

/// <summary>Which per-row results a scoring batch must produce.</summary>
[Flags]
internal enum RowOutputs
{
    None = 0,
    Distribution = 1,   // next-character probabilities after the whole row
    Positions = 2,      // teacher-forced argmax per position
    Loss = 4,           // log-loss, token count, correct and top-k counts
    SelfAttention = 8,
    EncoderAttention = 16,
    CrossAttention = 32,
}

/// <summary>The scored form of one row. Arrays are null when not requested.</summary>
internal sealed class ScoredRow
{
    public int[] InputTokens { get; init; } = [];        // decoder input ids: the row without its trailing EOS
    public int[]? SourceTokens { get; init; }            // encoder input ids (true source only)
    public float[]? NextDistribution { get; set; }       // (V)
    public int[]? PositionPredictions { get; set; }      // (T) argmax at each input position
    public double LogLoss { get; set; } = double.NaN;    // mean NLL over the row's targets
    public int TargetCount { get; set; }
    public int Correct { get; set; }
    public int TopKCorrect { get; set; }
    public float[]? SelfAttention { get; set; }          // (L, H, T, T)
    public float[]? EncoderAttention { get; set; }       // (L_enc, H, S, S)
    public float[]? CrossAttention { get; set; }         // (L, H, T, S)
}

/// <summary>Scores rows of token ids (BOS ... EOS) in batches through a <see cref="TransformerModel"/>.</summary>
internal sealed class NextCharacterPredictor(TransformerModel model, NextCharacterModelInfo info, int topK)
{
    public NextCharacterModelInfo Info => info;

    /// <summary>
    /// Scores a batch. Decoder input is each row without a trailing EOS (so the last position predicts what follows
    /// the text); targets are the row shifted by one, EOS included.
    /// </summary>
    public ScoredRow[] Score(IReadOnlyList<int[]> rows, IReadOnlyList<int[]>? sources, RowOutputs outputs)
    {
        int b = rows.Count;
        var result = new ScoredRow[b];
        if (b == 0)
        {
            return result;
        }

        int max = info.Architecture.MaxLength;
        var inputs = new int[b][];
        int t = 1;
        for (int r = 0; r < b; r++)
        {
            int[] row = rows[r];
            int n = row.Length > 0 && row[^1] == info.EosId ? row.Length - 1 : row.Length;
            if (n == 0)
            {
                throw new ArgumentException($"Row {r} of column '{info.TokensColumnName}' is empty: the tokenizer must add a BOS token.");
            }

            if (n > max)
            {
                throw new ArgumentException($"Row {r} of column '{info.TokensColumnName}' has {n} input tokens; the model accepts at most {max} (MaximumLength).");
            }

            inputs[r] = row[..n];
            t = Math.Max(t, n);
        }

        var tokens = new long[b * t];
        var targets = new long[b * t];
        Array.Fill(tokens, info.PadId);
        Array.Fill(targets, info.PadId);
        for (int r = 0; r < b; r++)
        {
            int[] row = rows[r];
            for (int j = 0; j < inputs[r].Length; j++)
            {
                tokens[(r * t) + j] = row[j];
                if (j + 1 < row.Length)
                {
                    targets[(r * t) + j] = row[j + 1];
                }
            }
        }

        long[]? source = null;
        int s = 0;
        if (info.SelfSource)
        {
            source = tokens;
            s = t;
        }
        else if (info.HasSource)
        {
            if (sources is null)
            {
                throw new ArgumentException($"The model needs the source column '{info.SourceColumnName}'.");
            }

            s = Math.Max(1, sources.Max(x => x.Length));
            if (s > max)
            {
                throw new ArgumentException($"A row of source column '{info.SourceColumnName}' has {s} tokens; the model accepts at most {max}.");
            }

            source = new long[b * s];
            Array.Fill(source, info.PadId);
            for (int r = 0; r < b; r++)
            {
                for (int j = 0; j < sources[r].Length; j++)
                {
                    source[(r * s) + j] = sources[r][j];
                }
            }
        }

        var want = ForwardOutputs.None;
        if ((outputs & (RowOutputs.Distribution | RowOutputs.Positions | RowOutputs.Loss)) != 0)
        {
            want |= ForwardOutputs.Logits;
        }

        if ((outputs & RowOutputs.SelfAttention) != 0)
        {
            want |= ForwardOutputs.SelfAttention;
        }

        if (info.IsEncoderDecoder && (outputs & RowOutputs.EncoderAttention) != 0)
        {
            want |= ForwardOutputs.EncoderAttention;
        }

        if (info.IsEncoderDecoder && (outputs & RowOutputs.CrossAttention) != 0)
        {
            want |= ForwardOutputs.CrossAttention;
        }

        var batch = new TokenBatch(tokens, b, t, default, source ?? default(ReadOnlyMemory<long>), source is null ? 0 : s);
        var fwd = want == ForwardOutputs.None ? null : model.Forward(batch, want);
        int v = info.Architecture.VocabSize;
        int h = info.Architecture.Heads;
        int l = info.Architecture.Layers;
        int le = info.Architecture.EncoderLayers;
        for (int r = 0; r < b; r++)
        {
            int n = inputs[r].Length;
            int sr = info.HasSource ? sources![r].Length : n;
            var row = new ScoredRow { InputTokens = inputs[r], SourceTokens = info.HasSource ? sources![r] : null };
            if (fwd?.Logits is { } logits)
            {
                ReadOnlySpan<float> all = logits.Span;
                if ((outputs & RowOutputs.Distribution) != 0)
                {
                    var p = new float[v];
                    LogSoftmax.Softmax(all.Slice(((r * t) + n - 1) * v, v), p);
                    row.NextDistribution = p;
                }

                if ((outputs & RowOutputs.Positions) != 0)
                {
                    var pred = new int[n];
                    for (int j = 0; j < n; j++)
                    {
                        pred[j] = LogSoftmax.ArgMax(all.Slice(((r * t) + j) * v, v));
                    }

                    row.PositionPredictions = pred;
                }

                if ((outputs & RowOutputs.Loss) != 0)
                {
                    var acc = new MetricsAccumulator(topK);
                    double sum = 0;
                    for (int j = 0; j < n; j++)
                    {
                        long target = targets[(r * t) + j];
                        if (target != info.PadId)
                        {
                            sum += acc.Add(all.Slice(((r * t) + j) * v, v), (int)target);
                        }
                    }

                    var m = acc.Count;
                    row.TargetCount = m.Tokens;
                    row.Correct = m.Correct;
                    row.TopKCorrect = m.TopKCorrect;
                    row.LogLoss = m.Tokens == 0 ? double.NaN : sum / m.Tokens;
                }
            }

            if (fwd?.SelfAttention is { } sa)
            {
                row.SelfAttention = Slice(sa.Span, l, b, h, t, t, r, n, n);   // (L, B, H, T, T) -> (L, H, n, n)
            }

            if (fwd?.EncoderAttention is { } ea)
            {
                row.EncoderAttention = Slice(ea.Span, le, b, h, s, s, r, sr, sr);
            }

            if (fwd?.CrossAttention is { } ca)
            {
                row.CrossAttention = Slice(ca.Span, l, b, h, t, s, r, n, sr);
            }

            result[r] = row;
        }

        return result;
    }

    /// <summary>Copies row <paramref name="r"/>'s top-left (q, k) block of every layer and head out of (L, B, H, Q, K).</summary>
    private static float[] Slice(ReadOnlySpan<float> src, int layers, int b, int h, int qAll, int kAll, int r, int q, int k)
    {
        var dst = new float[layers * h * q * k];
        int o = 0;
        for (int li = 0; li < layers; li++)
        {
            for (int hi = 0; hi < h; hi++)
            {
                int baseIndex = ((((li * b) + r) * h) + hi) * qAll * kAll;
                for (int i = 0; i < q; i++)
                {
                    src.Slice(baseIndex + (i * kAll), k).CopyTo(dst.AsSpan(o, k));
                    o += k;
                }
            }
        }

        return dst;
    }
}
