// The bundled names (data/names.txt) as ML.NET views with one Text column, for the tests that train for real.
using Microsoft.ML;
using MLNet.Transformer.TestKit;

namespace MLNet.Transformer.AutoML.Tests;

internal static class NamesData
{
    /// <summary>The non-empty lines of data/names.txt, in file order.</summary>
    public static string[] Lines(int take = int.MaxValue) =>
        [.. File.ReadAllLines(RepoPaths.Combine("data", "names.txt")).Where(l => l.Length > 0).Take(take)];

    /// <summary><paramref name="texts"/> as a view with one Text column.</summary>
    public static IDataView View(MLContext ml, IEnumerable<string> texts) =>
        ml.Data.LoadFromEnumerable(texts.Select(t => new TextRow { Text = t }).ToArray());

    public sealed class TextRow
    {
        public string Text { get; set; } = "";
    }
}
