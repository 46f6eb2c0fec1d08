// The bundled names list (data/names.txt) and small helpers the estimator tests share.
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.TestKit;

namespace MLNet.Transformer.Tests;

internal static class NamesData
{
    public static string Path => RepoPaths.Combine("data", "names.txt");

    public static string[] All { get; } = File.ReadAllLines(Path).Where(l => l.Length > 0).ToArray();

    public static IDataView View(MLContext ml, IEnumerable<string> words) =>
        ml.Data.LoadFromEnumerable(words.Select(w => new TextRow { Text = w }).ToArray());

    public static TransformerTrainerBase Trainer(MLContext ml, TransformerTrainerOptions options) =>
        ml.MulticlassClassification.Trainers.Transformer(options);

    /// <summary>Views of <paramref name="train"/> and <paramref name="valid"/> (a Text column each).</summary>
    public static (IDataView Train, IDataView Valid) Split(MLContext ml, IEnumerable<string> train, IEnumerable<string> valid) =>
        (View(ml, train), View(ml, valid));

    /// <summary>The seed's MiniFormer configuration: 1 layer, 1 head, d 32, feed-forward 32, batch 16, Adam 1e-3.</summary>
    public static TransformerDecoderTrainerOptions MiniFormer(int epochs, int seed = 42) => new()
    {
        Layers = 1, Heads = 1, ModelDimension = 32, FeedForwardDimension = 32, Epochs = epochs, BatchSize = 16,
        LearningRate = 1e-3f, Seed = seed, Device = "cpu",
    };

    public sealed class TextRow
    {
        public string Text { get; set; } = "";
    }

    /// <summary>A column's values, through ML.NET's GetColumn (arrays for vectors).</summary>
    public static T[] Column<T>(IDataView view, string name) => [.. view.GetColumn<T>(name)];
}
