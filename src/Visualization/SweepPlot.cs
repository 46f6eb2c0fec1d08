// A hyper-parameter sweep as a horizontal bar chart drawn by ScottPlot 5 (SVG or PNG): one bar per trial, sorted
// by validation loss, best highlighted.
using System.Globalization;
using ScottPlot;

namespace MLNet.Transformer.Visualization;

/// <summary>One trial of a sweep, as drawn by <see cref="SweepPlot"/>.</summary>
public sealed record SweepPoint
{
    /// <summary>Creates a trial.</summary>
    /// <param name="label">The trial's short description, for example "L2 H4 d64".</param>
    /// <param name="validationLoss">Its best validation loss in nats per character (NaN when it produced none).</param>
    /// <param name="epochsRun">How many epochs it ran; not negative.</param>
    /// <param name="status">
    /// "completed", "pruned" or "failed" (case-insensitive; "error" counts as failed, anything else as completed).
    /// </param>
    /// <exception cref="ArgumentNullException"><paramref name="label"/> or <paramref name="status"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epochsRun"/> is negative.</exception>
    public SweepPoint(string label, double validationLoss, int epochsRun, string status)
    {
        ArgumentNullException.ThrowIfNull(label);
        ArgumentNullException.ThrowIfNull(status);
        ArgumentOutOfRangeException.ThrowIfNegative(epochsRun);
        Label = label;
        ValidationLoss = validationLoss;
        EpochsRun = epochsRun;
        Status = status;
    }

    /// <summary>The trial's short description, for example "L2 H4 d64".</summary>
    public string Label { get; }

    /// <summary>The best validation loss, nats per character; NaN or infinite when there is none.</summary>
    public double ValidationLoss { get; }

    /// <summary>How many epochs the trial ran.</summary>
    public int EpochsRun { get; }

    /// <summary>The trial status: "completed", "pruned" or "failed".</summary>
    public string Status { get; }

    internal bool IsPruned => Status.Equals("pruned", StringComparison.OrdinalIgnoreCase);

    internal bool IsFailed => Status.Equals("failed", StringComparison.OrdinalIgnoreCase) ||
        Status.Equals("error", StringComparison.OrdinalIgnoreCase);
}

/// <summary>Draws a sweep as a horizontal bar chart with ScottPlot 5, as SVG (text stays text) or PNG.</summary>
/// <remarks>
/// <para>
/// Trials are sorted by validation loss, lowest first (at the top); failed trials follow, and trials without a
/// finite loss come last. The best trial (the lowest loss among completed trials, or among pruned ones when none
/// completed) is green; completed trials are blue, pruned trials hatched grey, failed trials red. Each bar is
/// labelled with its loss, "best"/"pruned"/"failed" where it applies, and the epochs run; a trial without a loss
/// gets a text in place of a bar ("failed · 1 ep"). The legend names the four styles.
/// </para>
/// <para>
/// Bars start at zero. When every finite loss is positive and the largest is over 100 times the smallest (a
/// diverged trial), the axis becomes log10 and its label says so. An empty sweep gives a "No data" plot.
/// </para>
/// </remarks>
public static class SweepPlot
{
    /// <summary>The default title.</summary>
    public const string DefaultTitle = "Sweep: validation loss per trial";

    /// <summary>The default image width in pixels.</summary>
    public const int DefaultWidth = 760;

    internal static readonly Color BestColor = Color.FromHex("#16a34a");
    internal static readonly Color DoneColor = Color.FromHex("#93b4f0");
    internal static readonly Color PrunedColor = Color.FromHex("#98a2b3");
    internal static readonly Color FailedColor = Color.FromHex("#dc2626");
    private static readonly Color PrunedFill = Color.FromHex("#eef0f3");
    private static readonly Color FailedFill = Color.FromHex("#fff5f5");
    private static readonly string[] Styles = ["best", "completed", "pruned", "failed"];

