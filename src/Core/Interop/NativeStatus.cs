// Turns an mlt_status into the matching .NET exception, carrying the engine's thread-local
// mlt_last_error() message. Call it on the thread that made the native call, right after it.

namespace MLNet.Transformer.Interop;

/// <summary>Maps failed native statuses to the public exception types in Errors.cs.</summary>
internal static class NativeStatus
{
    /// <summary>Throws the exception for <paramref name="status"/> unless it is <c>MLT_OK</c>.</summary>
    /// <param name="status">The value an mlt_* function returned.</param>
    internal static void Check(int status)
    {
        if (status != NativeMethods.StatusOk)
        {
            throw CreateException(status, NativeMethods.LastError());
        }
    }

    /// <summary>The exception for a failed status and the engine's message (pure; used by tests too).</summary>
    /// <param name="status">A non-zero mlt_status.</param>
    /// <param name="message">The engine's message (mlt_last_error()).</param>
    internal static Exception CreateException(int status, string message)
    {
        if (string.IsNullOrWhiteSpace(message))
        {
            message = $"The native engine failed with status {status} and no message.";
        }

        return status switch
        {
            NativeMethods.StatusArgument => new TransformerArgumentException(message),
            NativeMethods.StatusDevice => new DeviceUnavailableException(message),
            NativeMethods.StatusTorch => new TorchException(message),
            NativeMethods.StatusOutOfMemory => new EngineOutOfMemoryException(message),
            NativeMethods.StatusUnknown => new NativeEngineException(message),
            NativeMethods.StatusNonFinite => new TrainingDivergedException(message),
            NativeMethods.StatusDistributed => new DistributedTrainingException(message),
            _ => new NativeEngineException($"The native engine returned the unknown status {status}: {message}"),
        };
    }
}
