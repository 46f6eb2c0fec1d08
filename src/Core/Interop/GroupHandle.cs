// The owning handle of one native process group (mlt_group*). Releasing it calls mlt_group_free exactly once;
// the engine closes the group's sockets when no model holds it any more.

using Microsoft.Win32.SafeHandles;

namespace MLNet.Transformer.Interop;

/// <summary>A native <c>mlt_group*</c>; <see cref="ReleaseHandle"/> frees it with <c>mlt_group_free</c>.</summary>
internal sealed class GroupHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>Creates an invalid handle; the P/Invoke marshaller fills it from <c>mlt_group_create</c>.</summary>
    public GroupHandle()
        : base(ownsHandle: true)
    {
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        NativeMethods.mlt_group_free(handle);
        return true;
    }
}
