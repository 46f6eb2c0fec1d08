// The packaged example, part 1 (an app that references MLNet.Transformer.Training from NuGet): trains on four names
// in five, saves the model with mlContext.Model.Save, evaluates it with ML.NET's own multiclass evaluator on the
// held-out fifth's (prefix, next character) pairs, and prints what part 2 must reproduce in another process (JSON).
// Usage: Train NAMES.txt MODEL.zip
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Transformer.LanguageModeling;

var names = File.ReadAllLines(args[0]).Where(l => l.Length > 0).ToArray();
var ml = new MLContext(seed: 1);
var train = ml.Data.LoadFromEnumerable(names.Where((_, i) => i % 5 != 0).Select(n => new Pair { Text = n }));
var trainer = ml.MulticlassClassification.Trainers.TransformerDecoder(new TransformerDecoderTrainerOptions
{
    Layers = 1, Heads = 2, ModelDimension = 32, FeedForwardDimension = 64, Epochs = 3, Seed = 1, Device = "cpu",
    Outputs = NextCharacterOutputs.NextCharacter,   // Score, PredictedLabel, PredictedNextChar: the fastest to score
});
var model = trainer.Fit(train);
ml.Model.Save(model, train.Schema, args[1]);

// ML.NET's evaluator: the model's Score and PredictedLabel, and the label from MapNextCharacterToKey.
var pairs = ml.Data.LoadFromEnumerable(Pair.Of(names.Where((_, i) => i % 5 == 0)));
var scored = model.Transform(pairs);
var labelled = ml.Transforms.Conversion.MapNextCharacterToKey("Label", "NextChar").Fit(scored).Transform(scored);
var metrics = ml.MulticlassClassification.Evaluate(labelled);
var probes = model.Transform(ml.Data.LoadFromEnumerable(Pair.Probes.Select(t => new Pair { Text = t })))
    .GetColumn<float[]>("Score").Select(s => s.Select(BitConverter.SingleToInt32Bits).ToArray()).ToArray();
Console.WriteLine(JsonSerializer.Serialize(new { metrics.LogLoss, metrics.MicroAccuracy, probes }));

/// <summary>A (prefix, next character) row; training reads only Text.</summary>
internal sealed class Pair
{
    public static readonly string[] Probes = ["flyca", "", "ma"];

    public string Text { get; set; } = "";

    public string NextChar { get; set; } = "";

    /// <summary>Every prefix of every name with the character after it ("&lt;EOS&gt;" after the last).</summary>
    public static IEnumerable<Pair> Of(IEnumerable<string> names) => names.SelectMany(n => Enumerable.Range(0, n.Length + 1)
        .Select(k => new Pair { Text = n[..k], NextChar = k < n.Length ? n[k].ToString() : "<EOS>" }));
}
