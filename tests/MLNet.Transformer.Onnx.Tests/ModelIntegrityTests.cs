// Damaged and hostile model files: a zip entry whose bytes no longer match its CRC-32, an ONNX model changed and
// re-zipped with a valid CRC (caught by the content hash), metadata that disagrees with the graph, a graph ONNX Runtime
// cannot run, entries declaring or holding more bytes than allowed, and ML.NET's temporary ONNX copies.
using System.Buffers.Binary;
using System.IO.Compression;
using Google.Protobuf;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Transformer.Engine;
using MLNet.Transformer.IO;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.Text;
using Onnx;

namespace MLNet.Transformer.Onnx.Tests;

/// <summary>A saved ML.NET zip of a small decoder (real characters, so the code-point chain runs) and its scores.</summary>
public sealed class SavedModelZip : IDisposable
{
    public static readonly string[] Texts = ["abc", "", "cab", "bbbbbbb", "x"];

    public SavedModelZip()
    {
        Folder = Directory.CreateTempSubdirectory("mlt-integrity-").FullName;
        var vocab = CharacterVocabulary.FromCharacters("abcde".EnumerateRunes());
        var cfg = TestKit.SmallModels.SmallDecoder(7) with { VocabSize = vocab.Count };
        Info = new NextCharacterModelInfo
        {
            Architecture = cfg, TextColumnName = "Text", Vocabulary = [.. vocab.Tokens],
            PadId = CharacterVocabulary.PadId, BosId = CharacterVocabulary.BosId, EosId = CharacterVocabulary.EosId, UnkId = CharacterVocabulary.UnkId,
        };
        using var model = TransformerModel.Create(cfg);
        State = model.ExportState().AsReadOnly();
        var ml = new MLContext(0);
        var fitted = NextCharacterModel.FromWeights(ml, Info, State);
        ZipPath = Path.Combine(Folder, "model.zip");
        ml.Model.Save(fitted, NextCharacterModel.CreateInput(ml, Info, []).Schema, ZipPath);
        ZipBytes = File.ReadAllBytes(ZipPath);
        OnnxBytes = OnnxExporter.Export(Info, State).ToByteArray();
        using var loaded = NextCharacterModel.Load(ml, ZipPath);
        Scores = Score(ml, loaded);
    }

    public string Folder { get; }

    public NextCharacterModelInfo Info { get; }

    public IReadOnlyDictionary<string, (long[] Shape, float[] Data)> State { get; }

    public string ZipPath { get; }

    public byte[] ZipBytes { get; }

    /// <summary>A token-id export of the same weights.</summary>
    public byte[] OnnxBytes { get; }

    /// <summary>The Score column of <see cref="Texts"/>, from the undamaged zip.</summary>
    public float[][] Scores { get; }

    public static float[][] Score(MLContext ml, LoadedNextCharacterModel loaded)
    {
        var scored = loaded.Model.Transform(NextCharacterModel.CreateInput(ml, loaded.Info, Texts.Select(t => (t, (string?)null))));
        return [.. scored.GetColumn<float[]>(NextCharacterColumns.Score)];
    }

    /// <summary>The zip rewritten (valid CRCs) with entry <paramref name="name"/>'s content replaced.</summary>
    public static byte[] Rezip(byte[] zip, Func<string, byte[], byte[]?> change)
    {
        using var input = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read);
        var output = new MemoryStream();
        using (var rebuilt = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var entry in input.Entries)
            {
                using var source = entry.Open();
                using var buffer = new MemoryStream();
                source.CopyTo(buffer);
                var content = change(entry.FullName, buffer.ToArray());
                if (content is null)
                {
                    continue;
                }

                using var target = rebuilt.CreateEntry(entry.FullName, CompressionLevel.Fastest).Open();
                target.Write(content);
            }
        }

        return output.ToArray();
    }

    /// <summary>The ONNX bytes inside an OnnxModel entry (after its 4-byte length).</summary>
    public static ModelProto ParseOnnxEntry(byte[] entry) => ModelProto.Parser.ParseFrom(entry.AsSpan(4));

    /// <summary>An OnnxModel entry holding <paramref name="model"/>.</summary>
    public static byte[] OnnxEntry(ModelProto model)
    {
        var bytes = model.ToByteArray();
        var entry = new byte[bytes.Length + 4];
        BinaryPrimitives.WriteInt32LittleEndian(entry, bytes.Length);
        bytes.CopyTo(entry, 4);
        return entry;
    }

    public static bool IsNextCharacterOnnx(string name, byte[] content) =>
        name.EndsWith("OnnxModel", StringComparison.Ordinal) && content.Length > 4 && OnnxModelFile.IsNextCharacterModel(content.AsSpan(4));

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}

/// <summary>Tests that count the process's temporary files run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ModelFileGroup : ICollectionFixture<SavedModelZip>
{
    public const string Name = "Model files";
}

