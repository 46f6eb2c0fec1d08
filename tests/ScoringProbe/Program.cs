// Loads a next-character model saved with mlContext.Model.Save and prints, as JSON, what ML.NET computes for each
// text given on the command line: Transform's Score and PredictedNextChar (float bits, so the comparison is exact),
// the PredictionEngine's Score, two samples generated through NextCharacterModel.Load (seed 7, 12 characters), and
// which native libraries the process has loaded (the training engine must not be).
// Usage: mlt-scoring-probe MODEL.zip TEXT...
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Transformer.LanguageModeling;

var ml = new MLContext();
var model = NextCharacterModel.LoadPipeline(ml, args[0], out _);   // ml.Model.Load, the library's mappings registered
var texts = args.Skip(1).ToArray();
var scored = model.Transform(ml.Data.LoadFromEnumerable(texts.Select(t => new Input { Text = t })));
var scores = scored.GetColumn<float[]>(NextCharacterColumns.Score).Select(s => s.Select(BitConverter.SingleToInt32Bits).ToArray()).ToArray();
var next = scored.GetColumn<string>(NextCharacterColumns.PredictedNextChar).ToArray();
var engine = ml.Model.CreatePredictionEngine<Input, Output>(model);
var predicted = texts.Select(t => engine.Predict(new Input { Text = t }).Score.Select(BitConverter.SingleToInt32Bits).ToArray()).ToArray();
using var loaded = NextCharacterModel.Load(ml, args[0]);
var generated = loaded.Generate(new GenerationOptions { Count = 2, MaximumLength = 12, Seed = 7 });
var maps = File.Exists("/proc/self/maps") ? File.ReadAllLines("/proc/self/maps") : [];
var native = maps.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "")
    .Where(p => p.Contains("libmlt", StringComparison.Ordinal) || p.Contains("libtorch", StringComparison.Ordinal))
    .Distinct().ToArray();
Console.WriteLine(JsonSerializer.Serialize(new { scores, next, predicted, generated, native }));

internal sealed class Input
{
    public string Text { get; set; } = "";
}

internal sealed class Output
{
    [ColumnName("Score")]
    public float[] Score { get; set; } = [];
}
