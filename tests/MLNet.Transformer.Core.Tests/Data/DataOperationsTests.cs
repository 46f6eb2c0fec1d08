// Tests of the row operations on MLContext.Data: train/test split, shuffle, take and skip.
using MLNet.Transformer.Data;

namespace MLNet.Transformer.Tests.Data;

public class DataOperationsTests
{
    private sealed class Row
    {
        public int Id { get; set; }
    }

    private static IDataView Ids(MLContext ml, int n) => ml.Data.LoadFromEnumerable(Enumerable.Range(0, n).Select(i => new Row { Id = i }).ToList());

    [Fact]
    public void TrainTestSplit_SameSeed_SameDisjointPartitionInOrder()
    {
        var ml = new MLContext(1);
        var data = Ids(ml, 1000);

        var (train, test) = ml.Data.TrainTestSplit(data, 0.2, seed: 42);
        var again = ml.Data.TrainTestSplit(data, 0.2, seed: 42);
        var trainIds = train.GetColumn<int>("Id").ToList();
        var testIds = test.GetColumn<int>("Id").ToList();

        Assert.Equal(trainIds, again.TrainSet.GetColumn<int>("Id"));
        Assert.Equal(testIds, again.TestSet.GetColumn<int>("Id"));
        Assert.Equal(Enumerable.Range(0, 1000), trainIds.Concat(testIds).Order());
        Assert.Equal(trainIds.Order(), trainIds);
        Assert.InRange(testIds.Count, 150, 250);
    }

    [Fact]
    public void TrainTestSplit_DifferentSeed_DifferentPartition()
    {
        var ml = new MLContext(1);
        var data = Ids(ml, 200);

        var a = ml.Data.TrainTestSplit(data, 0.5, seed: 1).TestSet.GetColumn<int>("Id").ToList();
        var b = ml.Data.TrainTestSplit(data, 0.5, seed: 2).TestSet.GetColumn<int>("Id").ToList();

        Assert.NotEqual(a, b);
    }

    [Fact]
    public void TrainTestSplit_FractionOutOfRange_Throws()
    {
        var ml = new MLContext(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Data.TrainTestSplit(Ids(ml, 3), 1.5));
    }

    [Fact]
    public void ShuffleRows_SameSeed_SamePermutationOfAllRows()
    {
        var ml = new MLContext(1);
        var data = Ids(ml, 500);

        var a = ml.Data.ShuffleRows(data, seed: 7).GetColumn<int>("Id").ToList();
        var b = ml.Data.ShuffleRows(data, seed: 7).GetColumn<int>("Id").ToList();

        Assert.Equal(a, b);
        Assert.NotEqual(Enumerable.Range(0, 500), a);
        Assert.Equal(Enumerable.Range(0, 500), a.Order());
    }

    [Fact]
    public void TakeRowsAndSkipRows_SplitTheSequence()
    {
        var ml = new MLContext(1);
        var data = Ids(ml, 10);

        Assert.Equal([0, 1, 2], ml.Data.TakeRows(data, 3).GetColumn<int>("Id"));
        Assert.Equal(3, ml.Data.TakeRows(data, 3).GetRowCount());
        Assert.Equal([8, 9], ml.Data.SkipRows(data, 8).GetColumn<int>("Id"));
        Assert.Empty(ml.Data.TakeRows(data, 0).GetColumn<int>("Id"));
    }
}
