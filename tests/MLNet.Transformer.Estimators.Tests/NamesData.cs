// The bundled names list (data/names.txt) and small helpers the estimator tests share.
using MLNet.Transformer.Data;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.TestKit;
using MLNet.Transformer.Text;

namespace MLNet.Transformer.Tests;

internal static class NamesData
{
    public static string Path => RepoPaths.Combine("data", "names.txt");

    public static string[] All { get; } = File.ReadAllLines(Path).Where(l => l.Length > 0).ToArray();

    public static IDataView View(MLContext ml, IEnumerable<string> words) =>
        ml.Data.LoadFromEnumerable(words.Select(w => new TextRow { Text = w }).ToArray());

    public static IEstimator<TransformerChain<NextCharacterPredictionTransformer>> Pipeline(MLContext ml, TransformerTrainerOptions options) =>
        ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text").Append(ml.LanguageModeling.Trainers.Transformer(options));

    /// <summary>Tokenizes <paramref name="train"/> and <paramref name="valid"/> with one tokenizer fitted on both.</summary>
    public static (IDataView Train, IDataView Valid) Tokenized(MLContext ml, IEnumerable<string> train, IEnumerable<string> valid)
    {
        string[] t = train.ToArray(), v = valid.ToArray();
        var tokenizer = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text").Fit(View(ml, t.Concat(v)));
        return (tokenizer.Transform(View(ml, t)), tokenizer.Transform(View(ml, v)));
    }

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

    public static T[] Column<T>(IDataView view, string name)
    {
        var col = view.Schema[name];
        var list = new List<T>();
        using var cursor = view.GetRowCursor([col]);
        var get = cursor.GetGetter<T>(col);
        T value = default!;
        while (cursor.MoveNext())
        {
            get(ref value);
            list.Add(value);
        }

        return [.. list];
    }
}
