// What a fitted next-character model needs besides its weights: architecture, columns and vocabularies.
// Carried in the exported ONNX model's metadata; reading it back rebuilds the exact architecture.
using MLNet.Transformer.Engine;

namespace MLNet.Transformer.LanguageModeling;

/// <summary>The fitted model's description: architecture, input columns and vocabularies.</summary>
public sealed record NextCharacterModelInfo
{
    /// <summary>Architecture of the native model.</summary>
    public required TransformerModelConfig Architecture { get; init; }

    /// <summary>Text column the model reads (decoder side).</summary>
    public required string TextColumnName { get; init; }

    /// <summary>Source text column (encoder-decoder with a true source), else null.</summary>
    public string? SourceColumnName { get; init; }

    /// <summary>Whether text is NFC-normalised before it is split into characters.</summary>
    public bool Normalize { get; init; } = true;

    /// <summary>Whether characters are lower-cased (invariant culture) first.</summary>
    public bool LowerCase { get; init; }

    /// <summary>Single-column encoder-decoder: the encoder reads the decoder's own prefix, causally.</summary>
    public bool SelfSource { get; init; }

    /// <summary>Token of each id (index = id) of the decoder vocabulary.</summary>
    public required IReadOnlyList<string> Vocabulary { get; init; }

    /// <summary>Token of each id of the source vocabulary (true source only).</summary>
    public IReadOnlyList<string>? SourceVocabulary { get; init; }

    /// <summary>Padding id (masked, ignored by the loss).</summary>
    public int PadId { get; init; }

    /// <summary>Beginning-of-sequence id.</summary>
    public int BosId { get; init; } = 1;

    /// <summary>End-of-sequence id.</summary>
    public int EosId { get; init; } = 2;

    /// <summary>Unknown-character id, or -1 when the vocabulary has none.</summary>
    public int UnkId { get; init; } = -1;

    /// <summary>Device the model was trained on (informational; loading always starts on the CPU).</summary>
    public string TrainedOn { get; init; } = "cpu";

    /// <summary>True when this is an encoder-decoder model.</summary>
    public bool IsEncoderDecoder => Architecture.Kind == ModelKind.EncoderDecoder;

    /// <summary>True when the encoder reads a separate source column.</summary>
    public bool HasSource => IsEncoderDecoder && !SelfSource;

    /// <summary>Finds the id of a special token such as "&lt;EOS&gt;", or -1.</summary>
    public static int FindId(IReadOnlyList<string> vocabulary, string token)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        for (int i = 0; i < vocabulary.Count; i++)
        {
            if (vocabulary[i] == token)
            {
                return i;
            }
        }

        return -1;
    }
}
