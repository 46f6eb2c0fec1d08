// The owning handle of one native model (mlt_model*). Releasing it calls mlt_model_free exactly once,
// also when the managed owner forgot to dispose (SafeHandle's critical finalizer).

using Microsoft.Win32.SafeHandles;

namespace MLNet.Transformer.Interop;

/// <summary>A native <c>mlt_model*</c>; <see cref="ReleaseHandle"/> frees it with <c>mlt_model_free</c>.</summary>
internal sealed class ModelHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>Creates an invalid handle; the P/Invoke marshaller fills it from <c>mlt_model_create</c>.</summary>
    public ModelHandle()
        : base(ownsHandle: true)
    {
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        NativeMethods.mlt_model_free(handle);
        return true;
    }
}
