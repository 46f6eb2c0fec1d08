// The character tokenizer's vocabulary: four special tokens, then one token per Unicode scalar value in
// code-point order (index = id). Exported inside the ONNX models (lookup table and metadata).
using System.Text;

namespace MLNet.Transformer.Text;

/// <summary>
/// Ids of a character-level vocabulary: <c>&lt;PAD&gt;</c>=0, <c>&lt;BOS&gt;</c>=1, <c>&lt;EOS&gt;</c>=2,
/// <c>&lt;UNK&gt;</c>=3, then one id per character (Unicode scalar value), sorted by code point. Immutable.
/// </summary>
public sealed class CharacterVocabulary
{
    /// <summary>Id of the padding token.</summary>
    public const int PadId = 0;

    /// <summary>Id of the begin-of-sequence token.</summary>
    public const int BosId = 1;

    /// <summary>Id of the end-of-sequence token.</summary>
    public const int EosId = 2;

    /// <summary>Id of the unknown-character token.</summary>
    public const int UnkId = 3;

    /// <summary>Number of special tokens (the first character's id).</summary>
    public const int SpecialTokenCount = 4;

    /// <summary>Name of the padding token.</summary>
    public const string PadToken = "<PAD>";

    /// <summary>Name of the begin-of-sequence token.</summary>
    public const string BosToken = "<BOS>";

    /// <summary>Name of the end-of-sequence token.</summary>
    public const string EosToken = "<EOS>";

    /// <summary>Name of the unknown-character token.</summary>
    public const string UnkToken = "<UNK>";

    private static readonly string[] Specials = [PadToken, BosToken, EosToken, UnkToken];

    private readonly string[] _tokens;
    private readonly Dictionary<int, int> _idByScalar;

    /// <summary>
    /// A vocabulary from its full token list (index = id): the four special tokens, then distinct
    /// single-scalar characters in ascending code-point order.
    /// </summary>
    /// <exception cref="ArgumentException">The list does not have that form.</exception>
    public CharacterVocabulary(IEnumerable<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        _tokens = [.. tokens];
        if (_tokens.Length < SpecialTokenCount || !_tokens.AsSpan(0, SpecialTokenCount).SequenceEqual(Specials))
        {
            throw new ArgumentException($"A character vocabulary starts with {string.Join(", ", Specials)}.", nameof(tokens));
        }

        _idByScalar = new Dictionary<int, int>(_tokens.Length);
        int previous = -1;
        for (int id = SpecialTokenCount; id < _tokens.Length; id++)
        {
            string t = _tokens[id] ?? "";
            if (Rune.DecodeFromUtf16(t, out var rune, out int used) != System.Buffers.OperationStatus.Done || used != t.Length)
            {
                throw new ArgumentException($"Token {id} ('{t}') is not exactly one Unicode scalar value.", nameof(tokens));
            }

            if (rune.Value <= previous)
            {
                throw new ArgumentException($"Token {id} ('{t}', U+{rune.Value:X4}) is out of code-point order or repeated.", nameof(tokens));
            }

            previous = rune.Value;
            _idByScalar.Add(rune.Value, id);
        }
    }

    /// <summary>The tokens, index = id.</summary>
    public IReadOnlyList<string> Tokens => _tokens;

    /// <summary>Number of ids (special tokens included).</summary>
    public int Count => _tokens.Length;

    /// <summary>A vocabulary of the special tokens and the distinct <paramref name="characters"/>.</summary>
    public static CharacterVocabulary FromCharacters(IEnumerable<Rune> characters)
    {
        ArgumentNullException.ThrowIfNull(characters);
        return new([.. Specials, .. characters.Select(r => r.Value).Distinct().Order().Select(v => new Rune(v).ToString())]);
    }

    /// <summary>
    /// Learns a vocabulary from character counts: characters seen fewer than <paramref name="minimumFrequency"/>
    /// times are dropped; if more than <paramref name="maximumSize"/> ids would remain (special tokens included),
    /// the most frequent characters are kept, ties broken by lower code point. Kept characters are then sorted by
    /// code point.
    /// </summary>
    public static CharacterVocabulary FromCounts(IReadOnlyDictionary<Rune, long> counts, int minimumFrequency = 1, int maximumSize = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentOutOfRangeException.ThrowIfLessThan(minimumFrequency, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maximumSize, SpecialTokenCount);
        var kept = counts
            .Where(kv => kv.Value >= minimumFrequency)
            .OrderByDescending(kv => kv.Value)
            .ThenBy(kv => kv.Key.Value)
            .Take(maximumSize - SpecialTokenCount)
            .Select(kv => kv.Key);
        return FromCharacters(kept);
    }

    /// <summary>The id of <paramref name="character"/>, or <see cref="UnkId"/> when it is not in the vocabulary.</summary>
    public int GetId(Rune character) => _idByScalar.TryGetValue(character.Value, out int id) ? id : UnkId;

    /// <summary>True when <paramref name="character"/> has its own id.</summary>
    public bool Contains(Rune character) => _idByScalar.ContainsKey(character.Value);

    /// <summary>The token of <paramref name="id"/> (a character, or a special token's name).</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such id.</exception>
    public string GetToken(int id)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(id, _tokens.Length);
        return _tokens[id];
    }

    /// <summary>
    /// Maps each Unicode scalar value of <paramref name="text"/> to its id (<see cref="UnkId"/> for unseen
    /// characters and lone surrogates), as is: no normalisation, casing or length limit (the tokenizer transformer
    /// applies those; see <c>CharacterTokenizerTransformer.Tokenize</c>).
    /// </summary>
    public int[] Encode(string text, bool addBos = false, bool addEos = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var scalars = new List<int>(text.Length);
        CharacterScalars.Append(text, normalize: false, lowerCase: false, scalars);
        return Encode(scalars, addBos, addEos);
    }

    /// <summary>Ids of scalar values (<see cref="CharacterScalars.Invalid"/> -> UNK), with optional BOS/EOS.</summary>
    internal int[] Encode(List<int> scalars, bool addBos, bool addEos)
    {
        var ids = new int[scalars.Count + (addBos ? 1 : 0) + (addEos ? 1 : 0)];
        int n = 0;
        if (addBos)
        {
            ids[n++] = BosId;
        }

        foreach (int s in scalars)
        {
            ids[n++] = _idByScalar.TryGetValue(s, out int id) ? id : UnkId;
        }

        if (addEos)
        {
            ids[n] = EosId;
        }

        return ids;
    }

    /// <summary>
    /// Turns ids back into text. With <paramref name="skipSpecial"/> (default) special tokens are left out and
    /// decoding stops at the first <c>&lt;EOS&gt;</c>; otherwise every token is written, specials by name.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id outside [0, <see cref="Count"/>).</exception>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecial = true)
    {
        var sb = new StringBuilder(ids.Length);
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)_tokens.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id {id} is outside the vocabulary (0..{_tokens.Length - 1}).");
            }

            if (skipSpecial && id < SpecialTokenCount)
            {
                if (id == EosId)
                {
                    break;
                }

                continue;
            }

            sb.Append(_tokens[id]);
        }

        return sb.ToString();
    }
}
