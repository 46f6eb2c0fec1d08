// Training and validation loss per epoch drawn by ScottPlot 5 (SVG or PNG), with a legend and the best validation epoch.
using System.Globalization;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace MLNet.Transformer.Visualization;

/// <summary>One loss measurement: the (possibly fractional) epoch it was taken at and the loss in nats per character.</summary>
/// <param name="Epoch">The epoch, for example 3, or 2.5 for a mid-epoch evaluation.</param>
/// <param name="Loss">The mean cross-entropy loss, in nats per character.</param>
public readonly record struct LossPoint(double Epoch, double Loss);

/// <summary>Draws a loss curve plot with ScottPlot 5, as SVG (text stays text) or PNG.</summary>
/// <remarks>
/// <para>
/// The plot has a title, axis labels ("epoch", "loss (nats/char)"), a legend, the training curve (blue), the
/// validation curve (orange, square markers) and a green ring at the epoch of the lowest validation loss, named in the legend
/// ("best 1.968 @ epoch 8"). Epoch ticks are integers when every epoch is whole.
/// </para>
/// <para>
/// Edge cases: points whose epoch or loss is NaN or infinite are skipped and the number skipped is noted in the
/// plot; when no finite point remains (or both series are empty) the result is a "No data" plot rather than an
/// exception; when every loss is positive and the largest is over 100 times the smallest (a diverged run), the loss
/// axis becomes log10 and its label says so.
/// </para>
/// </remarks>
public static class LossPlot
{
    /// <summary>The default image width in pixels.</summary>
    public const int DefaultWidth = 760;

    /// <summary>The default image height in pixels.</summary>
    public const int DefaultHeight = 440;

    internal static readonly Color TrainColor = Color.FromHex("#2563eb");
    internal static readonly Color ValidationColor = Color.FromHex("#ea580c");
    internal static readonly Color BestColor = Color.FromHex("#16a34a");

    /// <summary>Renders the plot as an SVG document.</summary>
    /// <param name="train">The training loss per epoch (may be empty).</param>
    /// <param name="validation">The validation loss per epoch, or null when there is none.</param>
    /// <param name="title">The plot title.</param>
    /// <param name="width">The image width in pixels.</param>
    /// <param name="height">The image height in pixels.</param>
    /// <returns>The SVG document text.</returns>
    public static string RenderSvg(IReadOnlyList<LossPoint> train, IReadOnlyList<LossPoint>? validation, string title,
        int width = DefaultWidth, int height = DefaultHeight)
    {
        using Plot plot = Build(train, validation, title);
        return plot.GetSvgXml(width, height);
    }

    /// <summary>Renders the plot as a PNG image.</summary>
    /// <param name="train">The training loss per epoch (may be empty).</param>
    /// <param name="validation">The validation loss per epoch, or null when there is none.</param>
    /// <param name="title">The plot title.</param>
    /// <param name="width">The image width in pixels.</param>
    /// <param name="height">The image height in pixels.</param>
    /// <returns>The PNG file's bytes.</returns>
    public static byte[] RenderPng(IReadOnlyList<LossPoint> train, IReadOnlyList<LossPoint>? validation, string title,
        int width = DefaultWidth, int height = DefaultHeight)
    {
        using Plot plot = Build(train, validation, title);
        return PlotFile.Render(plot, width, height, PlotFormat.Png);
    }

    /// <summary>Renders the plot and writes it to <paramref name="path"/> (temp file + rename): PNG when the path ends
    /// in .png, SVG otherwise.</summary>
    /// <param name="path">The output file; its folder is created if missing.</param>
    /// <param name="train">The training loss per epoch.</param>
    /// <param name="validation">The validation loss per epoch, or null.</param>
    /// <param name="title">The plot title.</param>
    /// <param name="width">The image width in pixels.</param>
    /// <param name="height">The image height in pixels.</param>
    public static void Write(string path, IReadOnlyList<LossPoint> train, IReadOnlyList<LossPoint>? validation, string title,
        int width = DefaultWidth, int height = DefaultHeight)
    {
        using Plot plot = Build(train, validation, title);
        PlotFile.Write(path, plot, width, height);
    }

