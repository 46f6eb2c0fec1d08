// The content hash an export carries in its metadata: SHA-256 over the model serialized without the hash entry, so
// that a flipped bit anywhere in the graph, the weights or the metadata is caught even when the container's checksum
// was recomputed (a re-zipped model, a copied .onnx).
using System.Security.Cryptography;
using Google.Protobuf;
using Onnx;

namespace MLNet.Transformer.Onnx;

/// <summary>Writes and checks <see cref="OnnxNames.ContentHashKey"/>.</summary>
internal static class OnnxContentHash
{
    /// <summary>Adds the hash of <paramref name="model"/> as its last metadata entry (replacing an older one).</summary>
    public static void Stamp(ModelProto model)
    {
        foreach (var old in model.MetadataProps.Where(p => p.Key == OnnxNames.ContentHashKey).ToList())
        {
            model.MetadataProps.Remove(old);
        }

        string hash = Compute(model);
        model.MetadataProps.Add(new StringStringEntryProto { Key = OnnxNames.ContentHashKey, Value = hash });
    }

    /// <summary>
    /// Checks the hash of a model read back; a missing entry, or one that does not match the content, is refused
    /// through <paramref name="fail"/>.
    /// </summary>
    public static void Verify(ModelProto model, Func<string, string, Exception> fail)
    {
        var entries = model.MetadataProps.Where(p => p.Key == OnnxNames.ContentHashKey).ToList();
        string field = $"metadata_props[{OnnxNames.ContentHashKey}]";
        if (entries.Count == 0)
        {
            throw fail($"has no content hash '{OnnxNames.ContentHashKey}': its metadata was stripped or damaged, or it was exported by a version of MLNet.Transformer older than the hash (export it again).", field);
        }

        if (entries.Count > 1)
        {
            throw fail($"metadata_props holds '{OnnxNames.ContentHashKey}' {entries.Count} times.", field);
        }

        int index = model.MetadataProps.IndexOf(entries[0]);
        model.MetadataProps.RemoveAt(index);
        string actual;
        try
        {
            actual = Compute(model);
        }
        finally
        {
            model.MetadataProps.Insert(index, entries[0]);
        }

        if (!string.Equals(actual, entries[0].Value, StringComparison.Ordinal))
        {
            throw fail(
                $"is damaged: its content hashes to SHA-256 {actual}, but the file records {Shorten(entries[0].Value)} (a weight, the graph or the metadata changed after export).",
                field);
        }
    }

    private static string Compute(ModelProto model) => Convert.ToHexStringLower(SHA256.HashData(model.ToByteArray()));

    private static string Shorten(string s) => s.Length <= 80 ? s : s[..80] + "...";
}
