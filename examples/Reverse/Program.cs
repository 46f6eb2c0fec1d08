// Example: a true sequence-to-sequence task for the encoder-decoder: word -> reversed word ("cat" -> "tac").
// The encoder reads the word, the decoder writes its reversal through cross-attention; exact-match accuracy is
// measured on held-out words with greedy decoding.
// Run: dotnet run --project examples/Reverse -c Release [epochs]
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Transformer.Examples;
using MLNet.Transformer.LanguageModeling;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
string dataPath = ExampleFiles.NamesPath;
int epochs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100;

// Word/Reversed pairs; 20% of the words are held out and never seen in training.
var ml = new MLContext(seed: 1);
var pairs = ml.Data.CreateEnumerable<WordRow>(ml.Data.LoadFromTextFile<WordRow>(dataPath), reuseRowObject: false)
    .Select(r => new WordPair { Word = r.Word, Reversed = new string(r.Word.Reverse().ToArray()) })
    .ToList();
var split = ml.Data.TrainTestSplit(ml.Data.LoadFromEnumerable(pairs), testFraction: 0.2, seed: 1);
var heldOut = ml.Data.CreateEnumerable<WordPair>(split.TestSet, reuseRowObject: false).ToList();
Console.WriteLine($"{pairs.Count} words, {heldOut.Count} held out; e.g. {pairs[1].Word} -> {pairs[1].Reversed}");

// Train source -> target on the two text columns (each gets its own character vocabulary).
var trainer = ml.MulticlassClassification.Trainers.TransformerEncoderDecoder(new TransformerEncoderDecoderTrainerOptions
{
    TextColumnName = "Reversed",
    SourceColumnName = "Word",
    Layers = 2,
    Heads = 4,
    ModelDimension = 64,
    FeedForwardDimension = 128,
    Epochs = epochs,
    Dropout = 0.1f,
    BatchSize = 32,
    LearningRate = 2e-3f,
    Schedule = LearningRateSchedule.Cosine,
    WarmupSteps = 50,
    Seed = 1,
    Threads = 1,
});
var clock = Stopwatch.StartNew();
var model = trainer.Fit(split.TrainSet);
var history = model.History!;
Console.WriteLine($"Trained {model.ParameterCount:N0} parameters for {history.Epochs.Count} epochs in {clock.Elapsed.TotalSeconds:F0} s; final train loss {history.Epochs[^1].TrainLoss:F3}");

// Teacher-forced metrics on the held-out pairs, then greedy generation from the source alone.
var metrics = ml.MulticlassClassification.EvaluateNextCharacter(model.Transform(split.TestSet));
Console.WriteLine($"Held-out teacher-forced: log-loss {metrics.LogLoss:F3}, per-character accuracy {metrics.Accuracy:P1}");

var predictor = model;
int exact = 0;
var mistakes = new List<string>();
foreach (var pair in heldOut)
{
    string output = predictor.Generate(new GenerationOptions { Source = pair.Word, Temperature = 0 })[0];
    if (output == pair.Reversed)
    {
        exact++;
    }
    else if (mistakes.Count < 5)
    {
        mistakes.Add($"{pair.Word} -> {output} (want {pair.Reversed})");
    }
}

// Where does the decoder look? Writing output character i of an n-letter word should attend to source position
// n - i (position 0 is <BOS>): the anti-diagonal. Cross-attention is flattened (L, H, T, S); heads averaged.
var rows = ml.Data.CreateEnumerable<CrossAttentionRow>(model.Transform(split.TestSet), reuseRowObject: false).ToList();
int layers = model.Info.Architecture.Layers, heads = model.Info.Architecture.Heads;
for (int layer = 0; layer < layers; layer++)
{
    int aligned = 0, total = 0;
    foreach (var r in rows)
    {
        int t = r.InputTokens.Length, src = r.SourceTokens.Length, n = t - 1;
        for (int q = 0; q < n; q++)
        {
            int best = Enumerable.Range(0, src).MaxBy(k => Enumerable.Range(0, heads).Sum(h => r.CrossAttention[(((layer * heads) + h) * t + q) * src + k]));
            aligned += best == n - q ? 1 : 0;
            total++;
        }
    }

    Console.WriteLine($"Cross-attention layer {layer + 1}: strongest source position is the character being copied for {(double)aligned / total:P1} of output characters");
}

foreach (string word in new[] { "flycatcher", "hippopotamus", "zebra" })
{
    Console.WriteLine($"  {word} -> {predictor.Generate(new GenerationOptions { Source = word, Temperature = 0 })[0]}");
}

Console.WriteLine($"Held-out exact match (greedy): {exact}/{heldOut.Count} = {(double)exact / heldOut.Count:P1}");
Console.WriteLine($"Some misses: {string.Join("; ", mistakes)}");

/// <summary>The scored columns read for the cross-attention check.</summary>
internal sealed class CrossAttentionRow
{
    public string[] InputTokens { get; set; } = [];

    public string[] SourceTokens { get; set; } = [];

    public float[] CrossAttention { get; set; } = [];
}

/// <summary>One line of names.txt.</summary>
internal sealed class WordRow
{
    [LoadColumn(0)]
    public string Word { get; set; } = "";
}

/// <summary>A source/target pair.</summary>
internal sealed class WordPair
{
    public string Word { get; set; } = "";

    public string Reversed { get; set; } = "";
}

// Expected output (a real run: libtorch 1.13 on CPU, 1 thread, Debian 12, x64; about 15-25 s of training on one
// idle core, longer on a busy machine as here). Only the seconds change from run to run; on one machine every other
// line repeats exactly (fixed seeds). Another CPU or libtorch build may round differently, so the accuracy can move
// by a few words out of 205. Read it as: the decoder's second layer attends from each output character to the
// source character it copies (the anti-diagonal) 95% of the time, and most misses are doubled letters
// (meerkat -> takrem, peccary -> yracep).
//
// 974 words, 205 held out; e.g. caracal -> lacarac
// Trained 173,214 parameters for 100 epochs in 219 s; final train loss 0.018
// Held-out teacher-forced: log-loss 0.075, per-character accuracy 97.8 %
// Cross-attention layer 1: strongest source position is the character being copied for 72.0 % of output characters
// Cross-attention layer 2: strongest source position is the character being copied for 95.5 % of output characters
//   flycatcher -> rehctacylf
//   hippopotamus -> sumatopoppih
//   zebra -> arbez
// Held-out exact match (greedy): 181/205 = 88.3 %
// Some misses: capybara -> arabyapac (want arabypac); cheetah -> htaeehc (want hateehc); meerkat -> takrem (want takreem); peccary -> yracep (want yraccep); potoroo -> oortotop (want oorotop)