    /// <summary>Builds the figure (the tests render it and ask it where a data point lands).</summary>
    internal static Plot Build(IReadOnlyList<LossPoint> train, IReadOnlyList<LossPoint>? validation, string title)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(title);
        List<LossPoint> tr = Finite(train);
        List<LossPoint> va = validation is null ? [] : Finite(validation);
        int skipped = train.Count - tr.Count + ((validation?.Count ?? 0) - va.Count);

        Plot plot = PlotFile.Create(title);
        if (tr.Count == 0 && va.Count == 0)
        {
            plot.HideAxesAndGrid();
            plot.Add.Annotation(skipped > 0 ? $"No data: all {skipped} points are NaN or infinite" : "No data", Alignment.MiddleCenter);
            return plot;
        }

        IEnumerable<LossPoint> all = tr.Concat(va);
        double yLo = all.Min(p => p.Loss), yHi = all.Max(p => p.Loss);
        bool log = yLo > 0 && yHi / yLo > 100;
        double Y(double loss) => log ? Math.Log10(loss) : loss;

        plot.XLabel("epoch", size: 13);
        plot.YLabel(log ? "loss (nats/char, log scale)" : "loss (nats/char)", size: 13);
        if (all.All(p => p.Epoch == Math.Floor(p.Epoch)))
        {
            plot.Axes.Bottom.TickGenerator = new NumericAutomatic { IntegerTicksOnly = true };
        }

        if (log)
        {
            // Data in log10 units; decades as ticks, labelled with the loss they stand for.
            plot.Axes.Left.TickGenerator = new NumericAutomatic
            {
                IntegerTicksOnly = true,
                MinorTickGenerator = new LogMinorTickGenerator(),
                LabelFormatter = v => Math.Pow(10, v).ToString("G3", CultureInfo.InvariantCulture),
            };
        }

        AddSeries(plot, tr, Y, "train", TrainColor, MarkerShape.FilledCircle);
        AddSeries(plot, va, Y, "validation", ValidationColor, MarkerShape.FilledSquare);
        if (va.Count > 0)
        {
            LossPoint best = va[0];
            foreach (LossPoint p in va)
            {
                best = p.Loss < best.Loss ? p : best;
            }

            var ring = plot.Add.Marker(best.Epoch, Y(best.Loss), MarkerShape.OpenCircle, 14, BestColor);
            ring.MarkerLineWidth = 2.5f;
            ring.LegendText = $"best {best.Loss.ToString("0.###", CultureInfo.InvariantCulture)} @ epoch " +
                best.Epoch.ToString("0.##", CultureInfo.InvariantCulture);
        }

        if (skipped > 0)
        {
            var note = plot.Add.Annotation($"{skipped} non-finite point{(skipped == 1 ? "" : "s")} skipped", Alignment.LowerLeft);
            note.LabelFontColor = PlotFile.Muted;
        }

        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    // Solid lines only: Skia's SVG backend drops dashed strokes (and prints "Unsupported path effect" on stdout).
    private static void AddSeries(Plot plot, List<LossPoint> points, Func<double, double> y, string name, Color color,
        MarkerShape marker)
    {
        if (points.Count == 0)
        {
            return;
        }

        var series = plot.Add.Scatter(points.Select(p => p.Epoch).ToArray(), points.Select(p => y(p.Loss)).ToArray(), color);
        series.LegendText = name;
        series.LineWidth = 2.25f;
        series.MarkerShape = marker;
        series.MarkerSize = points.Count <= 60 ? 5 : 0;
    }

    private static List<LossPoint> Finite(IReadOnlyList<LossPoint> points) =>
        points.Where(p => double.IsFinite(p.Epoch) && double.IsFinite(p.Loss)).OrderBy(p => p.Epoch).ToList();
}
