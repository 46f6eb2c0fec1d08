// Reads and writes the safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
// length, a UTF-8 JSON header naming each tensor's dtype, shape and byte range, then the raw little-endian data.
// Only float32 tensors are written; float32 is also the only dtype read (others are refused by name).
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace MLNet.Transformer.Checkpoints;

/// <summary>A safetensors file read into memory: tensors by name (in file order) and the free-form metadata.</summary>
/// <param name="Tensors">Name to (shape, row-major data).</param>
/// <param name="Metadata">The header's <c>__metadata__</c> strings (empty when absent).</param>
public sealed record SafeTensorsFile(
    IReadOnlyDictionary<string, (long[] Shape, float[] Data)> Tensors,
    IReadOnlyDictionary<string, string> Metadata);

/// <summary>The safetensors layout, written and read without a third-party package.</summary>
/// <remarks>
/// Layout: <c>u64 N</c> (little-endian) | <c>N</c> bytes of JSON, padded with spaces to a multiple of 8 |
/// the data. The JSON maps each tensor name to <c>{"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}</c>
/// (offsets relative to the first data byte) and may hold <c>"__metadata__": {string: string}</c>.
/// </remarks>
public static class SafeTensors
{
    private const string MetadataKey = "__metadata__";

    /// <summary>Writes <paramref name="tensors"/> (in the order given) with optional metadata.</summary>
    /// <exception cref="ArgumentException">A name is empty, repeated or reserved, or a shape does not match its data.</exception>
    public static void Write(Stream stream, IEnumerable<KeyValuePair<string, (long[] Shape, float[] Data)>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (k, v) in metadata)
                {
                    json.WriteString(k, v);
                }

                json.WriteEndObject();
            }

            var names = new HashSet<string>(StringComparer.Ordinal);
            long offset = 0;
            foreach (var (name, (shape, data)) in list)
            {
                if (string.IsNullOrEmpty(name) || name == MetadataKey || !names.Add(name))
                {
                    throw new ArgumentException($"Tensor name '{name}' is empty, reserved or repeated.", nameof(tensors));
                }

                long numel = shape.Aggregate(1L, (a, d) => a * d);
                if (shape.Any(d => d < 0) || numel != data.LongLength)
                {
                    throw new ArgumentException($"Tensor '{name}' has shape [{string.Join(", ", shape)}] but {data.LongLength} elements.", nameof(tensors));
                }

                json.WriteStartObject(name);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (long d in shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + (numel * sizeof(float)));
                json.WriteEndArray();
                json.WriteEndObject();
                offset += numel * sizeof(float);
            }

            json.WriteEndObject();
        }

        int pad = (int)((8 - (header.Length % 8)) % 8);
        for (int i = 0; i < pad; i++)
        {
            header.WriteByte((byte)' ');
        }

        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        header.Position = 0;
        header.CopyTo(stream);
        foreach (var (_, (_, data)) in list)
        {
            WriteFloats(stream, data);
        }
    }

    /// <summary>Writes a safetensors file at <paramref name="path"/> (not atomically; see <c>AtomicFile</c>).</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, (long[] Shape, float[] Data)>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        Write(stream, tensors, metadata);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Reads a whole safetensors file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ModelFormatException">The file is not valid safetensors, or holds a dtype other than F32.</exception>
    public static SafeTensorsFile Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Safetensors file '{path}' not found.", path);
        }

        byte[] bytes = File.ReadAllBytes(path);
        return Read(bytes, path);
    }

    /// <summary>Reads safetensors bytes; <paramref name="what"/> names them in errors.</summary>
    /// <exception cref="ModelFormatException">The bytes are not valid safetensors, or hold a dtype other than F32.</exception>
    public static SafeTensorsFile Read(ReadOnlySpan<byte> bytes, string what)
    {
        if (bytes.Length < 8)
        {
            throw new ModelFormatException($"'{what}' is not a safetensors file: {bytes.Length} bytes, shorter than the 8-byte header length.");
        }

        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (n > (ulong)(bytes.Length - 8))
        {
            throw new ModelFormatException($"'{what}' is not a safetensors file (or is truncated): its header claims {n} bytes, the file has {bytes.Length - 8} after the length.");
        }

        var data = bytes[(8 + (int)n)..];
        var tensors = new Dictionary<string, (long[] Shape, float[] Data)>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(bytes.Slice(8, (int)n).ToArray());
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"'{what}' has a safetensors header that is not JSON: {e.Message}");
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ModelFormatException($"'{what}': the safetensors header is not a JSON object.");
            }

            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == MetadataKey)
                {
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        metadata[m.Name] = m.Value.GetString() ?? string.Empty;
                    }

                    continue;
                }

                try
                {
                    string dtype = prop.Value.GetProperty("dtype").GetString() ?? string.Empty;
                    if (dtype != "F32")
                    {
                        throw new ModelFormatException($"'{what}': tensor '{prop.Name}' has dtype {dtype}; only F32 is read.");
                    }

                    long[] shape = [.. prop.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64())];
                    long[] offsets = [.. prop.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64())];
                    long numel = shape.Aggregate(1L, (a, d) => a * d);
                    if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] > data.Length || offsets[1] - offsets[0] != numel * sizeof(float) || shape.Any(d => d < 0))
                    {
                        throw new ModelFormatException(
                            $"'{what}': tensor '{prop.Name}' of shape [{string.Join(", ", shape)}] has data_offsets [{string.Join(", ", offsets)}], which do not fit its size or the {data.Length} data bytes.");
                    }

                    var values = new float[numel];
                    var src = data.Slice((int)offsets[0], (int)(offsets[1] - offsets[0]));
                    if (BitConverter.IsLittleEndian)
                    {
                        src.CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
                    }
                    else
                    {
                        for (int i = 0; i < values.Length; i++)
                        {
                            values[i] = BinaryPrimitives.ReadSingleLittleEndian(src[(i * 4)..]);
                        }
                    }

                    tensors.Add(prop.Name, (shape, values));
                }
                catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
                {
                    throw new ModelFormatException($"'{what}': the safetensors entry of tensor '{prop.Name}' lacks dtype, shape or data_offsets, or they are not of the expected types.");
                }
            }
        }

        return new SafeTensorsFile(tensors, metadata);
    }

    private static void WriteFloats(Stream stream, float[] data)
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(data.AsSpan()));
            return;
        }

        var buffer = new byte[4];
        foreach (float f in data)
        {
            BinaryPrimitives.WriteSingleLittleEndian(buffer, f);
            stream.Write(buffer);
        }
    }
}
