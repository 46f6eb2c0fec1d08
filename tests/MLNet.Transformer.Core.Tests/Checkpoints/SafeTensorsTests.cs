// The safetensors layout written and read by hand: header length, JSON header, little-endian float32 data.
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using MLNet.Transformer.Checkpoints;

namespace MLNet.Transformer.Tests.Checkpoints;

public class SafeTensorsTests
{
    [Fact]
    public void Write_OneTensor_BytesAsTheSpecificationLaysThemOut()
    {
        var stream = new MemoryStream();
        SafeTensors.Write(stream, [KeyValuePair.Create("w", (new long[] { 2 }, new[] { 1f, -2f }))]);
        byte[] bytes = stream.ToArray();

        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, n % 8);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)n));
        var w = header.RootElement.GetProperty("w");
        Assert.Equal("F32", w.GetProperty("dtype").GetString());
        Assert.Equal([2L], w.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([0L, 8L], w.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()));
        // 1.0f = 0x3F800000, -2.0f = 0xC0000000, little-endian.
        Assert.Equal(new byte[] { 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0 }, bytes[(8 + (int)n)..]);
    }

    [Fact]
    public void Read_WrittenTensorsAndMetadata_RoundTripInOrder()
    {
        var tensors = new Dictionary<string, (long[] Shape, float[] Data)>
        {
            ["b.weight"] = ([2, 3], [1, 2, 3, 4, 5, float.NaN]),
            ["a.bias"] = ([3], [-0f, float.Epsilon, float.MaxValue]),
            ["scalar"] = ([], [7]),
        };
        var stream = new MemoryStream();
        SafeTensors.Write(stream, tensors, new Dictionary<string, string> { ["format"] = "pt" });

        var read = SafeTensors.Read(stream.ToArray(), "memory");

        Assert.Equal(tensors.Keys, read.Tensors.Keys);
        foreach (var (name, (shape, data)) in tensors)
        {
            Assert.Equal(shape, read.Tensors[name].Shape);
            Assert.Equal(data.Select(BitConverter.SingleToInt32Bits), read.Tensors[name].Data.Select(BitConverter.SingleToInt32Bits));
        }

        Assert.Equal("pt", read.Metadata["format"]);
    }

    [Fact]
    public void Read_Truncated_ThrowsModelFormatException()
    {
        var stream = new MemoryStream();
        SafeTensors.Write(stream, [KeyValuePair.Create("w", (new long[] { 4 }, new float[4]))]);
        byte[] bytes = stream.ToArray()[..^4];

        var e = Assert.Throws<ModelFormatException>(() => SafeTensors.Read(bytes, "cut.safetensors"));
        Assert.Contains("cut.safetensors", e.Message, StringComparison.Ordinal);
        Assert.Contains("'w'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_HalfPrecisionTensor_ThrowsNamingTheDtype()
    {
        string json = """{"h":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}""";
        byte[] header = Encoding.UTF8.GetBytes(json);
        byte[] bytes = new byte[8 + header.Length + 2];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);

        var e = Assert.Throws<ModelFormatException>(() => SafeTensors.Read(bytes, "half.safetensors"));
        Assert.Contains("F16", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_ShapeDisagreesWithData_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => SafeTensors.Write(new MemoryStream(), [KeyValuePair.Create("w", (new long[] { 3 }, new float[2]))]));
    }
}
