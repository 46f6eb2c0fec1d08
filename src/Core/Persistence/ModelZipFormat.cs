// The model .zip format: names, versions, JSON records and settings shared by the writer and the reader.
// Layout (documented in full in docs/model-zip.md; bump FormatVersion on any change a v1 reader would misread):
//   schema.json                          input schema: columns (name, type, vector dims, hidden) + annotations
//   stages/0000-<Signature>/stage.json   signature, version, minReadableVersion, assembly registering the loader
//   stages/0000-<Signature>/config.json  the stage's config (WriteConfig)
//   stages/0000-<Signature>/<name>.json | <name>.safetensors | <name>.bin    further entries of the stage
//   stages/0000-<Signature>/<name>-<Signature>/...                          a nested stage (WriteStage)
//   manifest.json                        written last: format, versions, creation time, root stage folder,
//                                        and every other entry's path, size and SHA-256
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace MLNet.Transformer.Persistence;

/// <summary>Constants, records and JSON settings of the model .zip format.</summary>
internal static partial class ModelZipFormat
{
    /// <summary>The value of <c>manifest.json</c>'s <c>format</c> field.</summary>
    public const string FormatSignature = "MLNet.Transformer.Model";

    /// <summary>The format version this library writes and the newest it reads.</summary>
    public const int FormatVersion = 1;

    /// <summary>The oldest reader version that can read what this library writes.</summary>
    public const int MinReaderVersion = 1;

    public const string ManifestPath = "manifest.json";
    public const string SchemaPath = "schema.json";
    public const string StagesFolder = "stages/";
    public const string RootStageName = "0000";
    public const string StageFile = "stage.json";
    public const string ConfigFile = "config.json";
    public const string JsonExtension = ".json";
    public const string TensorsExtension = ".safetensors";
    public const string BytesExtension = ".bin";

    /// <summary>Largest manifest accepted (bytes); guards against decompression bombs.</summary>
    public const int MaxManifestLength = 64 << 20;

    /// <summary>Every entry's zip timestamp: fixed, so the same model gives the same bytes.</summary>
    public static readonly DateTimeOffset EntryTimestamp = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>JSON settings of every entry: camelCase, indented with '\n', NaN/Infinity allowed.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        NewLine = "\n",
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        MaxDepth = 64,
    };

    /// <summary>Stage signature: a letter, then letters, digits, '_' or '.' (no '-', which separates folder names).</summary>
    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_.]{0,127}$", RegexOptions.CultureInvariant)]
    public static partial Regex SignaturePattern();

    /// <summary>Entry and nested-stage name: letters, digits and '_' (no '.', no '-').</summary>
    [GeneratedRegex("^[A-Za-z0-9_]{1,128}$", RegexOptions.CultureInvariant)]
    public static partial Regex NamePattern();

    /// <summary>A simple assembly name as recorded in stage.json (no path, no version or culture).</summary>
    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,255}$", RegexOptions.CultureInvariant)]
    public static partial Regex AssemblyNamePattern();

    public static void CheckSignature(string signature)
    {
        ArgumentNullException.ThrowIfNull(signature);
        if (!SignaturePattern().IsMatch(signature))
        {
            throw new ArgumentException(
                $"Stage signature '{signature}' is invalid: use a letter followed by letters, digits, '_' or '.' (at most 128).",
                nameof(signature));
        }
    }

    public static void CheckName(string name, string paramName)
    {
        ArgumentNullException.ThrowIfNull(name, paramName);
        if (!NamePattern().IsMatch(name))
        {
            throw new ArgumentException(
                $"Entry name '{name}' is invalid: use 1-128 letters, digits or '_' (the extension is added).", paramName);
        }
    }

    public static string StageFolder(string parentFolder, string name, string signature) => $"{parentFolder}{name}-{signature}/";

    public static string Sha256Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary><c>manifest.json</c>.</summary>
    internal sealed record Manifest(
        string Format,
        int FormatVersion,
        int MinReaderVersion,
        string LibraryVersion,
        DateTimeOffset CreatedUtc,
        string RootStage,
        IReadOnlyList<ManifestEntry> Entries);

    /// <summary>One entry of the manifest: path in the zip, uncompressed size and SHA-256 (lowercase hex).</summary>
    internal sealed record ManifestEntry(string Path, long Size, string Sha256);

    /// <summary><c>stage.json</c>.</summary>
    internal sealed record StageInfo(string Signature, int Version, int MinReadableVersion, string? Assembly);
}
