// Loss plot through ScottPlot: the SVG carries the title, axis labels, legend and best epoch as text; the PNG has
// the series' colours exactly where the data points land and background elsewhere; edge cases are readable.
using ScottPlot;
using ScottPlot.Plottables;
using SkiaSharp;
using Xunit;

namespace MLNet.Transformer.Visualization.Tests;

public sealed class LossPlotTests
{
    [Fact]
    public void RenderSvg_TrainAndValidation_HasTitleAxisLabelsLegendAndBestEpoch()
    {
        string svg = LossPlot.RenderSvg(PlotData.Train, PlotData.Validation, "Run <1> & co");

        List<string> texts = PlotImages.Texts(svg);
        Assert.Contains("Run <1> & co", texts);
        Assert.Contains("epoch", texts);
        Assert.Contains("loss (nats/char)", texts);
        Assert.Contains("train", texts);
        Assert.Contains("validation", texts);
        Assert.Contains("best 1.968 @ epoch 8", texts);
        Assert.DoesNotContain(texts, t => t.Contains("skipped", StringComparison.Ordinal));
        Assert.Contains("stroke=\"#2563EB\"", svg, StringComparison.OrdinalIgnoreCase); // train line
        Assert.Contains("stroke=\"#EA580C\"", svg, StringComparison.OrdinalIgnoreCase); // validation line
    }

    [Fact]
    public void RenderPng_Series_DrawnWhereTheDataPointsAreAndNowhereElse()
    {
        using Plot plot = LossPlot.Build(PlotData.Train, PlotData.Validation, "t");
        using SKBitmap png = PlotImages.Decode(PlotFile.Render(plot, 760, 440, PlotFormat.Png));

        Assert.Equal((760, 440), (png.Width, png.Height));
        foreach (LossPoint p in PlotData.Train)
        {
            Assert.True(PlotImages.HasColorNear(png, plot.GetPixel(new Coordinates(p.Epoch, p.Loss)), LossPlot.TrainColor, 2), $"train {p}");
        }

        foreach (LossPoint p in PlotData.Validation)
        {
            Assert.True(PlotImages.HasColorNear(png, plot.GetPixel(new Coordinates(p.Epoch, p.Loss)), LossPlot.ValidationColor, 2), $"validation {p}");
        }

        // The best validation epoch (8, 1.968) is ringed in green; an empty region of the data area (low loss at
        // the first epochs, nothing drawn there) has neither series' colour.
        Assert.True(PlotImages.HasColorNear(png, plot.GetPixel(new Coordinates(8, 1.968)), LossPlot.BestColor, 8));
        Pixel empty = plot.GetPixel(new Coordinates(2, 1.75));
        Assert.False(PlotImages.HasColorNear(png, empty, LossPlot.TrainColor, 6));
        Assert.False(PlotImages.HasColorNear(png, empty, LossPlot.ValidationColor, 6));
    }

    [Fact]
    public void Build_NonFinitePoints_AreSkippedAndNoted()
    {
        LossPoint[] train = [new(1, 2.0), new(2, double.NaN), new(3, 1.5), new(double.PositiveInfinity, 1), new(4, 1.4)];

        using Plot plot = LossPlot.Build(train, [new(1, double.NegativeInfinity)], "t");
        List<string> texts = PlotImages.Texts(plot.GetSvgXml(760, 440));

        Scatter series = Assert.Single(plot.GetPlottables<Scatter>());
        Assert.Equal([2.0, 1.5, 1.4], series.Data.GetScatterPoints().Select(c => c.Y));
        Assert.Contains("3 non-finite points skipped", texts);
        Assert.DoesNotContain("validation", texts);
        Assert.DoesNotContain(texts, t => t.StartsWith("best", StringComparison.Ordinal));
    }

    [Fact]
    public void RenderSvg_Empty_IsANoDataPlot()
    {
        Assert.Contains("No data", PlotImages.Texts(LossPlot.RenderSvg([], null, "nothing")));
        Assert.Contains("No data: all 1 points are NaN or infinite", PlotImages.Texts(LossPlot.RenderSvg([new(1, double.NaN)], [], "nan")));
    }

    [Fact]
    public void RenderPng_SinglePoint_IsDrawnInsideTheImage()
    {
        using Plot plot = LossPlot.Build([new(1, 2.3)], [new(1, 2.4)], "one");
        using SKBitmap png = PlotImages.Decode(PlotFile.Render(plot, 400, 300, PlotFormat.Png));

        Pixel p = plot.GetPixel(new Coordinates(1, 2.3));
        Assert.InRange(p.X, 1, 398);
        Assert.InRange(p.Y, 1, 298);
        Assert.True(PlotImages.HasColorNear(png, p, LossPlot.TrainColor, 2));
    }

    [Fact]
    public void Build_HugeRange_SwitchesToLogScale()
    {
        LossPoint[] train = [new(1, 3.1), new(2, 2.2), new(3, 40), new(4, 3.5e6)];

        using Plot plot = LossPlot.Build(train, null, "diverged");
        List<string> texts = PlotImages.Texts(plot.GetSvgXml(760, 440));

        Assert.Contains("loss (nats/char, log scale)", texts);
        Assert.Contains("1E+06", texts); // a decade tick, labelled with the loss it stands for
        Scatter series = Assert.Single(plot.GetPlottables<Scatter>());
        Assert.Equal(Math.Log10(3.5e6), series.Data.GetScatterPoints()[3].Y, 12);
    }

    [Theory]
    [InlineData("loss.png")]
    [InlineData("loss.PNG")]
    [InlineData("loss.svg")]
    [InlineData("loss")]
    public void Write_FormatFollowsTheExtension(string name)
    {
        string path = Path.Combine(TestPaths.NewTempDirectory(), "plots", name);

        LossPlot.Write(path, PlotData.Train, PlotData.Validation, "t", 500, 300);

        byte[] bytes = File.ReadAllBytes(path);
        if (name.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
        {
            using SKBitmap png = PlotImages.Decode(bytes);
            Assert.Equal((500, 300), (png.Width, png.Height));
            Assert.True(PlotImages.NonWhite(png) > 2_000, "the PNG is (nearly) blank");
        }
        else
        {
            Assert.Contains("validation", PlotImages.Texts(System.Text.Encoding.UTF8.GetString(bytes)));
        }
    }
}
