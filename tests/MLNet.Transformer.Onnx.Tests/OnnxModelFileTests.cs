// Reading exported models back: metadata and weights round-trip (a fresh engine model loaded from the initializers
// alone computes bit-identical outputs), the state layout agrees with the engine's, and every kind of bad file or
// bad state dict gets a typed error naming the file and the field.

using Google.Protobuf;
using MLNet.Transformer.Engine;
using Onnx;
using static MLNet.Transformer.Onnx.Tests.OnnxTestKit;
using static MLNet.Transformer.TestKit.SmallModels;

namespace MLNet.Transformer.Onnx.Tests;

public sealed class OnnxModelFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mlt-onnx-file-").FullName;

    public static TheoryData<string> Layouts() => ["decoder_postln", "decoder_preln", "encdec_postln", "encdec_preln_source13"];

    private static TransformerModelConfig Layout(string name) => name switch
    {
        "decoder_postln" => SmallDecoder() with { Layers = 3 },
        "decoder_preln" => SmallDecoder() with { NormFirst = true },
        "encdec_postln" => SmallEncoderDecoder() with { EncoderLayers = 3, Layers = 1 },
        _ => SmallEncoderDecoder() with { NormFirst = true, SourceVocabSize = 13 },
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void StateLayout_Config_MatchesTheEngineDeclarations(string name)
    {
        var cfg = Layout(name);
        using var model = TransformerModel.Create(cfg);
        Assert.Equal(
            model.StateInfo.Select(t => t.ToString()),
            StateLayout.For(cfg).Select(t => t.ToString()));
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Read_ExportedFile_GivesBackMetadataAndWeightsThatScoreIdentically(string name)
    {
        var cfg = Layout(name) with { Seed = 17 };
        var info = Info(cfg);
        using var model = TransformerModel.Create(cfg);
        var path = Path.Combine(_folder, "m.onnx");
        OnnxExporter.Save(OnnxExporter.Export(info, model.ExportState().AsReadOnly()), path);

        var file = OnnxModelFile.Read(path);
        Assert.Equal(info.Architecture, file.Info.Architecture);
        Assert.Equal(info.Vocabulary, file.Info.Vocabulary);
        Assert.Equal(info.SourceVocabulary, file.Info.SourceVocabulary);
        Assert.Equal((info.PadId, info.BosId, info.EosId, info.UnkId), (file.Info.PadId, file.Info.BosId, file.Info.EosId, file.Info.UnkId));
        Assert.Equal((info.TextColumnName, info.SourceColumnName, info.SelfSource), (file.Info.TextColumnName, file.Info.SourceColumnName, file.Info.SelfSource));
        Assert.Equal(OnnxExporter.Opset, file.Opset);
        Assert.Contains("layers.0.self_attn.in_proj_weight", file.State.Keys.Select(k => k.Replace("encoder.", "", StringComparison.Ordinal).Replace("decoder.", "", StringComparison.Ordinal)));

        // Resume: a fresh engine model (other seed) loaded from the file's initializers computes what the original did.
        using var resumed = TransformerModel.Create(cfg with { Seed = 99 });
        resumed.ImportState(file.State.Select(kv => KeyValuePair.Create(kv.Key, kv.Value)));
        long[] tokens = [1, 5, 6, 7, 1, 4, 0, 0];
        var batch = cfg.Kind == ModelKind.Decoder
            ? new TokenBatch(tokens, 2, 4)
            : new TokenBatch(tokens, 2, 4, default, tokens, 4);
        Assert.Equal(model.Forward(batch).Logits!.GetArray(), resumed.Forward(batch).Logits!.GetArray());
    }

    [Fact]
    public void Export_StateDictThatDisagreesWithTheArchitecture_NamesTheTensor()
    {
        var cfg = SmallDecoder();
        using var model = TransformerModel.Create(cfg);
        var info = Info(cfg);

        var missing = model.ExportState();
        missing.Remove("lm_head.bias");
        var e1 = Assert.Throws<TransformerArgumentException>(() => OnnxExporter.Export(info, missing.AsReadOnly()));
        Assert.Contains("'lm_head.bias'", e1.Message, StringComparison.Ordinal);

        var wrongShape = model.ExportState();
        wrongShape["layers.1.linear1.weight"] = ([12, 16], new float[12 * 16]);
        var e2 = Assert.Throws<TransformerArgumentException>(() => OnnxExporter.Export(info, wrongShape.AsReadOnly()));
        Assert.Contains("'layers.1.linear1.weight' has shape [12, 16]", e2.Message, StringComparison.Ordinal);

        var extra = model.ExportState();
        extra["layers.2.norm1.weight"] = ([16], new float[16]);
        var e3 = Assert.Throws<TransformerArgumentException>(() => OnnxExporter.Export(info, extra.AsReadOnly()));
        Assert.Contains("'layers.2.norm1.weight'", e3.Message, StringComparison.Ordinal);

        var e4 = Assert.Throws<TransformerArgumentException>(() => OnnxExporter.Export(info with { Vocabulary = ["a", "b"] }, model.ExportState().AsReadOnly()));
        Assert.Contains("VocabSize is 11", e4.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> Corruptions() => new()
    {
        { "truncated", "ModelProto" },
        { "text", "ModelProto" },
        { "empty", "graph" },
        { "newer_format", "metadata_props[mlnet_transformer.format_version]" },
        { "no_config", "metadata_props[mlnet_transformer.config]" },
        { "bad_config_json", "metadata_props[mlnet_transformer.config]" },
        { "config_heads_do_not_divide", "metadata_props[mlnet_transformer.config]" },
        { "config_max_length_overflows", "metadata_props[mlnet_transformer.config]" },
        { "vocabulary_too_short", "metadata_props[mlnet_transformer.vocabulary]" },
        { "initializer_missing", "graph.initializer[layers.0.linear2.bias]" },
        { "initializer_shape", "graph.initializer[tok_emb.weight]" },
        { "initializer_truncated", "graph.initializer[lm_head.weight]" },
        { "config_disagrees_with_initializers", "graph.initializer[layers.0.linear1.weight]" },
        { "opset_99", "opset_import" },
        { "opset_missing", "opset_import" },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void Read_DamagedFile_ThrowsTypedErrorNamingFileAndField(string corruption, string field)
    {
        var cfg = SmallDecoder();
        using var model = TransformerModel.Create(cfg);
        var proto = OnnxExporter.Export(Info(cfg), model.ExportState().AsReadOnly());
        byte[] good = proto.ToByteArray();
        var path = Path.Combine(_folder, corruption + ".onnx");
        File.WriteAllBytes(path, Corrupt(corruption, proto, good));

        var e = Assert.Throws<OnnxModelFormatException>(() => OnnxModelFile.Read(path));
        Assert.Equal(path, e.FilePath);
        Assert.Equal(field, e.Field);
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        // The scorer reads through the same checks before ONNX Runtime sees the bytes.
        Assert.Throws<OnnxModelFormatException>(() => OnnxNextCharacterScorer.Load(path));
    }

    [Fact]
    public void Read_MissingFile_ThrowsTypedErrorNamingTheFile()
    {
        var path = Path.Combine(_folder, "absent.onnx");
        var e = Assert.Throws<OnnxModelFormatException>(() => OnnxModelFile.Read(path));
        Assert.Equal(path, e.FilePath);
    }

    private static byte[] Corrupt(string corruption, ModelProto proto, byte[] good)
    {
        void SetMeta(string key, string? value)
        {
            var entry = proto.MetadataProps.Single(p => p.Key == key);
            if (value is null)
            {
                proto.MetadataProps.Remove(entry);
            }
            else
            {
                entry.Value = value;
            }
        }

        TensorProto Init(string name) => proto.Graph.Initializer.Single(t => t.Name == name);
        string config = proto.MetadataProps.Single(p => p.Key == OnnxNames.ConfigKey).Value;
        switch (corruption)
        {
            case "truncated":
                return good[..(good.Length / 2)];
            case "text":
                return "this is not an ONNX model, just some text\n"u8.ToArray();
            case "empty":
                return [];
            case "newer_format":
                SetMeta(OnnxNames.FormatVersionKey, (OnnxExporter.FormatVersion + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
                break;
            case "no_config":
                SetMeta(OnnxNames.ConfigKey, null);
                break;
            case "bad_config_json":
                SetMeta(OnnxNames.ConfigKey, "{\"kind\": ");
                break;
            case "config_heads_do_not_divide":
                SetMeta(OnnxNames.ConfigKey, config.Replace("\"heads\":4", "\"heads\":3", StringComparison.Ordinal));
                break;
            case "config_max_length_overflows":
                Assert.Contains("\"maxLength\":12", config, StringComparison.Ordinal);
                SetMeta(OnnxNames.ConfigKey, config.Replace("\"maxLength\":12", "\"maxLength\":2147483647", StringComparison.Ordinal));
                break;
            case "vocabulary_too_short":
                SetMeta(OnnxNames.VocabularyKey, "[\"<PAD>\",\"a\"]");
                break;
            case "initializer_missing":
                proto.Graph.Initializer.Remove(Init("layers.0.linear2.bias"));
                break;
            case "initializer_shape":
                Init("tok_emb.weight").Dims[0] = 12;
                break;
            case "initializer_truncated":
                Init("lm_head.weight").RawData = ByteString.CopyFrom(Init("lm_head.weight").RawData.Span[..8]);
                break;
            case "config_disagrees_with_initializers":
                SetMeta(OnnxNames.ConfigKey, config.Replace("\"feedForwardDim\":24", "\"feedForwardDim\":32", StringComparison.Ordinal));
                break;
            case "opset_99":
                proto.OpsetImport[0].Version = 99;
                break;
            case "opset_missing":
                proto.OpsetImport.Clear();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(corruption), corruption, null);
        }

        return proto.ToByteArray();
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
