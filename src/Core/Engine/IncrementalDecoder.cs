// Generation on the engine with a key/value cache: one sequence, fed a few tokens at a time, each call costing the
// new positions' work instead of a forward over the whole prefix (mlt.h, "incremental decoding").

using MLNet.Transformer.Interop;

namespace MLNet.Transformer.Engine;

/// <summary>
/// Incremental decoding of one sequence on a <see cref="TransformerModel"/> with a key/value cache: the logits of
/// each position fed equal those of <see cref="TransformerModel.Forward"/> over the whole sequence (batch 1).
/// Create it with <see cref="TransformerModel.CreateDecoder"/>; dispose it to free the cache.
/// </summary>
/// <remarks>
/// The decoder reads the model's weights at each call (inference mode, no dropout, the model's precision); positions
/// already fed keep the keys and values of the weights they were fed with. One thread at a time per decoder; several
/// decoders over one model may run at once.
/// </remarks>
public sealed class IncrementalDecoder : IDisposable
{
    private readonly DecoderHandle _handle;
    private readonly int _vocabSize;

    internal IncrementalDecoder(DecoderHandle handle, int vocabSize, int capacity)
    {
        _handle = handle;
        _vocabSize = vocabSize;
        Capacity = capacity;
    }

    /// <summary>Positions fed so far.</summary>
    public int Length
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
            int length;
            unsafe
            {
                NativeStatus.Check(NativeMethods.mlt_decoder_length(&length, _handle));
            }

            return length;
        }
    }

    /// <summary>The most positions this decoder can hold (the model's <see cref="TransformerModelConfig.MaxLength"/>).</summary>
    public int Capacity { get; }

    /// <summary>Feeds tokens at the next positions and returns their logits.</summary>
    /// <param name="tokens">Token ids, at least one; <see cref="Length"/> plus their count may not exceed <see cref="Capacity"/>.</param>
    /// <returns>Logits (n, V): row i belongs to position <see cref="Length"/> + i before the call.</returns>
    /// <exception cref="TransformerArgumentException">No token, an id out of range, or more positions than <see cref="Capacity"/>; nothing is fed.</exception>
    public FloatTensor Feed(ReadOnlySpan<long> tokens)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (tokens.IsEmpty)
        {
            throw new TransformerArgumentException("Feed at least one token.", nameof(tokens));
        }

        int length = Length;
        if (tokens.Length > Capacity - length)
        {
            throw new TransformerArgumentException(
                $"The decoder holds {length} of {Capacity} positions (TransformerModelConfig.MaxLength) and cannot take {tokens.Length} more.",
                nameof(tokens));
        }

        TransformerModel.CheckIds(tokens, _vocabSize, "tokens", "VocabSize");

        var logits = new float[checked(tokens.Length * _vocabSize)];
        unsafe
        {
            fixed (long* pTokens = tokens)
            fixed (float* pLogits = logits)
            {
                NativeStatus.Check(NativeMethods.mlt_decoder_feed(pLogits, logits.LongLength, _handle, pTokens, tokens.Length));
            }
        }

        return new FloatTensor(logits, tokens.Length, _vocabSize);
    }

    /// <summary>Frees the cache (the model stays usable).</summary>
    public void Dispose() => _handle.Dispose();
}
