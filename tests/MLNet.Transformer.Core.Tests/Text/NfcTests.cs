// Tests of the managed NFC against hand-checked cases from UAX #15 and the Unicode charts.
using MLNet.Transformer.Text;

namespace MLNet.Transformer.Tests.Text;

public class NfcTests
{
    private static string Nfc(string s)
    {
        var scalars = new List<int>();
        CharacterScalars.Append(s, normalize: true, lowerCase: false, scalars);
        return string.Concat(scalars.Select(char.ConvertFromUtf32));
    }

    [Theory]
    [InlineData("e\u0301", "\u00E9")] // e + combining acute -> é
    [InlineData("a\u0323\u0302", "\u1EAD")] // dot below (220) then circumflex (230) -> ậ
    [InlineData("a\u0302\u0323", "\u1EAD")] // reordered by combining class first
    [InlineData("\u212B", "\u00C5")] // ANGSTROM SIGN is a singleton -> Å
    [InlineData("\u0958", "\u0915\u093C")] // DEVANAGARI QA is excluded from composition
    [InlineData("a\u0301\u0301", "\u00E1\u0301")] // the second acute is blocked by the first
    [InlineData("\u1100\u1161\u11A8", "\uAC01")] // Hangul L V T -> 각
    [InlineData("\uAC00\u11A8", "\uAC01")] // Hangul LV + T
    [InlineData("plain ascii", "plain ascii")]
    [InlineData("\U0001D15E", "\U0001D157\U0001D165")] // MUSICAL SYMBOL HALF NOTE: excluded, stays decomposed
    public void Normalize_KnownCases_MatchUnicodeNfc(string input, string expected)
    {
        Assert.Equal(expected, Nfc(input));
    }
}
