// bertviz-layout JSON: the documented shape, round trips for self and cross attention, and typed errors.
using System.Text.Json;
using Xunit;

namespace MLNet.Transformer.Visualization.Tests;

public sealed class BertvizJsonTests
{
    [Fact]
    public void ToJson_SelfAttention_HasTokensAndPerLayerBatchOfOne()
    {
        AttentionSection s = TestData.DecoderOnly().Sections[0];

        using JsonDocument doc = JsonDocument.Parse(BertvizJson.ToJson(s));
        JsonElement root = doc.RootElement;

        Assert.Equal("decoder_self", root.GetProperty("kind").GetString());
        Assert.Equal(TestData.Flycatcher, root.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()));
        JsonElement attention = root.GetProperty("attention");
        Assert.Equal(2, attention.GetArrayLength());                  // layers
        Assert.Equal(1, attention[1].GetArrayLength());               // batch
        Assert.Equal(4, attention[1][0].GetArrayLength());            // heads
        Assert.Equal(11, attention[1][0][3].GetArrayLength());        // queries
        Assert.Equal(11, attention[1][0][3][5].GetArrayLength());     // keys
        Assert.Equal(s[1, 3, 5, 2], attention[1][0][3][5][2].GetSingle());
    }

    [Fact]
    public void WriteThenRead_EverySection_RoundTripsExactly()
    {
        string dir = TestPaths.NewTempDirectory();
        foreach (AttentionSection s in TestData.EncoderDecoder().Sections.Append(TestData.DecoderOnly().Sections[0]))
        {
            string path = Path.Combine(dir, s.Kind + ".json");
            BertvizJson.Write(s, path);

            AttentionData back = AttentionData.FromBertvizJson(path);

            AttentionSection r = Assert.Single(back.Sections);
            Assert.Equal(s.Kind, r.Kind);
            Assert.Equal(s.QueryTokens, r.QueryTokens);
            Assert.Equal(s.KeyTokens, r.KeyTokens);
            Assert.Equal(s.Layers, r.Layers);
            Assert.Equal(s.Heads, r.Heads);
            Assert.Equal(s.Weights, r.Weights);
            Assert.Equal(s.Kind.ToString(), back.Title);
        }
    }

    [Fact]
    public void ToJson_Cross_UsesEncoderAndDecoderTokenNames()
    {
        AttentionSection s = TestData.EncoderDecoder().Sections[2];

        using JsonDocument doc = JsonDocument.Parse(BertvizJson.ToJson(s));

        Assert.Equal("cross", doc.RootElement.GetProperty("kind").GetString());
        Assert.False(doc.RootElement.TryGetProperty("tokens", out _));
        Assert.Equal(s.KeyTokens, doc.RootElement.GetProperty("encoder_tokens").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(s.QueryTokens, doc.RootElement.GetProperty("decoder_tokens").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(7, doc.RootElement.GetProperty("attention")[0][0][0][0].GetArrayLength());
    }

    [Fact]
    public void FromJson_PlainBertvizLayoutWithoutKindOrBatch_ReadsAsDecoderSelf()
    {
        const string json = """{"tokens": ["a", "b"], "attention": [[[[1, 0], [0.25, 0.75]]]]}""";

        AttentionSection s = BertvizJson.FromJson(json);

        Assert.Equal(AttentionKind.DecoderSelf, s.Kind);
        Assert.Equal(1, s.Layers);
        Assert.Equal(1, s.Heads);
        Assert.Equal(0.75f, s[0, 0, 1, 1]);
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("[]", "top level")]
    [InlineData("""{"attention": []}""", "\"tokens\"")]
    [InlineData("""{"tokens": ["a"], "attention": []}""", "no layers")]
    [InlineData("""{"tokens": ["a"], "attention": [[[[1]]], [[[1]], [[1]]]]}""", "2 heads")]
    [InlineData("""{"tokens": ["a", "b"], "attention": [[[[1, 0]]]]}""", "2 rows")]
    [InlineData("""{"tokens": ["a"], "attention": [[[["x"]]]]}""", "non-number")]
    [InlineData("""{"tokens": ["a"], "attention": [[[[1]]], [[[1]]]], "kind": "sideways"}""", "sideways")]
    [InlineData("""{"tokens": ["a"], "attention": [[[[1]]], [[[1]]]]] }""", "not valid JSON")]
    [InlineData("""{"tokens": ["a"], "attention": [[[[-1]]]]}""", "non-negative")]
    [InlineData("""{"tokens": [1], "attention": [[[[1]]]]}""", "tokens[0]")]
    [InlineData("""{"tokens": ["a"], "attention": [[[[[1]]], [[[1]]]]]}""", "batch of 2")]
    public void FromJson_Malformed_ThrowsAttentionFormatExceptionNamingTheProblem(string json, string expected)
    {
        var e = Assert.Throws<AttentionFormatException>(() => BertvizJson.FromJson(json));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<TransformerException>(e);
    }

    [Fact]
    public void FromBertvizJson_BadFile_NamesTheFile()
    {
        string path = Path.Combine(TestPaths.NewTempDirectory(), "broken.json");
        File.WriteAllText(path, "{}");

        var e = Assert.Throws<AttentionFormatException>(() => AttentionData.FromBertvizJson(path));

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }
}
