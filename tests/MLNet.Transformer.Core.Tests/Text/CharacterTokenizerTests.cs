// Tests of the character tokenizer: Unicode scalar splitting (CJK, emoji, combining marks, lone surrogates),
// vocabulary learning, BOS/EOS, length policies, schema errors, conformance and save/load.
using System.Text;
using MLNet.Transformer.Data;
using MLNet.Transformer.TestKit;
using MLNet.Transformer.Text;

namespace MLNet.Transformer.Tests.Text;

public class CharacterTokenizerTests
{
    private sealed class Row
    {
        public string Text { get; set; } = "";
    }

    private sealed class NumberRow
    {
        public int Text { get; set; }
    }

    private static IDataView Texts(MLContext ml, params string[] texts) =>
        ml.Data.LoadFromEnumerable(texts.Select(t => new Row { Text = t }).ToList());

    private static CharacterTokenizerTransformer Fit(MLContext ml, string[] train, Func<TransformsCatalog.TextTransforms, CharacterTokenizerEstimator>? make = null) =>
        (make ?? (c => c.TokenizeIntoCharacterIds("Tokens", "Text")))(ml.Transforms.Text).Fit(Texts(ml, train));

    private static string Scalar(int codePoint) => char.ConvertFromUtf32(codePoint);

    [Fact]
    public void Fit_AlphabetSeed_SpecialsThenLettersAt4To29()
    {
        var ml = new MLContext(1);
        using var t = Fit(ml, ["zoe", "abcdefghijklmnopqrstuvwxyz", "emma"]);

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
        using var t = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text").Fit(data);

        var view = t.Transform(data);
        var ids = view.GetColumn<int[]>("Tokens").ToList();

        int space = t.Vocabulary.GetId(new Rune(' '));
        int a = t.Vocabulary.GetId(new Rune('a'));
        Assert.Equal(new[] { 1, a, a + 1, 2 }, ids[0]);
        Assert.Equal(new[] { 1, 2 }, ids[1]);
        Assert.Equal(new[] { 1, space, space, 2 }, ids[2]);
        Assert.Equal([4, 2, 4, 5], view.GetColumn<int>("TokensLength"));
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Int32), view.Schema["Tokens"].Type);
        Assert.Equal(NumberDataViewType.Int32, view.Schema["TokensLength"].Type);
    }

    [Fact]
    public void Transform_CjkIncludingSupplementaryPlane_OneTokenPerCharacter()
    {
        var ml = new MLContext(1);
        string text = "中文" + Scalar(0x20000) + "字";
        using var t = Fit(ml, [text]);

        var ids = t.Tokenize(text);

        Assert.Equal(6, ids.Length);
        Assert.Equal(Scalar(0x20000), t.Vocabulary.GetToken(ids[3]));
        Assert.Equal(4 + 4, t.Vocabulary.Count);
        Assert.Equal(text, t.Vocabulary.Decode(ids));
    }

    [Fact]
    public void Transform_EmojiZwjSequence_OneTokenPerScalar()
    {
        var ml = new MLContext(1);
        string womanTechnologist = "\U0001F469\u200D\U0001F4BB";
        using var t = Fit(ml, ["hi \U0001F600", womanTechnologist]);

        var ids = t.Tokenize(womanTechnologist);

        Assert.Equal(5, ids.Length);
        Assert.Equal(["\U0001F469", "\u200D", "\U0001F4BB"], ids[1..^1].Select(t.Vocabulary.GetToken));
        Assert.Equal(womanTechnologist, t.Vocabulary.Decode(ids));
        Assert.Equal(3, t.Tokenize("\U0001F600").Length);
    }

    [Fact]
    public void Transform_CombiningMarkWithNfc_ComposedIntoOneToken()
    {
        var ml = new MLContext(1);
        using var t = Fit(ml, ["e\u0301mile"]);

        var ids = t.Tokenize("e\u0301");

        Assert.Equal(3, ids.Length);
        Assert.Equal("\u00E9", t.Vocabulary.GetToken(ids[1]));
        Assert.False(t.Vocabulary.Contains(new Rune(0x0301)));
    }

    [Fact]
    public void Transform_CombiningMarkWithoutNfc_BaseAndMarkSeparate()
    {
        var ml = new MLContext(1);
        using var t = Fit(ml, ["e\u0301mile"], c => c.TokenizeIntoCharacterIds("Tokens", "Text", normalize: false));

        var ids = t.Tokenize("e\u0301");

        Assert.Equal(4, ids.Length);
        Assert.Equal(["e", "\u0301"], ids[1..^1].Select(t.Vocabulary.GetToken));
        Assert.Equal(CharacterVocabulary.UnkId, t.Tokenize("\u00E9")[1]);
    }

    [Fact]
    public void Transform_LowerCase_MapsUpperToLowerInvariant()
    {
        var ml = new MLContext(1);
        using var t = Fit(ml, ["ÉMMA", "emma"], c => c.TokenizeIntoCharacterIds("Tokens", "Text", lowerCase: true));

        Assert.Equal(["<PAD>", "<BOS>", "<EOS>", "<UNK>", "a", "e", "m", "é"], t.Vocabulary.Tokens);
        Assert.Equal(t.Tokenize("emma"), t.Tokenize("EMMA"));
    }

    [Fact]
    public void Transform_UnseenCharactersAndLoneSurrogates_MapToUnk()
    {
        var ml = new MLContext(1);
        using var t = Fit(ml, ["ab\uD800", "\uDC00a"]);

        Assert.Equal(6, t.Vocabulary.Count);
        Assert.Equal(new[] { 1, 4, 3, 5, 3, 2 }, t.Tokenize("a\uDC00bz"));
        Assert.Equal(new[] { 1, 3, 4, 2 }, t.Tokenize("\uD83Da"));
    }

    [Fact]
    public void Fit_MinimumFrequency_DropsRareCharacters()
    {
        var ml = new MLContext(1);
        using var t = Fit(ml, ["aaab", "bc"], c => c.TokenizeIntoCharacterIds("Tokens", "Text", minimumFrequency: 2));

        Assert.Equal(["a", "b"], t.Vocabulary.Tokens.Skip(4));
        Assert.Equal(CharacterVocabulary.UnkId, t.Tokenize("c")[1]);
    }

    [Fact]
    public void Fit_MaximumVocabularySize_KeepsMostFrequentTiesByCodePoint()
    {
        var ml = new MLContext(1);
        using var t = Fit(ml, ["zzzyyxxw"], c => c.TokenizeIntoCharacterIds("Tokens", "Text", maximumVocabularySize: 6));

        Assert.Equal(["x", "z"], t.Vocabulary.Tokens.Skip(4));
    }

    [Fact]
    public void Transform_OverLongWithTruncate_KeepsLeadingIdsDropsEos()
    {
        var ml = new MLContext(1);
        using var t = Fit(ml, ["abcdef"], c => c.TokenizeIntoCharacterIds("Tokens", "Text", maximumLength: 4, lengthPolicy: LengthPolicy.Truncate));

        Assert.Equal(new[] { 1, 4, 5, 6 }, t.Tokenize("abcdef"));
        Assert.Equal(new[] { 1, 4, 5, 2 }, t.Tokenize("ab"));
        Assert.Equal([4, 4], t.Transform(Texts(ml, "abcdef", "ab")).GetColumn<int>("TokensLength"));
    }

    [Fact]
    public void Transform_OverLongWithThrow_TypedErrorNamingColumnRowAndLength()
    {
        var ml = new MLContext(1);
        using var t = Fit(ml, ["abc"], c => c.TokenizeIntoCharacterIds("Tokens", "Text", maximumLength: 4, lengthPolicy: LengthPolicy.Throw));
        var view = t.Transform(Texts(ml, "ab", "a", "abc", "b"));

        var e = Assert.Throws<SequenceTooLongException>(() => view.GetColumn<int[]>("Tokens").ToList());

        Assert.Equal("Text", e.ColumnName);
        Assert.Equal(2, e.Row);
        Assert.Equal(5, e.Length);
        Assert.Equal(4, e.MaximumLength);
        Assert.Contains("'Text'", e.Message, StringComparison.Ordinal);
        Assert.Contains("row 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Transform_NoBosNoEos_OnlyCharacters()
    {
        var ml = new MLContext(1);
        using var t = Fit(ml, ["ab"], c => c.TokenizeIntoCharacterIds("Tokens", "Text", addBos: false, addEos: false));

        Assert.Equal(new[] { 4, 5 }, t.Tokenize("ab"));
        Assert.Empty(t.Tokenize(""));
    }

    [Theory]
    [InlineData("emma")]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("Zoë 中\U00020000 \U0001F469\u200D\U0001F4BB")]
    public void Decode_Tokenized_RoundTripsText(string text)
    {
        var ml = new MLContext(1);
        using var t = Fit(ml, [text, "abc"]);

        Assert.Equal(text, t.Vocabulary.Decode(t.Tokenize(text)));
    }

    [Fact]
    public void Transform_VocabularyAnnotation_RecoversEqualVocabulary()
    {
        var ml = new MLContext(1);
        var data = Texts(ml, "hello", "world");
        using var t = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text").Fit(data);

        var column = t.Transform(data).Schema["Tokens"];
        var recovered = CharacterVocabulary.FromAnnotations(column);

        Assert.Equal(t.Vocabulary.Tokens, recovered.Tokens);
        Assert.Equal(t.Vocabulary.Tokens, column.Annotations.GetValue<string[]>(Annotations.Kinds.Vocabulary));
        Assert.Throws<SchemaException>(() => CharacterVocabulary.FromAnnotations(t.Transform(data).Schema["Text"]));
    }

    [Fact]
    public void GetOutputSchemaAndFit_NonTextColumn_SchemaExceptionNamesColumnExpectedAndActual()
    {
        var ml = new MLContext(1);
        var numbers = ml.Data.LoadFromEnumerable(new[] { new NumberRow { Text = 3 } });
        var estimator = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text");

        var e1 = Assert.Throws<SchemaException>(() => estimator.GetOutputSchema(numbers.Schema));
        var e2 = Assert.Throws<SchemaException>(() => estimator.Fit(numbers));

        foreach (var e in new[] { e1, e2 })
        {
            Assert.Equal("Text", e.ColumnName);
            Assert.Contains("Int32", e.Message, StringComparison.Ordinal);
            Assert.Contains("expected Text", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Transform_FittedTokenizerOnViewWithoutColumn_ThrowsSchemaException()
    {
        var ml = new MLContext(1);
        using var t = Fit(ml, ["ab"]);
        var other = ml.Data.LoadFromEnumerable(new[] { new NumberRow() });

        Assert.Equal("Text", Assert.Throws<SchemaException>(() => t.Transform(other)).ColumnName);
    }

    [Fact]
    public void Options_InvalidValues_ThrowArgumentErrorsNamingTheOption()
    {
        var text = new MLContext(1).Transforms.Text;

        var e1 = Assert.Throws<TransformerArgumentException>(() => text.TokenizeIntoCharacterIds("T", maximumLength: 2));
        var e2 = Assert.Throws<TransformerArgumentException>(() => text.TokenizeIntoCharacterIds("T", minimumFrequency: 0));
        var e3 = Assert.Throws<TransformerArgumentException>(() => text.TokenizeIntoCharacterIds("T", maximumVocabularySize: 3));

        Assert.Equal("MaximumLength", e1.ParamName);
        Assert.Equal("MinimumFrequency", e2.ParamName);
        Assert.Equal("MaximumVocabularySize", e3.ParamName);
    }

    [Fact]
    public void OptionsOverload_InputDefaultsToOutput_ReplacesTextColumn()
    {
        var ml = new MLContext(1);
        var data = Texts(ml, "ab");
        using var t = ml.Transforms.Text.TokenizeIntoCharacterIds(new CharacterTokenizerEstimator.Options { OutputColumnName = "Text", LowerCase = true }).Fit(data);

        var view = t.Transform(data);

        Assert.Equal(new VectorDataViewType(NumberDataViewType.Int32), view.Schema["Text"].Type);
        Assert.Equal(new[] { 1, 4, 5, 2 }, view.GetColumn<int[]>("Text").Single());
        Assert.True(t.LowerCase);
    }

    private sealed class NameRow
    {
        public string Name { get; set; } = "";
    }

    [Fact]
    public void Conformance_Tokenizer_PassesSchemaInvalidInputAndSaveLoadChecks()
    {
        var ml = new MLContext(7);
        var valid = Texts(ml, "emma", "", "  ", "Zoe\u0308", "中\U00020000", "\U0001F469\u200D\U0001F4BB", "a\uD800b", "much too long for eight");
        var numbers = ml.Data.LoadFromEnumerable(new[] { new NumberRow { Text = 1 } });
        var noText = ml.Data.LoadFromEnumerable(new[] { new NameRow { Name = "x" } });

        EstimatorConformance.Check(ml,
            ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text", maximumLength: 8, lengthPolicy: LengthPolicy.Truncate, lowerCase: true),
            valid, (numbers, "Text"), (noText, "Text"));
    }

    [Fact]
    public void SaveLoad_ChainOfTokenizers_LoadsAsChainWithSameOutputs()
    {
        var ml = new MLContext(3);
        var data = Texts(ml, "Ava", "Noah", "liam");
        var pipeline = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text")
            .Append(ml.Transforms.Text.TokenizeIntoCharacterIds("Lower", "Text", lowerCase: true, addEos: false));
        using var model = pipeline.Fit(data);
        using var tmp = new TempFiles();
        string path = Path.Combine(tmp.Folder, "model.zip");

        ml.Model.Save(model, data.Schema, path);
        using var loaded = new MLContext(3).Model.Load(path, out var inputSchema);

        Assert.Equal("Text", inputSchema[0].Name);
        EstimatorConformance.AssertSameValues(model.Transform(data), loaded.Transform(data));
        var chain = Assert.IsType<TransformerChain<ITransformer>>(((MLNet.Transformer.Persistence.LoadedModel)loaded).Model);
        var last = Assert.IsType<CharacterTokenizerTransformer>(chain.LastTransformer);
        Assert.True(last.LowerCase);
        Assert.False(last.AddEos);
        Assert.Equal(model.LastTransformer.Vocabulary.Tokens, last.Vocabulary.Tokens);
    }
}
