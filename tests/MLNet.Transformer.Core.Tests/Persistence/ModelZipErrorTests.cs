// Every way a model .zip can be unreadable maps onto a specific ModelFormatException subclass with a clear message.
using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using MLNet.Transformer.Persistence;
using Xunit;

namespace MLNet.Transformer.Tests.Persistence;

public sealed class ModelZipErrorTests
{
    private const string Root = "stages/0000-Test.Chain/";
    private const string Affine = Root + "0001-Test.Affine/";
    private const string Vocab = Root + "0000-Test.Vocab/";

    private static readonly byte[] Valid = BuildValid();

    private static byte[] BuildValid()
    {
        using var model = TestModels.Chain();
        return TestModels.SaveToBytes(model);
    }

    private static T LoadFails<T>(byte[] zip)
        where T : ModelFormatException
    {
        var ex = Assert.ThrowsAny<ModelFormatException>(() => TestModels.Load(zip, out _).Dispose());
        return Assert.IsType<T>(ex);
    }

    [Fact]
    public void Load_NotAZip_ThrowsInvalidModelArchive()
    {
        var ex = LoadFails<InvalidModelArchiveException>(Encoding.UTF8.GetBytes("this is a text file, not a zip"));

        Assert.Contains("not a readable zip", ex.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<TransformerException>(ex);
        LoadFails<InvalidModelArchiveException>([]);
    }

    [Fact]
    public void Load_TruncatedFile_ThrowsInvalidModelArchive() =>
        LoadFails<InvalidModelArchiveException>(Valid[..(Valid.Length / 2)]);

    [Fact]
    public void Load_FileFromDisk_NotAZip_ThrowsInvalidModelArchive()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "hello");
            Assert.Throws<InvalidModelArchiveException>(() => new MLContext().Model.Load(path, out _));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_ZipWithoutManifest_ThrowsMissingEntry()
    {
        var ex = LoadFails<MissingModelEntryException>(ZipEdit.Edit(Valid, e => e.RemoveAll(x => x.Name == "manifest.json")));

        Assert.Equal("manifest.json", ex.EntryPath);
        Assert.Contains("not an MLNet.Transformer model", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_EntryRemoved_ThrowsMissingEntryNamingIt()
    {
        var ex = LoadFails<MissingModelEntryException>(ZipEdit.Edit(Valid, e => e.RemoveAll(x => x.Name == Vocab + "vocabulary.json")));

        Assert.Equal(Vocab + "vocabulary.json", ex.EntryPath);
        Assert.Contains("manifest lists", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_EntryRemovedFromZipAndManifest_ThrowsMissingEntryFromLoader()
    {
        byte[] zip = ZipEdit.Edit(Valid, e => e.RemoveAll(x => x.Name == Vocab + "vocabulary.json"));
        zip = ZipEdit.EditManifest(zip, m => m["entries"]!.AsArray().Remove(
            m["entries"]!.AsArray().Single(x => (string)x!["path"]! == Vocab + "vocabulary.json")));

        var ex = LoadFails<MissingModelEntryException>(zip);

        Assert.Equal(Vocab + "vocabulary.json", ex.EntryPath);
    }

    [Fact]
    public void Load_ExtraEntry_ThrowsUnexpectedEntry()
    {
        var ex = LoadFails<UnexpectedModelEntryException>(ZipEdit.Edit(Valid, e => e.Add(new ZipItem(Affine + "extra.json", "{}"u8.ToArray()))));

        Assert.Equal(Affine + "extra.json", ex.EntryPath);
        Assert.Contains("does not list", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_DuplicateEntry_ThrowsUnexpectedEntry()
    {
        var ex = LoadFails<UnexpectedModelEntryException>(ZipEdit.Edit(Valid, e => e.Add(new ZipItem("schema.json", e[0].Data))));

        Assert.Contains("twice", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnknownStage_ThrowsUnknownStageNamingSignatureAndRegistration()
    {
        var ex = LoadFails<UnknownStageException>(TestModels.SaveToBytes(new OrphanStage()));

        Assert.Equal("Test.Orphan", ex.Signature);
        Assert.Contains("'Test.Orphan'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ModelLoaderRegistry.Register(\"Test.Orphan\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'MLNet.Transformer.Core.Tests' (named by its stage.json) was loaded but did not register it", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnknownStageInUnloadableAssembly_SaysTheAssemblyCouldNotBeLoaded()
    {
        byte[] zip = TestModels.SaveToBytes(new OrphanStage());
        zip = ZipEdit.Replace(zip, "stages/0000-Test.Orphan/stage.json",
            "{\"signature\":\"Test.Orphan\",\"version\":1,\"minReadableVersion\":1,\"assembly\":\"No.Such.Assembly\"}");

        var ex = LoadFails<UnknownStageException>(zip);

        Assert.Contains("'No.Such.Assembly' (named by its stage.json) could not be loaded", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_NewerFormatVersion_ThrowsUnsupportedVersionNamingBoth()
    {
        byte[] zip = ZipEdit.EditManifest(Valid, m =>
        {
            m["formatVersion"] = 3;
            m["minReaderVersion"] = 2;
        });

        var ex = LoadFails<UnsupportedModelVersionException>(zip);

        Assert.Equal(2, ex.RequiredVersion);
        Assert.Equal(1, ex.SupportedVersion);
        Assert.Contains("reader of format version 2 or newer", ex.Message, StringComparison.Ordinal);
        Assert.Contains("reads format versions up to 1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_NewerFormatVersionReadableByV1_Loads()
    {
        byte[] zip = ZipEdit.EditManifest(Valid, m =>
        {
            m["formatVersion"] = 2;
            m["futureField"] = "ignored";
        });

        using var loaded = TestModels.Load(zip, out _);

        Assert.IsType<ChainStage>(((LoadedModel)loaded).Model);
    }

    [Fact]
    public void Load_StageVersionNewerThanLoader_ThrowsUnsupportedVersion()
    {
        var ex = LoadFails<UnsupportedModelVersionException>(TestModels.SaveToBytes(new VersionedStage(version: 4, minReadable: 3)));

        Assert.Equal(3, ex.RequiredVersion);
        Assert.Equal(2, ex.SupportedVersion);
        Assert.Contains("version 4", ex.Message, StringComparison.Ordinal);
        Assert.Contains("reads versions up to 2", ex.Message, StringComparison.Ordinal);
        Assert.Equal("stages/0000-Test.Versioned/stage.json", ex.EntryPath);
    }

    [Fact]
    public void Load_WrongFormatSignature_ThrowsModelFormat()
    {
        var ex = Assert.ThrowsAny<ModelFormatException>(() => TestModels.Load(ZipEdit.EditManifest(Valid, m => m["format"] = "Other"), out _));

        Assert.Contains("'Other'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_FlippedTensorByte_ThrowsCorruptEntryWithChecksum()
    {
        var entries = ZipEdit.Entries(Valid);
        byte[] data = entries.Single(e => e.Name == Affine + "weights.safetensors").Data;
        data[^3] ^= 0x40;
        // Rebuild with the flipped data but the original manifest: the SHA-256 no longer matches.
        var ex = LoadFails<CorruptModelEntryException>(ZipEdit.Edit(Valid, e => e.Single(x => x.Name == Affine + "weights.safetensors").Data = data));

        Assert.Equal(Affine + "weights.safetensors", ex.EntryPath);
        Assert.Contains("SHA-256", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TruncatedEntry_ThrowsCorruptEntryWithSizes()
    {
        var ex = LoadFails<CorruptModelEntryException>(ZipEdit.Edit(Valid, e =>
        {
            var item = e.Single(x => x.Name == Affine + "weights.safetensors");
            item.Data = item.Data[..^4];
        }));

        Assert.Contains("truncated or corrupted", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_EntryContentsOfAnother_ThrowsCorruptEntry() =>
        LoadFails<CorruptModelEntryException>(ZipEdit.Edit(Valid, e =>
            e.Single(x => x.Name == Vocab + "config.json").Data = e.Single(x => x.Name == Affine + "config.json").Data));

    [Theory]
    [InlineData("bad length")]
    [InlineData("bad json")]
    [InlineData("offsets out of range")]
    [InlineData("overlapping")]
    [InlineData("dtype")]
    [InlineData("shape mismatch")]
    public void Load_InvalidSafeTensorsWithMatchingChecksum_ThrowsSafeTensorsFormat(string defect)
    {
        byte[] tensors = defect switch
        {
            "bad length" => HugeLength(),
            "bad json" => SafeTensorsTests.Raw("{\"w\": {\"dtype\": \"F32\", ", []),
            "offsets out of range" => SafeTensorsTests.Raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", new byte[12]),
            "overlapping" => SafeTensorsTests.Raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12]),
            "dtype" => SafeTensorsTests.Raw("{\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", new byte[4]),
            _ => SafeTensorsTests.Raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]),
        };

        var ex = LoadFails<SafeTensorsFormatException>(ZipEdit.Replace(Valid, Affine + "weights.safetensors", tensors));

        Assert.Equal(Affine + "weights.safetensors", ex.EntryPath);
        Assert.Contains(Affine + "weights.safetensors", ex.Message, StringComparison.Ordinal);

        static byte[] HugeLength()
        {
            var b = new byte[16];
            BinaryPrimitives.WriteUInt64LittleEndian(b, ulong.MaxValue - 3);
            return b;
        }
    }

    [Fact]
    public void Load_ConfigNotJson_ThrowsInvalidJsonNamingEntry()
    {
        var ex = LoadFails<InvalidModelJsonException>(ZipEdit.Replace(Valid, Affine + "config.json", "{\"inputColumn\": \"Features\", oops"));

        Assert.Equal(Affine + "config.json", ex.EntryPath);
        Assert.Contains("not valid JSON", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ConfigWrongShape_ThrowsInvalidJson() =>
        LoadFails<InvalidModelJsonException>(ZipEdit.Replace(Valid, Root + "config.json", "{\"count\": \"two\"}"));

    [Fact]
    public void Load_ManifestNotJson_ThrowsInvalidJson()
    {
        var ex = LoadFails<InvalidModelJsonException>(ZipEdit.Replace(Valid, "manifest.json", "not json", fixManifest: false));

        Assert.Equal("manifest.json", ex.EntryPath);
    }

    [Fact]
    public void Load_ManifestMissingField_ThrowsInvalidJson() =>
        LoadFails<InvalidModelJsonException>(ZipEdit.EditManifest(Valid, m => m.Remove("entries")));

    [Fact]
    public void Load_ManifestWithBadEntryPath_ThrowsInvalidJson() =>
        LoadFails<InvalidModelJsonException>(ZipEdit.EditManifest(Valid, m => m["entries"]![0]!["path"] = "../schema.json"));

    [Fact]
    public void Load_ManifestRootStageWrong_ThrowsModelFormat()
    {
        var ex = Assert.ThrowsAny<ModelFormatException>(() => TestModels.Load(ZipEdit.EditManifest(Valid, m => m["rootStage"] = "stages/0000-Other/"), out _));

        Assert.Contains("root stage", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_SchemaUnknownType_ThrowsInvalidJson()
    {
        string schema = ZipEdit.Text(Valid, "schema.json").Replace("\"Int64\"", "\"Int128\"", StringComparison.Ordinal);

        var ex = LoadFails<InvalidModelJsonException>(ZipEdit.Replace(Valid, "schema.json", schema));

        Assert.Contains("Int128", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_StageJsonSignatureDisagreesWithFolder_ThrowsModelFormat()
    {
        string stage = ZipEdit.Text(Valid, Vocab + "stage.json").Replace("Test.Vocab", "Test.Affine", StringComparison.Ordinal);

        var ex = Assert.ThrowsAny<ModelFormatException>(() => TestModels.Load(ZipEdit.Replace(Valid, Vocab + "stage.json", stage), out _));

        Assert.Contains("folder", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_StageJsonMissingSignature_ThrowsInvalidJson() =>
        LoadFails<InvalidModelJsonException>(ZipEdit.Replace(Valid, Vocab + "stage.json", "{\"version\":1,\"minReadableVersion\":1}"));

    [Fact]
    public void Load_LoaderThrowsNonModelError_WrapsInModelFormat()
    {
        var vocab = new VocabStage("Text", "Tokens", TestModels.Vocabulary);
        byte[] zip = TestModels.SaveToBytes(new ChainStage(vocab, new ThrowingStage { ThrowOnSave = false }));

        var ex = Assert.ThrowsAny<ModelFormatException>(() => TestModels.Load(zip, out _));

        Assert.IsType<InvalidOperationException>(ex.InnerException);
        Assert.Contains("Test.Throwing", ex.Message, StringComparison.Ordinal);
    }
}
