// Small helpers to build plain SVG 1.1 documents with System.Xml.Linq (well-formed and escaped by construction).
using System.Globalization;
using System.Xml.Linq;

namespace MLNet.Transformer.Visualization;

internal static class SvgDocument
{
    public static readonly XNamespace Ns = "http://www.w3.org/2000/svg";

    public const string FontStack =
        "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, 'DejaVu Sans', sans-serif";

    public const string Ink = "#1d2433";
    public const string Muted = "#667085";
    public const string Grid = "#e6e8ec";
    public const string Axis = "#98a2b3";

    /// <summary>An SVG root of the given size with a title, a description and a white background.</summary>
    public static XElement Root(double width, double height, string title, string description) =>
        new(Ns + "svg",
            new XAttribute("version", "1.1"),
            A("width", width),
            A("height", height),
            new XAttribute("viewBox", $"0 0 {Num(width)} {Num(height)}"),
            new XAttribute("font-family", FontStack),
            new XAttribute("font-size", "12"),
            new XElement(Ns + "title", title),
            new XElement(Ns + "desc", description),
            new XElement(Ns + "rect", A("width", width), A("height", height), new XAttribute("fill", "#ffffff")));

    public static XElement E(string name, params object?[] content) => new(Ns + name, content);

    public static XAttribute A(string name, double value) => new(name, Num(value));

    public static XAttribute A(string name, string value) => new(name, value);

    public static string Num(double value) =>
        Math.Round(value, 2).ToString("0.##", CultureInfo.InvariantCulture);

    public static XElement Label(double x, double y, string text, string anchor = "start", double size = 12,
        string fill = Ink, string? weight = null, params object?[] extra) =>
        E("text", A("x", x), A("y", y), A("text-anchor", anchor), A("font-size", size), A("fill", fill),
            weight is null ? null : A("font-weight", weight), extra, text);

    /// <summary>Serializes with an XML declaration.</summary>
    public static string ToText(XElement root) =>
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + root.ToString(SaveOptions.None) + "\n";

    /// <summary>The "no data" plot used for empty input.</summary>
    public static string NoData(double width, double height, string title, string message)
    {
        XElement svg = Root(width, height, title, message);
        svg.Add(
            Label(24, 32, title, size: 16, weight: "600"),
            E("rect", A("x", 24), A("y", 52), A("width", width - 48), A("height", height - 76), A("rx", 8),
                A("fill", "#f8f9fb"), A("stroke", Grid), A("stroke-dasharray", "4 4")),
            Label(width / 2, (height / 2) + 14, message, "middle", 14, Muted, null, new XAttribute("id", "no-data")));
        return ToText(svg);
    }
}
