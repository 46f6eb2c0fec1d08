// SVG line plot of training and validation loss per epoch, with nice axes, a legend and the best validation epoch.
using System.Globalization;
using System.Xml.Linq;
using static MLNet.Transformer.Visualization.SvgDocument;

namespace MLNet.Transformer.Visualization;

/// <summary>One loss measurement: the (possibly fractional) epoch it was taken at and the loss in nats per character.</summary>
/// <param name="Epoch">The epoch, for example 3, or 2.5 for a mid-epoch evaluation.</param>
/// <param name="Loss">The mean cross-entropy loss, in nats per character.</param>
public readonly record struct LossPoint(double Epoch, double Loss);

/// <summary>Draws a loss curve plot as a plain SVG 1.1 document (no scripts), readable in any browser or viewer.</summary>
/// <remarks>
/// <para>
/// The plot has a title, nice tick values on both axes (integer epochs when every epoch is whole), axis labels
/// ("epoch", "loss (nats/char)"), a legend, the training curve (blue), the validation curve (orange, dashed) and a
/// green marker with a label at the epoch of the lowest validation loss.
/// </para>
/// <para>
/// Edge cases: points whose epoch or loss is NaN or infinite are skipped and the number skipped is noted under the
/// plot; when no finite point remains (or both series are empty) the result is a "no data" plot rather than an
/// exception; a single point is drawn as a marker on a padded axis; when every loss is positive and the largest is
/// over 100 times the smallest (a diverged run), the loss axis becomes log10 and its label says so.
/// </para>
/// <para>Element ids for tools: <c>train</c>, <c>validation</c> (polylines), <c>best</c>, <c>legend</c>, <c>note</c>.</para>
/// </remarks>
public static class LossPlot
{
    private const double Width = 760, Height = 440;
    private const double Left = 70, Right = 28, Top = 64, Bottom = 58;
    private const string TrainColor = "#2563eb", ValidationColor = "#ea580c", BestColor = "#16a34a";

    /// <summary>Renders the plot.</summary>
    /// <param name="train">The training loss per epoch (may be empty).</param>
    /// <param name="validation">The validation loss per epoch, or null when there is none.</param>
    /// <param name="title">The plot title.</param>
    /// <returns>The SVG document text.</returns>
    public static string Render(IReadOnlyList<LossPoint> train, IReadOnlyList<LossPoint>? validation, string title)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(title);
        List<LossPoint> tr = Finite(train, out int skipped);
        List<LossPoint> va = validation is null ? [] : Finite(validation, out int skippedValidation);
        skipped += validation is null ? 0 : validation.Count - va.Count;
        if (tr.Count == 0 && va.Count == 0)
        {
            string why = skipped > 0 ? $"No data: all {skipped} points are NaN or infinite" : "No data";
            return NoData(Width, Height, title, why);
        }

        IEnumerable<LossPoint> all = tr.Concat(va);
        double xLo = all.Min(p => p.Epoch), xHi = all.Max(p => p.Epoch);
        double yLo = all.Min(p => p.Loss), yHi = all.Max(p => p.Loss);
        bool wholeEpochs = all.All(p => p.Epoch == Math.Floor(p.Epoch));
        AxisScale x = AxisScale.Linear(xLo, xHi, 8, integerStep: wholeEpochs);
        bool log = yLo > 0 && yHi / yLo > 100;
        AxisScale y = log ? AxisScale.Log10(yLo, yHi) : AxisScale.Linear(yLo, yHi, 6);

        double plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        double Px(double v) => Left + (x.Fraction(v) * plotW);
        double Py(double v) => Top + plotH - (y.Fraction(v) * plotH);

        XElement svg = Root(Width, Height, title,
            $"Loss per epoch: {tr.Count} training and {va.Count} validation points.");
        svg.Add(Label(Left, 30, title, size: 16, weight: "600"));

        var grid = E("g", A("id", "grid"));
        foreach (double t in y.Ticks)
        {
            double py = Py(t);
            grid.Add(E("line", A("x1", Left), A("x2", Left + plotW), A("y1", py), A("y2", py), A("stroke", Grid)));
            grid.Add(Label(Left - 8, py + 4, y.Format(t), "end", 11, Muted));
        }

        foreach (double t in x.Ticks)
        {
            double px = Px(t);
            grid.Add(E("line", A("x1", px), A("x2", px), A("y1", Top + plotH), A("y2", Top + plotH + 5), A("stroke", Axis)));
            grid.Add(Label(px, Top + plotH + 19, x.Format(t), "middle", 11, Muted));
        }

