// Tests of LoadFromEnumerable / CreateEnumerable: member mapping, attributes, laziness and round trips.
using MLNet.Transformer.Data;

namespace MLNet.Transformer.Tests.Data;

public class EnumerableDataViewTests
{
    private sealed class Example
    {
        public string Name { get; set; } = "";

        [ColumnName("Score")]
        public float Value { get; set; }

        public int Count { get; set; }

        public long Big { get; set; }

        public double Precise { get; set; }

        public bool Flag { get; set; }

        [VectorType(3)]
        public float[] Features { get; set; } = [];

        public int[] Ids { get; set; } = [];

        [NoColumn]
        public string Ignored { get; set; } = "";
    }

    private static Example[] Rows() =>
    [
        new() { Name = "emma", Value = 1.5f, Count = 3, Big = 1L << 40, Precise = 0.1, Flag = true, Features = [1, 2, 3], Ids = [4, 5] },
        new() { Name = "olivia", Value = -2f, Count = 0, Big = -1, Precise = double.NaN, Flag = false, Features = [0, 0, 1], Ids = [] },
    ];

    [Fact]
    public void LoadFromEnumerable_ClassWithAttributes_MapsColumnsAndTypes()
    {
        var view = new MLContext(1).Data.LoadFromEnumerable(Rows());

        Assert.Equal(["Name", "Score", "Count", "Big", "Precise", "Flag", "Features", "Ids"], view.Schema.Select(c => c.Name));
        Assert.Equal(TextDataViewType.Instance, view.Schema["Name"].Type);
        Assert.Equal(NumberDataViewType.Single, view.Schema["Score"].Type);
        Assert.Equal(NumberDataViewType.Int64, view.Schema["Big"].Type);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 3), view.Schema["Features"].Type);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Int32), view.Schema["Ids"].Type);
        Assert.Equal(2, view.GetRowCount());
    }

    [Fact]
    public void CreateEnumerable_AfterLoad_RoundTripsEveryValue()
    {
        var ml = new MLContext(1);
        var rows = Rows();

        var back = ml.Data.CreateEnumerable<Example>(ml.Data.LoadFromEnumerable(rows)).ToList();

        Assert.Equal(2, back.Count);
        for (int i = 0; i < rows.Length; i++)
        {
            Assert.Equal(rows[i].Name, back[i].Name);
            Assert.Equal(rows[i].Value, back[i].Value);
            Assert.Equal(rows[i].Count, back[i].Count);
            Assert.Equal(rows[i].Big, back[i].Big);
            Assert.Equal(rows[i].Precise, back[i].Precise);
            Assert.Equal(rows[i].Flag, back[i].Flag);
            Assert.Equal(rows[i].Features, back[i].Features);
            Assert.Equal(rows[i].Ids, back[i].Ids);
            Assert.Equal("", back[i].Ignored);
        }
    }

    [Fact]
    public void CreateEnumerable_ReuseRowObject_ReturnsSameInstance()
    {
        var ml = new MLContext(1);
        var back = ml.Data.CreateEnumerable<Example>(ml.Data.LoadFromEnumerable(Rows()), reuseRowObject: true)
            .Select(r => (r, r.Name)).ToList();

        Assert.Same(back[0].r, back[1].r);
        Assert.Equal(["emma", "olivia"], back.Select(b => b.Name));
    }

    private sealed class Counting(int n) : IEnumerable<Example>
    {
        public int Enumerations { get; private set; }

        public IEnumerator<Example> GetEnumerator()
        {
            Enumerations++;
            for (int i = 0; i < n; i++)
            {
                yield return new Example { Name = $"n{i}", Features = [0, 0, 0] };
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    [Fact]
    public void LoadFromEnumerable_LazySequence_EnumeratedOncePerCursorOnly()
    {
        var source = new Counting(5);
        var view = new MLContext(1).Data.LoadFromEnumerable(source);
        Assert.Equal(0, source.Enumerations);
        Assert.Null(view.GetRowCount());

        Assert.Equal(5, view.GetColumn<string>("Name").Count());
        Assert.Equal(5, view.GetColumn<string>("Name").Count());

        Assert.Equal(2, source.Enumerations);
    }

    [Fact]
    public void Getter_VectorTypeSizeMismatch_ThrowsSchemaExceptionNamingColumn()
    {
        var view = new MLContext(1).Data.LoadFromEnumerable(new[] { new Example { Features = [1, 2] } });

        var e = Assert.Throws<SchemaException>(() => view.GetColumn<float[]>("Features").ToList());
        Assert.Equal("Features", e.ColumnName);
    }

    private sealed class Unsupported
    {
        public DateTime When { get; set; }
    }

    [Fact]
    public void LoadFromEnumerable_UnsupportedMemberType_ThrowsSchemaException()
    {
        var e = Assert.Throws<SchemaException>(() => new MLContext(1).Data.LoadFromEnumerable(new[] { new Unsupported() }));
        Assert.Contains("When", e.Message, StringComparison.Ordinal);
    }

    private sealed class NameOnly
    {
        public string Name { get; set; } = "";
    }

    private sealed class Missing
    {
        public string Other { get; set; } = "";
    }

    [Fact]
    public void CreateEnumerable_MemberWithoutColumn_ThrowsSchemaExceptionNamingIt()
    {
        var ml = new MLContext(1);
        var view = ml.Data.LoadFromEnumerable(new[] { new NameOnly { Name = "a" } });

        var e = Assert.Throws<SchemaException>(() => ml.Data.CreateEnumerable<Missing>(view));
        Assert.Equal("Other", e.ColumnName);
    }

    [Fact]
    public void GetGetter_InactiveColumnOrWrongType_ThrowsSchemaException()
    {
        var view = new MLContext(1).Data.LoadFromEnumerable(Rows());
        using var cursor = view.GetRowCursor([view.Schema["Name"]]);

        Assert.True(cursor.IsColumnActive(view.Schema["Name"]));
        Assert.False(cursor.IsColumnActive(view.Schema["Count"]));
        Assert.Throws<SchemaException>(() => cursor.GetGetter<int>(view.Schema["Count"]));
        Assert.Throws<SchemaException>(() => cursor.GetGetter<int>(view.Schema["Name"]));
    }

    [Fact]
    public void Preview_TwoRows_ListsValuesByNameAndFormatsReadably()
    {
        var preview = new MLContext(1).Data.LoadFromEnumerable(Rows()).Preview();

        Assert.Equal(2, preview.RowView.Count);
        Assert.Equal("olivia", preview.RowView[1]["Name"]);
        Assert.Equal(new[] { 4, 5 }, (int[])preview.RowView[0]["Ids"]!);
        Assert.Equal(8, preview.ColumnView.Count);
        string text = preview.ToString();
        Assert.Contains("Name: \"emma\"", text, StringComparison.Ordinal);
        Assert.Contains("Ids: [4, 5]", text, StringComparison.Ordinal);
        Assert.Contains("Score: 1.5", text, StringComparison.Ordinal);
    }
}
