// Reads one scored row's attention columns (written by a next-character model, fitted or loaded) into AttentionData,
// ready for AttentionPage or BertvizJson. The columns are flat row-major [L, H, Tq, Tk] vectors; L and H come from
// the model's description (NextCharacterModelInfo), Tq and Tk from the token columns.
using Microsoft.ML;
using MLNet.Transformer.LanguageModeling;

namespace MLNet.Transformer.Visualization;

/// <summary>Turns the attention columns of a scored view into <see cref="AttentionData"/>.</summary>
public static class AttentionColumns
{
    /// <summary>
    /// Reads row <paramref name="row"/> of <paramref name="scored"/>: decoder self-attention, and for encoder-decoder
    /// models the encoder and cross attention, each [L, H, Tq, Tk] with the tokens on both axes.
    /// </summary>
    /// <param name="scored">Data scored by the model described by <paramref name="info"/>.</param>
    /// <param name="info">The model's description (<c>NextCharacterPredictionTransformer.Info</c>, or <c>LoadedNextCharacterModel.Info</c>).</param>
    /// <param name="row">Zero-based row.</param>
    /// <param name="title">Title of the page.</param>
    /// <exception cref="ArgumentOutOfRangeException">The view has no attention columns, or fewer rows.</exception>
    public static AttentionData Read(IDataView scored, NextCharacterModelInfo info, long row = 0, string title = "Attention")
    {
        ArgumentNullException.ThrowIfNull(scored);
        ArgumentNullException.ThrowIfNull(info);
        var s = scored.Schema;
        DataViewSchema.Column Require(string name) => NextCharacterColumns.Require(s, name, nameof(scored));
        var attention = Require(NextCharacterColumns.Attention);
        var inputs = Require(NextCharacterColumns.InputTokens);
        var encoder = info.IsEncoderDecoder ? Require(NextCharacterColumns.EncoderAttention) : (DataViewSchema.Column?)null;
        var cross = info.IsEncoderDecoder ? Require(NextCharacterColumns.CrossAttention) : (DataViewSchema.Column?)null;
        var source = info.HasSource ? Require(NextCharacterColumns.SourceTokens) : (DataViewSchema.Column?)null;
        var needed = new[] { attention, inputs, encoder, cross, source }.OfType<DataViewSchema.Column>().ToArray();
        using var cursor = scored.GetRowCursor(needed);
        do
        {
            if (!cursor.MoveNext())
            {
                throw new ArgumentOutOfRangeException(nameof(row), $"The view has only {cursor.Position + 1} row(s); row {row} was requested.");
            }
        }
        while (cursor.Position < row);

        string[] tokens = Texts(cursor, inputs);
        string[] sourceTokens = source is { } sc ? Texts(cursor, sc) : tokens;
        int layers = info.Architecture.Layers, heads = info.Architecture.Heads;
        var sections = new List<AttentionSection>();
        if (encoder is { } e)
        {
            sections.Add(new AttentionSection(AttentionKind.EncoderSelf, sourceTokens, sourceTokens, info.Architecture.EncoderLayers, heads, Floats(cursor, e)));
        }

        sections.Add(new AttentionSection(AttentionKind.DecoderSelf, tokens, tokens, layers, heads, Floats(cursor, attention)));
        if (cross is { } c)
        {
            sections.Add(new AttentionSection(AttentionKind.Cross, tokens, sourceTokens, layers, heads, Floats(cursor, c)));
        }

        return new AttentionData(title, sections);
    }

    private static float[] Floats(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        Microsoft.ML.Data.VBuffer<float> value = default;
        cursor.GetGetter<Microsoft.ML.Data.VBuffer<float>>(column)(ref value);
        return value.DenseValues().ToArray();
    }

    private static string[] Texts(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        Microsoft.ML.Data.VBuffer<ReadOnlyMemory<char>> value = default;
        cursor.GetGetter<Microsoft.ML.Data.VBuffer<ReadOnlyMemory<char>>>(column)(ref value);
        return [.. value.DenseValues().Select(t => t.ToString())];
    }
}
