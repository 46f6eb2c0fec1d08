// Attributes that map the members of a user class to data view columns (ML.NET's names and meaning):
// the column name, a fixed vector size, a source position in a text file, or exclusion.
namespace MLNet.Transformer.Data;

/// <summary>Names the column a public field or property maps to (default: the member's name).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field, AllowMultiple = false, Inherited = true)]
public sealed class ColumnNameAttribute : Attribute
{
    /// <summary>Maps the member to the column <paramref name="name"/>.</summary>
    public ColumnNameAttribute(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
    }

    /// <summary>The column name.</summary>
    public string Name { get; }
}

/// <summary>
/// Declares an array member as a fixed-size vector column (e.g. <c>[VectorType(4)]</c> on a <c>float[]</c>).
/// Without it an array member is a variable-length vector. Several dimensions describe a row-major tensor.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field, AllowMultiple = false, Inherited = true)]
public sealed class VectorTypeAttribute : Attribute
{
    /// <summary>Declares the vector's dimensions; none (or a single 0) means variable length.</summary>
    public VectorTypeAttribute(params int[] dimensions)
    {
        ArgumentNullException.ThrowIfNull(dimensions);
        Dimensions = [.. dimensions];
    }

    /// <summary>The dimensions, row-major.</summary>
    public IReadOnlyList<int> Dimensions { get; }
}

/// <summary>Excludes a public field or property from the columns of its class.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field, AllowMultiple = false, Inherited = true)]
public sealed class NoColumnAttribute : Attribute
{
}

/// <summary>
/// The zero-based position of a member's field in a delimited text file; needed by
/// <c>LoadFromTextFile&lt;T&gt;</c> when the file has no header, optional otherwise (the header name is used).
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field, AllowMultiple = false, Inherited = true)]
public sealed class LoadColumnAttribute : Attribute
{
    /// <summary>Reads the member from field <paramref name="index"/> (zero-based).</summary>
    public LoadColumnAttribute(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        Index = index;
    }

    /// <summary>The zero-based field position.</summary>
    public int Index { get; }
}
