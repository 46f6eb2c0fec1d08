// Nice tick values: 1/2/5 x 10^k steps, ticks covering the data, sensible labels, degenerate and huge ranges.
using Xunit;

namespace MLNet.Transformer.Visualization.Tests;

public sealed class AxisScaleTests
{
    [Theory]
    [InlineData(1.72, 3.02, 0.5, 1.5, 3.5)]
    [InlineData(0, 1, 0.2, 0, 1)]
    [InlineData(1.93, 2.61, 0.2, 1.8, 2.8)]
    [InlineData(-3, 7, 2, -4, 8)]
    [InlineData(0.0012, 0.0047, 0.001, 0.001, 0.005)]
    [InlineData(2.3, 2.3, 0.1, 2, 2.6)]
    public void Linear_TypicalRanges_HandComputedNiceTicks(double lo, double hi, double step, double min, double max)
    {
        AxisScale axis = AxisScale.Linear(lo, hi, 6);

        Assert.Equal(step, axis.Step, 12);
        Assert.Equal(min, axis.Min, 12);
        Assert.Equal(max, axis.Max, 12);
        Assert.Equal(min, axis.Ticks[0], 12);
        Assert.Equal(max, axis.Ticks[^1], 12);
    }

    [Theory]
    [InlineData(0.3, 9.7)]
    [InlineData(1e-7, 3e-7)]
    [InlineData(123456, 987654321)]
    [InlineData(-1e300, 1e300)]
    [InlineData(-5, -4.99)]
    public void Linear_AnyRange_TicksAreNiceEvenlySpacedAndCoverTheData(double lo, double hi)
    {
        AxisScale axis = AxisScale.Linear(lo, hi, 6);

        Assert.InRange(axis.Ticks.Count, 3, 12);
        Assert.True(axis.Min <= lo && axis.Max >= hi, $"[{axis.Min}, {axis.Max}] does not cover [{lo}, {hi}]");
        double mantissa = axis.Step / Math.Pow(10, Math.Floor(Math.Log10(axis.Step)));
        Assert.Contains(Math.Round(mantissa, 6), new[] { 1.0, 2.0, 5.0 });
        for (int i = 1; i < axis.Ticks.Count; i++)
        {
            Assert.Equal(axis.Step, axis.Ticks[i] - axis.Ticks[i - 1], axis.Step * 1e-6);
        }

        Assert.All(axis.Ticks, t => Assert.True(double.IsFinite(t)));
    }

    [Fact]
    public void Linear_BeyondOneE300_IsClampedAndStaysFinite()
    {
        AxisScale axis = AxisScale.Linear(double.MaxValue, double.MaxValue);
        Assert.InRange(axis.Ticks.Count, 2, 12);
        Assert.All(axis.Ticks, t => Assert.True(double.IsFinite(t)));

        AxisScale log = AxisScale.Log10(double.Epsilon, double.MaxValue);
        Assert.True(double.IsFinite(log.Max) && log.Min > 0);
        Assert.InRange(log.Ticks.Count, 2, 12);
    }

    [Fact]
    public void Linear_SinglePointOrZero_PadsTheRange()
    {
        AxisScale one = AxisScale.Linear(2.5, 2.5);
        Assert.True(one.Min < 2.5 && one.Max > 2.5);

        AxisScale zero = AxisScale.Linear(0, 0);
        Assert.True(zero.Min <= -1 && zero.Max >= 1);

        AxisScale epoch = AxisScale.Linear(3, 3, integerStep: true);
        Assert.Equal([2.0, 3.0, 4.0], epoch.Ticks);
    }

    [Fact]
    public void Linear_IntegerStep_NeverHasFractionalEpochs()
    {
        AxisScale axis = AxisScale.Linear(1, 3, 8, integerStep: true);
        Assert.Equal([1.0, 2.0, 3.0], axis.Ticks);
    }

    [Fact]
    public void Linear_NonFinite_Throws()
    {
        Assert.Throws<ArgumentException>(() => AxisScale.Linear(double.NaN, 1));
        Assert.Throws<ArgumentException>(() => AxisScale.Linear(0, double.PositiveInfinity));
        Assert.Throws<ArgumentException>(() => AxisScale.Linear(2, 1));
    }

    [Fact]
    public void Log10_WideRange_TicksArePowersOfTen()
    {
        AxisScale axis = AxisScale.Log10(1.7, 2.3e6);

        Assert.True(axis.IsLog);
        Assert.Equal(1, axis.Min);
        Assert.Equal(1e7, axis.Max);
        Assert.Equal([1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7], axis.Ticks);
        Assert.Equal(0.5, axis.Fraction(Math.Pow(10, 3.5)), 9);
    }

    [Fact]
    public void Log10_NarrowRange_AddsTwoAndFive()
    {
        Assert.Equal([1, 2, 5, 10, 20, 50, 100], AxisScale.Log10(1.5, 80).Ticks);
    }

    [Theory]
    [InlineData(2.5, 0.5, "2.5")]
    [InlineData(3, 1, "3")]
    [InlineData(1.75, 0.05, "1.75")]
    [InlineData(2e7, 1e7, "2E+7")]
    [InlineData(0.0005, 0.0005, "5E-4")]
    [InlineData(0, 0.1, "0")]
    public void Format_UsesTheDecimalsTheStepNeeds(double value, double step, string expected)
    {
        AxisScale axis = AxisScale.Linear(0, step * 10, 11);
        Assert.Equal(step, axis.Step, 12);
        Assert.Equal(expected, axis.Format(value));
    }
}
