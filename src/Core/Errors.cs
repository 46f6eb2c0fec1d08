// The engine's public exception types (the root, TransformerException, lives in TransformerException.cs).
// Native engine statuses (mlt.h) are mapped onto them by MLNet.Transformer.Interop.NativeStatus.
// TransformerArgumentException derives from ArgumentException instead, so argument handlers catch it.

using System.Collections.ObjectModel;

namespace MLNet.Transformer;

/// <summary>
/// A bad option, configuration, token id or buffer size (native status <c>MLT_ERR_ARGUMENT</c>, or the same
/// check done earlier in managed code).
/// </summary>
/// <remarks>
/// Derives from <see cref="ArgumentException"/> rather than <see cref="TransformerException"/>: invalid input
/// is an argument error in .NET's vocabulary, and callers (and analyzers) expect <c>catch (ArgumentException)</c>
/// to see it. <see cref="ArgumentException.ParamName"/> names the option where one is known.
/// </remarks>
public class TransformerArgumentException : ArgumentException
{
    /// <summary>Creates an exception with a default message.</summary>
    public TransformerArgumentException()
        : base("An argument to MLNet.Transformer was invalid.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">What is wrong, naming the option.</param>
    public TransformerArgumentException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public TransformerArgumentException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception with the given message, naming the offending option or parameter.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="paramName">The option or parameter at fault (for example <c>TransformerModelConfig.Heads</c>).</param>
    public TransformerArgumentException(string message, string? paramName)
        : base(message, paramName)
    {
    }

    /// <summary>Creates an exception naming an option that is not a parameter of the calling method.</summary>
    internal static TransformerArgumentException ForOption(string message, string option) => new(message, option);
}

/// <summary>
/// The requested compute device does not exist or cannot be used (native status <c>MLT_ERR_DEVICE</c>), for
/// example <c>cuda</c> on a machine without CUDA. The library never falls back to another device silently.
/// </summary>
public class DeviceUnavailableException : TransformerException
{
    /// <summary>Creates an exception with a default message.</summary>
    public DeviceUnavailableException()
        : base("The requested device is not available.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">The device requested and the devices available.</param>
    public DeviceUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">The device requested and the devices available.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public DeviceUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The native engine failed for a reason it could not classify (native status <c>MLT_ERR_UNKNOWN</c>); also the
/// base of <see cref="TorchException"/>.
/// </summary>
public class NativeEngineException : TransformerException
{
    /// <summary>Creates an exception with a default message.</summary>
    public NativeEngineException()
        : base("The native engine failed.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">The engine's error message.</param>
    public NativeEngineException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">The engine's error message.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public NativeEngineException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>libtorch raised an error inside the native engine (native status <c>MLT_ERR_TORCH</c>).</summary>
public class TorchException : NativeEngineException
{
    /// <summary>Creates an exception with a default message.</summary>
    public TorchException()
        : base("libtorch raised an error.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">libtorch's error message.</param>
    public TorchException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">libtorch's error message.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public TorchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// A training step met a non-finite loss or gradient norm (native status <c>MLT_ERR_NON_FINITE</c>) and was
/// refused: the weights, the optimiser's moments and its step count are those from before the step.
/// </summary>
/// <remarks>
/// Usually the learning rate is too high for the model, or the weights were already non-finite (for example
/// written through <c>WriteState</c>). A lower learning rate, warm-up or gradient clipping help in the first case.
/// </remarks>
public class TrainingDivergedException : TransformerException
{
    /// <summary>Creates an exception with a default message.</summary>
    public TrainingDivergedException()
        : base("A training step met a non-finite loss or gradient and was refused.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">The step, loss, gradient norm and learning rate.</param>
    public TrainingDivergedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">The step, loss, gradient norm and learning rate.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public TrainingDivergedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception carrying the refused step's figures.</summary>
    /// <param name="message">The step, loss, gradient norm and learning rate.</param>
    /// <param name="loss">The batch loss of the refused step (possibly NaN or infinite).</param>
    /// <param name="gradientNorm">The total gradient L2 norm of the refused step (possibly NaN or infinite).</param>
    /// <param name="learningRate">The learning rate the step would have used.</param>
    /// <param name="innerException">The engine's exception, or null.</param>
    public TrainingDivergedException(string message, float loss, float gradientNorm, float learningRate, Exception? innerException = null)
        : base(message, innerException)
    {
        Loss = loss;
        GradientNorm = gradientNorm;
        LearningRate = learningRate;
    }

    /// <summary>The batch loss of the refused step (NaN when not known).</summary>
    public float Loss { get; } = float.NaN;

    /// <summary>The total gradient L2 norm of the refused step, before clipping (NaN when not known).</summary>
    public float GradientNorm { get; } = float.NaN;

    /// <summary>The learning rate the refused step would have used (NaN when not known).</summary>
    public float LearningRate { get; } = float.NaN;
}

/// <summary>
/// The native engine ran out of (host or device) memory (native status <c>MLT_ERR_OUT_OF_MEMORY</c>).
/// </summary>
/// <remarks>
/// Not derived from <see cref="OutOfMemoryException"/>: that type signals exhaustion of the managed heap, while
/// this one reports a failed native allocation that leaves the process healthy; a smaller batch usually helps.
/// </remarks>
public class EngineOutOfMemoryException : TransformerException
{
    /// <summary>Creates an exception with a default message.</summary>
    public EngineOutOfMemoryException()
        : base("The native engine ran out of memory.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">The engine's error message.</param>
    public EngineOutOfMemoryException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">The engine's error message.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public EngineOutOfMemoryException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The native engine library (<c>libmlt</c>) could not be found or loaded. The message lists every path tried
/// and why each failed.
/// </summary>
public class NativeLibraryNotFoundException : TransformerException
{
    /// <summary>Creates an exception with a default message.</summary>
    public NativeLibraryNotFoundException()
        : base("The native engine library libmlt could not be loaded.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">The paths tried and the loader's error for each.</param>
    public NativeLibraryNotFoundException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">The paths tried and the loader's error for each.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public NativeLibraryNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception with the given message and the paths that were tried.</summary>
    /// <param name="message">The paths tried and the loader's error for each.</param>
    /// <param name="attemptedPaths">Every path tried, in order.</param>
    public NativeLibraryNotFoundException(string message, IEnumerable<string> attemptedPaths)
        : base(message)
    {
        ArgumentNullException.ThrowIfNull(attemptedPaths);
        AttemptedPaths = new ReadOnlyCollection<string>([.. attemptedPaths]);
    }

    /// <summary>Every path tried, in order (empty when not known).</summary>
    public IReadOnlyList<string> AttemptedPaths { get; } = [];
}

/// <summary>
/// The native engine that was loaded implements a different C ABI version (<c>mlt_abi_version()</c>) than this
/// assembly was built against; rebuild the native library (<c>./build.sh native</c>) or the managed code.
/// </summary>
public class NativeAbiMismatchException : TransformerException
{
    /// <summary>Creates an exception with a default message.</summary>
    public NativeAbiMismatchException()
        : base("The native engine's ABI version does not match this assembly.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">The expected and actual versions and the library path.</param>
    public NativeAbiMismatchException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">The expected and actual versions and the library path.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public NativeAbiMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Data-parallel training failed (native status <c>MLT_ERR_DISTRIBUTED</c>): the ranks could not meet at the
/// master address and port within the timeout, or a peer left or stopped answering during a collective. The
/// message names this rank, the world size, the address and port.
/// </summary>
/// <remarks>
/// The group is unusable afterwards: every rank stops. Nothing is saved by a rank that stops this way.
/// </remarks>
public class DistributedTrainingException : TransformerException
{
    /// <summary>Creates an exception with a default message.</summary>
    public DistributedTrainingException()
        : base("Data-parallel training failed.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">The rank, address, port and what failed.</param>
    public DistributedTrainingException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">The rank, address, port and what failed.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public DistributedTrainingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
