// SVG horizontal bar chart of a hyper-parameter sweep: one bar per trial, sorted by validation loss, best highlighted.
using System.Globalization;
using System.Xml.Linq;
using static MLNet.Transformer.Visualization.SvgDocument;

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

/// <summary>Draws a sweep as a plain SVG 1.1 horizontal bar chart (no scripts).</summary>
/// <remarks>
/// <para>
/// Trials are sorted by validation loss, lowest first; failed trials follow, and trials without a finite loss come
/// last. The best trial (the
/// lowest loss among completed trials, or among pruned ones when none completed) is green and labelled "best";
/// completed trials are blue, pruned trials are hatched grey, failed trials are drawn in red (an outline if they have
/// a loss, a cross and "failed" otherwise). Each bar carries its loss and epochs run.
/// </para>
/// <para>
/// Bars start at zero. When every finite loss is positive and the largest is over 100 times the smallest (a
/// diverged trial), the axis becomes log10 and its label says so. An empty sweep gives a "no data" plot.
/// Each bar group has the id <c>trial-N</c> (N = rank from 0) and a class naming its status.
/// </para>
/// </remarks>
public static class SweepPlot
{
    private const double Width = 760, RowHeight = 28, Top = 78, Bottom = 52, Right = 150;
    private const string BestColor = "#16a34a", DoneColor = "#93b4f0", PrunedColor = "#98a2b3", FailedColor = "#dc2626";

