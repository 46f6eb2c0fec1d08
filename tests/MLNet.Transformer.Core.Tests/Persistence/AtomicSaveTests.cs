// Saving goes through a temp file renamed over the target: a failure mid-save keeps the previous model intact.
using MLNet.Transformer.Persistence;
using Xunit;

namespace MLNet.Transformer.Tests.Persistence;

public sealed class AtomicSaveTests
{
    [Fact]
    public void Save_StageThrowsMidway_OldFileIntactAndNoTempFileLeft()
    {
        string dir = Directory.CreateTempSubdirectory("mlt-atomic-").FullName;
        try
        {
            string path = Path.Combine(dir, "model.zip");
            var ml = new MLContext(seed: 1);
            using var good = TestModels.Chain();
            ml.Model.Save(good, TestModels.InputSchema, path);
            byte[] before = File.ReadAllBytes(path);

            var ex = Assert.Throws<IOException>(() =>
                ml.Model.Save(new ChainStage(TestModels.Chain(), new ThrowingStage()), TestModels.InputSchema, path));

            Assert.Equal("disk full (simulated)", ex.Message);
            Assert.Equal(before, File.ReadAllBytes(path));
            Assert.Equal(["model.zip"], Directory.GetFiles(dir).Select(Path.GetFileName));
            using var loaded = ml.Model.Load(path, out _);
            Assert.True(TestModels.SameRows(
                InMemoryDataView.ReadAll(good.Transform(TestModels.Input())),
                InMemoryDataView.ReadAll(loaded.Transform(TestModels.Input()))));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Save_StageThrowsWithNoPreviousFile_CreatesNothing()
    {
        string dir = Directory.CreateTempSubdirectory("mlt-atomic-").FullName;
        try
        {
            Assert.Throws<IOException>(() =>
                new MLContext().Model.Save(new ThrowingStage(), TestModels.InputSchema, Path.Combine(dir, "model.zip")));

            Assert.Empty(Directory.GetFileSystemEntries(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void WriteFile_SafeTensors_ReplacesAtomically()
    {
        string dir = Directory.CreateTempSubdirectory("mlt-atomic-").FullName;
        try
        {
            string path = Path.Combine(dir, "t.safetensors");
            SafeTensors.WriteFile(path, new Dictionary<string, TensorData> { ["x"] = new([1], [1f]) });

            Assert.Throws<ArgumentException>(() =>
                SafeTensors.WriteFile(path, new Dictionary<string, TensorData> { ["x"] = new([2], [1f]) }));

            Assert.Equal([1f], SafeTensors.ReadFile(path, out _)["x"].Data);
            Assert.Single(Directory.GetFiles(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
