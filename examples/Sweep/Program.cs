// Example: let the library choose heads and layers. A sweep over heads {1, 2, 4} x layers {1, 2, 3} on the names,
// as an ML.NET estimator: grid tuner, early stopping inside trials, ASHA pruning of bad trials, then the best
// configuration refitted on all the names for its best epoch count, and saved.
// Run: dotnet run --project examples/Sweep -c Release [-- <output folder>]
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Transformer.AutoML;
using MLNet.Transformer.Examples;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.Visualization;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
string outDir = args.Length > 0 ? args[0] : Path.GetTempPath();
var ml = new MLContext(seed: 3);
IDataView names = ml.Data.LoadFromTextFile(ExampleFiles.NamesPath, [new TextLoader.Column("Text", DataKind.String, 0)]);

// What to search: heads and layers; everything else comes from the base options (which read the Text column).
var space = ml.TransformerSweep().CreateSearchSpace(new TransformerDecoderTrainerOptions
    {
        ModelDimension = 32,
        FeedForwardDimension = 64,
        LearningRate = 3e-3f,
        Dropout = 0.1f,
    })
    .Choice(o => o.Heads, 1, 2, 4)
    .Choice(o => o.Layers, 1, 2, 3)
    .Constraint("heads must divide the model dimension", o => o.ModelDimension % o.Heads == 0);

var sweep = ml.TransformerSweep().NextCharacterSweep(space, new SweepOptions { MaxEpochs = 18, MaxTrials = 9, Seed = 11, ThreadsPerTrial = 1 });
sweep.Tuner = new GridTuner();
sweep.Pruner = new AshaPruner(minEpochs: 2, reductionFactor: 3);

// The sweep is an estimator over the text: Fit holds out 20% to rank the trials (each by its best epoch; a trial stops
// after 5 epochs without improvement), sweeps, and refits the best on all the names for its best epoch count.
NextCharacterPredictionTransformer best = sweep.Fit(names);
var result = sweep.LastResult!;

Console.WriteLine($"{result.Trials.Count} trials, {result.WithStatus(TrialStatus.Completed).Count} completed, {result.WithStatus(TrialStatus.Pruned).Count} pruned; {result.TotalEpochs} epochs of {result.Trials.Count * result.MaxEpochs} for a plain grid");
foreach (var entry in result.Leaderboard)
{
    var t = entry.Trial;
    Console.WriteLine($"  #{entry.Rank} {t.Parameters.Key,-18} {t.Status,-9} validation {t.ValidationLoss:F3} at epoch {t.BestEpoch,2} of {t.EpochsRun,2}{(t.StoppedEarly ? " (stopped early)" : "")}");
}

Console.WriteLine($"Best: {result.Best!.Parameters.Key} (validation {result.Best.ValidationLoss:F3}, perplexity {result.Best.Perplexity:F2})");
Console.WriteLine($"Refitted best: {best.ParameterCount:N0} parameters, {best.Info.Architecture.Heads} head(s), {best.Info.Architecture.Layers} layer(s), {sweep.LastRefit!.Epochs} epochs on all {sweep.LastRefit.Rows} names");

result.Report.WriteCsv(Path.Combine(outDir, "sweep.csv"));
SweepPlot.Write(Path.Combine(outDir, "sweep.svg"), result.Trials.Select(t => new SweepPoint(t.Parameters.Key, t.ValidationLoss, t.EpochsRun, t.Status.ToString())).ToArray());
ml.Model.Save(best, names.Schema, Path.Combine(outDir, "best.zip"));
Console.WriteLine("Wrote sweep.csv, sweep.svg and best.zip");

// Expected output (a real run: libtorch on CPU, 1 thread, x64; fixed seeds, so every line repeats on one machine;
// another CPU or libtorch build may round the losses differently). ML.NET's TrainTestSplit (seed 11) holds out the
// validation rows. ASHA stops most trials after 2 epochs, well under half of the grid's epochs in all; the completed
// trials stop 5 epochs after their best and are ranked by it; on this split the 3-layer, 2-head model wins. How the
// rules are judged: tests/MLNet.Transformer.AutoML.Tests/NamesSweepTests.
//
// 9 trials, 3 completed, 6 pruned; 66 epochs of 162 for a plain grid
//   #1 Heads=2,Layers=3   Completed validation 2.435 at epoch 13 of 18 (stopped early)
//   #2 Heads=1,Layers=2   Completed validation 2.450 at epoch 11 of 16 (stopped early)
//   #3 Heads=1,Layers=1   Completed validation 2.481 at epoch 11 of 16 (stopped early)
//   #4 Heads=4,Layers=2   Pruned    validation 2.493 at epoch  6 of  6
//   #5 Heads=2,Layers=2   Pruned    validation 2.596 at epoch  2 of  2
//   #6 Heads=1,Layers=3   Pruned    validation 2.602 at epoch  2 of  2
//   #7 Heads=4,Layers=3   Pruned    validation 2.620 at epoch  2 of  2
//   #8 Heads=2,Layers=1   Pruned    validation 2.623 at epoch  2 of  2
//   #9 Heads=4,Layers=1   Pruned    validation 2.627 at epoch  2 of  2
// Best: Heads=2,Layers=3 (validation 2.435, perplexity 11.42)
// Refitted best: 27,582 parameters, 2 head(s), 3 layer(s), 13 epochs on all 974 names
// Wrote sweep.csv, sweep.svg and best.zip
