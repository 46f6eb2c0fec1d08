// Search spaces: the searched parameters of an options type, the fixed values of a base options instance, and the
// constraints a configuration must satisfy before it is trained.
using System.Linq.Expressions;
using System.Reflection;
using MLNet.Transformer.AutoML.Internal;

namespace MLNet.Transformer.AutoML;

/// <summary>
/// The non-generic view of a search space that tuners work with: the searched dimensions and a validity check.
/// Create one with <see cref="Create{TOptions}"/> (fluent builder) or <see cref="FromAttributes{TOptions}"/>.
/// </summary>
public abstract class SweepSearchSpace
{
    private protected SweepSearchSpace()
    {
    }

    /// <summary>The searched dimensions, in declaration order (the order of <see cref="ParameterSet"/> keys).</summary>
    public abstract IReadOnlyList<SearchParameter> Parameters { get; }

    /// <summary>The number of configurations a grid search visits (before constraints), or null if a continuous
    /// dimension has no grid steps.</summary>
    public long? GridSize
    {
        get
        {
            long size = 1;
            foreach (var p in Parameters)
            {
                if (p is FloatRangeParameter { GridSteps: null })
                {
                    return null;
                }

                size = checked(size * p.GetGridValues().Count);
            }

            return size;
        }
    }

    /// <summary>An empty space over <typeparamref name="TOptions"/> to declare with the fluent methods.</summary>
    /// <param name="baseOptions">Supplies every value that is not searched (cloned per trial, never changed);
    /// null: a new <typeparamref name="TOptions"/> from its parameterless constructor.</param>
    public static SweepSearchSpace<TOptions> Create<TOptions>(TOptions? baseOptions = null)
        where TOptions : class => new(baseOptions);

    /// <summary>A space declared by <see cref="SearchChoiceAttribute"/> and <see cref="SearchRangeAttribute"/> on
    /// the public properties of <typeparamref name="TOptions"/>; refine it further with the fluent methods.</summary>
    /// <param name="baseOptions">Supplies every value that is not searched; null: a default instance.</param>
    /// <exception cref="TransformerArgumentException">An attribute does not fit its property.</exception>
    public static SweepSearchSpace<TOptions> FromAttributes<TOptions>(TOptions? baseOptions = null)
        where TOptions : class
    {
        var space = new SweepSearchSpace<TOptions>(baseOptions);
        var properties = typeof(TOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .OrderBy(p => p.DeclaringType == typeof(TOptions) ? 1 : 0)
            .ThenBy(p => p.MetadataToken);
        foreach (var property in properties)
        {
            var choice = property.GetCustomAttribute<SearchChoiceAttribute>(inherit: true);
            var range = property.GetCustomAttribute<SearchRangeAttribute>(inherit: true);
            if (choice is not null && range is not null)
            {
                throw new TransformerArgumentException(
                    $"Search parameter '{property.Name}' has both [SearchChoice] and [SearchRange]; keep one.", property.Name);
            }

            if (choice is null && range is null)
            {
                continue;
            }

            var path = new PropertyPath([property]);
            if (choice is not null)
            {
                space.Add(path, new ChoiceParameter(path.Name, path.ValueType, choice.Values));
            }
            else
            {
                space.Add(path, SweepSearchSpace<TOptions>.MakeRange(path, range!.Min, range.Max, range.LogScale, range.Step,
                    range.GridSteps == 0 ? null : range.GridSteps));
            }
        }

        return space;
    }

    /// <summary>Why <paramref name="parameters"/> may not be trained (a violated constraint), or null when valid.</summary>
    public abstract string? FindViolation(ParameterSet parameters);

    /// <summary>Parses a <see cref="ParameterSet.Key"/> (e.g. from a report) back into a parameter set of this space,
    /// converting every value to its property type, so a trial can be re-created from its key.</summary>
    /// <exception cref="TransformerArgumentException">The key is malformed, names an unknown parameter, misses one, or
    /// holds a value of the wrong type.</exception>
    public ParameterSet ParseKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var raw = new Dictionary<string, string>(StringComparer.Ordinal);
        var text = new System.Text.StringBuilder();
        string? name = null;
        bool escaped = false;

        void EndPair()
        {
            if (name is null || !raw.TryAdd(name, text.ToString()))
            {
                throw new TransformerArgumentException($"Parameter key '{key}' is malformed near '{name ?? text.ToString()}'.", nameof(key));
            }

            name = null;
            text.Clear();
        }

        foreach (char c in key)
        {
            if (escaped)
            {
                text.Append(c);
                escaped = false;
            }
            else if (c == '\\')
            {
                escaped = true;
            }
            else if (c == '=' && name is null)
            {
                name = text.ToString();
                text.Clear();
            }
            else if (c == ',')
            {
                EndPair();
            }
            else
            {
                text.Append(c);
            }
        }

        if (key.Length > 0)
        {
            EndPair();
        }

        var values = new object[Parameters.Count];
        for (int i = 0; i < values.Length; i++)
        {
            var p = Parameters[i];
            if (!raw.Remove(p.Name, out var value))
            {
                throw new TransformerArgumentException($"Parameter key '{key}' has no value for '{p.Name}'.", nameof(key));
            }

            values[i] = SearchParameter.ConvertValue(value, p.ValueType, p.Name);
        }

        if (raw.Count > 0)
        {
            throw new TransformerArgumentException($"Parameter key '{key}' names unknown parameter(s): {string.Join(", ", raw.Keys)}.", nameof(key));
        }

        return Compose(values);
    }

