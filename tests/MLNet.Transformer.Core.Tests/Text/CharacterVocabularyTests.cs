// Tests of CharacterVocabulary: construction rules, raw Encode, and Decode's EOS/special handling.
using System.Text;
using MLNet.Transformer.Text;

namespace MLNet.Transformer.Tests.Text;

public class CharacterVocabularyTests
{
    private static readonly CharacterVocabulary Abc = CharacterVocabulary.FromCharacters("cba".EnumerateRunes());

    [Fact]
    public void FromCharacters_Unordered_SortedByCodePointAfterSpecials()
    {
        Assert.Equal(["<PAD>", "<BOS>", "<EOS>", "<UNK>", "a", "b", "c"], Abc.Tokens);
        Assert.Equal(7, Abc.Count);
    }

    [Fact]
    public void Constructor_BadTokenLists_Throw()
    {
        Assert.Throws<ArgumentException>(() => new CharacterVocabulary(["a", "b"]));
        Assert.Throws<ArgumentException>(() => new CharacterVocabulary(["<PAD>", "<BOS>", "<EOS>", "<UNK>", "b", "a"]));
        Assert.Throws<ArgumentException>(() => new CharacterVocabulary(["<PAD>", "<BOS>", "<EOS>", "<UNK>", "ab"]));
        Assert.Throws<ArgumentException>(() => new CharacterVocabulary(["<PAD>", "<BOS>", "<EOS>", "<UNK>", "\uD800"]));
    }

    [Fact]
    public void Encode_Raw_NoFramingUnlessAskedUnknownToUnk()
    {
        Assert.Equal(new[] { 4, 3, 6 }, Abc.Encode("axc"));
        Assert.Equal(new[] { 1, 5, 2 }, Abc.Encode("b", addBos: true, addEos: true));
    }

    [Fact]
    public void Decode_SkipSpecial_StopsAtEosAndSkipsOthers()
    {
        Assert.Equal("ab", Abc.Decode([1, 4, 0, 3, 5, 2, 6]));
        Assert.Equal("<BOS>a<UNK><EOS>c", Abc.Decode([1, 4, 3, 2, 6], skipSpecial: false));
    }

    [Fact]
    public void Decode_IdOutOfRange_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Abc.Decode([7]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Abc.Decode([-1]));
    }

    [Fact]
    public void FromCounts_TiesAndCutoffs_Deterministic()
    {
        var counts = new Dictionary<Rune, long> { [new Rune('d')] = 2, [new Rune('c')] = 2, [new Rune('b')] = 5, [new Rune('a')] = 1 };

        Assert.Equal(["b", "c"], CharacterVocabulary.FromCounts(counts, 1, 6).Tokens.Skip(4));
        Assert.Equal(["b", "c", "d"], CharacterVocabulary.FromCounts(counts, 2).Tokens.Skip(4));
    }
}
