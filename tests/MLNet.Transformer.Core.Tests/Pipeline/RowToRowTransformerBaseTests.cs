// Tests of the batch mapper base: batching, column activity, pass-through, errors.
using MLNet.Transformer.Data;

namespace MLNet.Transformer.Tests.Pipeline;

public class RowToRowTransformerBaseTests
{
    private sealed class Row
    {
        public string Text { get; set; } = "";

        public int Id { get; set; }
    }

    private static IDataView Data(int n) =>
        new MLContext(1).Data.LoadFromEnumerable(Enumerable.Range(0, n).Select(i => new Row { Text = $"ab{i}", Id = i }).ToList());

    [Fact]
    public void Transform_150RowsBatch64_MapsThreeBatchesAndServesEveryRow()
    {
        using var t = new UpperTransformer("Text", "Up", batchSize: 64);
        var view = t.Transform(Data(150));

        var preview = view.Preview(1000);

        Assert.Equal([(64, 0L, true, true), (64, 64L, true, true), (22, 128L, true, true)], t.Batches);
        Assert.Equal(150, preview.RowView.Count);
        Assert.Equal("AB149", preview.RowView[149]["Up"]);
        Assert.Equal(5, preview.RowView[149]["UpLength"]);
        Assert.Equal(149, preview.RowView[149]["Id"]);
    }

    [Fact]
    public void Cursor_OnlyLengthRequested_UpperColumnNotComputed()
    {
        using var t = new UpperTransformer("Text", "Up", batchSize: 10);
        var view = t.Transform(Data(5));

        Assert.Equal([3, 3, 3, 3, 3], view.GetColumn<int>("UpLength"));
        Assert.Equal([(5, 0L, false, true)], t.Batches);
    }

    [Fact]
    public void Cursor_OnlyInputColumnsRequested_MapperNeverCalled()
    {
        using var t = new UpperTransformer("Text", "Up");
        var view = t.Transform(Data(5));

        Assert.Equal([0, 1, 2, 3, 4], view.GetColumn<int>("Id"));
        Assert.Empty(t.Batches);
    }

    [Fact]
    public void GetOutputSchema_AppendsOutputsAndHidesSameName()
    {
        using var t = new UpperTransformer("Text", "Text");
        var schema = t.GetOutputSchema(Data(1).Schema);

        Assert.Equal(["Text", "Id", "Text", "TextLength"], schema.Select(c => c.Name));
        Assert.True(schema[0].IsHidden);
        Assert.Equal(2, schema["Text"].Index);
    }

    [Fact]
    public void Transform_MissingInputColumn_ThrowsSchemaException()
    {
        using var t = new UpperTransformer("Nope", "Up");
        var e = Assert.Throws<SchemaException>(() => t.Transform(Data(1)));
        Assert.Equal("Nope", e.ColumnName);
    }

    [Fact]
    public void MoveNext_MapperLeavesOutputUnset_ThrowsNamingColumnAndRow()
    {
        using var t = new UpperTransformer("Text", "Up") { LeaveNull = true };
        var e = Assert.Throws<InvalidOperationException>(() => t.Transform(Data(3)).GetColumn<string>("Up").ToList());
        Assert.Contains("'Up'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Getter_BeforeMoveNext_Throws()
    {
        using var t = new UpperTransformer("Text", "Up");
        var view = t.Transform(Data(3));
        using var cursor = view.GetRowCursor(view.Schema);
        var getter = cursor.GetGetter<string>(view.Schema["Up"]);
        string s = "";
        Assert.Throws<InvalidOperationException>(() => getter(ref s));
    }

    [Fact]
    public void Transform_AfterDispose_ThrowsObjectDisposed()
    {
        var t = new UpperTransformer("Text", "Up");
        t.Dispose();
        t.Dispose();
        Assert.Equal(1, t.DisposeCount);
        Assert.Throws<ObjectDisposedException>(() => t.Transform(Data(1)));
    }
}
