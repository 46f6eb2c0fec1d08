// The tokenizer's NFC (string.Normalize over ICU) against hand-checked cases from UAX #15 and the Unicode charts,
// and composed versus decomposed input giving the same token ids.
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Transformer.Text;

namespace MLNet.Transformer.Tests.Text;

public class NfcTests
{
    private static string Nfc(string s, bool lowerCase = false)
    {
        var scalars = new List<int>();
        CharacterScalars.Append(s, normalize: true, lowerCase, scalars);
        return string.Concat(scalars.Select(c => c == CharacterScalars.Invalid ? "?" : char.ConvertFromUtf32(c)));
    }

    [Theory]
    [InlineData("e\u0301", "\u00E9")] // e + combining acute -> é
    [InlineData("A\u030A", "\u00C5")] // A + ring above -> Å
    [InlineData("a\u0323\u0302", "\u1EAD")] // dot below (220) then circumflex (230) -> ậ
    [InlineData("a\u0302\u0323", "\u1EAD")] // reordered by combining class first
    [InlineData("o\u0308\u0304", "\u022B")] // o + diaeresis + macron -> ȫ (two compositions in a row)
    [InlineData("\u1E0B\u0323", "\u1E0D\u0307")] // ḋ + dot below -> ḍ + dot above (UAX #15's reordering example)
    [InlineData("a\u0301\u0301", "\u00E1\u0301")] // the second acute is blocked by the first
    [InlineData("\u212B", "\u00C5")] // ANGSTROM SIGN is a singleton -> Å
    [InlineData("\u2126", "\u03A9")] // OHM SIGN is a singleton -> Ω
    [InlineData("\u0344", "\u0308\u0301")] // COMBINING GREEK DIALYTIKA TONOS: a non-starter decomposition
    [InlineData("\u0958", "\u0915\u093C")] // DEVANAGARI QA is excluded from composition
    [InlineData("\U0001D15E", "\U0001D157\U0001D165")] // MUSICAL SYMBOL HALF NOTE: excluded, stays decomposed
    [InlineData("\u1100\u1161\u11A8", "\uAC01")] // Hangul L V T -> 각
    [InlineData("\u1112\u1161\u11AB\u1100\u1173\u11AF", "\uD55C\uAE00")] // 한글 from jamo
    [InlineData("\uAC00\u11A8", "\uAC01")] // Hangul LV + T
    [InlineData("\uFB01", "\uFB01")] // the fi ligature is a compatibility (NFKC) mapping only: unchanged
    [InlineData("plain ascii", "plain ascii")]
    public void Normalize_KnownCases_MatchUnicodeNfc(string input, string expected)
    {
        Assert.Equal(expected, Nfc(input));
    }

    [Fact]
    public void Normalize_LoneSurrogate_SplitsTheRunsSoNothingComposesAcrossIt()
    {
        // Built in code: xunit's display of theory data would mangle an ill-formed string.
        Assert.Equal("e?\u0301", Nfc("e" + (char)0xD800 + "\u0301"));
        Assert.Equal("\u00E9?", Nfc("e\u0301" + (char)0xDC00));
    }

    [Theory]
    [InlineData("\u00C9MILE", "e\u0301mile")] // É composed, lowered after composition
    [InlineData("E\u0301MILE", "\u00E9mile")]
    public void Normalize_WithLowerCase_ComposesThenLowersInvariantly(string input, string equivalent)
    {
        Assert.Equal(Nfc(equivalent), Nfc(input, lowerCase: true));
        Assert.Equal("\u00E9mile", Nfc(input, lowerCase: true));
    }

    [Fact]
    public void LowerCase_UnderTurkishCulture_StaysInvariant()
    {
        const string Dotted = "I\u0130\u0131i\u00C9"; // I, İ, ı, i, É
        var saved = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
            string invariant = Nfc(Dotted, lowerCase: true);
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("tr-TR");
            Assert.Equal("\u0131", "I".ToLower(CultureInfo.CurrentCulture)); // the culture really is Turkish
            Assert.Equal(invariant, Nfc(Dotted, lowerCase: true));
            Assert.StartsWith("i", invariant, StringComparison.Ordinal); // not the Turkish dotless ı
            Assert.EndsWith("\u00E9", invariant, StringComparison.Ordinal);
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    [Theory]
    [InlineData("caf\u00E9 \u00C5ngstr\u00F6m \uD55C\uAE00 \u1EAD", "cafe\u0301 A\u030Angstro\u0308m \u1112\u1161\u11AB\u1100\u1173\u11AF a\u0302\u0323")]
    [InlineData("\u00C5", "\u212B")]
    public void Tokenize_ComposedAndDecomposedInput_GiveTheSameIds(string composed, string decomposed)
    {
        var ml = new MLContext(1);
        var rows = ml.Data.LoadFromEnumerable(new[] { new Row { Text = composed } });
        var t = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text").Fit(rows);

        long[] fromComposed = t.Tokenize(composed);
        long[] fromDecomposed = t.Tokenize(decomposed);

        Assert.Equal(fromComposed, fromDecomposed);
        Assert.DoesNotContain(CharacterVocabulary.UnkId, fromDecomposed);
        Assert.Equal(composed.Normalize(System.Text.NormalizationForm.FormC), t.Vocabulary.Decode([.. fromComposed.Select(i => (int)i)]));
        // The ML.NET chain (code-point mapping + ONNX lookup) gives the same ids as Tokenize.
        var decomposedRows = ml.Data.LoadFromEnumerable(new[] { new Row { Text = decomposed } });
        Assert.Equal(fromComposed, t.Transform(decomposedRows).GetColumn<long[]>("Tokens").Single());
    }

    public sealed class Row
    {
        public string Text { get; set; } = "";
    }
}
