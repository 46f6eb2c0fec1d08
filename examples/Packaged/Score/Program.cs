// The packaged example, part 2 (an app that references only the scoring package, MLNet.Transformer): loads the zip
// part 1 saved with plain mlContext.Model.Load, scores with Transform and a PredictionEngine, evaluates with ML.NET's
// own evaluator, and checks that it reproduces part 1 bit for bit and that no native training engine (libmlt,
// libtorch) is mapped into this process. Exit code 0 when all holds; the figures go to stdout as JSON.
// Usage: Score NAMES.txt MODEL.zip TRAIN-OUTPUT.json
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Transformer.LanguageModeling;

var names = File.ReadAllLines(args[0]).Where(l => l.Length > 0).ToArray();
using var expected = JsonDocument.Parse(File.ReadAllText(args[2]));
var ml = new MLContext(seed: 1);
NextCharacterModel.RegisterMappings(ml);   // ML.NET finds the saved chain's CustomMapping factories in this assembly
var model = ml.Model.Load(args[1], out _);

var pairs = ml.Data.LoadFromEnumerable(Pair.Of(names.Where((_, i) => i % 5 == 0)));
var scored = model.Transform(pairs);
var labelled = ml.Transforms.Conversion.MapNextCharacterToKey("Label", "NextChar").Fit(scored).Transform(scored);
var metrics = ml.MulticlassClassification.Evaluate(labelled);

var probes = model.Transform(ml.Data.LoadFromEnumerable(Pair.Probes.Select(t => new Pair { Text = t })))
    .GetColumn<float[]>("Score").Select(s => s.Select(BitConverter.SingleToInt32Bits).ToArray()).ToArray();
var engine = ml.Model.CreatePredictionEngine<Pair, Prediction>(model);
var prediction = engine.Predict(new Pair { Text = "flyca" });
string next = NextCharacterLabelEstimator.Vocabulary(scored.Schema)[(int)prediction.PredictedLabel - 1];

string[] native = [.. File.ReadLines("/proc/self/maps").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "")
    .Where(p => p.Contains("libmlt", StringComparison.Ordinal) || p.Contains("libtorch", StringComparison.Ordinal)).Distinct()];
bool sameProbes = JsonSerializer.Serialize(probes) == expected.RootElement.GetProperty("probes").GetRawText();
bool sameMetrics = metrics.LogLoss == expected.RootElement.GetProperty("LogLoss").GetDouble()
    && metrics.MicroAccuracy == expected.RootElement.GetProperty("MicroAccuracy").GetDouble();
Console.WriteLine(JsonSerializer.Serialize(new
{
    metrics.LogLoss, metrics.MicroAccuracy, flyca = prediction.PredictedNextChar, flycaFromKey = next,
    sameProbes, sameMetrics, native,
}));
return sameProbes && sameMetrics && native.Length == 0 && next == prediction.PredictedNextChar ? 0 : 1;

/// <summary>A (prefix, next character) row.</summary>
internal sealed class Pair
{
    public static readonly string[] Probes = ["flyca", "", "ma"];

    public string Text { get; set; } = "";

    public string NextChar { get; set; } = "";

    /// <summary>Every prefix of every name with the character after it ("&lt;EOS&gt;" after the last).</summary>
    public static IEnumerable<Pair> Of(IEnumerable<string> names) => names.SelectMany(n => Enumerable.Range(0, n.Length + 1)
        .Select(k => new Pair { Text = n[..k], NextChar = k < n.Length ? n[k].ToString() : "<EOS>" }));
}

/// <summary>What a PredictionEngine reads back: the multiclass columns.</summary>
internal sealed class Prediction
{
    public string PredictedNextChar { get; set; } = "";

    public uint PredictedLabel { get; set; }

    public float[] Score { get; set; } = [];
}
