// The stateless first step of every fitted pipeline: text -> Unicode scalar values with BOS (and, for sources and
// the tokenizer, EOS) markers, as an ML.NET CustomMapping saved by contract name only. The vocabulary is not here:
// it lives in the ONNX model that follows (see OnnxExporter's code-point input). One contract per setting, since a
// CustomMapping keeps no state.
using System.ComponentModel;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using MLNet.Transformer.Onnx;

namespace MLNet.Transformer.Text;

/// <summary>Text to code points: the shared definition used by training, by the saved pipelines and by generation.</summary>
public static class CodePoints
{
    /// <summary>The value a lone surrogate becomes: a surrogate code point, never a vocabulary character, so it reads as UNK.</summary>
    public const long Unknown = 0xD800;

    /// <summary>Internal column holding the text read by the first CustomMapping.</summary>
    public const string TextColumn = "MLT.Text";

    /// <summary>Internal column holding the source text (encoder-decoder models with a source column).</summary>
    public const string SourceColumn = "MLT.Source";

    /// <summary>
    /// The Unicode scalar values of <paramref name="text"/> after optional NFC and invariant lower-casing (lone
    /// surrogates become <see cref="Unknown"/>), after <see cref="OnnxCodePoints.Bos"/> and, with
    /// <paramref name="addEos"/>, before <see cref="OnnxCodePoints.Eos"/>.
    /// </summary>
    public static long[] Encode(string? text, bool normalize, bool lowerCase, bool addEos)
    {
        var scalars = new List<int>();
        CharacterScalars.Append(text, normalize, lowerCase, scalars);
        var result = new long[scalars.Count + 1 + (addEos ? 1 : 0)];
        result[0] = OnnxCodePoints.Bos;
        for (int i = 0; i < scalars.Count; i++)
        {
            result[i + 1] = scalars[i] == CharacterScalars.Invalid ? Unknown : scalars[i];
        }

        if (addEos)
        {
            result[^1] = OnnxCodePoints.Eos;
        }

        return result;
    }

    /// <summary>The code point a generated token appends (its scalar value; <see cref="Unknown"/> for a special token).</summary>
    public static long OfToken(string token) =>
        Rune.DecodeFromUtf16(token, out var rune, out int used) == System.Buffers.OperationStatus.Done && used == token.Length
            ? rune.Value
            : Unknown;

    /// <summary>The CustomMapping estimator for the text (BOS first) or the source (BOS first, EOS last) with these settings.</summary>
    public static IEstimator<ITransformer> Mapping(MLContext ml, bool source, bool normalize, bool lowerCase)
    {
        ArgumentNullException.ThrowIfNull(ml);
        string contract = ContractName(source, normalize, lowerCase);
        return (source, normalize, lowerCase) switch
        {
            (false, true, false) => ml.Transforms.CustomMapping(new TextCodePointsNfc().GetMapping(), contract),
            (false, true, true) => ml.Transforms.CustomMapping(new TextCodePointsNfcLower().GetMapping(), contract),
            (false, false, false) => ml.Transforms.CustomMapping(new TextCodePointsRaw().GetMapping(), contract),
            (false, false, true) => ml.Transforms.CustomMapping(new TextCodePointsLower().GetMapping(), contract),
            (true, true, false) => ml.Transforms.CustomMapping(new SourceCodePointsNfc().GetMapping(), contract),
            (true, true, true) => ml.Transforms.CustomMapping(new SourceCodePointsNfcLower().GetMapping(), contract),
            (true, false, false) => ml.Transforms.CustomMapping(new SourceCodePointsRaw().GetMapping(), contract),
            (true, false, true) => ml.Transforms.CustomMapping(new SourceCodePointsLower().GetMapping(), contract),
        };
    }

    /// <summary>The source mapping (BOS first, EOS last), as the tokenizer uses it.</summary>
    public static IEstimator<ITransformer> SourceMapping(MLContext ml, bool normalize, bool lowerCase) => Mapping(ml, true, normalize, lowerCase);

    /// <summary>The contract name of the mapping with these settings (registered by the factories below).</summary>
    public static string ContractName(bool source, bool normalize, bool lowerCase) =>
        $"MLNet.Transformer.{(source ? "Source" : "Text")}CodePoints{(normalize ? ".Nfc" : "")}{(lowerCase ? ".Lower" : "")}";
}

/// <summary>Input row of the text mapping.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class CodePointsTextInput
{
    /// <summary>The text (copied from the user's column).</summary>
    [ColumnName(CodePoints.TextColumn)]
    public string? Text { get; set; }
}

/// <summary>Output row of the text mapping.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class CodePointsTextOutput
{
    /// <summary>BOS marker and code points: the ONNX model's <see cref="OnnxNames.CodePoints"/> input.</summary>
    [ColumnName(OnnxNames.CodePoints)]
    [VectorType]
    public long[] CodePoints { get; set; } = [];
}