    /// <summary>Renders the chart.</summary>
    /// <param name="trials">The trials, in any order.</param>
    /// <param name="title">The chart title.</param>
    /// <returns>The SVG document text.</returns>
    public static string Render(IReadOnlyList<SweepPoint> trials, string title = "Sweep: validation loss per trial")
    {
        ArgumentNullException.ThrowIfNull(trials);
        ArgumentNullException.ThrowIfNull(title);
        if (trials.Count == 0)
        {
            return NoData(Width, 240, title, "No data: the sweep has no trials");
        }

        for (int i = 0; i < trials.Count; i++)
        {
            if (trials[i] is null)
            {
                throw new ArgumentNullException(nameof(trials), $"{nameof(trials)}[{i}] is null.");
            }
        }

        List<SweepPoint> sorted = trials
            .OrderBy(t => !double.IsFinite(t.ValidationLoss) ? 2 : t.IsFailed ? 1 : 0)
            .ThenBy(t => double.IsFinite(t.ValidationLoss) ? t.ValidationLoss : 0)
            .ToList();
        List<SweepPoint> finite = sorted.Where(t => double.IsFinite(t.ValidationLoss)).ToList();
        SweepPoint? best = finite.FirstOrDefault(t => !t.IsFailed && !t.IsPruned) ?? finite.FirstOrDefault(t => !t.IsFailed);

        double labelWidth = Math.Clamp((sorted.Max(t => t.Label.Length) * 7.8) + 30, 90, 300);
        double left = labelWidth;
        double plotW = Width - left - Right;
        double height = Top + (sorted.Count * RowHeight) + Bottom;

        AxisScale? x = null;
        if (finite.Count > 0)
        {
            double lo = finite.Min(t => t.ValidationLoss), hi = finite.Max(t => t.ValidationLoss);
            x = lo > 0 && hi / lo > 100
                ? AxisScale.Log10(lo, hi)
                : AxisScale.Linear(Math.Min(0, lo), Math.Max(0, hi), 6);
        }

        double Px(double v) => left + (x!.Fraction(v) * plotW);

        XElement svg = Root(Width, height, title,
            $"{sorted.Count} trials sorted by validation loss" +
            (best is null ? "." : $"; best {best.Label} at {best.ValidationLoss.ToString("0.###", CultureInfo.InvariantCulture)}."));
        svg.Add(E("defs",
            E("pattern", A("id", "hatch"), A("width", 6), A("height", 6), A("patternUnits", "userSpaceOnUse"),
                A("patternTransform", "rotate(45)"),
                E("rect", A("width", 6), A("height", 6), A("fill", "#eef0f3")),
                E("line", A("x1", 0), A("y1", 0), A("x2", 0), A("y2", 6), A("stroke", PrunedColor), A("stroke-width", 2.5)))));
        svg.Add(Label(24, 30, title, size: 16, weight: "600"));
        svg.Add(Legend(24, 56));

        double plotBottom = Top + (sorted.Count * RowHeight);
        if (x is not null)
        {
            var grid = E("g", A("id", "grid"));
            foreach (double t in x.Ticks)
            {
                double px = Px(t);
                grid.Add(E("line", A("x1", px), A("x2", px), A("y1", Top - 4), A("y2", plotBottom), A("stroke", Grid)));
                grid.Add(Label(px, plotBottom + 18, x.Format(t), "middle", 11, Muted));
            }

            svg.Add(grid);
            svg.Add(Label(left + (plotW / 2), height - 12,
                x.IsLog ? "validation loss (nats/char, log scale)" : "validation loss (nats/char)", "middle", 12, Ink));
        }

        for (int i = 0; i < sorted.Count; i++)
        {
            svg.Add(Bar(sorted[i], i, ReferenceEquals(sorted[i], best), Top + (i * RowHeight), left, x, Px));
        }

        svg.Add(E("line", A("x1", left), A("x2", left), A("y1", Top - 4), A("y2", plotBottom), A("stroke", Axis)));
        return ToText(svg);
    }

    /// <summary>Renders the chart and writes it to <paramref name="path"/> (UTF-8, temp file + rename).</summary>
    /// <param name="path">The output .svg file; its folder is created if missing.</param>
    /// <param name="trials">The trials.</param>
    /// <param name="title">The chart title.</param>
    public static void Write(string path, IReadOnlyList<SweepPoint> trials, string title = "Sweep: validation loss per trial") =>
        IO.AtomicFile.WriteAllText(path, Render(trials, title));

    private static XElement Bar(SweepPoint t, int rank, bool isBest, double rowTop, double left, AxisScale? x,
        Func<double, double> px)
    {
        string status = isBest ? "best" : t.IsFailed ? "failed" : t.IsPruned ? "pruned" : "completed";
        double barH = RowHeight - 9, y = rowTop + 4.5, mid = rowTop + (RowHeight / 2) + 4;
        var g = E("g", A("id", $"trial-{rank}"), A("class", "trial " + status));
        g.Add(Label(left - 10, mid, t.Label, "end", 12, isBest ? Ink : status == "completed" ? Ink : Muted,
            isBest ? "700" : null));

        string epochs = $"{t.EpochsRun} ep";
        if (x is null || !double.IsFinite(t.ValidationLoss))
        {
            string color = t.IsFailed ? FailedColor : Muted;
            g.Add(E("path", A("d", $"M{Num(left + 6)},{Num(mid - 8)} l8,8 m0,-8 l-8,8"), A("stroke", color),
                A("stroke-width", 2), A("fill", "none")));
            g.Add(Label(left + 22, mid, $"{(t.IsFailed ? "failed" : t.IsPruned ? "pruned" : "no loss")} \u00b7 {epochs}",
                "start", 12, color, "600"));
            return g;
        }

        double x0 = px(x.IsLog ? x.Min : 0), x1 = px(t.ValidationLoss);
        double barX = Math.Min(x0, x1), barW = Math.Max(1.5, Math.Abs(x1 - x0));
        object?[] style = status switch
        {
            "best" => [A("fill", BestColor)],
            "pruned" => [A("fill", "url(#hatch)"), A("stroke", PrunedColor)],
            "failed" => [A("fill", "#fff5f5"), A("stroke", FailedColor), A("stroke-dasharray", "4 3")],
            _ => [A("fill", DoneColor)],
        };
        g.Add(E("rect", A("x", barX), A("y", y), A("width", barW), A("height", barH), A("rx", 3), style));
        string value = t.ValidationLoss.ToString(Math.Abs(t.ValidationLoss) >= 1e5 ? "0.##E+0" : "0.000",
            CultureInfo.InvariantCulture);
        string suffix = status switch
        {
            "best" => $"  best \u00b7 {epochs}",
            "pruned" => $"  pruned \u00b7 {epochs}",
            "failed" => $"  failed \u00b7 {epochs}",
            _ => $"  {epochs}",
        };
        g.Add(E("text", A("x", Math.Max(x0, x1) + 6), A("y", mid), A("font-size", 12), A("fill", Ink),
            E("tspan", A("font-weight", isBest ? "700" : "600"), value),
            E("tspan", A("fill", status == "best" ? BestColor : status == "failed" ? FailedColor : Muted), suffix)));
        return g;
    }

    private static XElement Legend(double x, double y)
    {
        var g = E("g", A("id", "legend"));
        (string Text, object?[] Style)[] items =
        [
            ("best", [A("fill", BestColor)]),
            ("completed", [A("fill", DoneColor)]),
            ("pruned", [A("fill", "url(#hatch)"), A("stroke", PrunedColor)]),
            ("failed", [A("fill", "#fff5f5"), A("stroke", FailedColor), A("stroke-dasharray", "4 3")]),
        ];
        foreach ((string text, object?[] style) in items)
        {
            g.Add(E("rect", A("x", x), A("y", y - 10), A("width", 14), A("height", 11), A("rx", 2), style));
            g.Add(Label(x + 20, y, text, "start", 12, Muted));
            x += 34 + (text.Length * 7);
        }

        return g;
    }
}
