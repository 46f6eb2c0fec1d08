// Renders AttentionData as one self-contained, offline HTML page: inline CSS, vanilla JS and the data as inline JSON.
// The page never touches the network: no CDN, no web fonts, no fetch, and no http(s) URL anywhere in it.
using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;

namespace MLNet.Transformer.Visualization;

/// <summary>
/// Writes an interactive attention viewer as a single HTML file that works offline in any modern browser.
/// </summary>
/// <remarks>
/// <para>
/// The page has a section selector (decoder self-, encoder self- and cross-attention, as present), a layer selector,
/// head toggles (click toggles, double-click shows one head, "All" restores every head), a head view (query tokens
/// left, key tokens right, one line per weight of at least 0.01 coloured by head with opacity equal to the weight;
/// hovering a token keeps only its lines and shows the weights on the other side), the attention matrix of the
/// selected layer (one head, or the mean of the visible heads), and a grid of every layer x head heat map.
/// </para>
/// <para>
/// The initial view can be chosen with the URL fragment, 0-based: <c>page.html#section=cross&amp;layer=1&amp;head=0</c>.
/// For automated checks the body carries <c>data-section</c>, <c>data-layers</c>, <c>data-heads</c>,
/// <c>data-query-tokens</c>, <c>data-key-tokens</c>, <c>data-layer</c>, <c>data-visible-heads</c>,
/// <c>data-lines</c> (head-view lines drawn), <c>data-ready="true"</c> once drawn, and <c>data-errors</c> /
/// <c>data-error-count</c> filled by a <c>window.onerror</c> handler that also lists errors in <c>#errors</c>.
/// Heat maps are <c>figure.hm[data-layer][data-head]</c>; tokens carry <c>data-token</c>.
/// </para>
/// </remarks>
public static class AttentionPage
{
    private const string ErrorHandlerScript =
        "(function(){var list=[];" +
        "function show(){var b=document.body,e=document.getElementById('errors');if(!b||!e){return;}" +
        "b.dataset.errors=list.join(' | ');b.dataset.errorCount=String(list.length);" +
        "e.textContent='Script errors:\\n'+list.join('\\n');e.hidden=false;}" +
        "function record(m){list.push(String(m));show();}" +
        "window.onerror=function(message,source,line,column){record(message+(line?' (line '+line+':'+column+')':''));return false;};" +
        "window.addEventListener('unhandledrejection',function(e){record('Unhandled rejection: '+e.reason);});" +
        "document.addEventListener('DOMContentLoaded',function(){if(list.length){show();}});})();";

    private static readonly Lazy<string> Css = new(() => ReadAsset("attention.css"));
    private static readonly Lazy<string> Script = new(() => ReadAsset("attention.js"));

    /// <summary>Renders the page.</summary>
    /// <param name="data">The attention data.</param>
    /// <returns>The complete HTML document.</returns>
    public static string Render(AttentionData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        AttentionSection first = data.Sections[0];
        string title = WebUtility.HtmlEncode(data.Title);
        var html = new StringBuilder(4096 + (first.Weights.Count * 12));
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<meta name=\"generator\" content=\"MLNet.Transformer.Visualization\">\n")
            .Append("<title>Attention \u00b7 ").Append(title).Append("</title>\n")
            .Append("<script>").Append(ErrorHandlerScript).Append("</script>\n")
            .Append("<style>\n").Append(Css.Value).Append("</style>\n</head>\n");
        html.Append("<body data-errors=\"\" data-error-count=\"0\" data-ready=\"false\"")
            .Append(Attr("data-section", KindName(first.Kind)))
            .Append(Attr("data-sections", string.Join(',', data.Sections.Select(s => KindName(s.Kind)))))
            .Append(Attr("data-layers", first.Layers))
            .Append(Attr("data-heads", first.Heads))
            .Append(">\n");
        html.Append("<div id=\"errors\" class=\"errors\" role=\"alert\" hidden></div>\n")
            .Append("<noscript><div class=\"errors\">This attention viewer needs JavaScript.</div></noscript>\n")
            .Append("<header class=\"top\">\n<div>\n<h1>").Append(title).Append("</h1>\n");
        if (!string.IsNullOrWhiteSpace(data.Description))
        {
            html.Append("<p class=\"subtitle\">").Append(WebUtility.HtmlEncode(data.Description)).Append("</p>\n");
        }

