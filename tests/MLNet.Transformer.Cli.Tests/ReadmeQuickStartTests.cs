// The README's C# quick start and sweep snippet, kept compiling and running here (fewer epochs). When the README
// changes, change this file with it.
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Transformer.AutoML;
using MLNet.Transformer.Data;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.TestKit;
using MLNet.Transformer.Text;
using MLNet.Transformer.Visualization;

namespace MLNet.Transformer.Tests;

// Same collection as the in-process comparisons of CliCommandTests: training here changes the engine's
// process-wide thread count while it runs, which must not overlap a bit-for-bit comparison.
[Collection(TrainedCliModelGroup.Name)]
public sealed class ReadmeQuickStartTests : IDisposable
{
    private readonly TempFolder _folder = new();

    [Fact]
    public void QuickStart_ComposeFitSaveLoadScoreAttention_Works()
    {
        string zip = Path.Combine(_folder.Path, "names.zip");
        string page = Path.Combine(_folder.Path, "attention.html");
        var ml = new MLContext(seed: 1);
        IDataView names = ml.Data.LoadFromTextLines(RepoPaths.Combine("data", "names.txt"), columnName: "Text");

        var pipeline = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text")
            .Append(ml.LanguageModeling.Trainers.TransformerDecoder(new TransformerDecoderTrainerOptions
            {
                Layers = 2, Heads = 4, ModelDimension = 64, FeedForwardDimension = 128, Dropout = 0.1f,
                Epochs = 3, ValidationFraction = 0.2, EarlyStoppingPatience = 5, Device = "auto",
            }));

        using var model = pipeline.Fit(names);
        ml.Model.Save(model, names.Schema, zip);

        var fresh = new MLContext();
        using var loaded = fresh.Model.Load(zip, out DataViewSchema inputSchema);
        var scored = loaded.Transform(fresh.Data.LoadFromEnumerable(new[] { new Row { Text = "flyca" } }));

        var next = scored.GetColumn<string>(NextCharacterColumns.PredictedNextChar).First();
        var probabilities = scored.GetColumn<float[]>(NextCharacterColumns.Score).First();
        var slots = scored.Schema[NextCharacterColumns.Score].Annotations.GetValue<string[]>(Annotations.Kinds.SlotNames);

        var metrics = fresh.LanguageModeling.Evaluate(loaded.Transform(names));
        AttentionPage.Write(AttentionColumns.Read(scored, row: 0, title: "flyca"), page);

        var words = model.LastTransformer.Generate(new GenerationOptions { Prefix = "ca", Count = 5, Temperature = 0.8f, TopK = 5, Seed = 7 });

        Assert.Equal("Text", Assert.Single(inputSchema).Name);
        Assert.Contains(next, slots);
        Assert.Equal(slots.Length, probabilities.Length);
        Assert.Equal(1.0, probabilities.Sum(p => (double)p), 4);
        Assert.Equal(974, metrics.Rows);
        Assert.True(File.Exists(page));
        Assert.All(words, w => Assert.StartsWith("ca", w, StringComparison.Ordinal));
    }

    [Fact]
    public void SweepSnippet_SweepsAndRefits()
    {
        var ml = new MLContext(seed: 1);
        IDataView names = ml.Data.TakeRows(ml.Data.LoadFromTextFile(RepoPaths.Combine("data", "names.txt"), [new TextLoader.Column("Text", DataKind.String, 0)]), 300);
        var space = ml.TransformerSweep().CreateSearchSpace(new TransformerDecoderTrainerOptions { ModelDimension = 32, FeedForwardDimension = 64 })
            .Choice(o => o.Heads, 1, 2, 4)
            .Choice(o => o.Layers, 1, 2, 3)
            .Constraint("heads must divide the model dimension", o => o.ModelDimension % o.Heads == 0);
        var sweep = ml.TransformerSweep().NextCharacterSweep(space, new SweepOptions { MaxEpochs = 2, MaxTrials = 9, Seed = 11, ThreadsPerTrial = 1 });
        sweep.Tuner = new GridTuner();
        sweep.Pruner = new AshaPruner(minEpochs: 1, reductionFactor: 3);
        var best = sweep.Fit(names);
        string csv = Path.Combine(_folder.Path, "sweep.csv");
        sweep.LastResult!.Report.WriteCsv(csv);

        Assert.Equal(9, sweep.LastResult.Trials.Count);
        Assert.Equal(10, File.ReadAllLines(csv).Length);
        Assert.Equal(2, best.History!.Epochs.Count);
        Assert.Equal(sweep.LastResult.Best!.Parameters.Get<int>("Heads"), best.Info.Architecture.Heads);
    }

    public void Dispose() => _folder.Dispose();

    public sealed class Row
    {
        public string Text { get; set; } = "";
    }
}