[Collection(ModelFileGroup.Name)]
public sealed class ModelIntegrityTests(SavedModelZip saved)
{
    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(saved.Folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Offset and length of the stored data of local entry <paramref name="name"/>.</summary>
    private static (int Offset, int Length) LocalData(byte[] zip, string name)
    {
        for (int i = 0; i + 30 < zip.Length; i++)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(i)) != 0x04034b50)
            {
                continue;
            }

            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(i + 26));
            int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(i + 28));
            int compressed = (int)BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(i + 18));
            if (System.Text.Encoding.UTF8.GetString(zip, i + 30, nameLength) == name)
            {
                return (i + 30 + nameLength + extraLength, compressed);
            }
        }

        throw new InvalidOperationException($"no local entry {name}");
    }

    private string OnnxEntryName()
    {
        using var zip = ZipFile.OpenRead(saved.ZipPath);
        return zip.Entries.Single(e => e.FullName.EndsWith("OnnxModel", StringComparison.Ordinal) && e.Length > 10_000).FullName;
    }

    [Fact]
    public void Read_StoredEntryWithFlippedByte_ThrowsCrcErrorNamingTheEntry()
    {
        // A stored (uncompressed) entry: the flipped byte reads back without any decompression error.
        var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            using var s = zip.CreateEntry("weights.bin", CompressionLevel.NoCompression).Open();
            s.Write(Enumerable.Range(0, 4096).Select(i => (byte)i).ToArray());
        }

        var bytes = buffer.ToArray();
        var (offset, length) = LocalData(bytes, "weights.bin");
        bytes[offset + (length / 2)] ^= 0x10;
        string path = Write("flipped-stored.zip", bytes);

        var e = Assert.Throws<ModelFormatException>(() => ModelArchive.Read(path));
        Assert.Equal("weights.bin", e.EntryPath);
        Assert.Contains("CRC-32", e.Message, StringComparison.Ordinal);
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_BitFlipsInsideTheOnnxEntry_EveryCopyRefusedNamingTheEntry()
    {
        string name = OnnxEntryName();
        var (offset, length) = LocalData(saved.ZipBytes, name);
        var random = new Random(19);
        for (int i = 0; i < 12; i++)
        {
            var bytes = (byte[])saved.ZipBytes.Clone();
            bytes[offset + random.Next(length)] ^= (byte)(1 << random.Next(8));
            string path = Write($"flip-{i}.zip", bytes);

            var e = Assert.ThrowsAny<ModelFormatException>(() => NextCharacterModel.Load(new MLContext(0), path));
            Assert.Equal(name, e.EntryPath);
            Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Load_WeightChangedAndRezippedWithValidCrc_ThrowsContentHashError()
    {
        var bytes = SavedModelZip.Rezip(saved.ZipBytes, (name, content) =>
        {
            if (!SavedModelZip.IsNextCharacterOnnx(name, content))
            {
                return content;
            }

            var proto = SavedModelZip.ParseOnnxEntry(content);
            var weight = proto.Graph.Initializer.Single(t => t.Name == "lm_head.weight");
            var raw = weight.RawData.ToByteArray();
            raw[5] ^= 0x01; // one bit of one float: a plausible model, silently different scores
            weight.RawData = ByteString.CopyFrom(raw);
            return SavedModelZip.OnnxEntry(proto);
        });
        string path = Write("rezipped.zip", bytes);

        var e = Assert.Throws<OnnxModelFormatException>(() => NextCharacterModel.Load(new MLContext(0), path));
        Assert.Equal($"metadata_props[{OnnxNames.ContentHashKey}]", e.Field);
        Assert.Contains("SHA-256", e.Message, StringComparison.Ordinal);
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_VocabularyEditedWithHashRecomputed_RefusedBecauseTheGraphDisagrees()
    {
        var proto = ModelProto.Parser.ParseFrom(OnnxExporter.Export(saved.Info, saved.State, NextCharacterModel.ChainExport).ToByteArray());
        var vocabulary = proto.MetadataProps.Single(p => p.Key == OnnxNames.VocabularyKey);
        vocabulary.Value = vocabulary.Value.Replace("\"a\"", "\"q\"", StringComparison.Ordinal);
        OnnxContentHash.Stamp(proto); // a careful forger: the hash alone would not catch it

        var e = Assert.Throws<OnnxModelFormatException>(() => OnnxModelFile.Read(proto.ToByteArray(), "edited.onnx"));
        Assert.Equal("graph.initializer[vocabulary]", e.Field);
    }

    [Fact]
    public void Read_OutputDimensionDisagreesWithVocabulary_Refused()
    {
        var proto = OnnxExporter.Export(saved.Info, saved.State);
        var output = proto.Graph.Output.Single(o => o.Name == OnnxNames.NextTokenProbabilities);
        output.Type.TensorType.Shape.Dim[^1].DimValue = saved.Info.Vocabulary.Count + 1;
        OnnxContentHash.Stamp(proto);

        var e = Assert.Throws<OnnxModelFormatException>(() => OnnxModelFile.Read(proto.ToByteArray(), "wide.onnx"));
        Assert.Equal($"graph.output[{OnnxNames.NextTokenProbabilities}]", e.Field);
    }

    [Fact]
    public void Scorer_GraphWithUnknownOperator_TypedErrorWithOnnxRuntimesReason()
    {
        var proto = OnnxExporter.Export(saved.Info, saved.State);
        proto.Graph.Node.First(n => n.OpType == "MatMul").OpType = "NoSuchOperator";
        OnnxContentHash.Stamp(proto);
        var bytes = proto.ToByteArray();

        _ = OnnxModelFile.Read(bytes, "unknown-op.onnx"); // metadata and weights agree...
        var e = Assert.Throws<OnnxModelFormatException>(() => new OnnxNextCharacterScorer(bytes, "unknown-op.onnx")); // ...the graph does not run
        Assert.Equal("graph", e.Field);
        Assert.Contains("NoSuchOperator", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_ExportWithoutContentHash_Refused()
    {
        var proto = OnnxExporter.Export(saved.Info, saved.State);
        proto.MetadataProps.Remove(proto.MetadataProps.Single(p => p.Key == OnnxNames.ContentHashKey));

        var e = Assert.Throws<OnnxModelFormatException>(() => OnnxModelFile.Read(proto.ToByteArray(), "stripped.onnx"));
        Assert.Equal($"metadata_props[{OnnxNames.ContentHashKey}]", e.Field);
    }

    [Fact]
    public void Read_EntryDeclaringThreeGibibytes_RefusedBeforeReadingIt()
    {
        // A 1 MiB run of zeros whose headers are patched to declare 3 GiB: the shape of a zip bomb.
        var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            using var s = zip.CreateEntry("OnnxModel").Open();
            s.Write(new byte[1 << 20]);
        }

        var bytes = buffer.ToArray();
        PatchUncompressedSize(bytes, 3u << 30);
        string path = Write("bomb.zip", bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();

        var e = Assert.Throws<ModelFormatException>(() => ModelArchive.Read(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal("OnnxModel", e.EntryPath);
        Assert.Contains("declares", e.Message, StringComparison.Ordinal);
        Assert.True(allocated < 64 << 20, $"allocated {allocated:N0} bytes");
        Assert.Throws<ModelFormatException>(() => NextCharacterModel.Load(new MLContext(0), path));
    }

    [Fact]
    public void Read_EntryHoldingMoreThanItDeclares_ReadsNoFurtherThanTheDeclaredSize()
    {
        var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            using var s = zip.CreateEntry("OnnxModel").Open();
            s.Write(new byte[8 << 20]);
        }

        var bytes = buffer.ToArray();
        PatchUncompressedSize(bytes, 1000);
        string path = Write("liar.zip", bytes);

        var e = Assert.Throws<ModelFormatException>(() => ModelArchive.Read(path));
        Assert.Equal("OnnxModel", e.EntryPath);
    }

    [Fact]
    public void Read_EntryOverACustomLimit_Refused()
    {
        var e = Assert.Throws<ModelFormatException>(() => ModelArchive.Read(saved.ZipPath, new ModelArchiveLimits { MaxEntryBytes = 1000 }));
        Assert.Contains("MaxEntryBytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TwoHundredModelsDisposed_LeaveNoTemporaryFile()
    {
        string temp = Directory.CreateTempSubdirectory("mlt-tmp-").FullName;
        try
        {
            var ml = new MLContext(0) { TempFilePath = temp };
            int before = Directory.GetFiles(TemporaryFiles.Folder).Length;
            for (int i = 0; i < 200; i++)
            {
                using var loaded = NextCharacterModel.Load(ml, saved.ZipPath);
                if (i == 0)
                {
                    // While loaded, ML.NET's copy of the ONNX model exists in the process's folder, not the caller's.
                    Assert.True(Directory.GetFiles(TemporaryFiles.Folder).Length > before);
                }
            }

            Assert.Empty(Directory.GetFiles(temp, "*", SearchOption.AllDirectories));
            Assert.True(Directory.GetFiles(TemporaryFiles.Folder).Length <= before, "every loaded model's temporary file is removed on Dispose");
            Assert.Equal(temp, ml.TempFilePath); // the caller's setting is restored
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    /// <summary>Sets the uncompressed size of every local and central header of a one-entry zip.</summary>
    private static void PatchUncompressedSize(byte[] zip, uint size)
    {
        for (int i = 0; i + 46 < zip.Length; i++)
        {
            uint signature = BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(i));
            if (signature == 0x04034b50)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(i + 22), size);
            }
            else if (signature == 0x02014b50)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(i + 24), size);
            }
        }
    }
}
