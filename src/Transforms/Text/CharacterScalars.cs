// Splits text into Unicode scalar values the way the character tokenizer counts and encodes them:
// optional NFC (string.Normalize, ICU) per valid run of text, optional invariant lower-casing per scalar, -1 for a lone surrogate.
using System.Text;

namespace MLNet.Transformer.Text;

/// <summary>Text -> Unicode scalar values, shared by the tokenizer's Fit and Transform.</summary>
internal static class CharacterScalars
{
    /// <summary>Marks an invalid UTF-16 unit (a lone surrogate); it encodes as the unknown token.</summary>
    public const int Invalid = -1;

    /// <summary>
    /// Appends the scalar values of <paramref name="text"/> to <paramref name="output"/> (not cleared). Lone
    /// surrogates become <see cref="Invalid"/>; NFC applies to each run of valid text between them, since
    /// normalisation is undefined for ill-formed UTF-16.
    /// </summary>
    public static void Append(string? text, bool normalize, bool lowerCase, List<int> output)
    {
        if (string.IsNullOrEmpty(text))
        {
            return;
        }

        int start = 0;
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i += 2;
            }
            else if (char.IsSurrogate(c))
            {
                AppendValid(text.AsSpan(start, i - start), normalize, lowerCase, output);
                output.Add(Invalid);
                start = ++i;
            }
            else
            {
                i++;
            }
        }

        AppendValid(text.AsSpan(start), normalize, lowerCase, output);
    }

    /// <summary>Whether <see cref="string.Normalize(NormalizationForm)"/> really composes: false when the host runs
    /// with InvariantGlobalization (no ICU), where .NET leaves non-ASCII text as it is.</summary>
    private static readonly bool CanNormalize = IsNfcAvailable();

    private static void AppendValid(ReadOnlySpan<char> run, bool normalize, bool lowerCase, List<int> output)
    {
        int start = output.Count;
        if (normalize && !Ascii.IsValid(run))
        {
            foreach (var rune in Nfc(run.ToString()).EnumerateRunes())
            {
                output.Add(rune.Value);
            }
        }
        else
        {
            foreach (var rune in run.EnumerateRunes())
            {
                output.Add(rune.Value);
            }
        }

        if (lowerCase)
        {
            for (int i = start; i < output.Count; i++)
            {
                output[i] = Rune.ToLowerInvariant(new Rune(output[i])).Value;
            }
        }
    }

    private static string Nfc(string text)
    {
        if (!CanNormalize)
        {
            throw new TransformerException(
                "The character tokenizer's normalize option (NFC) needs ICU, but this process runs with " +
                "InvariantGlobalization=true (or without libicu): set <InvariantGlobalization>false</InvariantGlobalization> " +
                "and install libicu, or create the tokenizer with normalize: false.");
        }

        return text.Normalize(NormalizationForm.FormC);
    }

    private static bool IsNfcAvailable()
    {
        try
        {
            return "e\u0301".Normalize(NormalizationForm.FormC) == "\u00E9";
        }
        catch (PlatformNotSupportedException)
        {
            return false;
        }
    }
}
