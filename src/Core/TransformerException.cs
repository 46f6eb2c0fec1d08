// Root of the library's exception hierarchy.
namespace MLNet.Transformer;

/// <summary>Base class of the errors raised by MLNet.Transformer (schema, persistence, engine, options).</summary>
public class TransformerException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TransformerException() { }

    /// <summary>Creates the exception.</summary>
    public TransformerException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public TransformerException(string message, Exception? innerException) : base(message, innerException) { }
}
