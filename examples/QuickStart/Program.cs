// `dotnet run` trains on data/names.txt, saves names.zip, loads it back and predicts; `dotnet run -- names.zip`
// only loads and predicts, which needs no native engine (ML.NET runs the model's ONNX graph).
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Transformer.LanguageModeling;

if (args.Length == 0)
{
    var ml = new MLContext(seed: 1);
    IDataView names = ml.Data.LoadFromTextFile<NameRow>("data/names.txt");   // one name per line -> column "Text"

    // ML.NET's own text normalisation (lower case), then the decoder-only transformer on the same Text column
    var pipeline = ml.Transforms.Text.NormalizeText("Text")
        .Append(ml.MulticlassClassification.Trainers.TransformerDecoder(new TransformerDecoderTrainerOptions
        {
            Layers = 2, Heads = 4, ModelDimension = 64, FeedForwardDimension = 128, Dropout = 0.1f, Seed = 1,
            Epochs = 10, ValidationFraction = 0.2, EarlyStoppingPatience = 5, Device = "auto",   // CUDA when present
        }));

    var model = pipeline.Fit(names);                                            // fit
    ml.Model.Save(model, names.Schema, "names.zip");                           // a standard ML.NET model zip

    var metrics = ml.MulticlassClassification.EvaluateNextCharacter(model.Transform(names));
    Console.WriteLine($"perplexity {metrics.Perplexity:F2} over {metrics.Tokens} characters of {metrics.Rows} names");
    var words = model.LastTransformer.Generate(new GenerationOptions { Prefix = "ca", Count = 5, Temperature = 0.8f, TopK = 5, Seed = 7 });
    Console.WriteLine($"generated: {string.Join(", ", words)}");
}

// e.g. in another process: a fresh MLContext loads the zip (ml.Model.Load plus the model's description)
var app = new MLContext();
var loaded = NextCharacterModel.Load(app, args.Length > 0 ? args[0] : "names.zip");
var engine = app.Model.CreatePredictionEngine<NameRow, NextCharPrediction>(loaded.Model);
var prediction = engine.Predict(new NameRow { Text = "flyca" });
var best = prediction.Score.Select((p, i) => (Token: loaded.Info.Vocabulary[i], P: p)).MaxBy(x => x.P);  // Score is in vocabulary order
Console.WriteLine($"'flyca' -> '{prediction.PredictedNextChar}' ({best.Token}, p = {best.P:F4}); probabilities sum to {prediction.Score.Sum():F4}");

internal sealed class NameRow
{
    [LoadColumn(0)] public string Text { get; set; } = "";
}

internal sealed class NextCharPrediction
{
    public string PredictedNextChar { get; set; } = "";
    public float[] Score { get; set; } = [];
}
