// Evaluation metrics of a next-character model over real (non-PAD) target positions, EOS included.
namespace MLNet.Transformer.LanguageModeling;

/// <summary>Next-character metrics, computed over every real target position (EOS included, PAD excluded).</summary>
/// <param name="LogLoss">Mean cross-entropy in nats per character.</param>
/// <param name="Accuracy">Fraction of positions whose most probable token is the target.</param>
/// <param name="TopKAccuracy">Fraction of positions whose target is among the <paramref name="TopK"/> most probable tokens.</param>
/// <param name="TopK">The K of <paramref name="TopKAccuracy"/> (5 by default).</param>
/// <param name="Tokens">Number of positions scored.</param>
/// <param name="Rows">Number of rows scored.</param>
public sealed record NextCharacterMetrics(double LogLoss, double Accuracy, double TopKAccuracy, int TopK, long Tokens, long Rows)
{
    /// <summary>exp(LogLoss): the effective number of equally likely next characters.</summary>
    public double Perplexity => Math.Exp(LogLoss);

    /// <summary>Log-loss in bits per character.</summary>
    public double BitsPerCharacter => LogLoss / Math.Log(2);
}

/// <summary>Accumulates <see cref="NextCharacterMetrics"/> from per-position logits.</summary>
internal sealed class MetricsAccumulator(int topK)
{
    private double _nll;
    private long _correct;
    private long _topK;
    private long _tokens;
    private long _rows;

    public void AddRow() => _rows++;

    /// <summary>Adds one position: <paramref name="logits"/> over the vocabulary and the target id. Returns its NLL.</summary>
    public double Add(ReadOnlySpan<float> logits, int target)
    {
        double nll = LogSoftmax.NegativeLogLikelihood(logits, target);
        _nll += nll;
        int better = 0;
        float t = logits[target];
        for (int i = 0; i < logits.Length; i++)
        {
            // Ties are broken by lower id, as argmax does.
            if (logits[i] > t || (logits[i] == t && i < target))
            {
                better++;
            }
        }

        if (better == 0)
        {
            _correct++;
        }

        if (better < topK)
        {
            _topK++;
        }

        _tokens++;
        return nll;
    }

    /// <summary>Raw counts so far.</summary>
    public (int Tokens, int Correct, int TopKCorrect) Count => ((int)_tokens, (int)_correct, (int)_topK);

    /// <summary>Adds the counts of an already scored row.</summary>
    public void AddCounts(double nllSum, long tokens, long correct, long topKCorrect)
    {
        _nll += nllSum;
        _tokens += tokens;
        _correct += correct;
        _topK += topKCorrect;
        _rows++;
    }

    public NextCharacterMetrics ToMetrics() => _tokens == 0
        ? throw new InvalidOperationException("No target positions were scored: the data has no rows with characters.")
        : new(_nll / _tokens, (double)_correct / _tokens, (double)_topK / _tokens, topK, _tokens, _rows);
}

/// <summary>Numerically stable softmax helpers over one row of logits.</summary>
internal static class LogSoftmax
{
    /// <summary>-log softmax(logits)[target], computed with the max-shift (log-sum-exp) trick.</summary>
    public static double NegativeLogLikelihood(ReadOnlySpan<float> logits, int target)
    {
        float max = float.NegativeInfinity;
        foreach (float l in logits)
        {
            max = Math.Max(max, l);
        }

        double sum = 0;
        foreach (float l in logits)
        {
            sum += Math.Exp(l - max);
        }

        return -(logits[target] - max - Math.Log(sum));
    }

    /// <summary>Writes softmax(logits / temperature) into <paramref name="probabilities"/>.</summary>
    public static void Softmax(ReadOnlySpan<float> logits, Span<float> probabilities, float temperature = 1f)
    {
        float max = float.NegativeInfinity;
        foreach (float l in logits)
        {
            max = Math.Max(max, l);
        }

        double sum = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            double e = Math.Exp((logits[i] - max) / temperature);
            probabilities[i] = (float)e;
            sum += e;
        }

        for (int i = 0; i < logits.Length; i++)
        {
            probabilities[i] = (float)(probabilities[i] / sum);
        }
    }

    /// <summary>Index of the largest logit (lowest index on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }

        return best;
    }
}

/// <summary>Aggregates the per-row loss columns of a scored view.</summary>
public static class NextCharacterEvaluation
{
    /// <summary>The metrics over every row of <paramref name="predictions"/> (columns LogLoss, TokenCount, Correct, TopKCorrect).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing: the view was not scored by a next-character model.</exception>
    public static NextCharacterMetrics Evaluate(Microsoft.ML.IDataView predictions)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        var s = predictions.Schema;
        Microsoft.ML.DataViewSchema.Column Get(string name) => NextCharacterColumns.Require(s, name, nameof(predictions));
        var loss = Get(NextCharacterColumns.LogLoss);
        var count = Get(NextCharacterColumns.TokenCount);
        var correct = Get(NextCharacterColumns.Correct);
        var topK = Get(NextCharacterColumns.TopKCorrect);
        var acc = new MetricsAccumulator(Onnx.OnnxExporter.TopK);
        using var cursor = predictions.GetRowCursor([loss, count, correct, topK]);
        var gl = cursor.GetGetter<double>(loss);
        var gc = cursor.GetGetter<int>(count);
        var gr = cursor.GetGetter<int>(correct);
        var gk = cursor.GetGetter<int>(topK);
        double l = 0;
        int c = 0, r = 0, k = 0;
        while (cursor.MoveNext())
        {
            gl(ref l);
            gc(ref c);
            gr(ref r);
            gk(ref k);
            acc.AddCounts(c == 0 ? 0 : l * c, c, r, k);
        }

        return acc.ToMetrics();
    }
}