        svg.Add(grid);
        svg.Add(E("line", A("x1", Left), A("x2", Left + plotW), A("y1", Top + plotH), A("y2", Top + plotH), A("stroke", Axis)));
        svg.Add(E("line", A("x1", Left), A("x2", Left), A("y1", Top), A("y2", Top + plotH), A("stroke", Axis)));
        svg.Add(Label(Left + (plotW / 2), Height - 14, "epoch", "middle", 12, Ink));
        double yMid = Top + (plotH / 2);
        svg.Add(Label(18, yMid, log ? "loss (nats/char, log scale)" : "loss (nats/char)", "middle", 12, Ink, null,
            new XAttribute("transform", $"rotate(-90 18 {Num(yMid)})")));

        svg.Add(Series("train", tr, TrainColor, dashed: false, Px, Py));
        svg.Add(Series("validation", va, ValidationColor, dashed: true, Px, Py));

        if (va.Count > 0)
        {
            LossPoint best = va[0];
            foreach (LossPoint p in va)
            {
                if (p.Loss < best.Loss)
                {
                    best = p;
                }
            }

            double bx = Px(best.Epoch), by = Py(best.Loss);
            string text = $"best {best.Loss.ToString("0.###", CultureInfo.InvariantCulture)} @ epoch " +
                best.Epoch.ToString("0.##", CultureInfo.InvariantCulture);
            bool leftSide = bx > Left + (plotW * 0.7);
            svg.Add(E("g", A("id", "best"),
                E("line", A("x1", bx), A("x2", bx), A("y1", by), A("y2", Top + plotH), A("stroke", BestColor),
                    A("stroke-dasharray", "3 3")),
                E("circle", A("cx", bx), A("cy", by), A("r", 6), A("fill", "#ffffff"), A("stroke", BestColor),
                    A("stroke-width", 2.5)),
                Label(leftSide ? bx - 10 : bx + 10, by - 10, text, leftSide ? "end" : "start", 12, BestColor, "600")));
        }

        var legend = E("g", A("id", "legend"));
        double lx = Left + plotW - 10;
        if (va.Count > 0)
        {
            legend.Add(LegendItem(lx - 96, 30, "validation", ValidationColor, dashed: true));
            lx -= 116;
        }

        if (tr.Count > 0)
        {
            legend.Add(LegendItem(lx - 60, 30, "train", TrainColor, dashed: false));
        }

        svg.Add(legend);
        if (skipped > 0)
        {
            svg.Add(Label(Left + plotW, Height - 14, $"{skipped} non-finite point{(skipped == 1 ? "" : "s")} skipped",
                "end", 11, Muted, null, new XAttribute("id", "note"), new XAttribute("font-style", "italic")));
        }

        return ToText(svg);
    }

    /// <summary>Renders the plot and writes it to <paramref name="path"/> (UTF-8, temp file + rename).</summary>
    /// <param name="path">The output .svg file; its folder is created if missing.</param>
    /// <param name="train">The training loss per epoch.</param>
    /// <param name="validation">The validation loss per epoch, or null.</param>
    /// <param name="title">The plot title.</param>
    public static void Write(string path, IReadOnlyList<LossPoint> train, IReadOnlyList<LossPoint>? validation, string title) =>
        IO.AtomicFile.WriteAllText(path, Render(train, validation, title));

    private static List<LossPoint> Finite(IReadOnlyList<LossPoint> points, out int skipped)
    {
        var kept = points.Where(p => double.IsFinite(p.Epoch) && double.IsFinite(p.Loss)).OrderBy(p => p.Epoch).ToList();
        skipped = points.Count - kept.Count;
        return kept;
    }

    private static XElement? Series(string id, List<LossPoint> points, string color, bool dashed,
        Func<double, double> px, Func<double, double> py)
    {
        if (points.Count == 0)
        {
            return null;
        }

        string coords = string.Join(' ', points.Select(p => $"{Num(px(p.Epoch))},{Num(py(p.Loss))}"));
        var g = E("g", A("id", id + "-series"),
            E("polyline", A("id", id), A("points", coords), A("fill", "none"), A("stroke", color),
                A("stroke-width", 2.25), A("stroke-linejoin", "round"), A("stroke-linecap", "round"),
                dashed ? A("stroke-dasharray", "7 4") : null));
        if (points.Count <= 60)
        {
            foreach (LossPoint p in points)
            {
                g.Add(E("circle", A("cx", px(p.Epoch)), A("cy", py(p.Loss)), A("r", 3), A("fill", color)));
            }
        }

        return g;
    }

    private static XElement LegendItem(double x, double y, string text, string color, bool dashed) =>
        E("g",
            E("line", A("x1", x), A("x2", x + 22), A("y1", y - 4), A("y2", y - 4), A("stroke", color), A("stroke-width", 2.5),
                dashed ? A("stroke-dasharray", "7 4") : null),
            Label(x + 28, y, text, "start", 12, Ink));
}
