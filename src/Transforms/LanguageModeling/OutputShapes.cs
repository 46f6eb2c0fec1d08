// SchemaShape columns for GetOutputSchema. SchemaShape.Column has no public constructor, so the shapes come from
// ML.NET itself: the GetOutputSchema of a shape-only CustomMapping estimator (never fitted, never run) whose output
// class has the columns a fitted model adds.
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Transformer.LanguageModeling;

/// <summary>The output columns of the library's estimators, as SchemaShape.</summary>
internal static class OutputShapes
{
    /// <summary>The input row of a shape-only mapping: one Text column (renamed to the user's column).</summary>
    public sealed class TextRow
    {
        public string Text { get; set; } = "";
    }

    /// <summary>The tokenizer's column: variable-length Int64 ids.</summary>
    public sealed class TokenRow
    {
        [VectorType]
        public long[] Tokens { get; set; } = [];
    }

    /// <summary>What the "next character" profile adds: the multiclass columns.</summary>
    public sealed class NextCharacterRow
    {
        [ColumnName(NextCharacterColumns.PredictedNextChar)]
        public string PredictedNextChar { get; set; } = "";

        [ColumnName(NextCharacterColumns.Score), VectorType(1)]
        public float[] Score { get; set; } = [];
    }

    /// <summary>What every next-character model adds with every column: the scalar columns of the fitted chain, and its vectors.</summary>
    public class DecoderRow : NextCharacterScalarColumns
    {
        [ColumnName(NextCharacterColumns.Score), VectorType(1)]
        public float[] Score { get; set; } = [];

        [ColumnName(NextCharacterColumns.InputTokens), VectorType]
        public string[] InputTokens { get; set; } = [];

        [ColumnName(NextCharacterColumns.PredictedTokens), VectorType]
        public string[] PredictedTokens { get; set; } = [];

        [ColumnName(NextCharacterColumns.Attention), VectorType]
        public float[] Attention { get; set; } = [];
    }

    /// <summary>What an encoder-decoder adds besides.</summary>
    public class EncoderDecoderRow : DecoderRow
    {
        [ColumnName(NextCharacterColumns.EncoderAttention), VectorType]
        public float[] EncoderAttention { get; set; } = [];

        [ColumnName(NextCharacterColumns.CrossAttention), VectorType]
        public float[] CrossAttention { get; set; } = [];
    }

    /// <summary>... and with a source column, the source tokens.</summary>
    public sealed class SourceRow : EncoderDecoderRow
    {
        [ColumnName(NextCharacterColumns.SourceTokens), VectorType]
        public string[] SourceTokens { get; set; } = [];
    }

    /// <summary>The tokenizer's output row, with its column named <paramref name="name"/>.</summary>
    public static SchemaDefinition Tokens(string name)
    {
        var def = SchemaDefinition.Create(typeof(TokenRow));
        def[0].ColumnName = name;
        return def;
    }

    /// <summary><paramref name="inputSchema"/> plus the columns of <paramref name="output"/>.</summary>
    public static SchemaShape Append(MLContext ml, SchemaShape inputSchema, string textColumn, SchemaDefinition output)
    {
        var input = SchemaDefinition.Create(typeof(TextRow));
        input[0].ColumnName = textColumn;
        return ml.Transforms.CustomMapping<TextRow, TokenRow>((_, _) => { }, contractName: null, input, output).GetOutputSchema(inputSchema);
    }

    /// <summary><paramref name="inputSchema"/> plus what a next-character model adds.</summary>
    public static SchemaShape AppendModel(MLContext ml, SchemaShape inputSchema, string textColumn, bool encoderDecoder, bool source, NextCharacterOutputs outputs)
    {
        var input = SchemaDefinition.Create(typeof(TextRow));
        input[0].ColumnName = textColumn;
        var shape = outputs == NextCharacterOutputs.NextCharacter ? ml.Transforms.CustomMapping<TextRow, NextCharacterRow>((_, _) => { }, contractName: null, input).GetOutputSchema(inputSchema)
            : source ? ml.Transforms.CustomMapping<TextRow, SourceRow>((_, _) => { }, contractName: null, input).GetOutputSchema(inputSchema)
            : encoderDecoder ? ml.Transforms.CustomMapping<TextRow, EncoderDecoderRow>((_, _) => { }, contractName: null, input).GetOutputSchema(inputSchema)
            : ml.Transforms.CustomMapping<TextRow, DecoderRow>((_, _) => { }, contractName: null, input).GetOutputSchema(inputSchema);

        // PredictedLabel as the chain makes it: ML.NET's MapValueToKey over PredictedNextChar (a key with KeyValues).
        return ml.Transforms.Conversion.MapValueToKey(NextCharacterColumns.PredictedLabel, NextCharacterColumns.PredictedNextChar).GetOutputSchema(shape);
    }
}
