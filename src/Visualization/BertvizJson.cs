// Reads and writes one attention section as JSON in the layout bertviz's head_view/model_view take in a notebook.
// Self-attention: {"kind", "tokens", "attention"}; cross-attention: {"kind", "encoder_tokens", "decoder_tokens", "attention"}.
using System.Text;
using System.Text.Json;

namespace MLNet.Transformer.Visualization;

/// <summary>
/// Converts an <see cref="AttentionSection"/> to and from JSON in bertviz's layout, so the weights can be loaded in
/// a Python notebook and passed to <c>bertviz.head_view</c> or <c>model_view</c> after
/// <c>[torch.tensor(a) for a in d["attention"]]</c>.
/// </summary>
/// <remarks>
/// <para>
/// <c>"attention"</c> is a list with one entry per layer, each shaped (1, H, Tq, Tk): a batch of one, as bertviz
/// expects from a Hugging Face model's <c>output_attentions</c>.
/// </para>
/// <para>
/// Self-attention (<c>"kind": "decoder_self"</c> or <c>"encoder_self"</c>) stores the tokens once, as
/// <c>"tokens"</c>: <c>head_view(attention, d["tokens"])</c>. Cross-attention (<c>"kind": "cross"</c>) has
/// different query and key tokens; they are stored under bertviz's own keyword names, <c>"decoder_tokens"</c>
/// (the queries, rows) and <c>"encoder_tokens"</c> (the keys, columns), so the call is
/// <c>head_view(cross_attention=attention, encoder_tokens=d["encoder_tokens"], decoder_tokens=d["decoder_tokens"])</c>
/// (bertviz's <c>tokens_a</c>/<c>tokens_b</c> split one sequence into two sentences, which is a different thing).
/// </para>
/// <para>
/// When reading, a missing <c>"kind"</c> means <c>decoder_self</c> with <c>"tokens"</c> and <c>cross</c> with
/// encoder/decoder tokens; per-layer entries may also omit the batch dimension, (H, Tq, Tk).
/// </para>
/// </remarks>
public static class BertvizJson
{
    private static readonly JsonWriterOptions WriterOptions = new() { Indented = false };

    /// <summary>Serializes <paramref name="section"/> to bertviz-layout JSON.</summary>
    /// <param name="section">The section.</param>
    /// <returns>The JSON text (UTF-8 safe, no BOM).</returns>
    public static string ToJson(AttentionSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("kind", AttentionPage.KindName(section.Kind));
            if (section.Kind == AttentionKind.Cross)
            {
                WriteTokens(writer, "encoder_tokens", section.KeyTokens);
                WriteTokens(writer, "decoder_tokens", section.QueryTokens);
            }
            else
            {
                WriteTokens(writer, "tokens", section.QueryTokens);
            }

            int tq = section.QueryTokens.Count, tk = section.KeyTokens.Count;
            float[] w = section.RawWeights;
            writer.WritePropertyName("attention");
            writer.WriteStartArray(); // layers
            for (int l = 0; l < section.Layers; l++)
            {
                writer.WriteStartArray(); // batch of one
                writer.WriteStartArray(); // heads
                for (int h = 0; h < section.Heads; h++)
                {
                    writer.WriteStartArray(); // queries
                    for (int q = 0; q < tq; q++)
                    {
                        writer.WriteStartArray(); // keys
                        int row = ((l * section.Heads + h) * tq + q) * tk;
                        for (int k = 0; k < tk; k++)
                        {
                            writer.WriteNumberValue(w[row + k]);
                        }

                        writer.WriteEndArray();
                    }

                    writer.WriteEndArray();
                }

                writer.WriteEndArray();
                writer.WriteEndArray();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Writes <paramref name="section"/> as bertviz-layout JSON to <paramref name="path"/> (temp file + rename).</summary>
    /// <param name="section">The section.</param>
    /// <param name="path">The output file; its folder is created if missing.</param>
    public static void Write(AttentionSection section, string path)
    {
        ArgumentNullException.ThrowIfNull(section);
        IO.AtomicFile.WriteAllText(path, ToJson(section));
    }

    /// <summary>Parses bertviz-layout JSON into a section.</summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The section.</returns>
    /// <exception cref="AttentionFormatException">The JSON is malformed or has the wrong layout.</exception>
    public static AttentionSection FromJson(string json) => Parse(json, "<json>");

    internal static AttentionSection Parse(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new AttentionFormatException($"{source}: not valid JSON ({e.Message}).", e);
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new AttentionFormatException($"{source}: the top level must be a JSON object.");
            }

            string[]? tokens = ReadTokens(root, "tokens", source);
            string[]? encoderTokens = ReadTokens(root, "encoder_tokens", source);
            string[]? decoderTokens = ReadTokens(root, "decoder_tokens", source);
            AttentionKind kind = ReadKind(root, tokens, encoderTokens ?? decoderTokens, source);

            string[] queries, keys;
            if (kind == AttentionKind.Cross)
            {
                queries = decoderTokens ?? throw Missing(source, "decoder_tokens");
                keys = encoderTokens ?? throw Missing(source, "encoder_tokens");
            }
            else
            {
                queries = keys = tokens ?? throw Missing(source, "tokens");
            }

            if (!root.TryGetProperty("attention", out JsonElement attention) || attention.ValueKind != JsonValueKind.Array)
            {
                throw Missing(source, "attention");
            }

            int layers = attention.GetArrayLength();
            if (layers == 0)
            {
                throw new AttentionFormatException($"{source}: \"attention\" has no layers.");
            }

            var weights = new List<float>();
            int heads = -1;
            for (int l = 0; l < layers; l++)
            {
                JsonElement layer = attention[l];
                string where = $"attention[{l}]";
                if (layer.ValueKind == JsonValueKind.Array && Depth(layer) == 4)
                {
                    if (layer.GetArrayLength() != 1)
                    {
                        throw new AttentionFormatException(
                            $"{source}: \"{where}\" has a batch of {layer.GetArrayLength()}; only a batch of one can be read.");
                    }

                    layer = layer[0];
                    where += "[0]";
                }

                int h = ReadHeads(layer, where, queries.Length, keys.Length, weights, source);
                if (heads >= 0 && h != heads)
                {
                    throw new AttentionFormatException($"{source}: \"{where}\" has {h} heads, layer 0 has {heads}.");
                }

                heads = h;
            }

            try
            {
                return new AttentionSection(kind, queries, keys, layers, heads, weights);
            }
            catch (ArgumentException e)
            {
                throw new AttentionFormatException($"{source}: {e.Message}", e);
            }
        }
    }

