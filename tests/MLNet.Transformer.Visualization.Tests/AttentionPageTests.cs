// The attention page as text: self-contained (no URLs, no external resources), data escaped for a script block.
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace MLNet.Transformer.Visualization.Tests;

public sealed class AttentionPageTests
{
    [Fact]
    public void Render_AnyData_ContainsNoUrlOrExternalResource()
    {
        string html = AttentionPage.Render(TestData.EncoderDecoder());

        Assert.DoesNotContain("http://", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("https://", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("//cdn", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotMatch(new Regex(@"\s(src|href)\s*=", RegexOptions.IgnoreCase), html);
        Assert.DoesNotMatch(new Regex(@"@import|@font-face|url\(\s*['""]?(?!#)", RegexOptions.IgnoreCase), html);
        Assert.DoesNotMatch(new Regex(@"\bfetch\s*\(|XMLHttpRequest|WebSocket|EventSource|import\s*\(", RegexOptions.None), html);
    }

    [Fact]
    public void Render_ScriptBreakingToken_IsEscapedInsideTheDataBlock()
    {
        string[] tokens = ["<BOS>", "</script><b>", "\u2028", "\u2029", "&", "<!--"];
        var section = new AttentionSection(AttentionKind.DecoderSelf, tokens, tokens, 1, 1, TestData.UniformCausal(1, 1, 6));
        string html = AttentionPage.Render(new AttentionData("</script><i>title</i>", [section], "<desc>"));

        Assert.Single(Regex.Matches(html, "<script id=\"attention-data\""));
        int start = html.IndexOf("<script id=\"attention-data\"", StringComparison.Ordinal);
        int open = html.IndexOf('>', start) + 1;
        int end = html.IndexOf("</script>", open, StringComparison.Ordinal);
        string json = html[open..end];
        Assert.DoesNotContain("<", json, StringComparison.Ordinal);
        Assert.DoesNotContain(">", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\u2028", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\u2029", json, StringComparison.Ordinal);

        using JsonDocument doc = JsonDocument.Parse(json);
        string[] back = [.. doc.RootElement.GetProperty("sections")[0].GetProperty("queryTokens").EnumerateArray()
            .Select(e => e.GetString()!)];
        Assert.Equal(tokens, back);
        Assert.Contains("<h1>&lt;/script&gt;&lt;i&gt;title&lt;/i&gt;</h1>", html, StringComparison.Ordinal);
        Assert.Contains("&lt;desc&gt;", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>", html, StringComparison.Ordinal);
    }

    [Fact]
    public void EscapeForScript_RawJsonWithUnsafeCharacters_EscapesThem()
    {
        Assert.Equal("[\"\\u003c/script\\u003e\\u0026\\u2028\\u2029\"]",
            AttentionPage.EscapeForScript("[\"</script>&\u2028\u2029\"]"));
    }

    [Fact]
    public void Render_BodyAttributes_DescribeTheFirstSection()
    {
        string html = AttentionPage.Render(TestData.EncoderDecoder());

        Match body = Regex.Match(html, "<body[^>]*>");
        Assert.Contains("data-section=\"encoder_self\"", body.Value, StringComparison.Ordinal);
        Assert.Contains("data-sections=\"encoder_self,decoder_self,cross\"", body.Value, StringComparison.Ordinal);
        Assert.Contains("data-layers=\"3\"", body.Value, StringComparison.Ordinal);
        Assert.Contains("data-heads=\"2\"", body.Value, StringComparison.Ordinal);
        Assert.Contains("data-error-count=\"0\"", body.Value, StringComparison.Ordinal);
        Assert.Contains("id=\"errors\"", html, StringComparison.Ordinal);
        Assert.Contains("window.onerror", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_DataJson_CarriesEveryWeightExactly()
    {
        AttentionData data = TestData.EncoderDecoder();
        string json = AttentionPage.DataJson(data);

        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement sections = doc.RootElement.GetProperty("sections");
        Assert.Equal(3, sections.GetArrayLength());
        for (int i = 0; i < 3; i++)
        {
            float[] weights = [.. sections[i].GetProperty("weights").EnumerateArray().Select(e => e.GetSingle())];
            Assert.Equal(data.Sections[i].Weights, weights);
        }
    }

    [Fact]
    public void Write_NewFolder_CreatesFileAtomicallyWithoutLeftovers()
    {
        string dir = Path.Combine(TestPaths.NewTempDirectory(), "nested");
        string path = Path.Combine(dir, "a.html");

        AttentionPage.Write(TestData.DecoderOnly(), path);
        AttentionPage.Write(TestData.DecoderOnly(), path);

        Assert.Equal([path], Directory.GetFiles(dir));
        Assert.StartsWith("<!DOCTYPE html>", File.ReadAllText(path), StringComparison.Ordinal);
    }
}
