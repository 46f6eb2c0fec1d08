// The typed errors raised while reading a model .zip or a safetensors file. Every one derives from
// ModelFormatException, so "this file is not a model I can load" is a single catch.
namespace MLNet.Transformer.Persistence;

/// <summary>
/// A model .zip (or a safetensors file) cannot be read: it is not a zip, is truncated or corrupted, lacks or has
/// extra entries, needs a newer library, or names a stage nobody registered. <see cref="EntryPath"/> names the
/// entry concerned when there is one.
/// </summary>
public class ModelFormatException : TransformerException
{
    /// <summary>Creates the exception.</summary>
    public ModelFormatException() : base("The model file is not valid.") { }

    /// <summary>Creates the exception.</summary>
    public ModelFormatException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public ModelFormatException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for one entry of the archive.</summary>
    public ModelFormatException(string message, string? entryPath, Exception? innerException = null)
        : base(message, innerException!) => EntryPath = entryPath;

    /// <summary>The archive entry concerned (e.g. <c>stages/0000-Tok/vocabulary.json</c>), when there is one.</summary>
    public string? EntryPath { get; }
}

/// <summary>The file is not a zip archive, or its zip structure (directory, headers) is damaged.</summary>
public sealed class InvalidModelArchiveException : ModelFormatException
{
    /// <summary>Creates the exception.</summary>
    public InvalidModelArchiveException() { }

    /// <summary>Creates the exception.</summary>
    public InvalidModelArchiveException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public InvalidModelArchiveException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>An entry the manifest lists, or the format requires, is absent.</summary>
public sealed class MissingModelEntryException : ModelFormatException
{
    /// <summary>Creates the exception.</summary>
    public MissingModelEntryException() { }

    /// <summary>Creates the exception.</summary>
    public MissingModelEntryException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public MissingModelEntryException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for <paramref name="entryPath"/>.</summary>
    public MissingModelEntryException(string message, string entryPath) : base(message, entryPath) { }
}

/// <summary>The archive holds an entry the manifest does not list, or holds an entry twice.</summary>
public sealed class UnexpectedModelEntryException : ModelFormatException
{
    /// <summary>Creates the exception.</summary>
    public UnexpectedModelEntryException() { }

    /// <summary>Creates the exception.</summary>
    public UnexpectedModelEntryException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public UnexpectedModelEntryException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for <paramref name="entryPath"/>.</summary>
    public UnexpectedModelEntryException(string message, string entryPath) : base(message, entryPath) { }
}

/// <summary>An entry's bytes do not match the size and SHA-256 the manifest records, or cannot be decompressed.</summary>
public sealed class CorruptModelEntryException : ModelFormatException
{
    /// <summary>Creates the exception.</summary>
    public CorruptModelEntryException() { }

    /// <summary>Creates the exception.</summary>
    public CorruptModelEntryException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public CorruptModelEntryException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for <paramref name="entryPath"/>.</summary>
    public CorruptModelEntryException(string message, string entryPath, Exception? innerException = null)
        : base(message, entryPath, innerException) { }
}

/// <summary>A JSON entry (manifest, schema, stage description, config, vocabulary) is not valid JSON of the expected shape.</summary>
public sealed class InvalidModelJsonException : ModelFormatException
{
    /// <summary>Creates the exception.</summary>
    public InvalidModelJsonException() { }

    /// <summary>Creates the exception.</summary>
    public InvalidModelJsonException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public InvalidModelJsonException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for <paramref name="entryPath"/>.</summary>
    public InvalidModelJsonException(string message, string entryPath, Exception? innerException = null)
        : base(message, entryPath, innerException) { }
}

/// <summary>A safetensors buffer is malformed: bad header length or JSON, offsets out of range or overlapping, unsupported dtype, shape/size mismatch.</summary>
public sealed class SafeTensorsFormatException : ModelFormatException
{
    /// <summary>Creates the exception.</summary>
    public SafeTensorsFormatException() { }

    /// <summary>Creates the exception.</summary>
    public SafeTensorsFormatException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public SafeTensorsFormatException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for <paramref name="entryPath"/>.</summary>
    public SafeTensorsFormatException(string message, string? entryPath, Exception? innerException = null)
        : base(message, entryPath, innerException) { }
}

/// <summary>The model needs a newer reader: its format's (or a stage's) minimum readable version exceeds what this library reads.</summary>
public sealed class UnsupportedModelVersionException : ModelFormatException
{
    /// <summary>Creates the exception.</summary>
    public UnsupportedModelVersionException() { }

    /// <summary>Creates the exception.</summary>
    public UnsupportedModelVersionException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public UnsupportedModelVersionException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with the versions involved.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="entryPath">The manifest or stage.json concerned.</param>
    /// <param name="requiredVersion">The oldest reader version that can read the file (or stage).</param>
    /// <param name="supportedVersion">The newest version this library (or loader) reads.</param>
    public UnsupportedModelVersionException(string message, string entryPath, int requiredVersion, int supportedVersion)
        : base(message, entryPath)
    {
        RequiredVersion = requiredVersion;
        SupportedVersion = supportedVersion;
    }

    /// <summary>The oldest reader version able to read the file or stage.</summary>
    public int RequiredVersion { get; }

    /// <summary>The newest version this library or loader reads.</summary>
    public int SupportedVersion { get; }
}

/// <summary>A stage's signature has no registered loader, even after loading the assembly its stage.json names.</summary>
public sealed class UnknownStageException : ModelFormatException
{
    /// <summary>Creates the exception.</summary>
    public UnknownStageException() { }

    /// <summary>Creates the exception.</summary>
    public UnknownStageException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public UnknownStageException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for <paramref name="signature"/>.</summary>
    public UnknownStageException(string message, string signature, string? entryPath, Exception? innerException = null)
        : base(message, entryPath, innerException) => Signature = signature;

    /// <summary>The unknown stage signature.</summary>
    public string? Signature { get; }
}
