// Tests of EstimatorChain / TransformerChain: fit order, schema checked before fitting, Append, disposal.
using MLNet.Transformer.Data;

namespace MLNet.Transformer.Tests.Pipeline;

public class ChainTests
{
    private sealed class Row
    {
        public string Text { get; set; } = "";
    }

    private static IDataView Data() => new MLContext(1).Data.LoadFromEnumerable(new[] { new Row { Text = "ab" }, new Row { Text = "c" } });

    [Fact]
    public void Fit_TwoStages_SecondFitsOnFirstOutput()
    {
        var log = new List<string>();
        var chain = new UpperEstimator("Text", "A", log).Append(new UpperEstimator("A", "B", log));

        using var model = chain.Fit(Data());

        Assert.Equal(["fit A on [Text]", "fit B on [Text,A,ALength]"], log);
        Assert.Equal(2, model.Count);
        Assert.IsType<UpperTransformer>(model.LastTransformer);
        Assert.Equal(["AB", "C"], model.Transform(Data()).GetColumn<string>("B"));
    }

    [Fact]
    public void Fit_LastStageMissingColumn_ThrowsBeforeFittingAnything()
    {
        var log = new List<string>();
        var chain = new UpperEstimator("Text", "A", log).Append(new UpperEstimator("Missing", "B", log));

        var e = Assert.Throws<SchemaException>(() => chain.Fit(Data()));

        Assert.Equal("Missing", e.ColumnName);
        Assert.Empty(log);
    }

    [Fact]
    public void GetOutputSchema_Chain_PropagatesThroughStages()
    {
        var chain = new EstimatorChain<ITransformer>()
            .Append(new UpperEstimator("Text", "A", []))
            .Append(new UpperEstimator("A", "B", []));

        var schema = chain.GetOutputSchema(Data().Schema);

        Assert.Equal(["Text", "A", "ALength", "B", "BLength"], schema.Select(c => c.Name));
        Assert.Equal(2, chain.Estimators.Count);
        Assert.IsType<UpperEstimator>(chain.LastEstimator);
    }

    [Fact]
    public void AppendExtension_ChainAsStart_IsFlattened()
    {
        var log = new List<string>();
        IEstimator<ITransformer> start = new UpperEstimator("Text", "A", log).Append(new UpperEstimator("A", "B", log));

        var chain = start.Append(new UpperEstimator("B", "C", log)).AppendCacheCheckpoint(new MLContext(1));
        using var model = chain.Fit(Data());

        Assert.Equal(3, chain.Estimators.Count);
        Assert.Equal(3, model.Count);
        Assert.Equal(["AB", "C"], model.Transform(Data()).GetColumn<string>("C"));
    }

    [Fact]
    public void Dispose_Chain_DisposesEveryElementOnce()
    {
        var a = new UpperTransformer("Text", "A");
        var b = new UpperTransformer("A", "B");
        var chain = a.Append(b);

        chain.Dispose();
        chain.Dispose();

        Assert.Equal(1, a.DisposeCount);
        Assert.Equal(1, b.DisposeCount);
        Assert.Throws<ObjectDisposedException>(() => chain.Transform(Data()));
    }

    [Fact]
    public void TransformerChain_AppendAndEnumerate_KeepsOrder()
    {
        var a = new UpperTransformer("Text", "A");
        var b = new UpperTransformer("A", "B");
        var c = new UpperTransformer("B", "C");

        using var chain = new TransformerChain<UpperTransformer>(a, b).Append(c);

        Assert.Equal(new ITransformer[] { a, b, c }, chain);
        Assert.Same(c, chain.LastTransformer);
        Assert.Equal(["AB", "C"], chain.Transform(Data()).GetColumn<string>("C"));
    }

    [Fact]
    public void TransformerChain_LastOfWrongType_Throws()
    {
        using var a = new UpperTransformer("Text", "A");
        Assert.Throws<ArgumentException>(() => new TransformerChain<TransformerChain<ITransformer>>(a));
    }
}
