// AtomicFile writes through a temporary sibling and a rename: a failure mid-write keeps the previous file intact.
using MLNet.Transformer.IO;

namespace MLNet.Transformer.Tests.IO;

public sealed class AtomicFileTests
{
    [Fact]
    public void Write_WriterThrowsMidway_OldFileIntactAndNoTempFileLeft()
    {
        using var tmp = new TempFiles();
        string path = Path.Combine(tmp.Folder, "model.zip");
        AtomicFile.WriteAllText(path, "the saved model");

        var e = Assert.Throws<IOException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[1000]);
            throw new IOException("disk full (simulated)");
        }));

        Assert.Equal("disk full (simulated)", e.Message);
        Assert.Equal("the saved model", File.ReadAllText(path));
        Assert.Equal(["model.zip"], Directory.GetFiles(tmp.Folder).Select(Path.GetFileName));
    }

    [Fact]
    public void Write_Succeeds_ReplacesTheFile()
    {
        using var tmp = new TempFiles();
        string path = Path.Combine(tmp.Folder, "sub", "plot.svg");
        AtomicFile.WriteAllText(path, "one");
        AtomicFile.WriteAllText(path, "two");
        Assert.Equal("two", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }
}
