// What a study records of its search space, one line per searched dimension, constraint and fixed option, so that a
// worker with another space can be told exactly what differs.
using System.Globalization;
using System.Reflection;

namespace MLNet.Transformer.AutoML;

/// <summary>Describes a search space as the lines a study store records and compares.</summary>
internal static class StudySpace
{
    /// <summary>Options that say where and how a worker runs, not what it trains: they may differ between workers.</summary>
    private static readonly HashSet<string> WorkerLocal = new(StringComparer.Ordinal)
    {
        "Threads", "Device", "CancellationToken", "Seed", "Verbose", "Monitor", "Progress",
    };

    /// <summary>"name: description" lines: every dimension, every constraint, and every fixed scalar option.</summary>
    public static IReadOnlyList<string> Describe<TOptions>(SweepSearchSpace<TOptions> space)
        where TOptions : class
    {
        var lines = new List<string>();
        var searched = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in space.Parameters)
        {
            searched.Add(p.Name);
            lines.Add($"{p.Name}: {Describe(p)}");
        }

        for (int i = 0; i < space.Constraints.Count; i++)
        {
            lines.Add($"constraint {i + 1}: {space.Constraints[i]}");
        }

        foreach (var property in typeof(TOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (!property.CanRead || property.GetIndexParameters().Length > 0 || searched.Contains(property.Name) || WorkerLocal.Contains(property.Name)
                || !(type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal)))
            {
                continue;
            }

            object? value = property.GetValue(space.BaseOptions);
            lines.Add($"{property.Name}: fixed {(value is null ? "null" : OneLine(ParameterSet.FormatValue(value)))}");
        }

        return lines;
    }

    /// <summary>
    /// A value on one line: the store keeps the description as newline-separated lines, so a string option holding a
    /// line break (corpus mode's Separator, "\n") is written with backslash escapes.
    /// </summary>
    private static string OneLine(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal);

    private static string Describe(SearchParameter p) => p switch
    {
        ChoiceParameter c => "choice of " + string.Join(", ", c.Values.Select(ParameterSet.FormatValue)),
        IntRangeParameter r => string.Create(CultureInfo.InvariantCulture,
            $"integers {r.Min}..{r.Max} step {r.Step}{(r.LogScale ? " log" : "")}{(r.GridSteps is int g ? $" grid {g}" : "")}"),
        FloatRangeParameter f => string.Create(CultureInfo.InvariantCulture,
            $"range {f.Min:R}..{f.Max:R}{(f.LogScale ? " log" : "")}{(f.GridSteps is int g ? $" grid {g}" : "")}"),
        _ => p.Kind.ToString(),
    };
}
