// Opens the generated attention page in real headless chromium: no script errors, every view drawn, tokens escaped,
// screenshots kept under artifacts/test-output for people to look at.
using System.Globalization;
using System.Text.RegularExpressions;
using SkiaSharp;
using Xunit;

namespace MLNet.Transformer.Visualization.Tests;

[CollectionDefinition("chromium", DisableParallelization = true)]
public sealed class ChromiumGroup
{
}

[Collection("chromium")]
public sealed class AttentionPageBrowserTests
{
    private const double LineMin = 0.01; // the page draws head-view lines for weights >= 0.01

    [Fact]
    public void Render_DecoderOnly_DrawsAllViewsWithoutScriptErrors()
    {
        AttentionData data = TestData.DecoderOnly();
        string html = Path.Combine(TestPaths.OutputDirectory, "attention-decoder.html");
        AttentionPage.Write(data, html);

        string dom = Chromium.DumpDom(html);

        AssertNoScriptErrors(dom);
        Dictionary<string, string> body = Dom.Body(dom);
        Assert.Equal("decoder_self", body["data-section"]);
        Assert.Equal("2", body["data-layers"]);
        Assert.Equal("4", body["data-heads"]);
        Assert.Equal("0", body["data-layer"]);
        Assert.Equal("0,1,2,3", body["data-visible-heads"]);

        List<Dictionary<string, string>> maps = Dom.WithClass(dom, "figure", "hm");
        Assert.Equal(2 * 4, maps.Count);
        Assert.Equal(
            [.. from l in Enumerable.Range(0, 2) from h in Enumerable.Range(0, 4) select $"{l}/{h}"],
            maps.Select(m => $"{m["data-layer"]}/{m["data-head"]}").Order(StringComparer.Ordinal).ToArray());

        List<Dictionary<string, string>> tokens = Dom.WithClass(dom, "g", "tok");
        Assert.Equal(TestData.Flycatcher, tokens.Where(t => t["data-side"] == "q").Select(t => t["data-token"]));
        Assert.Equal(TestData.Flycatcher, tokens.Where(t => t["data-side"] == "k").Select(t => t["data-token"]));
        Assert.Contains(tokens, t => t["data-token"] == "<BOS>" && t["class"].Contains("special", StringComparison.Ordinal));

        AttentionSection s = data.Sections[0];
        List<Dictionary<string, string>> lines = Dom.WithClass(dom, "line", "att");
        for (int h = 0; h < 4; h++)
        {
            int expected = CountAtLeast(s, layer: 0, head: h, LineMin);
            Assert.Equal(expected, lines.Count(l => l["data-head"] == h.ToString(CultureInfo.InvariantCulture)));
        }

        Assert.Equal(lines.Count.ToString(CultureInfo.InvariantCulture), body["data-lines"]);
        Assert.DoesNotContain(lines, l => int.Parse(l["data-k"], CultureInfo.InvariantCulture) >
            int.Parse(l["data-q"], CultureInfo.InvariantCulture)); // causal: no line to a future key

        List<Dictionary<string, string>> cells = Dom.WithClass(dom, "rect", "cell");
        Assert.Equal(11 * 11, cells.Count);
    }

