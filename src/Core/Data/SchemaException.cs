// Typed errors for schema mismatches: every message names the column, the expected and the actual type.
namespace MLNet.Transformer.Data;

/// <summary>A column is missing or has the wrong type. Raised by GetOutputSchema, Fit and Transform alike.</summary>
public sealed class SchemaException : TransformerException
{
    /// <summary>Creates the exception.</summary>
    public SchemaException(string message, string? columnName = null) : base(message) => ColumnName = columnName;

    /// <summary>Creates the exception.</summary>
    public SchemaException() : base("Schema mismatch.") { }

    /// <summary>Creates the exception.</summary>
    public SchemaException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The column concerned, when there is one.</summary>
    public string? ColumnName { get; }

    /// <summary>A required column is absent.</summary>
    public static SchemaException MissingColumn(string name, DataViewSchema schema) =>
        new($"Column '{name}' not found. Available columns: {(schema.Count == 0 ? "(none)" : string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => $"'{c.Name}' ({c.Type})")))}.", name);

    /// <summary>A column has a type other than the one required.</summary>
    public static SchemaException WrongType(string name, string expected, DataViewType actual) =>
        new($"Column '{name}' has type {actual}, expected {expected}.", name);
}
