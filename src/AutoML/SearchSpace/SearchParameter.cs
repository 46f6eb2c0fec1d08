// The searched dimensions of a search space: a choice among values, an integer range and a continuous range.
using System.Globalization;
using MLNet.Transformer.AutoML.Internal;

namespace MLNet.Transformer.AutoML;

/// <summary>What kind of dimension a <see cref="SearchParameter"/> is.</summary>
public enum SearchParameterKind
{
    /// <summary>A choice among listed values (ints, floats, strings, bools, enums); treated as categorical.</summary>
    Choice,

    /// <summary>An integer range (optionally log-scaled), treated as ordered.</summary>
    DiscreteRange,

    /// <summary>A continuous range: uniform or log-uniform.</summary>
    ContinuousRange,
}

/// <summary>One searched dimension of a search space, bound to an options property.</summary>
public abstract class SearchParameter
{
    private protected SearchParameter(string name, Type valueType)
    {
        Name = name;
        ValueType = valueType;
    }

    /// <summary>The parameter name: the options property (a dotted path for nested options, e.g. <c>Model.Heads</c>).</summary>
    public string Name { get; }

    /// <summary>The CLR type of the property the values are written to.</summary>
    public Type ValueType { get; }

    /// <summary>What kind of dimension this is.</summary>
    public abstract SearchParameterKind Kind { get; }

    /// <summary>Whether the dimension is searched in log space (ranges only).</summary>
    public virtual bool LogScale => false;

    /// <summary>The values a grid search visits, in order.</summary>
    /// <exception cref="TransformerArgumentException">A continuous range declares no grid steps.</exception>
    public abstract IReadOnlyList<object> GetGridValues();

    /// <summary>A uniform draw (uniform in log space for log-scaled ranges).</summary>
    internal abstract object Sample(SweepRandom random);

    /// <summary>Converts a constant given in an attribute or the builder to the property's type.</summary>
    internal static object ConvertValue(object? raw, Type target, string name)
    {
        if (raw is null)
        {
            throw new TransformerArgumentException($"Search parameter '{name}': null is not a valid value.", name);
        }

        try
        {
            if (target.IsEnum)
            {
                return raw is string s ? Enum.Parse(target, s, ignoreCase: false) : Enum.ToObject(target, raw);
            }

            if (raw.GetType() == target)
            {
                return raw;
            }

            if (target == typeof(int) || target == typeof(long))
            {
                double d = Convert.ToDouble(raw, CultureInfo.InvariantCulture);
                if (d != Math.Floor(d))
                {
                    throw new FormatException($"{d} is not an integer");
                }
            }

            return Convert.ChangeType(raw, target, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is InvalidCastException or FormatException or OverflowException or ArgumentException)
        {
            throw new TransformerArgumentException(
                $"Search parameter '{name}': value '{raw}' cannot be converted to {target.Name} ({e.Message}).", name);
        }
    }

    internal static bool IsIntegerType(Type t) => t == typeof(int) || t == typeof(long);

    internal static bool IsFloatingType(Type t) => t == typeof(float) || t == typeof(double);
}

/// <summary>A choice among listed values; categorical for the tuners (no order is assumed).</summary>
public sealed class ChoiceParameter : SearchParameter
{
    private readonly object[] _values;

    internal ChoiceParameter(string name, Type valueType, IEnumerable<object?> values)
        : base(name, valueType)
    {
        _values = values.Select(v => ConvertValue(v, valueType, name)).ToArray();
        if (_values.Length == 0)
        {
            throw new TransformerArgumentException($"Search parameter '{name}': a choice needs at least one value.", name);
        }

        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var v in _values)
        {
            if (!keys.Add(ParameterSet.FormatValue(v)))
            {
                throw new TransformerArgumentException($"Search parameter '{name}': value '{ParameterSet.FormatValue(v)}' is listed twice.", name);
            }
        }
    }

    /// <inheritdoc/>
    public override SearchParameterKind Kind => SearchParameterKind.Choice;

    /// <summary>The values, converted to the property type, in declaration order.</summary>
    public IReadOnlyList<object> Values => _values;