    [Fact]
    public void Render_EncoderDecoder_ShowsSectionTabsAndCrossAttentionFromFragment()
    {
        AttentionData data = TestData.EncoderDecoder();
        string html = Path.Combine(TestPaths.OutputDirectory, "attention-encoder-decoder.html");
        AttentionPage.Write(data, html);

        string first = Chromium.DumpDom(html);
        AssertNoScriptErrors(first);
        Assert.Equal(["encoder_self", "decoder_self", "cross"], Dom.WithClass(first, "button", "tab").Select(b => b["data-kind"]));
        Assert.Equal("encoder_self", Dom.Body(first)["data-section"]);
        Assert.Equal(3 * 2, Dom.WithClass(first, "figure", "hm").Count);

        string cross = Chromium.DumpDom(html, "#section=cross&layer=1&head=1");
        AssertNoScriptErrors(cross);
        Dictionary<string, string> body = Dom.Body(cross);
        Assert.Equal("cross", body["data-section"]);
        Assert.Equal("1", body["data-layer"]);
        Assert.Equal("1", body["data-visible-heads"]);
        Assert.Equal("5", body["data-query-tokens"]);
        Assert.Equal("7", body["data-key-tokens"]);
        Assert.Equal(2 * 2, Dom.WithClass(cross, "figure", "hm").Count);
        Assert.Equal(5 * 7, Dom.WithClass(cross, "rect", "cell").Count);
        AttentionSection s = data.Sections[2];
        Assert.Equal(CountAtLeast(s, layer: 1, head: 1, LineMin), Dom.WithClass(cross, "line", "att").Count);
        List<Dictionary<string, string>> tokens = Dom.WithClass(cross, "g", "tok");
        Assert.Equal(s.QueryTokens, tokens.Where(t => t["data-side"] == "q").Select(t => t["data-token"]));
        Assert.Equal(s.KeyTokens, tokens.Where(t => t["data-side"] == "k").Select(t => t["data-token"]));
    }

    [Fact]
    public void Focus_QueryToken_KeepsOnlyItsLinesAndLabelsKeyWeights()
    {
        AttentionData data = TestData.DecoderOnly();
        string html = Path.Combine(TestPaths.OutputDirectory, "attention-decoder.html");
        AttentionPage.Write(data, html);

        string dom = Chromium.DumpDom(html, "#layer=1&head=2&focus=q:5");

        AssertNoScriptErrors(dom);
        Assert.Equal("q:5", Dom.Body(dom)["data-focus"]);
        AttentionSection s = data.Sections[0];
        List<Dictionary<string, string>> on = Dom.WithClass(dom, "line", "on");
        int expected = Enumerable.Range(0, 11).Count(k => Rounded(s[1, 2, 5, k]) >= LineMin);
        Assert.Equal(expected, on.Count);
        Assert.All(on, l => Assert.Equal("5", l["data-q"]));
        Assert.Single(Dom.WithClass(dom, "g", "focused"));

        // Key weights are printed beside the keys: "<text class="tok-w" ...>.42</text>", the keys up to 5 only.
        MatchCollection printed = Regex.Matches(dom, "class=\"tok-w\"[^>]*>([^<]+)</text>");
        Assert.Equal(Enumerable.Range(0, 6).Count(k => s[1, 2, 5, k] >= 0.005f), printed.Count);
        double sum = printed.Sum(m => double.Parse("0" + m.Groups[1].Value.Replace("1.00", "1", StringComparison.Ordinal),
            CultureInfo.InvariantCulture));
        Assert.Equal(1.0, sum, 1);
    }

    [Fact]
    public void Render_HostileTokens_AreShownAsTextNotMarkup()
    {
        string[] tokens = ["<BOS>", "</script><b>", "\u2028", "&amp;", "\"", "'", " "];
        var section = new AttentionSection(AttentionKind.DecoderSelf, tokens, tokens, 1, 2,
            TestData.UniformCausal(1, 2, tokens.Length));
        string html = Path.Combine(TestPaths.OutputDirectory, "attention-hostile.html");
        AttentionPage.Write(new AttentionData("</title><script>alert(1)</script>", [section]), html);

        string dom = Chromium.DumpDom(html);

        AssertNoScriptErrors(dom);
        Assert.Empty(Dom.Elements(dom, "b"));
        Assert.Equal(tokens, Dom.WithClass(dom, "g", "tok").Where(t => t["data-side"] == "q").Select(t => t["data-token"]));
        Assert.Contains("&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;", dom, StringComparison.Ordinal);
    }

