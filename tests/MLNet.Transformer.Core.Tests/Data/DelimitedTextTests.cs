// Tests of the CSV/TSV loader: RFC 4180 quoting, column selection and types, BOM, and typed errors.
using MLNet.Transformer.Data;

namespace MLNet.Transformer.Tests.Data;

public class DelimitedTextTests
{
    private static IDataView Load(string path, TextLoaderOptions options) => new MLContext(1).Data.LoadFromTextFile(path, options);

    [Fact]
    public void LoadFromTextFile_QuotedSeparatorsDoubledQuotesAndNewlines_ParsesFields()
    {
        using var tmp = new TempFiles();
        string path = tmp.Write("q.csv", "name,comment\r\n\"Smith, John\",\"He said \"\"hi\"\"\"\nava,\"line one\nline two\"\n\"\",plain\n");

        var view = Load(path, new TextLoaderOptions());

        Assert.Equal(["Smith, John", "ava", ""], view.GetColumn<string>("name"));
        Assert.Equal(["He said \"hi\"", "line one\nline two", "plain"], view.GetColumn<string>("comment"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LoadFromTextFile_Bom_HeaderNameUnaffected(bool bom)
    {
        using var tmp = new TempFiles();
        string path = tmp.Write("b.csv", "id,name\n1,a\n", bom);

        var view = Load(path, new TextLoaderOptions { Columns = { new("id", DataKind.Int32) } });

        Assert.Equal([1], view.GetColumn<int>("id"));
    }

    [Fact]
    public void LoadFromTextFile_ColumnSelectionAndTypes_ReadsOnlySelectedTyped()
    {
        using var tmp = new TempFiles();
        string path = tmp.Write("t.csv", "a,b,c,d\n1,x,2.5,true\n-7,y,,0\n");

        var view = Load(path, new TextLoaderOptions
        {
            Columns = { new("C", DataKind.Single, "c"), new("a", DataKind.Int64), new("d", DataKind.Boolean) },
        });

        Assert.Equal(["C", "a", "d"], view.Schema.Select(c => c.Name));
        var c = view.GetColumn<float>("C").ToList();
        Assert.Equal(2.5f, c[0]);
        Assert.True(float.IsNaN(c[1]));
        Assert.Equal([1L, -7L], view.GetColumn<long>("a"));
        Assert.Equal([true, false], view.GetColumn<bool>("d"));
    }

    [Fact]
    public void LoadFromTextFile_Tsv_SplitsOnTabsOnly()
    {
        using var tmp = new TempFiles();
        string path = tmp.Write("t.tsv", "text\tlabel\nhello, world\t1\n");

        var view = Load(path, new TextLoaderOptions { Separator = '\t', Columns = { new("text"), new("label", DataKind.Int32) } });

        Assert.Equal(["hello, world"], view.GetColumn<string>("text"));
        Assert.Equal([1], view.GetColumn<int>("label"));
    }

    [Fact]
    public void Cursor_MissingField_ThrowsTextLoaderExceptionWithFileLineAndColumn()
    {
        using var tmp = new TempFiles();
        string path = tmp.Write("m.csv", "name,age\nemma,3\n\"multi\nline\",4\nava\n");

        var view = Load(path, new TextLoaderOptions { Columns = { new("name"), new("age", DataKind.Int32) } });

        var e = Assert.Throws<TextLoaderException>(() => view.GetColumn<string>("name").ToList());
        Assert.Equal(5, e.LineNumber);
        Assert.Equal("age", e.ColumnName);
        Assert.Equal(path, e.FilePath);
        Assert.Contains("line 5", e.Message, StringComparison.Ordinal);
        Assert.Contains("'age'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cursor_AllowMissingFields_ReadsEmptyTextAndNaN()
    {
        using var tmp = new TempFiles();
        string path = tmp.Write("m.csv", "name,score,note\nemma,1.5,x\nava\n");

        var view = Load(path, new TextLoaderOptions
        {
            AllowMissingFields = true,
            Columns = { new("name"), new("score", DataKind.Double), new("note") },
        });

        Assert.Equal(["x", ""], view.GetColumn<string>("note"));
        Assert.True(double.IsNaN(view.GetColumn<double>("score").Last()));
    }

    [Fact]
    public void Cursor_BadInteger_ThrowsNamingLineAndColumn()
    {
        using var tmp = new TempFiles();
        string path = tmp.Write("i.csv", "n\n1\n2x\n");

        var view = Load(path, new TextLoaderOptions { Columns = { new("n", DataKind.Int32) } });

        var e = Assert.Throws<TextLoaderException>(() => view.GetColumn<int>("n").ToList());
        Assert.Equal(3, e.LineNumber);
        Assert.Equal("n", e.ColumnName);
    }

    [Fact]
    public void Cursor_UnclosedQuote_ThrowsNamingRecordLine()
    {
        using var tmp = new TempFiles();
        string path = tmp.Write("u.csv", "a\nok\n\"never closed\nmore\n");

        var view = Load(path, new TextLoaderOptions());

        var e = Assert.Throws<TextLoaderException>(() => view.GetColumn<string>("a").ToList());
        Assert.Equal(3, e.LineNumber);
    }

    [Fact]
    public void Cursor_TooManyFields_Throws()
    {
        using var tmp = new TempFiles();
        string path = tmp.Write("x.csv", "a,b\n1,2,3\n");

        var e = Assert.Throws<TextLoaderException>(() => Load(path, new TextLoaderOptions()).GetColumn<string>("a").ToList());
        Assert.Equal(2, e.LineNumber);
    }

    [Fact]
    public void LoadFromTextFile_UnknownColumn_ThrowsSchemaExceptionNamingIt()
    {
        using var tmp = new TempFiles();
        string path = tmp.Write("h.csv", "a,b\n1,2\n");

        var e = Assert.Throws<SchemaException>(() => Load(path, new TextLoaderOptions { Columns = { new("zzz") } }));
        Assert.Equal("zzz", e.ColumnName);
    }

    [Fact]
    public void LoadFromTextFile_NoHeader_UsesSourceIndexes()
    {
        using var tmp = new TempFiles();
        string path = tmp.Write("n.csv", "1,emma\n2,ava\n");

        var view = Load(path, new TextLoaderOptions { HasHeader = false, Columns = { new("Name") { SourceIndex = 1 } } });

        Assert.Equal(["emma", "ava"], view.GetColumn<string>("Name"));
    }

    [Fact]
    public void LoadFromTextFile_QuotingDisabled_KeepsQuotesLiterally()
    {
        using var tmp = new TempFiles();
        string path = tmp.Write("l.csv", "a\n\"x\"\n");

        var view = Load(path, new TextLoaderOptions { AllowQuoting = false });

        Assert.Equal(["\"x\""], view.GetColumn<string>("a"));
    }

    private sealed class Person
    {
        [ColumnName("name")]
        public string Name { get; set; } = "";

        [ColumnName("age")]
        public int Age { get; set; }
    }

    [Fact]
    public void LoadFromTextFileOfT_HeaderNames_MapsMembersAndRoundTrips()
    {
        using var tmp = new TempFiles();
        string path = tmp.Write("p.csv", "age,extra,name\n3,z,\"Lee, Ann\"\n40,z,bo\n");
        var ml = new MLContext(1);

        var people = ml.Data.CreateEnumerable<Person>(ml.Data.LoadFromTextFile<Person>(path)).ToList();

        Assert.Equal(["Lee, Ann", "bo"], people.Select(p => p.Name));
        Assert.Equal([3, 40], people.Select(p => p.Age));
    }
}
