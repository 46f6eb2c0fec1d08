// Test helper: rewrites a model .zip entry by entry (remove, add, rename, replace, edit the manifest),
// optionally re-recording sizes and SHA-256 in the manifest so that only the deliberate defect remains.
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace MLNet.Transformer.Tests.Persistence;

internal sealed class ZipItem(string name, byte[] data)
{
    public string Name { get; set; } = name;

    public byte[] Data { get; set; } = data;
}

internal static class ZipEdit
{
    public static List<ZipItem> Entries(byte[] zip)
    {
        using var archive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read);
        return archive.Entries.Select(e =>
        {
            using var s = e.Open();
            var m = new MemoryStream();
            s.CopyTo(m);
            return new ZipItem(e.FullName, m.ToArray());
        }).ToList();
    }

    public static byte[] Build(IEnumerable<ZipItem> entries)
    {
        var output = new MemoryStream();
        using (var archive = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var item in entries)
            {
                using var s = archive.CreateEntry(item.Name).Open();
                s.Write(item.Data);
            }
        }

        return output.ToArray();
    }

    public static byte[] Edit(byte[] zip, Action<List<ZipItem>> edit, bool fixManifest = false)
    {
        var entries = Entries(zip);
        edit(entries);
        if (fixManifest)
        {
            var manifest = entries.Single(e => e.Name == "manifest.json");
            var json = JsonNode.Parse(manifest.Data)!.AsObject();
            foreach (var node in json["entries"]!.AsArray())
            {
                var item = entries.FirstOrDefault(e => e.Name == (string)node!["path"]!);
                if (item is not null)
                {
                    node!["size"] = item.Data.LongLength;
                    node["sha256"] = Convert.ToHexStringLower(SHA256.HashData(item.Data));
                }
            }

            manifest.Data = Encoding.UTF8.GetBytes(json.ToJsonString());
        }

        return Build(entries);
    }

    public static byte[] Replace(byte[] zip, string name, byte[] data, bool fixManifest = true) =>
        Edit(zip, entries => entries.Single(e => e.Name == name).Data = data, fixManifest);

    public static byte[] Replace(byte[] zip, string name, string text, bool fixManifest = true) =>
        Replace(zip, name, Encoding.UTF8.GetBytes(text), fixManifest);

    public static byte[] EditManifest(byte[] zip, Action<JsonObject> edit) => Edit(zip, entries =>
    {
        var manifest = entries.Single(e => e.Name == "manifest.json");
        var json = JsonNode.Parse(manifest.Data)!.AsObject();
        edit(json);
        manifest.Data = Encoding.UTF8.GetBytes(json.ToJsonString());
    });

    public static string Text(byte[] zip, string name) => Encoding.UTF8.GetString(Entries(zip).Single(e => e.Name == name).Data);
}
