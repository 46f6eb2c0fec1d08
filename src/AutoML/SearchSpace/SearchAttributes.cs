// Attributes that declare a search space on an options class: [SearchChoice(...)] and [SearchRange(...)].
namespace MLNet.Transformer.AutoML;

/// <summary>
/// Declares that an options property is searched over the listed values, e.g. <c>[SearchChoice(1, 2, 4)]</c>.
/// The values are converted to the property type (ints, floats, strings, bools, enum names or values).
/// </summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false, Inherited = true)]
public sealed class SearchChoiceAttribute : Attribute
{
    /// <summary>Declares the choice.</summary>
    /// <param name="values">The values; at least one, no repeats.</param>
    public SearchChoiceAttribute(params object[] values) => Values = values ?? [];

    /// <summary>The declared values, as written.</summary>
    public IReadOnlyList<object> Values { get; }
}

/// <summary>
/// Declares that an options property is searched over a range: an integer range for int/long properties
/// (<c>[SearchRange(1, 3)]</c>), a uniform or log-uniform range for float/double properties
/// (<c>[SearchRange(1e-4, 3e-3, LogScale = true)]</c>).
/// </summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false, Inherited = true)]
public sealed class SearchRangeAttribute : Attribute
{
    /// <summary>Declares an integer-valued range (also usable on float properties).</summary>
    /// <param name="min">Lower end, inclusive.</param>
    /// <param name="max">Upper end, inclusive.</param>
    public SearchRangeAttribute(int min, int max)
    {
        Min = min;
        Max = max;
    }

    /// <summary>Declares a continuous range (or an integer range with integral ends on an int property).</summary>
    /// <param name="min">Lower end, inclusive.</param>
    /// <param name="max">Upper end, inclusive.</param>
    public SearchRangeAttribute(double min, double max)
    {
        Min = min;
        Max = max;
    }

    /// <summary>Lower end, inclusive.</summary>
    public double Min { get; }

    /// <summary>Upper end, inclusive.</summary>
    public double Max { get; }

    /// <summary>Search in log space (log-uniform); needs a positive <see cref="Min"/>.</summary>
    public bool LogScale { get; set; }

    /// <summary>Integer ranges only: distance between consecutive values (default 1).</summary>
    public int Step { get; set; } = 1;

    /// <summary>Number of grid points a grid search visits (required for float ranges; 0 = every integer for
    /// integer ranges, unusable for float ranges).</summary>
    public int GridSteps { get; set; }
}
