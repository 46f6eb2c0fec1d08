// One point of a search space: an ordered, immutable name -> value map with a stable key string.
using System.Collections;
using System.Globalization;
using System.Text;

namespace MLNet.Transformer.AutoML;

/// <summary>
/// One configuration of a search space: the sampled value of each searched parameter, in declaration order.
/// Values are of the options property's type (int, long, float, double, bool, string or an enum). The
/// <see cref="Key"/> (for example <c>Heads=4,Layers=2,LearningRate=0.001</c>) is stable across runs and runtimes
/// and identifies the configuration; two sets with the same key are equal.
/// </summary>
public sealed class ParameterSet : IReadOnlyList<KeyValuePair<string, object>>, IEquatable<ParameterSet>
{
    private readonly KeyValuePair<string, object>[] _items;

    /// <summary>Creates a parameter set from name/value pairs (kept in the given order).</summary>
    /// <param name="items">The values; names must be unique and values non-null.</param>
    /// <exception cref="TransformerArgumentException">A name is repeated or a value is null.</exception>
    public ParameterSet(IEnumerable<KeyValuePair<string, object>> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        _items = items.ToArray();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, value) in _items)
        {
            if (!seen.Add(name))
            {
                throw new TransformerArgumentException($"Parameter '{name}' appears twice in a parameter set.", nameof(items));
            }

            if (value is null)
            {
                throw new TransformerArgumentException($"Parameter '{name}' has a null value.", nameof(items));
            }
        }

        Key = BuildKey(_items);
    }

    /// <summary>The empty configuration (a search space with no searched parameter).</summary>
    public static ParameterSet Empty { get; } = new(Array.Empty<KeyValuePair<string, object>>());

    /// <summary>The stable identity of this configuration: <c>Name=value</c> pairs joined by commas, values
    /// formatted with the invariant culture (shortest round-trip form for floating point); <c>,</c>, <c>=</c> and
    /// <c>\</c> inside string values are escaped with a backslash.</summary>
    public string Key { get; }

    /// <summary>The number of parameters.</summary>
    public int Count => _items.Length;

    /// <summary>The names, in declaration order.</summary>
    public IEnumerable<string> Names => _items.Select(kv => kv.Key);

    /// <summary>The pair at <paramref name="index"/>.</summary>
    public KeyValuePair<string, object> this[int index] => _items[index];

    /// <summary>The value of the parameter <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No parameter has that name.</exception>
    public object this[string name] =>
        TryGetValue(name, out var value) ? value : throw new KeyNotFoundException($"No parameter named '{name}' in {Key}.");

    /// <summary>Looks a parameter up by name.</summary>
    public bool TryGetValue(string name, out object value)
    {
        foreach (var kv in _items)
        {
            if (string.Equals(kv.Key, name, StringComparison.Ordinal))
            {
                value = kv.Value;
                return true;
            }
        }

        value = null!;
        return false;
    }

    /// <summary>The value of <paramref name="name"/> converted to <typeparamref name="T"/> (invariant culture).</summary>
    public T Get<T>(string name)
    {
        object value = this[name];
        if (value is T typed)
        {
            return typed;
        }

        return (T)Convert.ChangeType(value, typeof(T), CultureInfo.InvariantCulture);
    }

    /// <summary>Formats one value the way <see cref="Key"/> and the reports do.</summary>
    public static string FormatValue(object value) => value switch
    {
        null => string.Empty,
        bool b => b ? "true" : "false",
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, object>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object>>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc/>
    public bool Equals(ParameterSet? other) => other is not null && string.Equals(Key, other.Key, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as ParameterSet);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Key);

    /// <summary>The <see cref="Key"/>.</summary>
    public override string ToString() => Key;

    private static string BuildKey(KeyValuePair<string, object>[] items)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < items.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }

            sb.Append(items[i].Key).Append('=');
            foreach (char c in FormatValue(items[i].Value))
            {
                if (c is ',' or '=' or '\\')
                {
                    sb.Append('\\');
                }

                sb.Append(c);
            }
        }

        return sb.ToString();
    }
}