    /// <summary>The image height for <paramref name="trials"/> trials: a fixed frame plus one row per trial.</summary>
    /// <param name="trials">The number of trials.</param>
    /// <returns>The height in pixels.</returns>
    public static int HeightFor(int trials) => 150 + (28 * Math.Max(trials, 3));

    /// <summary>Renders the chart as an SVG document.</summary>
    /// <param name="trials">The trials, in any order.</param>
    /// <param name="title">The chart title.</param>
    /// <returns>The SVG document text (width <see cref="DefaultWidth"/>, height <see cref="HeightFor"/>).</returns>
    public static string RenderSvg(IReadOnlyList<SweepPoint> trials, string title = DefaultTitle)
    {
        using Plot plot = Build(trials, title, out _);
        return plot.GetSvgXml(DefaultWidth, HeightFor(trials.Count));
    }

    /// <summary>Renders the chart as a PNG image.</summary>
    /// <param name="trials">The trials, in any order.</param>
    /// <param name="title">The chart title.</param>
    /// <returns>The PNG file's bytes (width <see cref="DefaultWidth"/>, height <see cref="HeightFor"/>).</returns>
    public static byte[] RenderPng(IReadOnlyList<SweepPoint> trials, string title = DefaultTitle)
    {
        using Plot plot = Build(trials, title, out _);
        return PlotFile.Render(plot, DefaultWidth, HeightFor(trials.Count), PlotFormat.Png);
    }

    /// <summary>Renders the chart and writes it to <paramref name="path"/> (temp file + rename): PNG when the path
    /// ends in .png, SVG otherwise.</summary>
    /// <param name="path">The output file; its folder is created if missing.</param>
    /// <param name="trials">The trials.</param>
    /// <param name="title">The chart title.</param>
    public static void Write(string path, IReadOnlyList<SweepPoint> trials, string title = DefaultTitle)
    {
        using Plot plot = Build(trials, title, out _);
        PlotFile.Write(path, plot, DefaultWidth, HeightFor(trials.Count));
    }

