// The owning handle of one native model (mlt_model*). Releasing it calls mlt_model_free exactly once,
// also when the managed owner forgot to dispose (SafeHandle's critical finalizer).

using System.Runtime.InteropServices;

namespace MLNet.Transformer.Interop;

/// <summary>A native <c>mlt_model*</c>; <see cref="ReleaseHandle"/> frees it with <c>mlt_model_free</c>.</summary>
internal sealed class ModelHandle : SafeHandle
{
    /// <summary>Creates an invalid handle; the P/Invoke marshaller fills it from <c>mlt_model_create</c>.</summary>
    public ModelHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        NativeMethods.mlt_model_free(handle);
        return true;
    }
}
