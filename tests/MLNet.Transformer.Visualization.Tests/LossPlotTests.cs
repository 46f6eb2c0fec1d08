// Loss plot SVG: well-formed plain SVG, both series in the right places, best epoch marked, edge cases handled.
using System.Globalization;
using System.Xml.Linq;
using Xunit;

namespace MLNet.Transformer.Visualization.Tests;

public sealed class LossPlotTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    [Fact]
    public void Render_TrainAndValidation_IsWellFormedSvgWithBothSeriesAndLegend()
    {
        XDocument doc = XDocument.Parse(LossPlot.Render(PlotData.Train, PlotData.Validation, "Run <1> & co"));

        XElement root = doc.Root!;
        Assert.Equal(Svg + "svg", root.Name);
        Assert.Equal("1.1", root.Attribute("version")?.Value);
        Assert.Empty(doc.Descendants(Svg + "script"));
        Assert.Equal("Run <1> & co", root.Element(Svg + "title")?.Value);
        Assert.Equal(12, Points(doc, "train").Length);
        Assert.Equal(12, Points(doc, "validation").Length);
        string text = string.Join("|", doc.Descendants(Svg + "text").Select(t => t.Value));
        Assert.Contains("epoch", text, StringComparison.Ordinal);
        Assert.Contains("loss (nats/char)", text, StringComparison.Ordinal);
        Assert.Contains("train", text, StringComparison.Ordinal);
        Assert.Contains("validation", text, StringComparison.Ordinal);
        Assert.Null(ById(doc, "note"));
    }

    [Fact]
    public void Render_Validation_MarksTheBestEpoch()
    {
        XDocument doc = XDocument.Parse(LossPlot.Render(PlotData.Train, PlotData.Validation, "t"));

        XElement best = ById(doc, "best")!;
        Assert.Contains("best 1.968 @ epoch 8", best.Value, StringComparison.Ordinal);
        double cx = double.Parse(best.Element(Svg + "circle")!.Attribute("cx")!.Value, CultureInfo.InvariantCulture);
        Assert.Equal(Points(doc, "validation")[7].X, cx, 2);
    }

    [Fact]
    public void Render_LowerLoss_IsDrawnHigherOnThePlot()
    {
        (double X, double Y)[] train = Points(XDocument.Parse(LossPlot.Render(PlotData.Train, null, "t")), "train");

        for (int i = 1; i < train.Length; i++)
        {
            Assert.True(train[i].X > train[i - 1].X);
            Assert.True(train[i].Y > train[i - 1].Y); // loss falls, SVG y grows downwards
        }
    }

    [Fact]
    public void Render_NonFinitePoints_AreSkippedAndNoted()
    {
        LossPoint[] train = [new(1, 2.0), new(2, double.NaN), new(3, 1.5), new(double.PositiveInfinity, 1), new(4, 1.4)];

        XDocument doc = XDocument.Parse(LossPlot.Render(train, [new(1, double.NegativeInfinity)], "t"));

        Assert.Equal(3, Points(doc, "train").Length);
        Assert.Null(ById(doc, "validation"));
        Assert.Equal("3 non-finite points skipped", ById(doc, "note")!.Value);
    }

    [Fact]
    public void Render_Empty_IsANoDataPlot()
    {
        XDocument empty = XDocument.Parse(LossPlot.Render([], null, "nothing"));
        Assert.Equal("No data", ById(empty, "no-data")!.Value);
        Assert.Null(ById(empty, "train"));

        XDocument allNaN = XDocument.Parse(LossPlot.Render([new(1, double.NaN)], [], "nan"));
        Assert.Contains("all 1 points are NaN or infinite", ById(allNaN, "no-data")!.Value, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_SinglePoint_IsDrawnInsideThePlot()
    {
        XDocument doc = XDocument.Parse(LossPlot.Render([new(1, 2.3)], [new(1, 2.4)], "one"));

        (double X, double Y) p = Assert.Single(Points(doc, "train"));
        Assert.InRange(p.X, 71, 731);
        Assert.InRange(p.Y, 65, 381);
        Assert.NotNull(ById(doc, "best"));
    }

    [Fact]
    public void Render_HugeRange_SwitchesToLogScale()
    {
        LossPoint[] train = [new(1, 3.1), new(2, 2.2), new(3, 40), new(4, 3.5e6)];

        XDocument doc = XDocument.Parse(LossPlot.Render(train, null, "diverged"));

        string text = string.Join("|", doc.Descendants(Svg + "text").Select(t => t.Value));
        Assert.Contains("log scale", text, StringComparison.Ordinal);
        Assert.Contains("1E+6", text, StringComparison.Ordinal);
        Assert.All(Points(doc, "train"), p => Assert.InRange(p.Y, 64, 382));
    }

    [Fact]
    public void Write_CreatesTheFile()
    {
        string path = Path.Combine(TestPaths.NewTempDirectory(), "plots", "loss.svg");
        LossPlot.Write(path, PlotData.Train, PlotData.Validation, "t");
        Assert.Equal(Svg + "svg", XDocument.Load(path).Root!.Name);
    }

    internal static XElement? ById(XDocument doc, string id) =>
        doc.Descendants().FirstOrDefault(e => e.Attribute("id")?.Value == id);

    private static (double X, double Y)[] Points(XDocument doc, string id) =>
        [.. ById(doc, id)!.Attribute("points")!.Value.Split(' ').Select(p =>
        {
            string[] xy = p.Split(',');
            return (double.Parse(xy[0], CultureInfo.InvariantCulture), double.Parse(xy[1], CultureInfo.InvariantCulture));
        })];
}
