// Checkpoint directories: every field survives save and load, the description uses its own schema, bad or newer
// files are refused by name, and a folder of periodic checkpoints always names a complete one.
using System.Text.Json;
using MLNet.Transformer.Checkpoints;
using MLNet.Transformer.Engine;

namespace MLNet.Transformer.Tests.Checkpoints;

public class CheckpointTests
{
    private static Checkpoint Sample(long step = 7) => new()
    {
        Architecture = new TransformerModelConfig { VocabSize = 5, ModelDim = 4, Heads = 2, Layers = 1, FeedForwardDim = 8, MaxLength = 6, Dropout = 0.1f, NormFirst = true, Activation = Activation.Gelu, Seed = 12345678901UL },
        Tokenizer = new CheckpointTokenizer { Vocabulary = ["<PAD>", "<BOS>", "<EOS>", "a", "é"], UnkId = -1, LowerCase = true },
        TextColumnName = "Name",
        TrainedOn = "cpu",
        Weights = new Dictionary<string, (long[] Shape, float[] Data)> { ["tok_emb.weight"] = ([5, 4], [.. Enumerable.Range(0, 20).Select(i => i * 0.1f)]) },
        Optimizer = new OptimizerState(
            step,
            new Dictionary<string, (long[] Shape, float[] Data)> { ["tok_emb.weight"] = ([5, 4], [.. Enumerable.Range(0, 20).Select(i => i * 0.01f)]) },
            new Dictionary<string, (long[] Shape, float[] Data)> { ["tok_emb.weight"] = ([5, 4], [.. Enumerable.Range(0, 20).Select(i => i * 0.001f)]) }),
        RandomState = [1, 2, 3, 250],
        Training = new TrainingPosition
        {
            Seed = 42, Step = step, Epoch = 3, BatchInEpoch = 2, EpochLossSum = 1.0 / 3, EpochTokens = 99, BestLoss = 2.5, BestEpoch = 2, SinceBest = 0,
            ElapsedSeconds = 1.25, History = [new CheckpointEpoch(1, 3.1, 3.2, 0.5, 100), new CheckpointEpoch(2, 2.9, null, 0.5, 120)],
            BestWeights = new Dictionary<string, (long[] Shape, float[] Data)> { ["tok_emb.weight"] = ([5, 4], new float[20]) },
            Options = new Dictionary<string, string> { ["BatchSize"] = "16" },
        },
    };

    [Fact]
    public void SaveLoad_EveryField_RoundTrips()
    {
        using var temp = new TempFiles();
        string dir = Path.Combine(temp.Folder, "ckpt");
        var saved = Sample();
        saved.Save(dir);

        var loaded = Checkpoint.Load(dir);

        Assert.Equal(saved.Architecture, loaded.Architecture);
        Assert.Equal(saved.Tokenizer.Vocabulary, loaded.Tokenizer.Vocabulary);
        Assert.Equal(saved.Tokenizer with { Vocabulary = loaded.Tokenizer.Vocabulary }, loaded.Tokenizer);
        Assert.Equal("Name", loaded.TextColumnName);
        Assert.Equal(saved.Weights["tok_emb.weight"].Data, loaded.Weights["tok_emb.weight"].Data);
        Assert.Equal(7, loaded.Optimizer!.Step);
        Assert.Equal(saved.Optimizer!.ExpAvg["tok_emb.weight"].Data, loaded.Optimizer.ExpAvg["tok_emb.weight"].Data);
        Assert.Equal(saved.Optimizer.ExpAvgSq["tok_emb.weight"].Data, loaded.Optimizer.ExpAvgSq["tok_emb.weight"].Data);
        Assert.Equal(saved.RandomState, loaded.RandomState);
        var t = loaded.Training!;
        Assert.Equal(saved.Training!.EpochLossSum, t.EpochLossSum); // bit for bit: the resumed epoch's mean depends on it
        Assert.Equal((42, 7L, 3, 2, 99L, 2.5, 2, 0), (t.Seed, t.Step, t.Epoch, t.BatchInEpoch, t.EpochTokens, t.BestLoss!.Value, t.BestEpoch, t.SinceBest));
        Assert.Equal(saved.Training.History, t.History);
        Assert.Equal(new float[20], t.BestWeights!["tok_emb.weight"].Data);
        Assert.Equal("16", t.Options["BatchSize"]);
    }

    [Fact]
    public void Save_Description_UsesItsOwnFieldNames()
    {
        using var temp = new TempFiles();
        string dir = Path.Combine(temp.Folder, "ckpt");
        Sample().Save(dir);

        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, Checkpoint.DescriptionFile)));
        var model = doc.RootElement.GetProperty("model");
        Assert.Equal("mlnet-transformer-checkpoint", doc.RootElement.GetProperty("format").GetString());
        Assert.Equal(1, doc.RootElement.GetProperty("version").GetInt32());
        Assert.Equal(4, model.GetProperty("d_model").GetInt32());
        Assert.Equal("gelu", model.GetProperty("activation").GetString());
        Assert.Equal("12345678901", model.GetProperty("init_seed").GetString());
        Assert.False(model.TryGetProperty(nameof(TransformerModelConfig.ModelDim), out _));
        Assert.True(File.Exists(Path.Combine(dir, Checkpoint.WeightsFile)));
        Assert.True(File.Exists(Path.Combine(dir, Checkpoint.OptimizerFile)));
    }

    [Fact]
    public void Load_NewerVersion_ThrowsSayingWhichVersions()
    {
        using var temp = new TempFiles();
        string dir = Path.Combine(temp.Folder, "ckpt");
        Sample().Save(dir);
        string path = Path.Combine(dir, Checkpoint.DescriptionFile);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"version\": 1", "\"version\": 99", StringComparison.Ordinal));

        var e = Assert.Throws<ModelFormatException>(() => Checkpoint.Load(dir));
        Assert.Contains("version 99", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingField_ThrowsNamingIt()
    {
        using var temp = new TempFiles();
        string dir = Path.Combine(temp.Folder, "ckpt");
        Sample().Save(dir);
        string path = Path.Combine(dir, Checkpoint.DescriptionFile);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"d_model\"", "\"width\"", StringComparison.Ordinal));

        var e = Assert.Throws<ModelFormatException>(() => Checkpoint.Load(dir));
        Assert.Equal("model.d_model", e.EntryPath);
    }

    [Fact]
    public void CheckpointDirectory_TwoWrites_LatestNamesTheNewestAndOlderAreRemoved()
    {
        using var temp = new TempFiles();
        string root = Path.Combine(temp.Folder, "run");
        CheckpointDirectory.Write(root, Sample(10), 10);
        // A write killed half-way leaves a temporary folder behind; it is never mistaken for a checkpoint.
        Directory.CreateDirectory(Path.Combine(root, ".step-000000020.abc.tmp"));
        CheckpointDirectory.Write(root, Sample(20), 20);

        Assert.Equal("step-000000020", File.ReadAllText(Path.Combine(root, CheckpointDirectory.LatestFile)).Trim());
        Assert.False(Directory.Exists(Path.Combine(root, "step-000000010")));
        Assert.Equal(20, Checkpoint.Load(root).Training!.Step);
    }

    [Fact]
    public void Load_FolderWithoutCheckpoint_ThrowsFileNotFound()
    {
        using var temp = new TempFiles();
        var e = Assert.Throws<FileNotFoundException>(() => Checkpoint.Load(temp.Folder));
        Assert.Contains(CheckpointDirectory.LatestFile, e.Message, StringComparison.Ordinal);
    }
}
