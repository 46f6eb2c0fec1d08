// Reader and writer of the safetensors format (https://github.com/huggingface/safetensors), float32 only.
// Layout: u64 little-endian N | N bytes of UTF-8 JSON header, space-padded so the data starts 8-byte aligned |
// data. Header: { "__metadata__": {str: str}?, name: {"dtype": "F32", "shape": [..], "data_offsets": [b, e]} },
// offsets relative to the data start; tensors are written in ordinal name order, contiguous, row-major, LE.
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace MLNet.Transformer.Persistence;

/// <summary>Reads and writes float32 tensors in the safetensors format, the format PyTorch tooling loads.</summary>
public static class SafeTensors
{
    /// <summary>The only dtype supported: IEEE-754 float32.</summary>
    public const string DTypeF32 = "F32";

    /// <summary>The reserved header key holding string metadata.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>Largest header accepted by <see cref="Read(ReadOnlySpan{byte})"/> (100 MB, as the reference reader).</summary>
    public const int MaxHeaderLength = 100_000_000;

    private const int Alignment = 8;

    /// <summary>Serialises <paramref name="tensors"/> (and optional string <paramref name="metadata"/>) to a safetensors buffer.</summary>
    /// <exception cref="ArgumentException">A name is empty or reserved, a shape has a negative dimension, or data length does not match the shape.</exception>
    public static byte[] Write(IReadOnlyDictionary<string, TensorData> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var names = tensors.Keys.OrderBy(n => n, StringComparer.Ordinal).ToArray();
        var header = new MemoryStream();
        long offset = 0;
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    ArgumentNullException.ThrowIfNull(v, nameof(metadata));
                    json.WriteString(k, v);
                }

