// The root of the typed errors raised while reading a model file (an exported .onnx, or the ONNX stage of an ML.NET
// model .zip): "this file is not a model I can load" is a single catch.
namespace MLNet.Transformer;

/// <summary>
/// A model file cannot be read: it is missing, truncated, not the expected format, needs a newer library, or its
/// parts disagree. <see cref="EntryPath"/> names the field, entry or tensor concerned when there is one.
/// </summary>
public class ModelFormatException : TransformerException
{
    /// <summary>Creates the exception.</summary>
    public ModelFormatException() : base("The model file is not valid.") { }

    /// <summary>Creates the exception.</summary>
    public ModelFormatException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public ModelFormatException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for one field or entry of the file.</summary>
    public ModelFormatException(string message, string? entryPath, Exception? innerException = null)
        : base(message, innerException!) => EntryPath = entryPath;

    /// <summary>The field, archive entry or tensor concerned, when there is one.</summary>
    public string? EntryPath { get; }
}
