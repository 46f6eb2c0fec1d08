// Sweep bar chart through ScottPlot: trials sorted by loss (best on top), bars coloured by status at their rows,
// labels and legend as SVG text, edge cases readable.
using ScottPlot;
using SkiaSharp;
using Xunit;

namespace MLNet.Transformer.Visualization.Tests;

public sealed class SweepPlotTests
{
    private static readonly string[] SortedLabels =
        ["L4 H4 d128", "L3 H4 d96", "L2 H4 d64", "L1 H2 d32", "L2 H2 d32", "L1 H1 d16", "L4 H8 d256"];

    [Fact]
    public void Build_Trials_SortedByLossWithBestFirstAndFailedLast()
    {
        using Plot plot = SweepPlot.Build(PlotData.Sweep, "t", out var rows);

        Assert.Equal(SortedLabels, rows.Select(r => r.Trial.Label));
        Assert.Equal(["best", "completed", "completed", "completed", "pruned", "pruned", "failed"], rows.Select(r => r.Style));
        Assert.Equal(Enumerable.Range(0, 7).Select(i => 6.0 - i), rows.Select(r => r.Y)); // top row first
    }

    [Fact]
    public void RenderSvg_LabelsLegendAndAxis_AreText()
    {
        List<string> texts = PlotImages.Texts(SweepPlot.RenderSvg(PlotData.Sweep));

        Assert.Contains(SweepPlot.DefaultTitle, texts);
        Assert.Equal(SortedLabels, texts.Where(SortedLabels.Contains));
        Assert.Contains("1.932 best \u00b7 12 ep", texts);
        Assert.Contains("1.951 \u00b7 12 ep", texts);
        Assert.Contains("2.405 pruned \u00b7 3 ep", texts);
        Assert.Contains("failed \u00b7 1 ep", texts);
        Assert.Contains("validation loss (nats/char)", texts);
        Assert.All(new[] { "best", "completed", "pruned", "failed" }, s => Assert.Contains(s, texts));
    }

    [Fact]
    public void RenderPng_Bars_ColouredByStatusAndLongAsTheLoss()
    {
        using Plot plot = SweepPlot.Build(PlotData.Sweep, "t", out var rows);
        int height = SweepPlot.HeightFor(PlotData.Sweep.Length);
        using SKBitmap png = PlotImages.Decode(PlotFile.Render(plot, SweepPlot.DefaultWidth, height, PlotFormat.Png));

        Assert.Equal((SweepPlot.DefaultWidth, height), (png.Width, png.Height));
        Color Expected(string style) => style switch
        {
            "best" => SweepPlot.BestColor,
            "pruned" => SweepPlot.PrunedColor, // the hatch lines
            _ => SweepPlot.DoneColor,
        };

        foreach (var (trial, style, y, x) in rows.Where(r => r.Style != "failed"))
        {
            // Inside the bar, just before its end; just past the end of the longest bar's row there is no bar colour.
            Pixel inside = plot.GetPixel(new Coordinates(x * 0.97, y));
            Assert.True(PlotImages.HasColorNear(png, inside, Expected(style), 3), $"{trial.Label} ({style})");
        }

        Pixel pastBest = plot.GetPixel(new Coordinates(rows[0].X * 1.03, rows[0].Y));
        Assert.False(PlotImages.HasColorNear(png, pastBest with { X = pastBest.X + 3 }, SweepPlot.BestColor, 2));
        Assert.True(plot.GetPixel(new Coordinates(1, rows[0].Y)).Y < plot.GetPixel(new Coordinates(1, rows[1].Y)).Y);
    }

    [Fact]
    public void Build_OnlyPrunedAndFailed_BestIsThePrunedOne()
    {
        // The failed trial's loss is lower, but failed trials always sort after the others.
        using Plot plot = SweepPlot.Build([new SweepPoint("a", 2.5, 2, "PRUNED"), new SweepPoint("b", 2.1, 1, "error")], "t", out var rows);

        Assert.Equal(["best", "failed"], rows.Select(r => r.Style));
    }

    [Fact]
    public void RenderSvg_EmptyAndAllFailed_AreReadable()
    {
        Assert.Contains("No data: the sweep has no trials", PlotImages.Texts(SweepPlot.RenderSvg([])));

        SweepPoint[] failed = [new SweepPoint("x", double.NaN, 0, "failed")];
        using Plot plot = SweepPlot.Build(failed, "t", out var rows);
        Assert.Equal("failed", Assert.Single(rows).Style);
        Assert.Contains("failed \u00b7 0 ep", PlotImages.Texts(SweepPlot.RenderSvg(failed)));
    }

    [Fact]
    public void RenderSvg_HugeRange_SwitchesToLogScale()
    {
        List<string> texts = PlotImages.Texts(SweepPlot.RenderSvg(
            [new SweepPoint("ok", 1.9, 10, "completed"), new SweepPoint("diverged", 4.2e7, 10, "completed")]));

        Assert.Contains("validation loss (nats/char, log scale)", texts);
        Assert.Contains("42000000 \u00b7 10 ep", texts.Select(t => t.Replace("4.2E+7", "42000000", StringComparison.Ordinal)));
    }

    [Fact]
    public void SweepPoint_BadArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => new SweepPoint(null!, 1, 1, "completed"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SweepPoint("a", 1, -1, "completed"));
        Assert.Throws<ArgumentNullException>(() => SweepPlot.RenderSvg([null!]));
    }
}