    /// <summary>Builds a parameter set from one value per parameter, in <see cref="Parameters"/> order.</summary>
    internal ParameterSet Compose(IReadOnlyList<object> values)
    {
        var items = new KeyValuePair<string, object>[Parameters.Count];
        for (int i = 0; i < items.Length; i++)
        {
            items[i] = new(Parameters[i].Name, values[i]);
        }

        return new ParameterSet(items);
    }

    /// <summary>One uniform draw of every dimension.</summary>
    internal ParameterSet Sample(SweepRandom random) => Compose(Parameters.Select(p => p.Sample(random)).ToArray());
}

/// <summary>
/// A search space over the options type <typeparamref name="TOptions"/>: searched properties, fixed values taken
/// from a base options instance, and constraints between parameters. Declaring a property twice replaces the
/// earlier declaration (keeping its position).
/// </summary>
/// <typeparam name="TOptions">The options class the trial runner consumes.</typeparam>
/// <example><code>
/// var space = SweepSearchSpace.Create&lt;MyOptions&gt;()
///     .Choice(o =&gt; o.Heads, 1, 2, 4)
///     .Range(o =&gt; o.Layers, 1, 3)
///     .LogUniform(o =&gt; o.LearningRate, 1e-4, 3e-3)
///     .Constraint("heads must divide dim", o =&gt; o.Dim % o.Heads == 0);
/// </code></example>
public sealed class SweepSearchSpace<TOptions> : SweepSearchSpace
    where TOptions : class
{
    private readonly List<SearchParameter> _parameters = [];
    private readonly List<PropertyPath?> _paths = [];
    private readonly Dictionary<string, Action<TOptions, object>> _derived = new(StringComparer.Ordinal);
    private readonly List<(string Description, Func<TOptions, bool> Predicate)> _constraints = [];

    internal SweepSearchSpace(TOptions? baseOptions)
    {
        if (baseOptions is null)
        {
            try
            {
                baseOptions = Activator.CreateInstance<TOptions>();
            }
            catch (MissingMethodException e)
            {
                throw new TransformerArgumentException(
                    $"{typeof(TOptions).Name} has no parameterless constructor; pass base options to the search space.", e);
            }
        }

        BaseOptions = baseOptions;
    }

    /// <summary>The options every configuration starts from (never modified).</summary>
    public TOptions BaseOptions { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<SearchParameter> Parameters => _parameters;

    /// <summary>The descriptions of the declared constraints, in order.</summary>
    public IReadOnlyList<string> Constraints => _constraints.Select(c => c.Description).ToArray();

    /// <summary>Searches <paramref name="property"/> over the listed values (categorical).</summary>
    /// <exception cref="TransformerArgumentException">No values, repeated values, or a bad selector.</exception>
    public SweepSearchSpace<TOptions> Choice<TValue>(Expression<Func<TOptions, TValue>> property, params TValue[] values)
    {
        ArgumentNullException.ThrowIfNull(property);
        ArgumentNullException.ThrowIfNull(values);
        var path = PropertyPath.FromExpression(property);
        Add(path, new ChoiceParameter(path.Name, path.ValueType, values.Cast<object?>()));
        return this;
    }

    /// <summary>Searches a value that is not an options property but sets one or more of them, e.g. a feed-forward
    /// ratio: <c>.Choice("FeedForwardRatio", (o, r) =&gt; o.FeedForwardDimension = r * o.ModelDimension, 2, 4)</c>.
    /// <paramref name="apply"/> runs after every property parameter is written (so it sees their values), in
    /// declaration order.</summary>
    /// <param name="name">The parameter's name in keys and reports; must not contain '=', ',' or '\'.</param>
    /// <param name="apply">Writes the value into a materialised options object.</param>
    /// <param name="values">The values.</param>
    /// <exception cref="TransformerArgumentException">No values, repeated values, or a bad name.</exception>
    public SweepSearchSpace<TOptions> Choice<TValue>(string name, Action<TOptions, TValue> apply, params TValue[] values)
    {
        ArgumentNullException.ThrowIfNull(apply);
        ArgumentNullException.ThrowIfNull(values);
        if (string.IsNullOrWhiteSpace(name) || name.IndexOfAny(['=', ',', '\\']) >= 0)
        {
            throw new TransformerArgumentException($"Search parameter name '{name}' must be non-blank, without '=', ',' or '\\'.", nameof(name));
        }

        Add(null, new ChoiceParameter(name, typeof(TValue), values.Cast<object?>()));
        _derived[name] = (o, v) => apply(o, (TValue)v);
        return this;
    }

    /// <summary>Searches <paramref name="property"/> over [<paramref name="min"/>, <paramref name="max"/>]: an integer
    /// range for int/long properties, a continuous range for float/double properties.</summary>
    /// <param name="property">The property, e.g. <c>o =&gt; o.Layers</c>.</param>
    /// <param name="min">Lower end, inclusive.</param>
    /// <param name="max">Upper end, inclusive.</param>
    /// <param name="logScale">Search in log space (needs <paramref name="min"/> &gt; 0).</param>
    /// <param name="step">Integer ranges: distance between consecutive values.</param>
    /// <param name="gridSteps">Grid points for a grid search (required by grids for continuous ranges).</param>
    public SweepSearchSpace<TOptions> Range<TValue>(Expression<Func<TOptions, TValue>> property, double min, double max,
        bool logScale = false, int step = 1, int? gridSteps = null)
    {
        ArgumentNullException.ThrowIfNull(property);
        var path = PropertyPath.FromExpression(property);
        Add(path, MakeRange(path, min, max, logScale, step, gridSteps));
        return this;
    }

    /// <summary>Searches a float/double property uniformly over [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public SweepSearchSpace<TOptions> Uniform<TValue>(Expression<Func<TOptions, TValue>> property, double min, double max, int? gridSteps = null)
    {
        ArgumentNullException.ThrowIfNull(property);
        var path = PropertyPath.FromExpression(property);
        Add(path, new FloatRangeParameter(path.Name, path.ValueType, min, max, logScale: false, gridSteps));
        return this;
    }

    /// <summary>Searches a float/double property log-uniformly over [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public SweepSearchSpace<TOptions> LogUniform<TValue>(Expression<Func<TOptions, TValue>> property, double min, double max, int? gridSteps = null)
    {
        ArgumentNullException.ThrowIfNull(property);
        var path = PropertyPath.FromExpression(property);
        Add(path, new FloatRangeParameter(path.Name, path.ValueType, min, max, logScale: true, gridSteps));
        return this;
    }

    /// <summary>Stops searching the property named <paramref name="name"/> (its base value is used).</summary>
    public SweepSearchSpace<TOptions> Remove(string name)
    {
        int i = _parameters.FindIndex(p => string.Equals(p.Name, name, StringComparison.Ordinal));
        if (i >= 0)
        {
            _parameters.RemoveAt(i);
            _paths.RemoveAt(i);
            _derived.Remove(name);
        }

        return this;
    }

    /// <summary>Adds a constraint: configurations for which <paramref name="predicate"/> is false are never trained
    /// (recorded as skipped with <paramref name="description"/> as the reason).</summary>
    /// <param name="description">Human-readable rule, e.g. "heads must divide dim".</param>
    /// <param name="predicate">Evaluated on the materialised options.</param>
    public SweepSearchSpace<TOptions> Constraint(string description, Func<TOptions, bool> predicate)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(description);
        ArgumentNullException.ThrowIfNull(predicate);
        _constraints.Add((description, predicate));
        return this;
    }

    /// <summary>A new options object: a clone of <see cref="BaseOptions"/> with the values of
    /// <paramref name="parameters"/> written in (nested options on the way are cloned too, so nothing is shared
    /// that a parameter changes; other reference-typed values are shared with the base).</summary>
    /// <exception cref="TransformerArgumentException">The set names a parameter this space does not have.</exception>
    public TOptions Materialize(ParameterSet parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var options = PropertyPath.ShallowClone(BaseOptions);
        var cloned = new HashSet<string>(StringComparer.Ordinal);
        var derived = new List<(Action<TOptions, object> Apply, object Value)>();
        foreach (var (name, value) in parameters)
        {
            int i = _parameters.FindIndex(p => string.Equals(p.Name, name, StringComparison.Ordinal));
            if (i < 0)
            {
                throw new TransformerArgumentException($"Parameter '{name}' is not part of this search space.", nameof(parameters));
            }

            object typed = SearchParameter.ConvertValue(value, _parameters[i].ValueType, name);
            if (_paths[i] is { } path)
            {
                path.SetValue(options, typed, cloned);
            }
            else
            {
                derived.Add((_derived[name], typed));
            }
        }

        foreach (var (apply, value) in derived)
        {
            apply(options, value);
        }

        return options;
    }

    /// <inheritdoc/>
    public override string? FindViolation(ParameterSet parameters)
    {
        if (_constraints.Count == 0)
        {
            return null;
        }

        var options = Materialize(parameters);
        foreach (var (description, predicate) in _constraints)
        {
            bool ok;
            try
            {
                ok = predicate(options);
            }
            catch (Exception e) when (e is ArithmeticException or InvalidOperationException or ArgumentException or NullReferenceException)
            {
                return $"constraint '{description}' threw {e.GetType().Name}: {e.Message}";
            }

            if (!ok)
            {
                return $"constraint '{description}' is violated";
            }
        }

        return null;
    }

    internal static SearchParameter MakeRange(PropertyPath path, double min, double max, bool logScale, int step, int? gridSteps)
    {
        if (SearchParameter.IsIntegerType(path.ValueType))
        {
            if (min != Math.Floor(min) || max != Math.Floor(max))
            {
                throw new TransformerArgumentException($"Search parameter '{path.Name}': an integer property needs integral range ends, not [{min}, {max}].", path.Name);
            }

            return new IntRangeParameter(path.Name, path.ValueType, (long)min, (long)max, logScale, step, gridSteps);
        }

        if (SearchParameter.IsFloatingType(path.ValueType))
        {
            return new FloatRangeParameter(path.Name, path.ValueType, min, max, logScale, gridSteps);
        }

        throw new TransformerArgumentException(
            $"Search parameter '{path.Name}': a range needs a numeric property, not {path.ValueType.Name}; use a choice.", path.Name);
    }

    internal void Add(PropertyPath? path, SearchParameter parameter)
    {
        if (path is not null)
        {
            _derived.Remove(parameter.Name);
        }

        int i = _parameters.FindIndex(p => string.Equals(p.Name, parameter.Name, StringComparison.Ordinal));
        if (i >= 0)
        {
            _parameters[i] = parameter;
            _paths[i] = path;
        }
        else
        {
            _parameters.Add(parameter);
            _paths.Add(path);
        }
    }
}
