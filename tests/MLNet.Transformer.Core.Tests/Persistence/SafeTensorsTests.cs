// The safetensors reader/writer: round trips, the layout checked byte by byte, malformed inputs rejected with
// SafeTensorsFormatException, and interoperability with PyTorch in both directions.
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MLNet.Transformer.Persistence;
using MLNet.Transformer.TestKit;
using Xunit;

namespace MLNet.Transformer.Tests.Persistence;

public sealed class SafeTensorsTests
{
    /// <summary>A safetensors buffer with the given header text and data, unpadded.</summary>
    internal static byte[] Raw(string header, byte[] data)
    {
        byte[] h = Encoding.UTF8.GetBytes(header);
        var b = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)h.Length);
        h.CopyTo(b, 8);
        data.CopyTo(b, 8 + h.Length);
        return b;
    }

    private static Dictionary<string, TensorData> Sample(int seed)
    {
        var rng = new Random(seed);
        float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        return new Dictionary<string, TensorData>(StringComparer.Ordinal)
        {
            ["wte.weight"] = new([5, 3], Rand(15)),
            ["blocks.0.ln.bias"] = new([3], Rand(3)),
            ["scalar"] = new([], [2.5f]),
            ["empty"] = new([0, 4], []),
            ["cube"] = new([2, 3, 4], Enumerable.Range(0, 24).Select(i => i * 0.5f - 3f).ToArray()),
            ["special"] = new([4], [float.NaN, float.PositiveInfinity, -0f, float.Epsilon]),
        };
    }

    [Fact]
    public void WriteRead_RoundTripsShapesValuesAndMetadata()
    {
        var tensors = Sample(1);
        byte[] bytes = SafeTensors.Write(tensors, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "x" });

        var read = SafeTensors.Read(bytes, out var metadata);

        Assert.Equal(tensors.Keys.Order(StringComparer.Ordinal), read.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, t) in tensors)
        {
            Assert.Equal(t.Shape, read[name].Shape);
            Assert.Equal(t.Data.Select(BitConverter.SingleToInt32Bits), read[name].Data.Select(BitConverter.SingleToInt32Bits));
        }

        Assert.Equal("pt", metadata["format"]);
        Assert.Equal("x", metadata["note"]);
    }

    [Fact]
    public void Write_Layout_HeaderPaddedToEightAndDataContiguousInNameOrder()
    {
        byte[] bytes = SafeTensors.Write(new Dictionary<string, TensorData>
        {
            ["b"] = new([2], [1f, 2f]),
            ["a"] = new([1], [3f]),
        });

        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0ul, (8 + n) % 8);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)n);
        Assert.Equal(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
            header.TrimEnd(' '));
        Assert.Equal(8 + (int)n + 12, bytes.Length);
        Assert.Equal(3f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(8 + (int)n)));
        Assert.Equal(2f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(8 + (int)n + 8)));
    }

    [Theory]
    [InlineData("short")]
    [InlineData("length beyond end")]
    [InlineData("not an object")]
    [InlineData("bad json")]
    [InlineData("duplicate key")]
    [InlineData("hole")]
    [InlineData("overlap")]
    [InlineData("begin after end")]
    [InlineData("trailing data")]
    [InlineData("dtype")]
    [InlineData("shape mismatch")]
    [InlineData("negative dim")]
    [InlineData("missing field")]
    [InlineData("unknown field")]
    [InlineData("metadata not strings")]
    public void Read_Malformed_ThrowsSafeTensorsFormat(string defect)
    {
        const string W = "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
        byte[] bytes = defect switch
        {
            "short" => [1, 0, 0],
            "length beyond end" => Raw("{}", [])[..9],
            "not an object" => Raw("[1, 2]", []),
            "bad json" => Raw("{\"w\":", []),
            "duplicate key" => Raw("{" + W + "," + W + "}", new byte[8]),
            "hole" => Raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]),
            "overlap" => Raw("{" + W + ",\"v\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]),
            "begin after end" => Raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", new byte[8]),
            "trailing data" => Raw("{" + W + "}", new byte[12]),
            "dtype" => Raw("{\"w\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", new byte[4]),
            "shape mismatch" => Raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]),
            "negative dim" => Raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", new byte[8]),
            "missing field" => Raw("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", new byte[8]),
            "unknown field" => Raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", new byte[8]),
            _ => Raw("{\"__metadata__\":{\"a\":1}," + W + "}", new byte[8]),
        };

        var ex = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Read(bytes));

        Assert.StartsWith("Invalid safetensors data: ", ex.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<ModelFormatException>(ex);
    }

    [Fact]
    public void Read_DtypeUnsupported_MessageNamesDtype()
    {
        var ex = Assert.Throws<SafeTensorsFormatException>(() =>
            SafeTensors.Read(Raw("{\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", new byte[4])));

        Assert.Contains("'F16'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("only F32", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_DataLengthMismatch_ThrowsArgument() =>
        Assert.Throws<ArgumentException>(() => SafeTensors.Write(new Dictionary<string, TensorData> { ["x"] = new([2, 2], new float[5]) }));

    [Fact]
    public void Python_ReadsFileWrittenByDotNet()
    {
        // The reference python (python3-torch, installed by ./build.sh test) must exist: no silent pass without it.
        var tensors = Sample(3);
        using var ws = new PyTorchWorkspace();
        string dir = ws.Directory;
        {
            string path = Path.Combine(dir, "t.safetensors");
            SafeTensors.WriteFile(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });
            string expected = Path.Combine(dir, "expected.json");
            File.WriteAllText(expected, JsonSerializer.Serialize(tensors.ToDictionary(
                kv => kv.Key,
                kv => new { shape = kv.Value.Shape, bits = kv.Value.Data.Select(BitConverter.SingleToInt32Bits).ToArray() })));

            string stdout = RunScript(ws, ReadScript, path, expected);

            Assert.Contains("OK 6", stdout, StringComparison.Ordinal);
        }
    }

    /// <summary>Runs a python script (given as text) with TestKit's torch-capable interpreter; argv[1] is the workspace.</summary>
    private static string RunScript(PyTorchWorkspace ws, string script, params string[] args)
    {
        string file = ws.PathOf($"script-{Guid.NewGuid():N}.py");
        File.WriteAllText(file, script);
        return PyTorchReference.Run(file, ws, TimeSpan.FromMinutes(2), args);
    }

    [Fact]
    public void DotNet_ReadsFilesWrittenByPython()
    {
        using var ws = new PyTorchWorkspace();
        string dir = ws.Directory;
        {
            string stdout = RunScript(ws, WriteScript);

            var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "expected.json"))).RootElement;
            string[] files = ["padded.safetensors", "unpadded.safetensors", .. stdout.Contains("LIB", StringComparison.Ordinal) ? new[] { "lib.safetensors" } : []];
            foreach (string file in files)
            {
                var read = SafeTensors.ReadFile(Path.Combine(dir, file), out var metadata);
                Assert.Equal("pt", metadata["format"]);
                Assert.Equal(expected.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal), read.Keys.Order(StringComparer.Ordinal));
                foreach (var p in expected.EnumerateObject())
                {
                    Assert.Equal(p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()), read[p.Name].Shape);
                    Assert.Equal(
                        p.Value.GetProperty("values").EnumerateArray().Select(e => (float)e.GetDouble()),
                        read[p.Name].Data);
                }
            }
        }
    }

    // Parses the file by hand (no safetensors package needed), which also checks the layout; then, when the
    // safetensors package is installed, loads it with safetensors.torch as well.
    private const string ReadScript = """
        import json, struct, sys, torch
        path, expected_path = sys.argv[2], sys.argv[3]
        raw = open(path, 'rb').read()
        n, = struct.unpack('<Q', raw[:8])
        assert (8 + n) % 8 == 0, 'data not 8-byte aligned'
        header = json.loads(raw[8:8 + n].decode('utf-8'))
        data = raw[8 + n:]
        assert header.pop('__metadata__') == {'format': 'pt'}
        end, tensors = 0, {}
        for name, info in sorted(header.items(), key=lambda kv: kv[1]['data_offsets']):
            b, e = info['data_offsets']
            assert b == end, (name, b, end)
            assert info['dtype'] == 'F32'
            end = e
            if e > b:
                t = torch.frombuffer(bytearray(data[b:e]), dtype=torch.float32).reshape(info['shape'])
            else:
                t = torch.zeros(info['shape'], dtype=torch.float32)
            tensors[name] = t
        assert end == len(data)
        expected = json.load(open(expected_path))
        assert sorted(expected) == sorted(tensors)
        for name, exp in expected.items():
            want = torch.tensor(exp['bits'], dtype=torch.int32).view(torch.float32).reshape(exp['shape'])
            got = tensors[name]
            assert list(got.shape) == exp['shape'], (name, got.shape)
            assert torch.equal(got.view(torch.int32), want.view(torch.int32)), name
        try:
            from safetensors.torch import load_file
            lib = load_file(path)
            assert all(torch.equal(lib[k].view(torch.int32), tensors[k].view(torch.int32)) for k in tensors)
        except ImportError:
            pass
        print('OK', len(tensors))
        """;

    // Writes the same tensors twice by hand, as the reference writer does (padded header) and unpadded, and once
    // with safetensors.torch when installed; dumps the values for comparison.
    private const string WriteScript = """
        import json, os, struct, sys, torch
        out = sys.argv[1]  # the workspace folder
        torch.manual_seed(0)
        tensors = {
            'embedding': torch.randn(4, 3),
            'ln.weight': torch.arange(5, dtype=torch.float32) * 0.25 - 1,
            'scalar': torch.tensor(1.5),
            'empty': torch.zeros(0, 2),
            'attn.c_attn.weight': torch.randn(2, 3, 2),
        }
        def save(path, pad):
            header, offset, blobs = {'__metadata__': {'format': 'pt'}}, 0, []
            for name in sorted(tensors):
                t = tensors[name].contiguous()
                blob = struct.pack('<%df' % t.numel(), *t.flatten().tolist())
                header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(blob)]}
                offset += len(blob)
                blobs.append(blob)
            h = json.dumps(header, separators=(',', ':')).encode('utf-8')
            if pad:
                h += b' ' * ((8 - len(h) % 8) % 8)
            with open(path, 'wb') as f:
                f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
        save(os.path.join(out, 'padded.safetensors'), True)
        save(os.path.join(out, 'unpadded.safetensors'), False)
        json.dump({k: {'shape': list(v.shape), 'values': v.flatten().tolist()} for k, v in tensors.items()},
                  open(os.path.join(out, 'expected.json'), 'w'))
        try:
            from safetensors.torch import save_file
            save_file(tensors, os.path.join(out, 'lib.safetensors'), metadata={'format': 'pt'})
            print('LIB')
        except ImportError:
            pass
        print('OK')
        """;
}
