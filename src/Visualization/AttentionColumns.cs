// Reads one scored row's attention columns (written by a next-character model's Transform) into AttentionData,
// ready for AttentionPage or BertvizJson.
using MLNet.Transformer.Data;
using MLNet.Transformer.LanguageModeling;

namespace MLNet.Transformer.Visualization;

/// <summary>Turns the attention columns of a scored view into <see cref="AttentionData"/>.</summary>
public static class AttentionColumns
{
    /// <summary>
    /// Reads row <paramref name="row"/> of <paramref name="scored"/>: decoder self-attention, and for encoder-decoder
    /// models the encoder and cross attention, each [L, H, Tq, Tk] with the tokens on both axes.
    /// </summary>
    /// <exception cref="SchemaException">The view has no attention columns (it is not a next-character model's output).</exception>
    /// <exception cref="ArgumentOutOfRangeException">The view has fewer rows.</exception>
    public static AttentionData Read(IDataView scored, long row = 0, string title = "Attention")
    {
        ArgumentNullException.ThrowIfNull(scored);
        var s = scored.Schema;
        var attention = s[NextCharacterColumns.Attention];
        var inputs = s[NextCharacterColumns.InputTokens];
        var encoder = s.GetColumnOrNull(NextCharacterColumns.EncoderAttention);
        var cross = s.GetColumnOrNull(NextCharacterColumns.CrossAttention);
        var source = s.GetColumnOrNull(NextCharacterColumns.SourceTokens);
        var needed = new[] { attention, inputs, encoder, cross, source }.OfType<DataViewSchema.Column>().ToArray();
        using var cursor = scored.GetRowCursor(needed);
        while (cursor.Position < row)
        {
            if (!cursor.MoveNext())
            {
                throw new ArgumentOutOfRangeException(nameof(row), $"The view has only {cursor.Position + 1} row(s); row {row} was requested.");
            }
        }

        string[] tokens = Get<string[]>(cursor, inputs);
        string[] sourceTokens = source is null ? tokens : Get<string[]>(cursor, source);
        var sections = new List<AttentionSection>();
        if (encoder is not null)
        {
            sections.Add(Section(AttentionKind.EncoderSelf, encoder, Get<float[]>(cursor, encoder), sourceTokens, sourceTokens));
        }

        sections.Add(Section(AttentionKind.DecoderSelf, attention, Get<float[]>(cursor, attention), tokens, tokens));
        if (cross is not null)
        {
            sections.Add(Section(AttentionKind.Cross, cross, Get<float[]>(cursor, cross), tokens, sourceTokens));
        }

        return new AttentionData(title, sections);
    }

    private static T Get<T>(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        T value = default!;
        cursor.GetGetter<T>(column)(ref value);
        return value;
    }

    private static AttentionSection Section(AttentionKind kind, DataViewSchema.Column column, float[] weights, string[] queries, string[] keys)
    {
        int[] shape = column.Annotations.GetValue<int[]>(Annotations.Kinds.Shape);
        return new AttentionSection(kind, queries, keys, shape[0], shape[1], weights);
    }
}
