// The owning handle of one native incremental decoder (mlt_decoder*). Releasing it calls mlt_decoder_free exactly
// once, also when the managed owner forgot to dispose (SafeHandle's critical finalizer). The native decoder keeps
// its model alive, so the two handles may be released in any order.

using Microsoft.Win32.SafeHandles;

namespace MLNet.Transformer.Interop;

/// <summary>A native <c>mlt_decoder*</c>; <see cref="ReleaseHandle"/> frees it with <c>mlt_decoder_free</c>.</summary>
internal sealed class DecoderHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>Creates an invalid handle; the P/Invoke marshaller fills it from <c>mlt_decoder_create</c>.</summary>
    public DecoderHandle()
        : base(ownsHandle: true)
    {
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        NativeMethods.mlt_decoder_free(handle);
        return true;
    }
}
