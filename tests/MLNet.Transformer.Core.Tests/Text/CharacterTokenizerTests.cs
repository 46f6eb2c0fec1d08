// Tests of the character tokenizer (an ML.NET estimator): Unicode scalar splitting (CJK, emoji, combining marks,
// lone surrogates), vocabulary learning, BOS/EOS framing, ML.NET schema errors, conformance and save/load.
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Transformer.TestKit;
using MLNet.Transformer.Text;

namespace MLNet.Transformer.Tests.Text;

public class CharacterTokenizerTests
{
    public sealed class Row
    {
        public string Text { get; set; } = "";
    }

    public sealed class NumberRow
    {
        public int Text { get; set; }
    }

    public sealed class NameRow
    {
        public string Name { get; set; } = "";
    }

    private static IDataView Texts(MLContext ml, params string[] texts) =>
        ml.Data.LoadFromEnumerable(texts.Select(t => new Row { Text = t }).ToList());

    private static CharacterTokenizerTransformer Fit(MLContext ml, string[] train, Func<TransformsCatalog.TextTransforms, CharacterTokenizerEstimator>? make = null) =>
        (make ?? (c => c.TokenizeIntoCharacterIds("Tokens", "Text")))(ml.Transforms.Text).Fit(Texts(ml, train));

    private static string Scalar(int codePoint) => char.ConvertFromUtf32(codePoint);

    private static string Decode(CharacterTokenizerTransformer t, long[] ids) => t.Vocabulary.Decode([.. ids.Select(i => (int)i)]);

    [Fact]
    public void Fit_AlphabetSeed_SpecialsThenLettersAt4To29()
    {
        var ml = new MLContext(1);
        var t = Fit(ml, ["zoe", "abcdefghijklmnopqrstuvwxyz", "emma"]);

        var v = t.Vocabulary;
        Assert.Equal(30, v.Count);
        Assert.Equal(["<PAD>", "<BOS>", "<EOS>", "<UNK>"], v.Tokens.Take(4));
        Assert.Equal(4, v.GetId(new Rune('a')));
        Assert.Equal(29, v.GetId(new Rune('z')));
        Assert.Equal((0, 1, 2, 3), (CharacterVocabulary.PadId, CharacterVocabulary.BosId, CharacterVocabulary.EosId, CharacterVocabulary.UnkId));
    }

