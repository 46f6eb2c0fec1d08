// Options of the delimited-text (CSV/TSV) loader: separator, header, quoting, the columns to load and
// their types, and the missing-field policy. Used by DataOperationsCatalog.LoadFromTextFile.
namespace MLNet.Transformer.Data;

/// <summary>The type a delimited-text column is parsed into (ML.NET's names).</summary>
public enum DataKind
{
#pragma warning disable CA1720 // ML.NET's names for the column kinds.
    /// <summary>Text (<see cref="string"/>).</summary>
    String,

    /// <summary>Boolean: true/false or 1/0, case-insensitive.</summary>
    Boolean,

    /// <summary>32-bit integer, invariant culture.</summary>
    Int32,

    /// <summary>64-bit integer, invariant culture.</summary>
    Int64,

    /// <summary>32-bit float, invariant culture; empty means missing (NaN).</summary>
    Single,

    /// <summary>64-bit float, invariant culture; empty means missing (NaN).</summary>
    Double,
#pragma warning restore CA1720
}

/// <summary>A column to load from a delimited text file.</summary>
/// <param name="Name">The column's name in the data view.</param>
/// <param name="Kind">How its fields are parsed.</param>
/// <param name="SourceName">The header name of its field (default: <paramref name="Name"/>); ignored when <see cref="SourceIndex"/> is set.</param>
public sealed record TextLoaderColumn(string Name, DataKind Kind = DataKind.String, string? SourceName = null)
{
    /// <summary>The zero-based field position; required when the file has no header.</summary>
    public int? SourceIndex { get; init; }
}

/// <summary>Options of <see cref="DataOperationsCatalog.LoadFromTextFile(string, TextLoaderOptions)"/>.</summary>
public sealed class TextLoaderOptions
{
    /// <summary>The field separator: ',' for CSV (default), '\t' for TSV.</summary>
    public char Separator { get; set; } = ',';

    /// <summary>True when the first record holds the column names (default).</summary>
    public bool HasHeader { get; set; } = true;

    /// <summary>
    /// RFC 4180 quoting (default true): a field that starts with '"' ends at the next lone '"'; inside it
    /// separators and line breaks are literal and '""' is one quote. When false, quotes are ordinary characters.
    /// </summary>
    public bool AllowQuoting { get; set; } = true;

    /// <summary>
    /// When false (default), a record with fewer fields than a loaded column needs raises a
    /// <see cref="TextLoaderException"/> naming the file, line and column. When true, a missing field reads as
    /// empty text or NaN; integer and boolean columns still raise, having no missing value.
    /// </summary>
    public bool AllowMissingFields { get; set; }

    /// <summary>Trims spaces and tabs around unquoted fields (default false).</summary>
    public bool TrimWhitespace { get; set; }

    /// <summary>The columns to load, in view order. Empty (default): every header field, as text.</summary>
    public IList<TextLoaderColumn> Columns { get; } = [];
}

/// <summary>A delimited text file could not be read: malformed quoting, a missing field or an unparsable value.</summary>
public sealed class TextLoaderException : TransformerException
{
    /// <summary>Creates the exception.</summary>
    public TextLoaderException() { }

    /// <summary>Creates the exception.</summary>
    public TextLoaderException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public TextLoaderException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for <paramref name="path"/>, line <paramref name="lineNumber"/> and column <paramref name="columnName"/>.</summary>
    public TextLoaderException(string path, long lineNumber, string? columnName, string problem)
        : base($"{path}, line {lineNumber}{(columnName is null ? "" : $", column '{columnName}'")}: {problem}")
    {
        FilePath = path;
        LineNumber = lineNumber;
        ColumnName = columnName;
    }

    /// <summary>The file.</summary>
    public string? FilePath { get; }

    /// <summary>The one-based line on which the offending record starts.</summary>
    public long LineNumber { get; }

    /// <summary>The column concerned, when there is one.</summary>
    public string? ColumnName { get; }
}