                json.WriteEndObject();
            }

            foreach (string name in names)
            {
                var t = tensors[name] ?? throw new ArgumentException($"Tensor '{name}' is null.", nameof(tensors));
                if (name.Length == 0 || name == MetadataKey)
                {
                    throw new ArgumentException($"Tensor name '{name}' is empty or reserved.", nameof(tensors));
                }

                long count = ElementCount(t.Shape, name);
                if (t.Data is null || t.Data.LongLength != count)
                {
                    throw new ArgumentException(
                        $"Tensor '{name}': shape [{string.Join(", ", t.Shape)}] needs {count} values, data has {t.Data?.LongLength ?? 0}.",
                        nameof(tensors));
                }

                json.WriteStartObject(name);
                json.WriteString("dtype", DTypeF32);
                json.WriteStartArray("shape");
                foreach (long d in t.Shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += count * sizeof(float);
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        // Pad the header with spaces so the data begins on an 8-byte boundary (8 + N is a multiple of 8).
        int headerLength = checked((int)header.Length);
        int padded = (headerLength + Alignment - 1) / Alignment * Alignment;
        var result = new byte[checked(8 + padded + offset)];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)padded);
        header.GetBuffer().AsSpan(0, headerLength).CopyTo(result.AsSpan(8));
        result.AsSpan(8 + headerLength, padded - headerLength).Fill((byte)' ');
        var data = result.AsSpan(8 + padded);
        foreach (string name in names)
        {
            var values = tensors[name].Data;
            var bytes = MemoryMarshal.AsBytes(values.AsSpan());
            bytes.CopyTo(data);
            if (!BitConverter.IsLittleEndian)
            {
                var words = MemoryMarshal.Cast<byte, uint>(data[..bytes.Length]);
                BinaryPrimitives.ReverseEndianness(words, words);
            }

            data = data[bytes.Length..];
        }

        return result;
    }

    /// <summary>Writes a safetensors file (to a temp file renamed over <paramref name="path"/>).</summary>
    public static void WriteFile(string path, IReadOnlyDictionary<string, TensorData> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = Write(tensors, metadata);
        IO.AtomicFile.Write(path, s => s.Write(bytes));
    }

    /// <summary>Reads every tensor of a safetensors buffer.</summary>
    /// <exception cref="SafeTensorsFormatException">The buffer is malformed or holds a dtype other than F32.</exception>
    public static IReadOnlyDictionary<string, TensorData> Read(ReadOnlySpan<byte> buffer) => Read(buffer, out _);

    /// <summary>Reads every tensor of a safetensors buffer and its string metadata (empty when absent).</summary>
    /// <exception cref="SafeTensorsFormatException">The buffer is malformed or holds a dtype other than F32.</exception>
    public static IReadOnlyDictionary<string, TensorData> Read(ReadOnlySpan<byte> buffer, out IReadOnlyDictionary<string, string> metadata) =>
        Read(buffer, null, out metadata);

    /// <summary>Reads a safetensors file.</summary>
    /// <exception cref="SafeTensorsFormatException">The file is malformed or holds a dtype other than F32.</exception>
    public static IReadOnlyDictionary<string, TensorData> ReadFile(string path, out IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Read(File.ReadAllBytes(path), path, out metadata);
    }

    internal static IReadOnlyDictionary<string, TensorData> Read(ReadOnlySpan<byte> buffer, string? source, out IReadOnlyDictionary<string, string> metadata)
    {
        string where = source is null ? "safetensors data" : $"safetensors '{source}'";
        SafeTensorsFormatException Bad(string what, Exception? inner = null) => new($"Invalid {where}: {what}", source, inner);

        if (buffer.Length < 8)
        {
            throw Bad($"{buffer.Length} bytes is too short for the 8-byte header length.");
        }

        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(buffer);
        if (n < 2 || n > MaxHeaderLength || n > (ulong)(buffer.Length - 8))
        {
            throw Bad($"header length {n} is out of range (buffer holds {buffer.Length - 8} bytes after the length, limit {MaxHeaderLength}).");
        }

        var headerBytes = buffer.Slice(8, (int)n);
        var data = buffer[(8 + (int)n)..];
        if (headerBytes[0] != (byte)'{')
        {
            throw Bad("the header does not start with '{'.");
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(headerBytes.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw Bad($"the header is not valid JSON ({e.Message}).", e);
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw Bad("the header is not a JSON object.");
            }

            var meta = new Dictionary<string, string>(StringComparer.Ordinal);
            var infos = new List<(string Name, long[] Shape, long Begin, long End)>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(prop.Name))
                {
                    throw Bad($"key '{prop.Name}' appears twice in the header.");
                }

                if (prop.Name == MetadataKey)
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object)
                    {
                        throw Bad("__metadata__ is not an object.");
                    }

                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String || !meta.TryAdd(m.Name, m.Value.GetString()!))
                        {
                            throw Bad($"__metadata__ entry '{m.Name}' is not a unique string.");
                        }
                    }

                    continue;
                }

                infos.Add(ParseInfo(prop, Bad));
            }

            // Offsets must tile the data exactly: sorted, no overlap, no hole, ending at the buffer's end.
            long expected = 0;
            foreach (var info in infos.OrderBy(i => i.Begin).ThenBy(i => i.End))
            {
                if (info.Begin != expected)
                {
                    throw Bad(info.Begin < expected
                        ? $"tensor '{info.Name}' overlaps the previous tensor (offset {info.Begin} < {expected})."
                        : $"there is a hole before tensor '{info.Name}' (offset {info.Begin}, expected {expected}).");
                }

                expected = info.End;
            }

            if (expected != data.Length)
            {
                throw Bad($"the tensors cover {expected} bytes but the data section holds {data.Length}.");
            }

            var result = new Dictionary<string, TensorData>(StringComparer.Ordinal);
            foreach (var (name, shape, begin, end) in infos)
            {
                var values = new float[(end - begin) / sizeof(float)];
                var src = data[(int)begin..(int)end];
                src.CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
                if (!BitConverter.IsLittleEndian)
                {
                    var words = MemoryMarshal.Cast<float, uint>(values.AsSpan());
                    BinaryPrimitives.ReverseEndianness(words, words);
                }

                result.Add(name, new TensorData(shape, values));
            }

            metadata = meta;
            return result;
        }
    }

    private static (string Name, long[] Shape, long Begin, long End) ParseInfo(
        JsonProperty prop, Func<string, Exception?, SafeTensorsFormatException> bad)
    {
        string name = prop.Name;
        if (name.Length == 0)
        {
            throw bad("a tensor has an empty name.", null);
        }

        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object)
        {
            throw bad($"tensor '{name}' is not described by an object.", null);
        }

        string? dtype = null;
        long[]? shape = null;
        long[]? offsets = null;
        foreach (var field in v.EnumerateObject())
        {
            switch (field.Name)
            {
                case "dtype" when dtype is null && field.Value.ValueKind == JsonValueKind.String:
                    dtype = field.Value.GetString();
                    break;
                case "shape" when shape is null:
                    shape = ReadLongs(field.Value, name, "shape", bad);
                    break;
                case "data_offsets" when offsets is null:
                    offsets = ReadLongs(field.Value, name, "data_offsets", bad);
                    break;
                default:
                    throw bad($"tensor '{name}' has an unexpected or repeated field '{field.Name}'.", null);
            }
        }

        if (dtype is null || shape is null || offsets is null)
        {
            throw bad($"tensor '{name}' lacks dtype, shape or data_offsets.", null);
        }

        if (dtype != DTypeF32)
        {
            throw bad($"tensor '{name}' has dtype '{dtype}'; only {DTypeF32} is supported.", null);
        }

        if (offsets.Length != 2 || offsets[0] > offsets[1])
        {
            throw bad($"tensor '{name}' has data_offsets [{string.Join(", ", offsets)}]; expected [begin, end] with begin <= end.", null);
        }

        long count;
        try
        {
            count = ElementCount(shape, name);
        }
        catch (ArgumentException e)
        {
            throw bad(e.Message, e);
        }

        if (count > int.MaxValue / sizeof(float) || offsets[1] - offsets[0] != count * sizeof(float))
        {
            throw bad($"tensor '{name}' has shape [{string.Join(", ", shape)}] ({count} floats) but data_offsets span {offsets[1] - offsets[0]} bytes.", null);
        }

        return (name, shape, offsets[0], offsets[1]);
    }

    private static long[] ReadLongs(JsonElement e, string tensor, string field, Func<string, Exception?, SafeTensorsFormatException> bad)
    {
        if (e.ValueKind != JsonValueKind.Array)
        {
            throw bad($"tensor '{tensor}': {field} is not an array.", null);
        }

        var result = new long[e.GetArrayLength()];
        int i = 0;
        foreach (var item in e.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long x) || x < 0)
            {
                throw bad($"tensor '{tensor}': {field} holds '{item}', not a non-negative integer.", null);
            }

            result[i++] = x;
        }

        return result;
    }

    /// <summary>Product of <paramref name="shape"/>; throws on negative dimensions or overflow.</summary>
    internal static long ElementCount(long[] shape, string name)
    {
        if (shape is null)
        {
            throw new ArgumentException($"Tensor '{name}' has no shape.");
        }

        long count = 1;
        foreach (long d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"Tensor '{name}' has a negative dimension in shape [{string.Join(", ", shape)}].");
            }

            try
            {
                count = checked(count * d);
            }
            catch (OverflowException e)
            {
                throw new ArgumentException($"Tensor '{name}' has shape [{string.Join(", ", shape)}] whose size overflows.", e);
            }
        }

        return count;
    }
}
