// Column types of a data view: text, numeric scalars and fixed- or variable-length vectors.
// Shaped after ML.NET's DataViewType; values travel as plain .NET types (string, int, float, T[]).
namespace MLNet.Transformer.Data;

/// <summary>The type of a data view column.</summary>
public abstract class DataViewType : IEquatable<DataViewType>
{
    /// <summary>Creates a type whose values are of <paramref name="rawType"/>.</summary>
    protected DataViewType(Type rawType) => RawType = rawType;

    /// <summary>The .NET type of one value of this column (e.g. <see cref="string"/>, <see cref="float"/>, <c>int[]</c>).</summary>
    public Type RawType { get; }

    /// <inheritdoc />
    public abstract bool Equals(DataViewType? other);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is DataViewType t && Equals(t);

    /// <inheritdoc />
    public override int GetHashCode() => RawType.GetHashCode();
}

/// <summary>A scalar type: text, boolean or number.</summary>
public abstract class PrimitiveDataViewType : DataViewType
{
    /// <summary>Creates a primitive type with the given raw type.</summary>
    protected PrimitiveDataViewType(Type rawType) : base(rawType) { }

    /// <inheritdoc />
    public override bool Equals(DataViewType? other) => other is PrimitiveDataViewType p && p.RawType == RawType;

    /// <inheritdoc />
    public override int GetHashCode() => RawType.GetHashCode();
}

/// <summary>Text, held as <see cref="string"/>.</summary>
public sealed class TextDataViewType : PrimitiveDataViewType
{
    private TextDataViewType() : base(typeof(string)) { }

    /// <summary>The single instance.</summary>
    public static TextDataViewType Instance { get; } = new();

    /// <inheritdoc />
    public override string ToString() => "Text";
}

/// <summary>Boolean values.</summary>
public sealed class BooleanDataViewType : PrimitiveDataViewType
{
    private BooleanDataViewType() : base(typeof(bool)) { }

    /// <summary>The single instance.</summary>
    public static BooleanDataViewType Instance { get; } = new();

    /// <inheritdoc />
    public override string ToString() => "Boolean";
}

/// <summary>Numeric scalars.</summary>
public sealed class NumberDataViewType : PrimitiveDataViewType
{
    private readonly string _name;

    private NumberDataViewType(Type rawType, string name) : base(rawType) => _name = name;

    /// <summary>32-bit signed integer.</summary>
#pragma warning disable CA1720 // ML.NET's names for the numeric types.
    public static NumberDataViewType Int32 { get; } = new(typeof(int), "Int32");

    /// <summary>64-bit signed integer.</summary>
    public static NumberDataViewType Int64 { get; } = new(typeof(long), "Int64");

    /// <summary>32-bit float.</summary>
    public static NumberDataViewType Single { get; } = new(typeof(float), "Single");

    /// <summary>64-bit float.</summary>
    public static NumberDataViewType Double { get; } = new(typeof(double), "Double");
#pragma warning restore CA1720

    /// <inheritdoc />
    public override string ToString() => _name;
}

/// <summary>
/// A vector of primitive items, held as <c>T[]</c>. All dimensions zero means variable length; otherwise the
/// vector has exactly the product of <see cref="Dimensions"/> items, laid out row-major.
/// </summary>
public sealed class VectorDataViewType : DataViewType
{
    /// <summary>Creates a vector type. No dimensions, or a single 0, means variable length.</summary>
    public VectorDataViewType(PrimitiveDataViewType itemType, params int[] dimensions)
        : base(itemType.RawType.MakeArrayType())
    {
        ArgumentNullException.ThrowIfNull(dimensions);
        ItemType = itemType;
        if (dimensions.Any(d => d < 0))
        {
            throw new ArgumentOutOfRangeException(nameof(dimensions), "Vector dimensions must be >= 0.");
        }

        int[] dims = dimensions.Length == 0 ? [0] : (int[])dimensions.Clone();
        Dimensions = dims;
        if (dims.Length > 1 && Dimensions.Any(d => d == 0))
        {
            throw new ArgumentOutOfRangeException(nameof(dimensions), "Only a one-dimensional vector may be variable length.");
        }
    }

    /// <summary>The type of one item.</summary>
    public PrimitiveDataViewType ItemType { get; }

    /// <summary>The dimensions (row-major); <c>[0]</c> for a variable-length vector.</summary>
    public IReadOnlyList<int> Dimensions { get; }

    /// <summary>True when every value has the same, known number of items.</summary>
    public bool IsKnownSize => Dimensions[0] != 0;

    /// <summary>Number of items (0 when variable length).</summary>
    public int Size => IsKnownSize ? Dimensions.Aggregate(1, (a, d) => checked(a * d)) : 0;

    /// <inheritdoc />
    public override bool Equals(DataViewType? other) =>
        other is VectorDataViewType v && v.ItemType.Equals(ItemType) && v.Dimensions.SequenceEqual(Dimensions);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(ItemType, Size, Dimensions.Count);

    /// <inheritdoc />
    public override string ToString() =>
        IsKnownSize ? $"Vector<{ItemType}, {string.Join(", ", Dimensions)}>" : $"Vector<{ItemType}>";
}