    /// <summary>Builds the figure; <paramref name="rows"/> gets each drawn trial with its bar's y position and the
    /// x of its bar's far end (NaN without a bar), top row first (the tests look up pixels with them).</summary>
    internal static Plot Build(IReadOnlyList<SweepPoint> trials, string title, out List<(SweepPoint Trial, string Style, double Y, double X)> rows)
    {
        ArgumentNullException.ThrowIfNull(trials);
        ArgumentNullException.ThrowIfNull(title);
        for (int i = 0; i < trials.Count; i++)
        {
            if (trials[i] is null)
            {
                throw new ArgumentNullException(nameof(trials), $"{nameof(trials)}[{i}] is null.");
            }
        }

        rows = [];
        Plot plot = PlotFile.Create(title);
        if (trials.Count == 0)
        {
            plot.HideAxesAndGrid();
            plot.Add.Annotation("No data: the sweep has no trials", Alignment.MiddleCenter);
            return plot;
        }

        List<SweepPoint> sorted = trials
            .OrderBy(t => !double.IsFinite(t.ValidationLoss) ? 2 : t.IsFailed ? 1 : 0)
            .ThenBy(t => double.IsFinite(t.ValidationLoss) ? t.ValidationLoss : 0)
            .ToList();
        List<SweepPoint> finite = sorted.Where(t => double.IsFinite(t.ValidationLoss)).ToList();
        SweepPoint? best = finite.FirstOrDefault(t => !t.IsFailed && !t.IsPruned) ?? finite.FirstOrDefault(t => !t.IsFailed);

        bool log = false;
        double lo = 0, hi = 1;
        if (finite.Count > 0)
        {
            double min = finite.Min(t => t.ValidationLoss), max = finite.Max(t => t.ValidationLoss);
            log = min > 0 && max / min > 100;
            (lo, hi) = log ? (Math.Floor(Math.Log10(min)), Math.Log10(max)) : (Math.Min(0, min), Math.Max(0, max));
        }

        double X(double loss) => log ? Math.Log10(loss) : loss;
        double span = Math.Max(hi - lo, 1e-9);

        var bars = new List<Bar>();
        var ticks = new List<Tick>();
        for (int i = 0; i < sorted.Count; i++)
        {
            SweepPoint t = sorted[i];
            double y = sorted.Count - 1 - i;
            string style = ReferenceEquals(t, best) ? "best" : t.IsFailed ? "failed" : t.IsPruned ? "pruned" : "completed";
            string epochs = $"{t.EpochsRun} ep";
            ticks.Add(new Tick(y, t.Label, isMajor: true));
            if (!double.IsFinite(t.ValidationLoss))
            {
                var text = plot.Add.Text($"{(t.IsFailed ? "failed" : t.IsPruned ? "pruned" : "no loss")} \u00b7 {epochs}", lo + (0.01 * span), y);
                text.Alignment = Alignment.MiddleLeft;
                text.LabelFontColor = t.IsFailed ? FailedColor : PlotFile.Muted;
                text.LabelBold = true;
                rows.Add((t, style, y, double.NaN));
                continue;
            }

            string value = t.ValidationLoss.ToString(Math.Abs(t.ValidationLoss) >= 1e5 ? "0.##E+0" : "0.000", CultureInfo.InvariantCulture);
            var bar = new Bar
            {
                Position = y,
                ValueBase = lo,
                Value = X(t.ValidationLoss),
                Size = 0.7,
                Orientation = Orientation.Horizontal,
                Label = style == "completed" ? $"{value} \u00b7 {epochs}" : $"{value} {style} \u00b7 {epochs}",
            };
            Style(bar, style);
            bars.Add(bar);
            rows.Add((t, style, y, X(t.ValidationLoss)));
        }

        if (bars.Count > 0)
        {
            var plottable = plot.Add.Bars(bars);
            plottable.Horizontal = true;
            plottable.ValueLabelStyle.FontSize = 12;
            plottable.ValueLabelStyle.ForeColor = PlotFile.Ink;
        }

        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks]);
        plot.Axes.Left.MajorTickStyle.Length = 0;
        plot.Grid.YAxisStyle.IsVisible = false;
        if (log)
        {
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
            {
                IntegerTicksOnly = true,
                LabelFormatter = v => Math.Pow(10, v).ToString("G3", CultureInfo.InvariantCulture),
            };
        }

        plot.XLabel(log ? "validation loss (nats/char, log scale)" : "validation loss (nats/char)", size: 13);

        // Room on the right for the bar labels, half a row above and below.
        plot.Axes.SetLimits(lo, hi + (0.45 * span), -0.6, sorted.Count - 0.4);
        plot.Legend.ManualItems.AddRange(Styles.Select(s =>
        {
            var bar = new Bar();
            Style(bar, s);
            return new LegendItem
            {
                LabelText = s,
                FillColor = bar.FillColor,
                FillHatch = bar.FillHatch,
                FillHatchColor = bar.FillHatchColor,
                OutlineColor = bar.LineColor,
                OutlineWidth = bar.LineWidth,
            };
        }));
        plot.ShowLegend(Edge.Bottom);
        return plot;
    }

    private static void Style(Bar bar, string style)
    {
        switch (style)
        {
            case "best":
                bar.FillColor = BestColor;
                bar.LineColor = BestColor;
                break;
            case "pruned":
                bar.FillColor = PrunedFill;
                bar.FillHatch = new ScottPlot.Hatches.Striped();
                bar.FillHatchColor = PrunedColor;
                bar.LineColor = PrunedColor;
                bar.LineWidth = 1;
                break;
            case "failed":
                bar.FillColor = FailedFill;
                bar.LineColor = FailedColor;
                bar.LineWidth = 1.5f; // solid: Skia's SVG backend drops dashed strokes
                break;
            default:
                bar.FillColor = DoneColor;
                bar.LineColor = DoneColor;
                break;
        }
    }
}