    private static AttentionKind ReadKind(JsonElement root, string[]? tokens, string[]? crossTokens, string source)
    {
        if (!root.TryGetProperty("kind", out JsonElement kind))
        {
            return tokens is not null ? AttentionKind.DecoderSelf
                : crossTokens is not null ? AttentionKind.Cross
                : throw Missing(source, "tokens");
        }

        return kind.ValueKind == JsonValueKind.String ? kind.GetString() switch
        {
            "decoder_self" => AttentionKind.DecoderSelf,
            "encoder_self" => AttentionKind.EncoderSelf,
            "cross" => AttentionKind.Cross,
            var other => throw new AttentionFormatException(
                $"{source}: \"kind\" is \"{other}\"; expected decoder_self, encoder_self or cross."),
        }
        : throw new AttentionFormatException($"{source}: \"kind\" must be a string.");
    }

    private static void WriteTokens(Utf8JsonWriter writer, string name, IReadOnlyList<string> tokens)
    {
        writer.WritePropertyName(name);
        writer.WriteStartArray();
        foreach (string token in tokens)
        {
            writer.WriteStringValue(token);
        }

        writer.WriteEndArray();
    }

    private static string[]? ReadTokens(JsonElement root, string name, string source)
    {
        if (!root.TryGetProperty(name, out JsonElement array))
        {
            return null;
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            throw new AttentionFormatException($"{source}: \"{name}\" must be an array of strings.");
        }

        var tokens = new string[array.GetArrayLength()];
        for (int i = 0; i < tokens.Length; i++)
        {
            JsonElement t = array[i];
            tokens[i] = t.ValueKind == JsonValueKind.String
                ? t.GetString()!
                : throw new AttentionFormatException($"{source}: \"{name}[{i}]\" must be a string.");
        }

        return tokens;
    }

    private static int Depth(JsonElement element)
    {
        int depth = 0;
        while (element.ValueKind == JsonValueKind.Array && element.GetArrayLength() > 0)
        {
            depth++;
            element = element[0];
        }

        return depth;
    }

    private static int ReadHeads(JsonElement layer, string where, int tq, int tk, List<float> weights, string source)
    {
        if (layer.ValueKind != JsonValueKind.Array || layer.GetArrayLength() == 0)
        {
            throw new AttentionFormatException($"{source}: \"{where}\" must be a non-empty array of heads (H, Tq, Tk).");
        }

        int heads = layer.GetArrayLength();
        for (int h = 0; h < heads; h++)
        {
            JsonElement head = layer[h];
            if (head.ValueKind != JsonValueKind.Array || head.GetArrayLength() != tq)
            {
                throw new AttentionFormatException(
                    $"{source}: \"{where}[{h}]\" must have {tq} rows, one per query token.");
            }

            for (int q = 0; q < tq; q++)
            {
                JsonElement row = head[q];
                if (row.ValueKind != JsonValueKind.Array || row.GetArrayLength() != tk)
                {
                    throw new AttentionFormatException(
                        $"{source}: \"{where}[{h}][{q}]\" must have {tk} weights, one per key token.");
                }

                foreach (JsonElement value in row.EnumerateArray())
                {
                    if (value.ValueKind != JsonValueKind.Number || !value.TryGetSingle(out float w))
                    {
                        throw new AttentionFormatException($"{source}: \"{where}[{h}][{q}]\" holds a non-number.");
                    }

                    weights.Add(w);
                }
            }
        }

        return heads;
    }

    private static AttentionFormatException Missing(string source, string field) =>
        new($"{source}: the field \"{field}\" is missing or has the wrong type.");
}
