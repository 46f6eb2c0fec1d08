// A padded batch of token ids in the row-major layout the engine takes: decoder tokens (B, T), optional
// next-token targets (B, T) and, for encoder-decoder models, source tokens (B, S).

namespace MLNet.Transformer.Engine;

/// <summary>
/// One batch of token ids. B = batch size, T = decoder (target) length, S = source length (0 for
/// decoder-only models). Buffer lengths are checked against the shape here; ids are checked by the model.
/// </summary>
public sealed class TokenBatch
{
    /// <summary>Creates a batch.</summary>
    /// <param name="tokens">(B, T) decoder input ids, row-major.</param>
    /// <param name="batchSize">B, at least 1.</param>
    /// <param name="targetLength">T, at least 1.</param>
    /// <param name="targets">(B, T) next-token targets, or empty when only a forward pass is needed.</param>
    /// <param name="source">(B, S) encoder input ids (encoder-decoder models), or empty.</param>
    /// <param name="sourceLength">S; 0 for decoder-only models.</param>
    /// <exception cref="TransformerArgumentException">A size is negative or a buffer does not match the shape.</exception>
    public TokenBatch(
        ReadOnlyMemory<long> tokens,
        int batchSize,
        int targetLength,
        ReadOnlyMemory<long> targets = default,
        ReadOnlyMemory<long> source = default,
        int sourceLength = 0)
    {
        CheckShape(tokens.Length, targets.Length, source.Length, batchSize, targetLength, sourceLength, targetsRequired: false);
        Tokens = tokens;
        Targets = targets;
        Source = source;
        BatchSize = batchSize;
        TargetLength = targetLength;
        SourceLength = sourceLength;
    }

    /// <summary>(B, T) decoder input ids.</summary>
    public ReadOnlyMemory<long> Tokens { get; }

    /// <summary>(B, T) next-token targets; empty when not given.</summary>
    public ReadOnlyMemory<long> Targets { get; }

    /// <summary>(B, S) source ids; empty for decoder-only models.</summary>
    public ReadOnlyMemory<long> Source { get; }

    /// <summary>B.</summary>
    public int BatchSize { get; }

    /// <summary>T.</summary>
    public int TargetLength { get; }

    /// <summary>S (0 for decoder-only models).</summary>
    public int SourceLength { get; }

    /// <summary>Whether targets were given.</summary>
    public bool HasTargets => !Targets.IsEmpty;

    /// <summary>Checks buffer lengths against (B, T, S); shared with the span overloads of TransformerModel.</summary>
    internal static void CheckShape(
        long tokensLength, long targetsLength, long sourceLength, int batch, int targetLength, int sourceLen, bool targetsRequired)
    {
        if (batch < 1)
        {
            throw TransformerArgumentException.ForOption($"The batch size must be at least 1, got {batch}.", "batch");
        }

        if (targetLength < 1)
        {
            throw TransformerArgumentException.ForOption($"The target length T must be at least 1, got {targetLength}.", "targetLength");
        }

        if (sourceLen < 0)
        {
            throw TransformerArgumentException.ForOption($"The source length S must not be negative, got {sourceLen}.", "sourceLength");
        }

        var bt = (long)batch * targetLength;
        if (tokensLength != bt)
        {
            throw TransformerArgumentException.ForOption(
                $"tokens holds {tokensLength} ids but the shape (B={batch}, T={targetLength}) needs {bt}.", "tokens");
        }

        if (targetsRequired ? targetsLength != bt : targetsLength != 0 && targetsLength != bt)
        {
            throw TransformerArgumentException.ForOption(
                $"targets holds {targetsLength} ids but the shape (B={batch}, T={targetLength}) needs {bt}.", "targets");
        }

        var bs = (long)batch * sourceLen;
        if (sourceLength != bs)
        {
            throw TransformerArgumentException.ForOption(
                $"source holds {sourceLength} ids but the shape (B={batch}, S={sourceLen}) needs {bs}.", "source");
        }
    }
}
