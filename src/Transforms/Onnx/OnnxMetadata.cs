// The metadata_props of an exported model: format version, architecture, vocabularies, special-token ids and
// columns, each under its own key as JSON so that other tools (onnx in Python, Netron) can read them.
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using MLNet.Transformer.Engine;
using MLNet.Transformer.LanguageModeling;
using Onnx;

namespace MLNet.Transformer.Onnx;

/// <summary>Writes and reads the <c>metadata_props</c> of an exported next-character model.</summary>
internal static class OnnxMetadata
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Writes the description of member 0 (<paramref name="info"/>) and the architectures of the other members.</summary>
    public static void Write(ModelProto model, NextCharacterModelInfo info, IReadOnlyList<TransformerModelConfig> otherMembers)
    {
        void Put(string key, string value) => model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        int version = otherMembers.Count == 0 ? OnnxExporter.SingleModelFormatVersion : OnnxExporter.FormatVersion;
        Put(OnnxNames.FormatVersionKey, version.ToString(CultureInfo.InvariantCulture));
        if (otherMembers.Count > 0)
        {
            Put(OnnxNames.EnsembleKey, JsonSerializer.Serialize(otherMembers, Json));
        }

        Put(OnnxNames.ConfigKey, JsonSerializer.Serialize(info.Architecture, Json));
        Put(OnnxNames.VocabularyKey, JsonSerializer.Serialize(info.Vocabulary, Json));
        if (info.SourceVocabulary is not null)
        {
            Put(OnnxNames.SourceVocabularyKey, JsonSerializer.Serialize(info.SourceVocabulary, Json));
        }

        Put(OnnxNames.SpecialTokensKey, JsonSerializer.Serialize(new SpecialTokens(info.PadId, info.BosId, info.EosId, info.UnkId), Json));
        Put(OnnxNames.ColumnsKey, JsonSerializer.Serialize(new Columns(info.TextColumnName, info.SourceColumnName, info.SelfSource, info.TrainedOn, info.Normalize, info.LowerCase), Json));
    }

    /// <summary>
    /// Rebuilds the model description and the architectures of an ensemble's other members (none for a single model);
    /// <paramref name="fail"/> makes the typed error for a message and a field.
    /// </summary>
    public static (NextCharacterModelInfo Info, IReadOnlyList<TransformerModelConfig> OtherMembers) Read(ModelProto model, Func<string, string, Exception> fail)
    {
        var props = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in model.MetadataProps)
        {
            if (!props.TryAdd(p.Key, p.Value))
            {
                throw fail($"metadata_props holds '{p.Key}' twice.", Field(p.Key));
            }
        }

        string Get(string key) => props.TryGetValue(key, out var v)
            ? v
            : throw fail($"metadata_props has no '{key}': the file was not exported by MLNet.Transformer, or its metadata was stripped.", Field(key));

        string versionText = Get(OnnxNames.FormatVersionKey);
        if (!int.TryParse(versionText, NumberStyles.None, CultureInfo.InvariantCulture, out int version) || version < 1)
        {
            throw fail($"metadata_props '{OnnxNames.FormatVersionKey}' is '{versionText}', not a positive integer.", Field(OnnxNames.FormatVersionKey));
        }

        if (version > OnnxExporter.FormatVersion)
        {
            throw fail(
                $"The model's format version is {version}; this library reads versions up to {OnnxExporter.FormatVersion}. Update MLNet.Transformer to read it.",
                Field(OnnxNames.FormatVersionKey));
        }

        var config = Parse<TransformerModelConfig>(OnnxNames.ConfigKey, Get(OnnxNames.ConfigKey), fail);
        try
        {
            config.Validate();
        }
        catch (TransformerArgumentException e)
        {
            throw fail($"metadata_props '{OnnxNames.ConfigKey}' is not a valid architecture: {e.Message}", Field(OnnxNames.ConfigKey));
        }

        var vocabulary = Parse<string[]>(OnnxNames.VocabularyKey, Get(OnnxNames.VocabularyKey), fail);
        string[]? sourceVocabulary = props.TryGetValue(OnnxNames.SourceVocabularyKey, out var sv)
            ? Parse<string[]>(OnnxNames.SourceVocabularyKey, sv, fail)
            : null;
        var special = Parse<SpecialTokens>(OnnxNames.SpecialTokensKey, Get(OnnxNames.SpecialTokensKey), fail);
        var columns = Parse<Columns>(OnnxNames.ColumnsKey, Get(OnnxNames.ColumnsKey), fail);
        var info = new NextCharacterModelInfo
        {
            Architecture = config,
            TextColumnName = columns.Text,
            Normalize = columns.Normalize,
            LowerCase = columns.LowerCase,
            SourceColumnName = columns.Source,
            SelfSource = columns.SelfSource,
            Vocabulary = vocabulary,
            SourceVocabulary = sourceVocabulary,
            PadId = special.Pad,
            BosId = special.Bos,
            EosId = special.Eos,
            UnkId = special.Unk,
            TrainedOn = columns.TrainedOn,
        };
        CheckVocabularies(info, fail);
        TransformerModelConfig[] others = [];
        if (props.TryGetValue(OnnxNames.EnsembleKey, out var ensemble))
        {
            if (version < OnnxExporter.FormatVersion)
            {
                throw fail($"metadata_props '{OnnxNames.EnsembleKey}' appears in a format version {version} file; ensembles are version {OnnxExporter.FormatVersion}.", Field(OnnxNames.EnsembleKey));
            }

            others = Parse<TransformerModelConfig[]>(OnnxNames.EnsembleKey, ensemble, fail);
            for (int i = 0; i < others.Length; i++)
            {
                try
                {
                    others[i].Validate();
                }
                catch (TransformerArgumentException e)
                {
                    throw fail($"metadata_props '{OnnxNames.EnsembleKey}' member {i + 1} is not a valid architecture: {e.Message}", Field(OnnxNames.EnsembleKey));
                }

                if (SharedArchitectureDifference(config, others[i]) is { } difference)
                {
                    throw fail($"metadata_props '{OnnxNames.EnsembleKey}' member {i + 1} differs from member 0 in {difference}.", Field(OnnxNames.EnsembleKey));
                }
            }
        }

        return (info, others);
    }

    /// <summary>
    /// What an ensemble member's architecture may not change from member 0's, because the members read one input and
    /// their probabilities are averaged: null when nothing differs, else what does (named for an error message).
    /// </summary>
    public static string? SharedArchitectureDifference(TransformerModelConfig first, TransformerModelConfig other) =>
        other.Kind != first.Kind ? "kind (decoder-only or encoder-decoder)"
        : other.VocabSize != first.VocabSize ? $"vocabulary size ({other.VocabSize}, member 0: {first.VocabSize})"
        : other.PadId != first.PadId ? $"PAD id ({other.PadId}, member 0: {first.PadId})"
        : other.MaxLength != first.MaxLength ? $"its maximum length ({other.MaxLength}, member 0: {first.MaxLength})"
        : other.EffectiveSourceVocabSize != first.EffectiveSourceVocabSize ? $"source vocabulary size ({other.EffectiveSourceVocabSize}, member 0: {first.EffectiveSourceVocabSize})"
        : null;

    /// <summary>Checks that the vocabularies, special ids and source wiring agree with the architecture.</summary>
    public static void CheckVocabularies(NextCharacterModelInfo info, Func<string, string, Exception> fail)
    {
        var cfg = info.Architecture;
        if (info.Vocabulary is null || info.Vocabulary.Count != cfg.VocabSize)
        {
            throw fail($"The vocabulary has {info.Vocabulary?.Count ?? 0} tokens but the architecture's VocabSize is {cfg.VocabSize}.", Field(OnnxNames.VocabularyKey));
        }

        foreach (var (name, id) in new[] { ("pad", info.PadId), ("bos", info.BosId), ("eos", info.EosId) })
        {
            if (id < 0 || id >= cfg.VocabSize)
            {
                throw fail($"The special token id {name} = {id} lies outside the vocabulary [0, {cfg.VocabSize}).", Field(OnnxNames.SpecialTokensKey));
            }
        }

        if (info.UnkId < -1 || info.UnkId >= cfg.VocabSize)
        {
            throw fail($"The special token id unk = {info.UnkId} is neither -1 (none) nor in [0, {cfg.VocabSize}).", Field(OnnxNames.SpecialTokensKey));
        }

        if (info.PadId != cfg.PadId)
        {
            throw fail($"The special token id pad = {info.PadId} differs from the architecture's PadId = {cfg.PadId}.", Field(OnnxNames.SpecialTokensKey));
        }

        if (info.HasSource)
        {
            if (info.SourceVocabulary is null || info.SourceVocabulary.Count != cfg.EffectiveSourceVocabSize)
            {
                throw fail(
                    $"An encoder-decoder model with a source column needs a source vocabulary of {cfg.EffectiveSourceVocabSize} tokens; it has {info.SourceVocabulary?.Count ?? 0}.",
                    Field(OnnxNames.SourceVocabularyKey));
            }

            if (string.IsNullOrEmpty(info.SourceColumnName))
            {
                throw fail("An encoder-decoder model with a source column must name it.", Field(OnnxNames.ColumnsKey));
            }
        }
        else if (info.IsEncoderDecoder && cfg.EffectiveSourceVocabSize != cfg.VocabSize)
        {
            throw fail(
                $"A single-column encoder-decoder reads its own tokens, so SourceVocabSize ({cfg.EffectiveSourceVocabSize}) must equal VocabSize ({cfg.VocabSize}).",
                Field(OnnxNames.ConfigKey));
        }
    }

    private static string Field(string key) => $"metadata_props[{key}]";

    private static T Parse<T>(string key, string json, Func<string, string, Exception> fail)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Json) ?? throw fail($"metadata_props '{key}' is null.", Field(key));
        }
        catch (JsonException e)
        {
            throw fail($"metadata_props '{key}' is not valid JSON of the expected form: {e.Message}", Field(key));
        }
    }

    private sealed record SpecialTokens(int Pad, int Bos, int Eos, int Unk);

    private sealed record Columns(string Text, string? Source, bool SelfSource, string TrainedOn, bool Normalize, bool LowerCase);
}
