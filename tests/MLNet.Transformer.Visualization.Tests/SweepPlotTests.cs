// Sweep bar chart SVG: sorted by loss, best highlighted, pruned/failed styled apart, edge cases handled.
using System.Globalization;
using System.Xml.Linq;
using Xunit;

namespace MLNet.Transformer.Visualization.Tests;

public sealed class SweepPlotTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    [Fact]
    public void Render_Trials_SortedByLossWithBestFirstAndFailedLast()
    {
        XDocument doc = XDocument.Parse(SweepPlot.Render(PlotData.Sweep));

        List<XElement> trials = Trials(doc);
        Assert.Equal(
            ["L4 H4 d128", "L3 H4 d96", "L2 H4 d64", "L1 H2 d32", "L2 H2 d32", "L1 H1 d16", "L4 H8 d256"],
            trials.Select(t => t.Elements(Svg + "text").First().Value));
        Assert.Equal(["trial best", "trial completed", "trial completed", "trial completed", "trial pruned", "trial pruned",
            "trial failed"], trials.Select(t => t.Attribute("class")!.Value));
        Assert.Empty(doc.Descendants(Svg + "script"));
    }

    [Fact]
    public void Render_Bars_LengthProportionalToLossAndStyledByStatus()
    {
        XDocument doc = XDocument.Parse(SweepPlot.Render(PlotData.Sweep));
        List<XElement> trials = Trials(doc);

        double Width(XElement t) => double.Parse(t.Element(Svg + "rect")!.Attribute("width")!.Value, CultureInfo.InvariantCulture);
        Assert.Equal(1.932 / 2.612, Width(trials[0]) / Width(trials[5]), 2);
        Assert.Equal("#16a34a", trials[0].Element(Svg + "rect")!.Attribute("fill")!.Value);
        Assert.Equal("url(#hatch)", trials[4].Element(Svg + "rect")!.Attribute("fill")!.Value);
        Assert.Null(trials[6].Element(Svg + "rect"));
        Assert.Contains("failed", trials[6].Value, StringComparison.Ordinal);
        Assert.Contains("pruned", trials[4].Value, StringComparison.Ordinal);
        Assert.Contains("1.932", trials[0].Value, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_OnlyPrunedAndFailed_BestIsThePrunedOne()
    {
        XDocument doc = XDocument.Parse(SweepPlot.Render(
            [new SweepPoint("a", 2.5, 2, "PRUNED"), new SweepPoint("b", 2.1, 1, "error")]));

        // The failed trial's loss is lower, but failed trials always sort after the others.

        Assert.Equal(["trial best", "trial failed"], Trials(doc).Select(t => t.Attribute("class")!.Value));
    }

    [Fact]
    public void Render_EmptyAndAllFailed_AreReadable()
    {
        XDocument empty = XDocument.Parse(SweepPlot.Render([]));
        Assert.Contains("no trials", LossPlotTests.ById(empty, "no-data")!.Value, StringComparison.Ordinal);

        XDocument failed = XDocument.Parse(SweepPlot.Render([new SweepPoint("x", double.NaN, 0, "failed")]));
        Assert.Equal("trial failed", Assert.Single(Trials(failed)).Attribute("class")!.Value);
    }

    [Fact]
    public void Render_HugeRange_SwitchesToLogScale()
    {
        XDocument doc = XDocument.Parse(SweepPlot.Render(
            [new SweepPoint("ok", 1.9, 10, "completed"), new SweepPoint("diverged", 4.2e7, 10, "completed")]));

        Assert.Contains("log scale", doc.Root!.Value, StringComparison.Ordinal);
        Assert.Contains("4.2E+7", doc.Root!.Value, StringComparison.Ordinal);
    }

    [Fact]
    public void SweepPoint_BadArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => new SweepPoint(null!, 1, 1, "completed"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SweepPoint("a", 1, -1, "completed"));
        Assert.Throws<ArgumentNullException>(() => SweepPlot.Render([null!]));
    }

    private static List<XElement> Trials(XDocument doc) =>
        [.. doc.Descendants(Svg + "g").Where(g => g.Attribute("id")?.Value.StartsWith("trial-", StringComparison.Ordinal) == true)];
}
