// Reflection helpers that read and write (possibly nested) options properties and clone options objects.
using System.Linq.Expressions;
using System.Reflection;

namespace MLNet.Transformer.AutoML.Internal;

/// <summary>A chain of public read/write properties from the options root, e.g. <c>Model.Heads</c>.</summary>
internal sealed class PropertyPath
{
    private static readonly MethodInfo CloneMethod =
        typeof(object).GetMethod("MemberwiseClone", BindingFlags.Instance | BindingFlags.NonPublic)!;

    private readonly PropertyInfo[] _chain;

    public PropertyPath(IReadOnlyList<PropertyInfo> chain)
    {
        _chain = chain.ToArray();
        Name = string.Join('.', _chain.Select(p => p.Name));
        var last = _chain[^1];
        if (!last.CanWrite || last.SetMethod is not { IsPublic: true })
        {
            throw new TransformerArgumentException($"Search parameter '{Name}': the property has no public setter.", Name);
        }
    }

    public string Name { get; }

    public Type ValueType => _chain[^1].PropertyType;

    /// <summary>Parses <c>o =&gt; o.A.B</c> into a path.</summary>
    public static PropertyPath FromExpression(LambdaExpression expression)
    {
        Expression body = expression.Body;
        while (body is UnaryExpression { NodeType: ExpressionType.Convert or ExpressionType.ConvertChecked } u)
        {
            body = u.Operand;
        }

        var chain = new List<PropertyInfo>();
        while (body is MemberExpression { Member: PropertyInfo p } m)
        {
            chain.Insert(0, p);
            body = m.Expression!;
        }

        if (body is not ParameterExpression || chain.Count == 0)
        {
            throw new TransformerArgumentException(
                $"The selector '{expression}' must be a chain of properties of the options, like o => o.Heads.", nameof(expression));
        }

        return new PropertyPath(chain);
    }

    /// <summary>A shallow copy of <paramref name="value"/> (every field copied, references shared).</summary>
    public static T ShallowClone<T>(T value)
        where T : class => (T)CloneMethod.Invoke(value, null)!;

    public object? GetValue(object root)
    {
        object? current = root;
        foreach (var p in _chain)
        {
            if (current is null)
            {
                return null;
            }

            current = p.GetValue(current);
        }

        return current;
    }

    /// <summary>Writes <paramref name="value"/> into <paramref name="root"/> (already a clone), cloning each nested
    /// object on the way once (recorded in <paramref name="cloned"/>) so that the base options are never changed.</summary>
    public void SetValue(object root, object value, HashSet<string> cloned)
    {
        object current = root;
        string prefix = string.Empty;
        for (int i = 0; i < _chain.Length - 1; i++)
        {
            var p = _chain[i];
            prefix = prefix.Length == 0 ? p.Name : prefix + "." + p.Name;
            object? child = p.GetValue(current)
                ?? throw new TransformerArgumentException($"Search parameter '{Name}': '{prefix}' is null in the base options.", Name);
            if (cloned.Add(prefix))
            {
                if (!p.CanWrite)
                {
                    throw new TransformerArgumentException($"Search parameter '{Name}': '{prefix}' has no setter, so it cannot be cloned.", Name);
                }

                child = ShallowClone(child);
                p.SetValue(current, child);
            }

            current = child;
        }

        _chain[^1].SetValue(current, value);
    }
}
