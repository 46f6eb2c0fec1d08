// A managed Unicode NFC (UAX #15: canonical decomposition, canonical ordering, canonical composition) over
// scalar values. The tokenizer uses it instead of string.Normalize, which is a no-op for non-ASCII text when
// the host runs with InvariantGlobalization (as this repository does): tokens must not depend on the host.
namespace MLNet.Transformer.Text;

/// <summary>Normalization Form C on lists of Unicode scalar values, with tables from <see cref="NfcTables"/>.</summary>
internal static class Nfc
{
    // Hangul syllable arithmetic (The Unicode Standard, section 3.12).
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    /// <summary>First code point that can take part in a canonical decomposition or composition as a non-starter.</summary>
    private const int FirstCombining = 0x300;

    private static readonly Dictionary<int, (int First, int Second)> Decompositions = [];
    private static readonly Dictionary<long, int> Compositions = [];
    private static readonly Dictionary<int, int> Classes = [];

#pragma warning disable CA1810 // The tables are unpacked once, in order; an initializer per field would not read better.
    static Nfc()
#pragma warning restore CA1810
    {
        var d = NfcTables.Decompositions;
        for (int i = 0; i < d.Length; i += 4)
        {
            Decompositions.Add(d[i], (d[i + 1], d[i + 2]));
            if (d[i + 3] == 0)
            {
                Compositions.Add(Key(d[i + 1], d[i + 2]), d[i]);
            }
        }

        var c = NfcTables.CombiningClasses;
        for (int i = 0; i < c.Length; i += 2)
        {
            Classes.Add(c[i], c[i + 1]);
        }
    }

    /// <summary>Normalises <c>scalars[start..]</c> to NFC in place.</summary>
    public static void Normalize(List<int> scalars, int start)
    {
        bool trivial = true;
        for (int i = start; i < scalars.Count && trivial; i++)
        {
            // Below U+0300 every character is its own NFC and none composes with its neighbour.
            trivial = scalars[i] < FirstCombining;
        }

        if (trivial)
        {
            return;
        }

        var decomposed = new List<int>(scalars.Count - start + 4);
        for (int i = start; i < scalars.Count; i++)
        {
            Decompose(scalars[i], decomposed);
        }

        // Canonical ordering: a stable insertion sort of each run of non-starters by combining class.
        for (int i = 1; i < decomposed.Count; i++)
        {
            int cc = ClassOf(decomposed[i]);
            for (int j = i; cc != 0 && j > 0 && ClassOf(decomposed[j - 1]) > cc; j--)
            {
                (decomposed[j - 1], decomposed[j]) = (decomposed[j], decomposed[j - 1]);
            }
        }

        // Canonical composition: join each character to the last starter unless a non-starter of the same or a
        // higher class stands between them.
        scalars.RemoveRange(start, scalars.Count - start);
        int starter = -1;
        int lastClass = 256;
        foreach (int ch in decomposed)
        {
            int cc = ClassOf(ch);
            if (starter >= 0 && (lastClass == 0 || lastClass < cc) && Compose(scalars[starter], ch) is int composite)
            {
                scalars[starter] = composite;
                continue;
            }

            if (cc == 0)
            {
                starter = scalars.Count;
            }

            lastClass = cc;
            scalars.Add(ch);
        }
    }

    private static long Key(int first, int second) => ((long)first << 21) | (uint)second;

    private static int ClassOf(int cp) => cp < FirstCombining ? 0 : Classes.GetValueOrDefault(cp);

    private static void Decompose(int cp, List<int> output)
    {
        if (cp is >= SBase and < SBase + SCount)
        {
            int s = cp - SBase;
            output.Add(LBase + (s / NCount));
            output.Add(VBase + (s % NCount / TCount));
            if (s % TCount != 0)
            {
                output.Add(TBase + (s % TCount));
            }

            return;
        }

        if (Decompositions.TryGetValue(cp, out var pair))
        {
            Decompose(pair.First, output);
            if (pair.Second != 0)
            {
                Decompose(pair.Second, output);
            }

            return;
        }

        output.Add(cp);
    }

    private static int? Compose(int first, int second)
    {
        if (first is >= LBase and < LBase + LCount && second is >= VBase and < VBase + VCount)
        {
            return SBase + ((((first - LBase) * VCount) + (second - VBase)) * TCount);
        }

        if (first is >= SBase and < SBase + SCount && (first - SBase) % TCount == 0 && second is > TBase and < TBase + TCount)
        {
            return first + (second - TBase);
        }

        return Compositions.TryGetValue(Key(first, second), out int composite) ? composite : null;
    }
}