    /// <inheritdoc/>
    public override IReadOnlyList<object> GetGridValues() => _values;

    /// <summary>The index of <paramref name="value"/> among <see cref="Values"/>, or -1.</summary>
    public int IndexOf(object value)
    {
        string key = ParameterSet.FormatValue(value);
        for (int i = 0; i < _values.Length; i++)
        {
            if (string.Equals(ParameterSet.FormatValue(_values[i]), key, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    internal override object Sample(SweepRandom random) => _values[random.NextInt(_values.Length)];
}

/// <summary>A numeric range. The tuners see it through an internal coordinate: the value itself, or its
/// logarithm when <see cref="SearchParameter.LogScale"/> is set.</summary>
public abstract class NumericRangeParameter : SearchParameter
{
    private protected NumericRangeParameter(string name, Type valueType)
        : base(name, valueType)
    {
    }

    /// <summary>Lower end of the internal coordinate.</summary>
    internal abstract double InternalLow { get; }

    /// <summary>Upper end of the internal coordinate.</summary>
    internal abstract double InternalHigh { get; }

    /// <summary>Maps a value of this parameter to the internal coordinate.</summary>
    internal abstract double ToInternal(object value);

    /// <summary>Maps an internal coordinate (clamped to the range) back to a value of the property type.</summary>
    internal abstract object FromInternal(double x);

    internal override object Sample(SweepRandom random) => FromInternal(random.NextDouble(InternalLow, InternalHigh));
}

/// <summary>An integer range [<see cref="Min"/>, <see cref="Max"/>] with an optional <see cref="Step"/>, sampled
/// uniformly over its values or, when log-scaled, log-uniformly.</summary>
public sealed class IntRangeParameter : NumericRangeParameter
{
    private readonly bool _logScale;

    internal IntRangeParameter(string name, Type valueType, long min, long max, bool logScale, long step, int? gridSteps)
        : base(name, valueType)
    {
        if (!IsIntegerType(valueType))
        {
            throw new TransformerArgumentException($"Search parameter '{name}': an integer range needs an int or long property, not {valueType.Name}.", name);
        }

        if (min > max)
        {
            throw new TransformerArgumentException($"Search parameter '{name}': min {min} is above max {max}.", name);
        }

        if (step < 1)
        {
            throw new TransformerArgumentException($"Search parameter '{name}': step must be at least 1, not {step}.", name);
        }

        if (logScale && (min < 1 || step != 1))
        {
            throw new TransformerArgumentException($"Search parameter '{name}': a log-scaled integer range needs min >= 1 and step 1.", name);
        }

        if (gridSteps is < 1)
        {
            throw new TransformerArgumentException($"Search parameter '{name}': grid steps must be at least 1.", name);
        }

        Min = min;
        Max = min + (step * ((max - min) / step));
        Step = step;
        GridSteps = gridSteps;
        _logScale = logScale;
    }

    /// <inheritdoc/>
    public override SearchParameterKind Kind => SearchParameterKind.DiscreteRange;

    /// <inheritdoc/>
    public override bool LogScale => _logScale;

    /// <summary>Smallest value.</summary>
    public long Min { get; }

    /// <summary>Largest value (the declared max rounded down onto the step).</summary>
    public long Max { get; }

    /// <summary>Distance between consecutive values.</summary>
    public long Step { get; }

    /// <summary>When set, a grid visits this many points spread (log-)evenly; otherwise every value.</summary>
    public int? GridSteps { get; }

    internal override double InternalLow => _logScale ? Math.Log(Min) : Min - (Step / 2.0);

    internal override double InternalHigh => _logScale ? Math.Log(Max + 1.0) : Max + (Step / 2.0);

    /// <inheritdoc/>
    public override IReadOnlyList<object> GetGridValues()
    {
        var values = new List<long>();
        if (GridSteps is int n)
        {
            for (int i = 0; i < n; i++)
            {
                double t = n == 1 ? 0.5 : i / (double)(n - 1);
                double x = _logScale
                    ? Math.Exp(Math.Log(Min) + (t * (Math.Log(Max) - Math.Log(Min))))
                    : Min + (t * (Max - Min));
                long v = Snap(x);
                if (values.Count == 0 || values[^1] != v)
                {
                    values.Add(v);
                }
            }
        }
        else
        {
            if ((Max - Min) / Step >= 1_000_000)
            {
                throw new TransformerArgumentException($"Search parameter '{Name}': the range has too many values for a grid; set grid steps.", Name);
            }

            for (long v = Min; v <= Max; v += Step)
            {
                values.Add(v);
            }
        }

        return values.Select(Box).ToArray();
    }

    internal override double ToInternal(object value)
    {
        double v = Convert.ToDouble(value, CultureInfo.InvariantCulture);
        return _logScale ? Math.Log(v + 0.5) : v;
    }

    internal override object FromInternal(double x)
    {
        x = Math.Clamp(x, InternalLow, InternalHigh);
        return Box(_logScale ? Math.Clamp((long)Math.Floor(Math.Exp(x)), Min, Max) : Snap(x));
    }

    private long Snap(double x) => Math.Clamp(Min + (Step * (long)Math.Round((x - Min) / Step, MidpointRounding.AwayFromZero)), Min, Max);

    private object Box(long v) => ValueType == typeof(int) ? (object)(int)v : v;
}

/// <summary>A continuous range [<see cref="Min"/>, <see cref="Max"/>]: uniform, or log-uniform when
/// <see cref="SearchParameter.LogScale"/> is set. A grid search needs <see cref="GridSteps"/>.</summary>
public sealed class FloatRangeParameter : NumericRangeParameter
{
    private readonly bool _logScale;

    internal FloatRangeParameter(string name, Type valueType, double min, double max, bool logScale, int? gridSteps)
        : base(name, valueType)
    {
        if (!IsFloatingType(valueType))
        {
            throw new TransformerArgumentException($"Search parameter '{name}': a continuous range needs a float or double property, not {valueType.Name}.", name);
        }

        if (!double.IsFinite(min) || !double.IsFinite(max) || min > max)
        {
            throw new TransformerArgumentException($"Search parameter '{name}': the range [{min}, {max}] is not valid.", name);
        }

        if (logScale && min <= 0)
        {
            throw new TransformerArgumentException($"Search parameter '{name}': a log-scaled range needs min > 0, not {min}.", name);
        }

        if (gridSteps is < 1)
        {
            throw new TransformerArgumentException($"Search parameter '{name}': grid steps must be at least 1.", name);
        }

        Min = min;
        Max = max;
        GridSteps = gridSteps;
        _logScale = logScale;
    }

    /// <inheritdoc/>
    public override SearchParameterKind Kind => SearchParameterKind.ContinuousRange;

    /// <inheritdoc/>
    public override bool LogScale => _logScale;

    /// <summary>Lower end.</summary>
    public double Min { get; }

    /// <summary>Upper end.</summary>
    public double Max { get; }

    /// <summary>Number of grid points (ends included, spread evenly in (log-)space); null: not grid-searchable.</summary>
    public int? GridSteps { get; }

    internal override double InternalLow => _logScale ? Math.Log(Min) : Min;

    internal override double InternalHigh => _logScale ? Math.Log(Max) : Max;

    /// <inheritdoc/>
    public override IReadOnlyList<object> GetGridValues()
    {
        if (GridSteps is not int n)
        {
            throw new TransformerArgumentException(
                $"Search parameter '{Name}' is continuous: a grid search needs explicit grid points (a choice) or a step count (GridSteps).", Name);
        }

        var values = new List<object>();
        for (int i = 0; i < n; i++)
        {
            double t = n == 1 ? 0.5 : i / (double)(n - 1);
            values.Add(FromInternal(InternalLow + (t * (InternalHigh - InternalLow))));
        }

        return values;
    }

    internal override double ToInternal(object value)
    {
        double v = Convert.ToDouble(value, CultureInfo.InvariantCulture);
        return _logScale ? Math.Log(v) : v;
    }

    internal override object FromInternal(double x)
    {
        x = Math.Clamp(x, InternalLow, InternalHigh);
        double v = Math.Clamp(_logScale ? Math.Exp(x) : x, Min, Max);
        return ValueType == typeof(float) ? (object)(float)v : v;
    }
}
