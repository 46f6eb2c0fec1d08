// Minimal helpers to read a DOM serialized by chromium --dump-dom (start tags and their attributes) without a parser package.
using System.Net;
using System.Text.RegularExpressions;

namespace MLNet.Transformer.Visualization.Tests;

internal static partial class Dom
{
    /// <summary>The attributes of every start tag named <paramref name="tag"/>, HTML-decoded.</summary>
    public static List<Dictionary<string, string>> Elements(string dom, string tag)
    {
        var list = new List<Dictionary<string, string>>();
        foreach (Match m in new Regex($"<{Regex.Escape(tag)}(\\s[^>]*)?>", RegexOptions.IgnoreCase).Matches(dom))
        {
            var attrs = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (Match a in AttributeRegex().Matches(m.Groups[1].Value))
            {
                attrs[a.Groups[1].Value] = WebUtility.HtmlDecode(a.Groups[2].Value);
            }

            list.Add(attrs);
        }

        return list;
    }

    /// <summary>Elements named <paramref name="tag"/> whose class list contains <paramref name="cls"/>.</summary>
    public static List<Dictionary<string, string>> WithClass(string dom, string tag, string cls) =>
        Elements(dom, tag).Where(e => e.TryGetValue("class", out string? c) && c.Split(' ').Contains(cls)).ToList();

    public static Dictionary<string, string> Body(string dom) => Elements(dom, "body").Single();

    [GeneratedRegex("([\\w:-]+)=\"([^\"]*)\"")]
    private static partial Regex AttributeRegex();
}