    [Fact]
    public void ErrorHandler_ScriptThrows_RecordsErrorInBodyAndErrorsElement()
    {
        string page = AttentionPage.Render(TestData.DecoderOnly())
            .Replace("</body>", "<script>null.boom();</script>\n</body>", StringComparison.Ordinal);
        string html = Path.Combine(TestPaths.NewTempDirectory(), "broken.html");
        File.WriteAllText(html, page);

        string dom = Chromium.DumpDom(html);

        Dictionary<string, string> body = Dom.Body(dom);
        Assert.Equal("1", body["data-error-count"]);
        Assert.Contains("boom", body["data-errors"], StringComparison.Ordinal);
        Dictionary<string, string> errors = Dom.Elements(dom, "div").Single(d => d.GetValueOrDefault("id") == "errors");
        Assert.False(errors.ContainsKey("hidden"));
    }

    [Fact]
    public void Screenshot_DecoderAndEncoderDecoder_ShowHeadColoursAndVaryingHeatmaps()
    {
        string dir = TestPaths.OutputDirectory;
        string[] pages = ["attention-decoder", "attention-encoder-decoder"];
        AttentionPage.Write(TestData.DecoderOnly(), Path.Combine(dir, pages[0] + ".html"));
        AttentionPage.Write(TestData.EncoderDecoder(), Path.Combine(dir, pages[1] + ".html"));

        foreach (string name in pages)
        {
            string png = Path.Combine(dir, name + ".png");
            Chromium.Screenshot(Path.Combine(dir, name + ".html"), png);
            using SKBitmap shot = ReadScreenshot(png, 1400, 1000);
            AssertLooksLikeAnAttentionPage(shot, name, name == pages[0] ? 4 : 2);
        }

        string cross = Path.Combine(dir, "attention-cross-focus.png");
        Chromium.Screenshot(Path.Combine(dir, pages[1] + ".html"), cross, fragment: "#section=cross&focus=q:2");
        using SKBitmap focused = ReadScreenshot(cross, 1400, 1000);
        AssertLooksLikeAnAttentionPage(focused, "cross-focus", 2);

        // The fragment changed the view: a page that ignored it would give the same picture.
        using SKBitmap first = ReadScreenshot(Path.Combine(dir, pages[1] + ".png"), 1400, 1000);
        int changed = 0;
        for (int y = 0; y < 1000; y++)
        {
            for (int x = 0; x < 1400; x++)
            {
                changed += first.GetPixel(x, y) != focused.GetPixel(x, y) ? 1 : 0;
            }
        }

        Assert.True(changed > 1400 * 1000 / 50, $"only {changed} pixels differ between the encoder view and the focused cross view");
    }

    [Fact]
    public void Screenshot_Plots_BrowserDrawsTheSeriesWhereScottPlotPutThem()
    {
        string dir = TestPaths.OutputDirectory;
        string loss = Path.Combine(dir, "loss.svg");
        string sweep = Path.Combine(dir, "sweep.svg");
        LossPlot.Write(loss, PlotData.Train, PlotData.Validation, "Training: L2 H4 d64 on names.txt");
        SweepPlot.Write(sweep, PlotData.Sweep);
        int sweepHeight = SweepPlot.HeightFor(PlotData.Sweep.Length);

        Chromium.Screenshot(loss, Path.Combine(dir, "loss.png"), LossPlot.DefaultWidth, LossPlot.DefaultHeight);
        Chromium.Screenshot(sweep, Path.Combine(dir, "sweep.png"), SweepPlot.DefaultWidth, sweepHeight);

        // The same figure laid out at the same size tells where each point must land in the browser's picture.
        using (ScottPlot.Plot plot = LossPlot.Build(PlotData.Train, PlotData.Validation, "Training: L2 H4 d64 on names.txt"))
        using (SKBitmap shot = ReadScreenshot(Path.Combine(dir, "loss.png"), LossPlot.DefaultWidth, LossPlot.DefaultHeight))
        {
            plot.RenderInMemory(LossPlot.DefaultWidth, LossPlot.DefaultHeight);
            Assert.All(PlotData.Train, p => Assert.True(
                PlotImages.HasColorNear(shot, plot.GetPixel(new ScottPlot.Coordinates(p.Epoch, p.Loss)), LossPlot.TrainColor, 3), $"train {p}"));
            Assert.All(PlotData.Validation, p => Assert.True(
                PlotImages.HasColorNear(shot, plot.GetPixel(new ScottPlot.Coordinates(p.Epoch, p.Loss)), LossPlot.ValidationColor, 3), $"validation {p}"));
        }

        using (ScottPlot.Plot plot = SweepPlot.Build(PlotData.Sweep, SweepPlot.DefaultTitle, out var rows))
        using (SKBitmap shot = ReadScreenshot(Path.Combine(dir, "sweep.png"), SweepPlot.DefaultWidth, sweepHeight))
        {
            plot.RenderInMemory(SweepPlot.DefaultWidth, sweepHeight);
            var best = rows[0];
            Assert.True(PlotImages.HasColorNear(shot, plot.GetPixel(new ScottPlot.Coordinates(best.X / 2, best.Y)), SweepPlot.BestColor, 2));
            var completed = rows[1];
            Assert.True(PlotImages.HasColorNear(shot, plot.GetPixel(new ScottPlot.Coordinates(completed.X / 2, completed.Y)), SweepPlot.DoneColor, 2));
        }
    }

