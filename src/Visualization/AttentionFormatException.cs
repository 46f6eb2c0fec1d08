// The error raised when an attention JSON file cannot be read.
namespace MLNet.Transformer.Visualization;

/// <summary>An attention JSON file (bertviz layout) is malformed; the message names the file and the field.</summary>
public class AttentionFormatException : TransformerException
{
    /// <summary>Creates the exception with a default message.</summary>
    public AttentionFormatException()
        : base("The attention JSON is malformed.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, naming the file and field.</param>
    public AttentionFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, naming the file and field.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public AttentionFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
