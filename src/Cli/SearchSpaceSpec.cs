// Turns the sweep command's search options ("1,2,4" for a choice, "lo:hi" for a range, one value to fix it) into
// dimensions of a search space; a malformed value is an error naming its option.
using System.Globalization;
using System.Linq.Expressions;
using System.Reflection;
using MLNet.Transformer.AutoML;
using MLNet.Transformer.LanguageModeling;

namespace MLNet.Transformer.Cli;

internal static class SearchSpaceSpec
{
    /// <summary>Applies a numeric spec to <paramref name="property"/>: null keeps the space's dimension; one value
    /// fixes the property (no longer searched); several values make a choice; <c>lo:hi</c> a range (integer for
    /// int properties; log-uniform when <paramref name="logScale"/> and lo &gt; 0, else uniform).</summary>
    /// <exception cref="ArgumentException">The spec is malformed; the message names <paramref name="option"/>.</exception>
    public static void Apply<T>(SweepSearchSpace<TransformerDecoderTrainerOptions> space, string? spec, string option,
        Expression<Func<TransformerDecoderTrainerOptions, T>> property, bool logScale = false)
        where T : struct, IConvertible
    {
        if (spec is null)
        {
            return;
        }

        bool integral = typeof(T) == typeof(int);
        if (spec.Contains(':', StringComparison.Ordinal))
        {
            string[] ends = spec.Split(':', StringSplitOptions.TrimEntries);
            double lo = ends.Length == 2 ? ParseNumber(ends[0], option) : double.NaN;
            double hi = ends.Length == 2 ? ParseNumber(ends[1], option) : double.NaN;
            if (!(lo < hi) || (integral && (lo != Math.Floor(lo) || hi != Math.Floor(hi))))
            {
                throw new ArgumentException($"{option}: '{spec}' is not a range lo:hi with lo < hi{(integral ? " (whole numbers)" : "")}.", option);
            }

            if (logScale && lo > 0)
            {
                space.Range(property, lo, hi, logScale: !integral || lo >= 1);
            }
            else
            {
                space.Range(property, lo, hi);
            }

            return;
        }

        T[] values = List(spec, option, s => (T)Convert.ChangeType(integral ? ParseInt(s) : ParseNumber(s, option), typeof(T), CultureInfo.InvariantCulture));
        Set(space, values, property);
    }

    /// <summary>Applies a list of named values (e.g. relu,gelu) to <paramref name="property"/>: one fixes it,
    /// several make a choice.</summary>
    /// <exception cref="ArgumentException">A name is not accepted; the message names <paramref name="option"/>.</exception>
    public static void ApplyChoice<T>(SweepSearchSpace<TransformerDecoderTrainerOptions> space, string? spec, string option,
        Expression<Func<TransformerDecoderTrainerOptions, T>> property, Func<string, T> parse)
    {
        if (spec is not null)
        {
            Set(space, List(spec, option, s => parse(s.ToLowerInvariant())), property);
        }
    }

    /// <summary>The comma-separated values of <paramref name="list"/>, distinct, at least one.</summary>
    /// <exception cref="ArgumentException">A value does not parse, or there is none; the message names the option.</exception>
    public static T[] List<T>(string list, string option, Func<string, T> parse)
    {
        try
        {
            var values = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(parse).Distinct().ToArray();
            return values.Length > 0 ? values : throw new FormatException("no value");
        }
        catch (Exception e) when (e is FormatException or OverflowException or InvalidCastException)
        {
            throw new ArgumentException($"{option}: '{list}' is not a comma-separated list of accepted values ({e.Message}).", option);
        }
    }

    public static int ParseInt(string s) => int.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture);

    public static T ParseEnum<T>(string s)
        where T : struct, Enum =>
        Enum.TryParse<T>(s, ignoreCase: true, out var v) && Enum.IsDefined(v) && !int.TryParse(s, out _)
            ? v
            : throw new FormatException($"'{s}' is not one of {string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}");

    private static double ParseNumber(string s, string option) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)
            ? v
            : throw new ArgumentException($"{option}: '{s}' is not a number.", option);

    private static void Set<T>(SweepSearchSpace<TransformerDecoderTrainerOptions> space, T[] values, Expression<Func<TransformerDecoderTrainerOptions, T>> property)
    {
        if (values.Length > 1)
        {
            space.Choice(property, values);
            return;
        }

        var info = (PropertyInfo)((MemberExpression)property.Body).Member;
        space.Remove(info.Name);
        info.SetValue(space.BaseOptions, values[0]);
    }
}
