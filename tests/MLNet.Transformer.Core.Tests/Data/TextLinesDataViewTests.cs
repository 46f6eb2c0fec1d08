// Tests of LoadFromTextLines: BOM handling, empty lines, re-reading, and streaming a large file.
using System.Text;
using MLNet.Transformer.Data;

namespace MLNet.Transformer.Tests.Data;

public class TextLinesDataViewTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LoadFromTextLines_WithOrWithoutBom_ReadsSameLines(bool bom)
    {
        using var tmp = new TempFiles();
        string path = tmp.Write("names.txt", "émma\r\nolivia\n\nava\n", bom);

        var view = new MLContext(1).Data.LoadFromTextLines(path);

        Assert.Equal("Text", view.Schema[0].Name);
        Assert.Equal(["émma", "olivia", "ava"], view.GetColumn<string>("Text"));
    }

    [Fact]
    public void LoadFromTextLines_SkipEmptyFalse_KeepsEmptyAndWhitespaceLines()
    {
        using var tmp = new TempFiles();
        string path = tmp.Write("l.txt", "a\n\n  \nb");

        var view = new MLContext(1).Data.LoadFromTextLines(path, "Name", skipEmpty: false);

        Assert.Equal(["a", "", "  ", "b"], view.GetColumn<string>("Name"));
    }

    [Fact]
    public void LoadFromTextLines_MissingFile_ThrowsFileNotFoundNamingPath()
    {
        var e = Assert.Throws<FileNotFoundException>(() => new MLContext(1).Data.LoadFromTextLines("no/such/file.txt"));
        Assert.Contains("no/such/file.txt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cursor_MoreLinesThanOneBatch_PositionsAreContiguous()
    {
        using var tmp = new TempFiles();
        string path = tmp.Write("n.txt", string.Join("\n", Enumerable.Range(0, 2500).Select(i => $"line{i}")));
        var view = new MLContext(1).Data.LoadFromTextLines(path);

        using var cursor = view.GetRowCursor(view.Schema);
        var getter = cursor.GetGetter<string>(view.Schema[0]);
        long expected = 0;
        while (cursor.MoveNext())
        {
            string s = "";
            getter(ref s);
            Assert.Equal(expected, cursor.Position);
            Assert.Equal($"line{expected}", s);
            expected++;
        }

        Assert.Equal(2500, expected);
        Assert.Equal(-1, cursor.Position);
    }

    [Fact]
    public void Cursor_200kLineFile_StreamsWithHeapGrowthFarBelowFileSize()
    {
        using var tmp = new TempFiles();
        string path = Path.Combine(tmp.Folder, "big.txt");
        const int lines = 200_000;
        using (var w = new StreamWriter(path, false, new UTF8Encoding(false)))
        {
            for (int i = 0; i < lines; i++)
            {
                w.Write("example number ");
                w.Write(i);
                w.WriteLine(" with some padding text to make the line about a hundred characters long.");
            }
        }

        long fileSize = new FileInfo(path).Length;
        var view = new MLContext(1).Data.LoadFromTextLines(path);
        long baseline = GC.GetTotalMemory(forceFullCollection: true);
        long peak = 0;
        long count = 0;
        long totalChars = 0;
        using (var cursor = view.GetRowCursor(view.Schema))
        {
            var getter = cursor.GetGetter<string>(view.Schema[0]);
            while (cursor.MoveNext())
            {
                string s = "";
                getter(ref s);
                totalChars += s.Length;
                if (++count % 50_000 == 0)
                {
                    peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true) - baseline);
                }
            }
        }

        Assert.Equal(lines, count);
        Assert.True(totalChars * 2 > fileSize, "the text read is at least as large as the file");
        Assert.True(peak < fileSize / 10, $"heap grew by {peak} bytes while reading a {fileSize}-byte file");
    }
}