/// <summary>Input row of the source mapping.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class CodePointsSourceInput
{
    /// <summary>The source text (copied from the user's source column).</summary>
    [ColumnName(CodePoints.SourceColumn)]
    public string? Source { get; set; }
}

/// <summary>Output row of the source mapping.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class CodePointsSourceOutput
{
    /// <summary>BOS, code points, EOS: the ONNX model's <see cref="OnnxNames.SourceCodePoints"/> input.</summary>
    [ColumnName(OnnxNames.SourceCodePoints)]
    [VectorType]
    public long[] CodePoints { get; set; } = [];
}

/// <summary>Text -> code points (BOS first), NFC, case kept.</summary>
[CustomMappingFactoryAttribute("MLNet.Transformer.TextCodePoints.Nfc")]
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class TextCodePointsNfc : CustomMappingFactory<CodePointsTextInput, CodePointsTextOutput>
{
    /// <inheritdoc />
    public override Action<CodePointsTextInput, CodePointsTextOutput> GetMapping() => (i, o) => o.CodePoints = CodePoints.Encode(i.Text, true, false, false);
}

/// <summary>Text -> code points (BOS first), NFC, lower-cased.</summary>
[CustomMappingFactoryAttribute("MLNet.Transformer.TextCodePoints.Nfc.Lower")]
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class TextCodePointsNfcLower : CustomMappingFactory<CodePointsTextInput, CodePointsTextOutput>
{
    /// <inheritdoc />
    public override Action<CodePointsTextInput, CodePointsTextOutput> GetMapping() => (i, o) => o.CodePoints = CodePoints.Encode(i.Text, true, true, false);
}

/// <summary>Text -> code points (BOS first), as is.</summary>
[CustomMappingFactoryAttribute("MLNet.Transformer.TextCodePoints")]
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class TextCodePointsRaw : CustomMappingFactory<CodePointsTextInput, CodePointsTextOutput>
{
    /// <inheritdoc />
    public override Action<CodePointsTextInput, CodePointsTextOutput> GetMapping() => (i, o) => o.CodePoints = CodePoints.Encode(i.Text, false, false, false);
}

/// <summary>Text -> code points (BOS first), lower-cased, not normalised.</summary>
[CustomMappingFactoryAttribute("MLNet.Transformer.TextCodePoints.Lower")]
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class TextCodePointsLower : CustomMappingFactory<CodePointsTextInput, CodePointsTextOutput>
{
    /// <inheritdoc />
    public override Action<CodePointsTextInput, CodePointsTextOutput> GetMapping() => (i, o) => o.CodePoints = CodePoints.Encode(i.Text, false, true, false);
}

/// <summary>Source -> code points (BOS first, EOS last), NFC, case kept.</summary>
[CustomMappingFactoryAttribute("MLNet.Transformer.SourceCodePoints.Nfc")]
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class SourceCodePointsNfc : CustomMappingFactory<CodePointsSourceInput, CodePointsSourceOutput>
{
    /// <inheritdoc />
    public override Action<CodePointsSourceInput, CodePointsSourceOutput> GetMapping() => (i, o) => o.CodePoints = CodePoints.Encode(i.Source, true, false, true);
}

/// <summary>Source -> code points (BOS first, EOS last), NFC, lower-cased.</summary>
[CustomMappingFactoryAttribute("MLNet.Transformer.SourceCodePoints.Nfc.Lower")]
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class SourceCodePointsNfcLower : CustomMappingFactory<CodePointsSourceInput, CodePointsSourceOutput>
{
    /// <inheritdoc />
    public override Action<CodePointsSourceInput, CodePointsSourceOutput> GetMapping() => (i, o) => o.CodePoints = CodePoints.Encode(i.Source, true, true, true);
}

/// <summary>Source -> code points (BOS first, EOS last), as is.</summary>
[CustomMappingFactoryAttribute("MLNet.Transformer.SourceCodePoints")]
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class SourceCodePointsRaw : CustomMappingFactory<CodePointsSourceInput, CodePointsSourceOutput>
{
    /// <inheritdoc />
    public override Action<CodePointsSourceInput, CodePointsSourceOutput> GetMapping() => (i, o) => o.CodePoints = CodePoints.Encode(i.Source, false, false, true);
}

/// <summary>Source -> code points (BOS first, EOS last), lower-cased, not normalised.</summary>
[CustomMappingFactoryAttribute("MLNet.Transformer.SourceCodePoints.Lower")]
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class SourceCodePointsLower : CustomMappingFactory<CodePointsSourceInput, CodePointsSourceOutput>
{
    /// <inheritdoc />
    public override Action<CodePointsSourceInput, CodePointsSourceOutput> GetMapping() => (i, o) => o.CodePoints = CodePoints.Encode(i.Source, false, true, true);
}