    [Fact]
    public void Transform_Names_IdsFramedByBosEosWithLengthColumnAndNoPadding()
    {
        var ml = new MLContext(1);
        var data = Texts(ml, "ab", "", "  ", "abc");
        var t = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text").Fit(data);

        var view = t.Transform(data);
        var ids = view.GetColumn<long[]>("Tokens").ToList();

        long space = t.Vocabulary.GetId(new Rune(' '));
        long a = t.Vocabulary.GetId(new Rune('a'));
        Assert.Equal(new[] { 1, a, a + 1, 2 }, ids[0]);
        Assert.Equal(new long[] { 1, 2 }, ids[1]);
        Assert.Equal(new[] { 1, space, space, 2 }, ids[2]);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Int64), view.Schema["Tokens"].Type);
        Assert.Equal(ids, new[] { "ab", "", "  ", "abc" }.Select(t.Tokenize));
    }

    [Fact]
    public void Transform_CjkIncludingSupplementaryPlane_OneTokenPerCharacter()
    {
        var ml = new MLContext(1);
        string text = "中文" + Scalar(0x20000) + "字";
        var t = Fit(ml, [text]);

        var ids = t.Tokenize(text);

        Assert.Equal(6, ids.Length);
        Assert.Equal(Scalar(0x20000), t.Vocabulary.GetToken((int)ids[3]));
        Assert.Equal(4 + 4, t.Vocabulary.Count);
        Assert.Equal(text, Decode(t, ids));
    }

    [Fact]
    public void Transform_EmojiZwjSequence_OneTokenPerScalar()
    {
        var ml = new MLContext(1);
        string womanTechnologist = "\U0001F469\u200D\U0001F4BB";
        var t = Fit(ml, ["hi \U0001F600", womanTechnologist]);

        var ids = t.Tokenize(womanTechnologist);

        Assert.Equal(5, ids.Length);
        Assert.Equal(["\U0001F469", "\u200D", "\U0001F4BB"], ids[1..^1].Select(i => t.Vocabulary.GetToken((int)i)));
        Assert.Equal(womanTechnologist, Decode(t, ids));
        Assert.Equal(3, t.Tokenize("\U0001F600").Length);
    }

    [Fact]
    public void Transform_CombiningMarkWithNfc_ComposedIntoOneToken()
    {
        var ml = new MLContext(1);
        var t = Fit(ml, ["e\u0301mile"]);

        var ids = t.Tokenize("e\u0301");

        Assert.Equal(3, ids.Length);
        Assert.Equal("\u00E9", t.Vocabulary.GetToken((int)ids[1]));
        Assert.False(t.Vocabulary.Contains(new Rune(0x0301)));
    }

    [Fact]
    public void Transform_CombiningMarkWithoutNfc_BaseAndMarkSeparate()
    {
        var ml = new MLContext(1);
        var t = Fit(ml, ["e\u0301mile"], c => c.TokenizeIntoCharacterIds("Tokens", "Text", normalize: false));

        var ids = t.Tokenize("e\u0301");

        Assert.Equal(4, ids.Length);
        Assert.Equal(["e", "\u0301"], ids[1..^1].Select(i => t.Vocabulary.GetToken((int)i)));
        Assert.Equal(CharacterVocabulary.UnkId, t.Tokenize("\u00E9")[1]);
    }

    [Fact]
    public void Transform_LowerCase_MapsUpperToLowerInvariant()
    {
        var ml = new MLContext(1);
        var t = Fit(ml, ["ÉMMA", "emma"], c => c.TokenizeIntoCharacterIds("Tokens", "Text", lowerCase: true));

        Assert.Equal(["<PAD>", "<BOS>", "<EOS>", "<UNK>", "a", "e", "m", "é"], t.Vocabulary.Tokens);
        Assert.Equal(t.Tokenize("emma"), t.Tokenize("EMMA"));
    }

    [Fact]
    public void Transform_UnseenCharactersAndLoneSurrogates_MapToUnk()
    {
        var ml = new MLContext(1);
        var t = Fit(ml, ["ab\uD800", "\uDC00a"]);

        Assert.Equal(6, t.Vocabulary.Count);
        Assert.Equal(new long[] { 1, 4, 3, 5, 3, 2 }, t.Tokenize("a\uDC00bz"));
        Assert.Equal(new long[] { 1, 3, 4, 2 }, t.Tokenize("\uD83Da"));
    }

    [Fact]
    public void Fit_MinimumFrequency_DropsRareCharacters()
    {
        var ml = new MLContext(1);
        var t = Fit(ml, ["aaab", "bc"], c => c.TokenizeIntoCharacterIds(new CharacterTokenizerEstimator.Options { OutputColumnName = "Tokens", InputColumnName = "Text", MinimumFrequency = 2 }));

        Assert.Equal(["a", "b"], t.Vocabulary.Tokens.Skip(4));
        Assert.Equal(CharacterVocabulary.UnkId, t.Tokenize("c")[1]);
    }

    [Fact]
    public void Fit_MaximumVocabularySize_KeepsMostFrequentTiesByCodePoint()
    {
        var ml = new MLContext(1);
        var t = Fit(ml, ["zzzyyxxw"], c => c.TokenizeIntoCharacterIds(new CharacterTokenizerEstimator.Options { OutputColumnName = "Tokens", InputColumnName = "Text", MaximumVocabularySize = 6 }));

        Assert.Equal(["x", "z"], t.Vocabulary.Tokens.Skip(4));
    }

    [Theory]
    [InlineData("emma")]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("Zoë 中\U00020000 \U0001F469\u200D\U0001F4BB")]
    public void TransformAndTokenize_Text_SameIdsThatDecodeToTheText(string text)
    {
        var ml = new MLContext(1);
        var t = Fit(ml, [text, "abc"]);

        long[] ids = t.Transform(Texts(ml, text)).GetColumn<long[]>("Tokens").Single();
        Assert.Equal(t.Tokenize(text), ids);
        Assert.Equal(text, Decode(t, ids));
    }

    [Fact]
    public void GetOutputSchemaFitAndTransform_NonTextColumn_MLNetSchemaMismatchNamingColumnExpectedAndActual()
    {
        var ml = new MLContext(1);
        var numbers = ml.Data.LoadFromEnumerable(new[] { new NumberRow { Text = 3 } });
        var estimator = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text");

        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(EstimatorConformance.ShapeOf(numbers.Schema)));
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Fit(numbers));
        var e3 = Assert.Throws<ArgumentOutOfRangeException>(() => Fit(ml, ["ab"]).Transform(numbers));

        foreach (var e in new[] { e1, e2, e3 })
        {
            Assert.Contains("Schema mismatch for input column 'Text': expected String, got Int32", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Options_InvalidValues_ThrowArgumentErrorsNamingTheOption()
    {
        var text = new MLContext(1).Transforms.Text;
        CharacterTokenizerEstimator.Options Make(int minimumFrequency = 1, int maximumVocabularySize = int.MaxValue, string input = "Text") =>
            new() { OutputColumnName = "T", InputColumnName = input, MinimumFrequency = minimumFrequency, MaximumVocabularySize = maximumVocabularySize };

        Assert.Equal("MinimumFrequency", Assert.Throws<ArgumentException>(() => text.TokenizeIntoCharacterIds(Make(minimumFrequency: 0))).ParamName);
        Assert.Equal("MaximumVocabularySize", Assert.Throws<ArgumentException>(() => text.TokenizeIntoCharacterIds(Make(maximumVocabularySize: 3))).ParamName);
        Assert.Equal("InputColumnName", Assert.Throws<ArgumentException>(() => text.TokenizeIntoCharacterIds(Make(input: ""))).ParamName);
    }

    [Fact]
    public void FlatOverload_InputDefaultsToOutput_ReplacesTextColumn()
    {
        var ml = new MLContext(1);
        var data = Texts(ml, "AB");
        var t = ml.Transforms.Text.TokenizeIntoCharacterIds("Text", lowerCase: true).Fit(data);

        var view = t.Transform(data);

        Assert.Equal(new VectorDataViewType(NumberDataViewType.Int64), view.Schema["Text"].Type);
        Assert.Equal(new long[] { 1, 4, 5, 2 }, view.GetColumn<long[]>("Text").Single());
    }

    [Fact]
    public void Conformance_Tokenizer_SchemaInvalidInputsAndSaveLoad()
    {
        var ml = new MLContext(7);
        var train = Texts(ml, "emma", "", "  ", "Zoe\u0308", "中\U00020000", "\U0001F469\u200D\U0001F4BB", "a\uD800b");
        var other = Texts(ml, "noah", "ÉMMA!", "");
        var numbers = ml.Data.LoadFromEnumerable(new[] { new NumberRow { Text = 1 } });
        var noText = ml.Data.LoadFromEnumerable(new[] { new NameRow { Name = "x" } });

        var fitted = EstimatorConformance.Check(ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text", lowerCase: true), train, other, (numbers, "Text"), (noText, "Text"));
        Assert.Equal(fitted.Tokenize("ÉMMA!"), fitted.Transform(other).GetColumn<long[]>("Tokens").ElementAt(1));
    }

    [Fact]
    public void Pipeline_NormalizeTextThenTokenizer_SavesAndLoadsAsMLNetChain()
    {
        var ml = new MLContext(3);
        var data = Texts(ml, "Ava", "Noah", "liam");
        var pipeline = ml.Transforms.Text.NormalizeText("Clean", "Text", Microsoft.ML.Transforms.Text.TextNormalizingEstimator.CaseMode.Lower)
            .Append(ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Clean"));
        var model = pipeline.Fit(data);
        using var tmp = new TempFiles();
        string path = Path.Combine(tmp.Folder, "model.zip");

        ml.Model.Save(model, data.Schema, path);
        var loaded = MLNet.Transformer.LanguageModeling.NextCharacterModel.LoadPipeline(new MLContext(4), path, out var inputSchema);

        Assert.Equal("Text", inputSchema[0].Name);
        Assert.Equal(model.Transform(data).GetColumn<long[]>("Tokens"), loaded.Transform(data).GetColumn<long[]>("Tokens"));
        Assert.Equal(new long[] { 1, model.LastTransformer.Vocabulary.GetId(new Rune('a')), model.LastTransformer.Vocabulary.GetId(new Rune('v')), model.LastTransformer.Vocabulary.GetId(new Rune('a')), 2 },
            loaded.Transform(data).GetColumn<long[]>("Tokens").First());
    }
}
