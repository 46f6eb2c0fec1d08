// Validation of AttentionSection and AttentionData: sizes must agree, weights must be finite, errors name the field.
using Xunit;

namespace MLNet.Transformer.Visualization.Tests;

public sealed class AttentionDataTests
{
    private static readonly string[] Abc = ["<BOS>", "a", "b"];

    [Fact]
    public void Constructor_ValidCausal_IndexerReadsRowMajorLayout()
    {
        float[] w = TestData.UniformCausal(2, 3, 3);
        w[((1 * 3 + 2) * 3 + 2) * 3 + 1] = 0.25f; // layer 1, head 2, query 2, key 1

        var s = new AttentionSection(AttentionKind.DecoderSelf, Abc, Abc, 2, 3, w);

        Assert.Equal(0.25f, s[1, 2, 2, 1]);
        Assert.Equal(0.5f, s[0, 0, 1, 0]);
        Assert.Equal(0f, s[0, 0, 0, 2]);
        Assert.Equal(2 * 3 * 3 * 3, s.Weights.Count);
    }

    [Fact]
    public void Constructor_WrongWeightCount_ThrowsNamingWeights()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            new AttentionSection(AttentionKind.DecoderSelf, Abc, Abc, 2, 2, new float[35]));
        Assert.Equal("weights", e.ParamName);
        Assert.Contains("36", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    [InlineData(-0.5f)]
    public void Constructor_NonFiniteOrNegativeWeight_ThrowsWithPosition(float bad)
    {
        float[] w = TestData.UniformCausal(1, 2, 3);
        w[((1 * 3) + 2) * 3 + 1] = bad; // head 1, query 2, key 1

        var e = Assert.Throws<ArgumentException>(() => new AttentionSection(AttentionKind.DecoderSelf, Abc, Abc, 1, 2, w));

        Assert.Equal("weights", e.ParamName);
        Assert.Contains("head 1, query 2, key 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_SelfAttentionWithDifferentTokenCounts_ThrowsNamingKeyTokens()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            new AttentionSection(AttentionKind.EncoderSelf, Abc, ["a", "b"], 1, 1, new float[6]));
        Assert.Equal("keyTokens", e.ParamName);
    }

    [Fact]
    public void Constructor_CrossWithDifferentTokenCounts_IsAccepted()
    {
        var s = new AttentionSection(AttentionKind.Cross, Abc, ["x", "y"], 1, 1, [0.5f, 0.5f, 1, 0, 0, 1]);
        Assert.Equal(3, s.QueryTokens.Count);
        Assert.Equal(2, s.KeyTokens.Count);
    }

    [Fact]
    public void Constructor_BadSizesAndTokens_ThrowTypedErrors()
    {
        Assert.Equal("layers", Assert.Throws<ArgumentOutOfRangeException>(() =>
            new AttentionSection(AttentionKind.DecoderSelf, Abc, Abc, 0, 1, [])).ParamName);
        Assert.Equal("heads", Assert.Throws<ArgumentOutOfRangeException>(() =>
            new AttentionSection(AttentionKind.DecoderSelf, Abc, Abc, 1, -1, [])).ParamName);
        Assert.Equal("queryTokens", Assert.Throws<ArgumentException>(() =>
            new AttentionSection(AttentionKind.Cross, [], Abc, 1, 1, [])).ParamName);
        Assert.Equal("keyTokens", Assert.Throws<ArgumentNullException>(() =>
            new AttentionSection(AttentionKind.Cross, Abc, ["a", null!], 1, 1, new float[6])).ParamName);
        Assert.Equal("kind", Assert.Throws<ArgumentOutOfRangeException>(() =>
            new AttentionSection((AttentionKind)9, Abc, Abc, 1, 1, new float[9])).ParamName);
    }

    [Fact]
    public void Constructor_CopiesInputs_LaterChangesDoNotLeakIn()
    {
        string[] tokens = ["a", "b"];
        float[] w = [1, 0, 0.5f, 0.5f];
        var s = new AttentionSection(AttentionKind.DecoderSelf, tokens, tokens, 1, 1, w);

        tokens[0] = "z";
        w[0] = 0.1f;

        Assert.Equal("a", s.QueryTokens[0]);
        Assert.Equal(1f, s[0, 0, 0, 0]);
    }

    [Fact]
    public void Indexer_OutOfRange_Throws()
    {
        AttentionSection s = TestData.DecoderOnly().Sections[0];
        Assert.Throws<ArgumentOutOfRangeException>(() => s[2, 0, 0, 0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => s[0, 4, 0, 0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => s[0, 0, -1, 0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => s[0, 0, 0, 11]);
    }

    [Fact]
    public void TestData_RowsAreSoftmaxAndCausal()
    {
        foreach (AttentionSection s in TestData.EncoderDecoder().Sections.Concat(TestData.DecoderOnly().Sections))
        {
            for (int l = 0; l < s.Layers; l++)
            {
                for (int h = 0; h < s.Heads; h++)
                {
                    for (int q = 0; q < s.QueryTokens.Count; q++)
                    {
                        double sum = 0;
                        for (int k = 0; k < s.KeyTokens.Count; k++)
                        {
                            sum += s[l, h, q, k];
                            if (s.Kind == AttentionKind.DecoderSelf && k > q)
                            {
                                Assert.Equal(0f, s[l, h, q, k]);
                            }
                        }

                        Assert.Equal(1.0, sum, 5);
                    }
                }
            }
        }
    }

    [Fact]
    public void AttentionData_RepeatedKindOrNoSections_Throws()
    {
        AttentionSection s = TestData.DecoderOnly().Sections[0];
        Assert.Equal("sections", Assert.Throws<ArgumentException>(() => new AttentionData("t", [s, s])).ParamName);
        Assert.Equal("sections", Assert.Throws<ArgumentException>(() => new AttentionData("t", [])).ParamName);
        Assert.Equal("title", Assert.Throws<ArgumentException>(() => new AttentionData(" ", [s])).ParamName);
    }
}
