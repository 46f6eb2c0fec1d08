// Axis ranges with "nice" tick values (1, 2 or 5 times a power of ten, after Heckbert, Graphics Gems I, 1990),
// linear or log10, and tick labels formatted to the precision the step needs.
using System.Globalization;

namespace MLNet.Transformer.Visualization;

/// <summary>An axis: its (padded) range, tick values and whether it is log10-scaled.</summary>
internal sealed class AxisScale
{
    private const double Limit = 1e300; // data is clamped to +-Limit so that padding and tick rounding cannot overflow

    private AxisScale(double min, double max, double step, IReadOnlyList<double> ticks, bool log)
    {
        Min = min;
        Max = max;
        Step = step;
        Ticks = ticks;
        IsLog = log;
    }

    /// <summary>The low end of the axis (a tick; for a log axis, the value, not its logarithm).</summary>
    public double Min { get; }

    /// <summary>The high end of the axis.</summary>
    public double Max { get; }

    /// <summary>The tick step (linear axes) or 0 (log axes).</summary>
    public double Step { get; }

    /// <summary>The tick values, ascending, all within [Min, Max].</summary>
    public IReadOnlyList<double> Ticks { get; }

    /// <summary>Whether the axis is log10-scaled.</summary>
    public bool IsLog { get; }

    /// <summary>A linear axis covering [lo, hi] with about <paramref name="targetTicks"/> nice ticks.</summary>
    /// <param name="lo">Smallest data value (finite; values beyond +-1e300 are clamped so the padded axis stays finite).</param>
    /// <param name="hi">Largest data value (finite, at least <paramref name="lo"/>).</param>
    /// <param name="targetTicks">The wanted number of ticks, at least 2.</param>
    /// <param name="integerStep">Force a step of at least 1 (integer data such as epochs).</param>
    public static AxisScale Linear(double lo, double hi, int targetTicks = 6, bool integerStep = false)
    {
        if (!double.IsFinite(lo) || !double.IsFinite(hi) || hi < lo)
        {
            throw new ArgumentException($"An axis needs a finite range, got [{lo}, {hi}].", nameof(lo));
        }

        targetTicks = Math.Max(2, targetTicks);
        lo = Math.Clamp(lo, -Limit, Limit);
        hi = Math.Clamp(hi, -Limit, Limit);
        if (hi == lo)
        {
            double pad = lo == 0 ? 1 : Math.Abs(lo) * 0.1;
            if (integerStep)
            {
                pad = Math.Max(1, Math.Round(pad));
            }

            lo -= pad;
            hi += pad;
        }

        double range = NiceNumber(hi - lo, round: false);
        double step = NiceNumber(range / (targetTicks - 1), round: true);
        if (integerStep)
        {
            step = Math.Max(1, Math.Round(step));
        }

        double min = Math.Floor(lo / step) * step;
        double max = Math.Ceiling(hi / step) * step;
        int decimals = Math.Clamp(-(int)Math.Floor(Math.Log10(step)) + 1, 0, 15);
        var ticks = new List<double>();
        for (int i = 0; i <= 1000; i++)
        {
            double t = min + (i * step);
            if (t > max + (step * 1e-9))
            {
                break;
            }

            ticks.Add(Math.Abs(t) < step * 1e-9 ? 0 : Math.Round(t, decimals));
        }

        return new AxisScale(min, max, step, ticks, log: false);
    }

    /// <summary>
    /// A log10 axis covering [lo, hi] (both positive, clamped to [1e-300, 1e300]) with ticks at powers of ten (and 2, 5
    /// for short ranges).
    /// </summary>
    public static AxisScale Log10(double lo, double hi)
    {
        if (!(lo > 0) || !double.IsFinite(hi) || hi < lo)
        {
            throw new ArgumentException($"A log axis needs a positive finite range, got [{lo}, {hi}].", nameof(lo));
        }

        lo = Math.Max(lo, 1 / Limit);
        hi = Math.Clamp(hi, lo, Limit);

        int e0 = (int)Math.Floor(Math.Log10(lo));
        int e1 = (int)Math.Ceiling(Math.Log10(hi));
        if (e1 == e0)
        {
            e1++;
        }

        int stride = Math.Max(1, (int)Math.Ceiling((e1 - e0) / 8.0));
        double[] mantissas = e1 - e0 <= 3 ? [1, 2, 5] : [1];
        var ticks = new List<double>();
        for (int e = e0; e <= e1; e += 1)
        {
            if ((e - e0) % stride != 0)
            {
                continue;
            }

            foreach (double m in mantissas)
            {
                double t = m * Math.Pow(10, e);
                if (t >= Math.Pow(10, e0) && t <= Math.Pow(10, e1) * 1.0000001)
                {
                    ticks.Add(t);
                }
            }
        }

        return new AxisScale(Math.Pow(10, e0), Math.Pow(10, e1), 0, ticks, log: true);
    }

    /// <summary>Where <paramref name="value"/> falls on the axis, 0 at <see cref="Min"/> to 1 at <see cref="Max"/>.</summary>
    public double Fraction(double value)
    {
        if (IsLog)
        {
            double a = Math.Log10(Min), b = Math.Log10(Max);
            return (Math.Log10(Math.Max(value, Min * 1e-3)) - a) / (b - a);
        }

        return (value - Min) / (Max - Min);
    }

    /// <summary>A tick label with as many decimals as the step needs; scientific for very large or small values.</summary>
    public string Format(double value)
    {
        if (value == 0)
        {
            return "0";
        }

        double abs = Math.Abs(value);
        if (abs >= 1e6 || abs < 1e-3)
        {
            return value.ToString("0.##E+0", CultureInfo.InvariantCulture);
        }

        int decimals = IsLog
            ? Math.Max(0, -(int)Math.Floor(Math.Log10(abs)))
            : Math.Clamp(-(int)Math.Floor(Math.Log10(Step) + 1e-9), 0, 6);
        return value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    /// <summary>The nice number (1, 2, 5 or 10 times a power of ten) nearest to, or just above, <paramref name="x"/>.</summary>
    internal static double NiceNumber(double x, bool round)
    {
        double exponent = Math.Floor(Math.Log10(x));
        double power = Math.Pow(10, exponent);
        double f = x / power;
        double nice = round
            ? f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10
            : f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
        return nice * power;
    }
}
