// A per-test temporary folder for the files the data tests write; deleted on dispose.
using System.Text;

namespace MLNet.Transformer.Tests;

/// <summary>A temporary folder; <see cref="Write"/> creates files in it.</summary>
internal sealed class TempFiles : IDisposable
{
    public TempFiles()
    {
        Folder = Path.Combine(Path.GetTempPath(), "mlt-core-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
    }

    public string Folder { get; }

    /// <summary>Writes <paramref name="content"/> as UTF-8, with a byte order mark when <paramref name="bom"/>.</summary>
    public string Write(string name, string content, bool bom = false)
    {
        string path = Path.Combine(Folder, name);
        File.WriteAllText(path, content, new UTF8Encoding(bom));
        return path;
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
