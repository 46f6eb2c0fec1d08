// Shared rendering for the loss and sweep plots: a ScottPlot 5 plot to SVG text, PNG bytes, or a file chosen by extension.
using ScottPlot;

namespace MLNet.Transformer.Visualization;

/// <summary>The image formats the plots are written in.</summary>
public enum PlotFormat
{
    /// <summary>SVG 1.1 (vector, text stays text).</summary>
    Svg,

    /// <summary>PNG (raster, 8-bit RGBA).</summary>
    Png,
}

/// <summary>Renders a ScottPlot figure to bytes or a file; the colours and fonts the plots share.</summary>
internal static class PlotFile
{
    /// <summary>Installed with fonts-dejavu-core on Debian; ScottPlot falls back to its own choice when it is missing.</summary>
    public const string FontName = "DejaVu Sans";

    public static readonly Color Ink = Color.FromHex("#1d2433");
    public static readonly Color Muted = Color.FromHex("#667085");

    /// <summary>The format for <paramref name="path"/>: PNG when it ends in .png (any case), SVG otherwise.</summary>
    public static PlotFormat FormatOf(string path) =>
        Path.GetExtension(path).Equals(".png", StringComparison.OrdinalIgnoreCase) ? PlotFormat.Png : PlotFormat.Svg;

    /// <summary>A plot with the shared font, title and white background.</summary>
    public static Plot Create(string title)
    {
        var plot = new Plot();
        plot.Font.Set(FontName);
        plot.FigureBackground.Color = Colors.White;
        plot.DataBackground.Color = Colors.White;
        plot.Title(title, size: 16);
        plot.Axes.Title.Label.ForeColor = Ink;
        return plot;
    }

    /// <summary>Renders <paramref name="plot"/> at the given size.</summary>
    public static byte[] Render(Plot plot, int width, int height, PlotFormat format) => format switch
    {
        PlotFormat.Png => plot.GetImageBytes(width, height, ImageFormat.Png),
        _ => System.Text.Encoding.UTF8.GetBytes(plot.GetSvgXml(width, height)),
    };

    /// <summary>Writes <paramref name="plot"/> to <paramref name="path"/> (temp file + rename) in the format its extension names.</summary>
    public static void Write(string path, Plot plot, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes = Render(plot, width, height, FormatOf(path));
        IO.AtomicFile.Write(path, stream => stream.Write(bytes));
    }
}