    private static void AssertNoScriptErrors(string dom)
    {
        Dictionary<string, string> body = Dom.Body(dom);
        Assert.True(body["data-error-count"] == "0", $"Script errors in the page: {body["data-errors"]}");
        Assert.Equal("true", body["data-ready"]);
    }

    private static int CountAtLeast(AttentionSection s, int layer, int head, double min)
    {
        int n = 0;
        for (int q = 0; q < s.QueryTokens.Count; q++)
        {
            for (int k = 0; k < s.KeyTokens.Count; k++)
            {
                // The page parses the shortest round-trip text of each float as a double; compare the same way.
                n += Rounded(s[layer, head, q, k]) >= min ? 1 : 0;
            }
        }

        return n;
    }

    private static double Rounded(float w) =>
        double.Parse(w.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private static SKBitmap ReadScreenshot(string path, int width, int height)
    {
        SKBitmap shot = PlotImages.Decode(File.ReadAllBytes(path));
        Assert.Equal((width, height), (shot.Width, shot.Height));
        return shot;
    }

    /// <summary>
    /// What a drawn page has and a blank, half-loaded or script-broken one does not: the head colours of the legend
    /// and head view, and heatmap cells in many different shades of the blue weight ramp.
    /// </summary>
    private static void AssertLooksLikeAnAttentionPage(SKBitmap shot, string name, int headCount)
    {
        string[] heads = [.. new[] { "#2563eb", "#ea580c", "#16a34a", "#db2777" }.Take(headCount)];
        var counts = new int[heads.Length];
        var blues = new HashSet<int>();
        var all = new HashSet<int>();
        for (int y = 0; y < shot.Height; y++)
        {
            for (int x = 0; x < shot.Width; x++)
            {
                SKColor c = shot.GetPixel(x, y);
                all.Add((c.Red >> 3 << 10) | (c.Green >> 3 << 5) | (c.Blue >> 3));
                if (c.Blue > c.Red + 40 && c.Blue >= c.Green)
                {
                    blues.Add((c.Red >> 3 << 10) | (c.Green >> 3 << 5) | (c.Blue >> 3));
                }

                for (int h = 0; h < heads.Length; h++)
                {
                    var want = ScottPlot.Color.FromHex(heads[h]);
                    counts[h] += Math.Abs(c.Red - want.R) + Math.Abs(c.Green - want.G) + Math.Abs(c.Blue - want.B) < 30 ? 1 : 0;
                }
            }
        }

        for (int h = 0; h < heads.Length; h++)
        {
            Assert.True(counts[h] > 500, $"{name}: head {h + 1}'s colour {heads[h]} covers only {counts[h]} pixels");
        }

        Assert.True(blues.Count > 100, $"{name}: only {blues.Count} shades of blue; the heatmaps are missing or uniform");
        Assert.True(all.Count > 300, $"{name}: only {all.Count} distinct colours; the page is (nearly) blank");
    }
}