        html.Append("</div>\n<nav id=\"sections\" class=\"tabs\" aria-label=\"Attention block\"></nav>\n</header>\n")
            .Append("<section class=\"controls\">\n")
            .Append("<div class=\"control\"><span class=\"label\">Layer</span><div id=\"layers\" class=\"segmented\"></div></div>\n")
            .Append("<div class=\"control\"><span class=\"label\">Heads</span><div id=\"heads\" class=\"chips\"></div></div>\n")
            .Append("<span class=\"hint\">Click a head to toggle it, double-click to show only that head.</span>\n")
            .Append("</section>\n<main class=\"panels\">\n")
            .Append("<section class=\"panel\"><div class=\"panel-head\"><h2>Head view</h2></div>\n")
            .Append("<p class=\"hint\">Line colour is the head; opacity and width grow with the weight. ")
            .Append("Hover a token to keep only its lines and read its weights.</p>\n")
            .Append("<div id=\"head-view\" class=\"scroll\"></div></section>\n")
            .Append("<section class=\"panel\"><div class=\"panel-head\"><h2>Attention matrix</h2>")
            .Append("<span id=\"matrix-caption\" class=\"caption\"></span></div>\n")
            .Append("<p class=\"hint\">Rows attend to columns; each row sums to 1. Hover a cell for its weight.</p>\n")
            .Append("<div id=\"matrix\" class=\"scroll\"></div>\n<div id=\"scale\" class=\"legend\"></div></section>\n")
            .Append("</main>\n")
            .Append("<section class=\"panel\"><div class=\"panel-head\"><h2>All layers \u00d7 heads</h2>")
            .Append("<span id=\"grid-caption\" class=\"caption\"></span></div>\n")
            .Append("<div class=\"scroll\"><div id=\"grid\" class=\"grid\"></div></div></section>\n")
            .Append("<footer>MLNet.Transformer attention viewer \u00b7 self-contained, works offline</footer>\n")
            .Append("<div id=\"tooltip\" class=\"tooltip\" hidden></div>\n")
            .Append("<script id=\"attention-data\" type=\"application/json\">").Append(DataJson(data)).Append("</script>\n")
            .Append("<script>\n").Append(Script.Value).Append("</script>\n</body>\n</html>\n");
        return html.ToString();
    }

    /// <summary>Renders the page and writes it to <paramref name="path"/> (UTF-8, temp file + rename).</summary>
    /// <param name="data">The attention data.</param>
    /// <param name="path">The output file; its folder is created if missing.</param>
    public static void Write(AttentionData data, string path)
    {
        ArgumentNullException.ThrowIfNull(data);
        IO.AtomicFile.WriteAllText(path, Render(data));
    }

    /// <summary>
    /// The page data as JSON that is safe inside a <c>&lt;script&gt;</c> block: <c>&lt;</c>, <c>&gt;</c>,
    /// <c>&amp;</c>, quotes and every non-ASCII character (U+2028 and U+2029 included) are \u-escaped, so a token
    /// such as <c>&lt;/script&gt;</c> can neither end the block nor break the script.
    /// </summary>
    internal static string DataJson(AttentionData data)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream)) // default encoder: escapes HTML-sensitive and non-ASCII characters
        {
            writer.WriteStartObject();
            writer.WriteString("title", data.Title);
            writer.WritePropertyName("sections");
            writer.WriteStartArray();
            foreach (AttentionSection section in data.Sections)
            {
                writer.WriteStartObject();
                writer.WriteString("kind", KindName(section.Kind));
                writer.WriteNumber("layers", section.Layers);
                writer.WriteNumber("heads", section.Heads);
                WriteStrings(writer, "queryTokens", section.QueryTokens);
                WriteStrings(writer, "keyTokens", section.KeyTokens);
                writer.WritePropertyName("weights");
                writer.WriteStartArray();
                foreach (float w in section.RawWeights)
                {
                    writer.WriteNumberValue(w);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        string json = Encoding.UTF8.GetString(stream.ToArray());
        return EscapeForScript(json);
    }

    /// <summary>Escapes the characters that are unsafe in a script block, whatever encoder produced the JSON.</summary>
    internal static string EscapeForScript(string json)
    {
        var sb = new StringBuilder(json.Length);
        foreach (char c in json)
        {
            switch (c)
            {
                case '<':
                case '>':
                case '&':
                case '\u2028':
                case '\u2029':
                    sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }

        return sb.ToString();
    }

    internal static string KindName(AttentionKind kind) => kind switch
    {
        AttentionKind.EncoderSelf => "encoder_self",
        AttentionKind.Cross => "cross",
        _ => "decoder_self",
    };

    private static void WriteStrings(Utf8JsonWriter writer, string name, IReadOnlyList<string> values)
    {
        writer.WritePropertyName(name);
        writer.WriteStartArray();
        foreach (string value in values)
        {
            writer.WriteStringValue(value);
        }

        writer.WriteEndArray();
    }

    private static string Attr(string name, object value) =>
        $" {name}=\"{WebUtility.HtmlEncode(Convert.ToString(value, CultureInfo.InvariantCulture))}\"";

    private static string ReadAsset(string name)
    {
        Assembly assembly = typeof(AttentionPage).Assembly;
        using Stream stream = assembly.GetManifestResourceStream("MLNet.Transformer.Visualization." + name)
            ?? throw new InvalidOperationException($"The embedded asset '{name}' is missing from {assembly.GetName().Name}.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
