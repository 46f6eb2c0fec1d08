// `sweep --ensemble N` saves one zip that averages the top configurations' refits: `score` in another process gives
// the mean of the members' probabilities (each member rebuilt in process from the zip's weights), `evaluate` reports
// each member beside the ensemble, `info` lists the members, and `export-onnx` keeps them all.
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.TestKit;

namespace MLNet.Transformer.Tests;

public sealed class CliSweepEnsembleTests : IDisposable
{
    private readonly TempFolder _folder = new();

    [Fact]
    public void Sweep_EnsembleOfTwo_ScoresTheMeanOfItsMembersAndInfoListsThem()
    {
        string names = RepoPaths.Combine("data", "names.txt");
        // A two-point grid (heads 1 or 2), the better point once more with another seed, then both refitted and averaged.
        var sweep = ChildProcess.Cli(_folder.Path, "sweep", "--data", names, "--heads", "1,2", "--layers", "1", "--dim", "32", "--ff-ratio", "2",
            "--dropout", "0", "--lr", "0.003", "--weight-decay", "0", "--norm", "post", "--activation", "relu", "--warmup", "0",
            "--schedule", "constant", "--batch-size", "32", "--epochs", "2", "--repeat-top", "1", "--repeat-seeds", "1",
            "--ensemble", "2", "--out", "e.zip", "--json");
        Assert.Equal(0, sweep.ExitCode);
        using var summary = JsonDocument.Parse(sweep.StdOut);
        var members = summary.RootElement.GetProperty("refit").GetProperty("members").EnumerateArray().ToArray();
        Assert.Equal(2, members.Length);
        Assert.Equal(summary.RootElement.GetProperty("best").GetString(), members[0].GetProperty("parameters").GetString());

        string zip = _folder.File("e.zip");
        var ml = new MLContext(0);
        var loaded = NextCharacterModel.Load(ml, zip);
        Assert.True(loaded.Onnx.IsEnsemble);
        Assert.Equal(["Heads=1", "Heads=2"], loaded.Onnx.Members.Select(m => $"Heads={m.Info.Architecture.Heads}").Order());

        // score, in a child process, against the mean of the members rebuilt here from the zip's weights.
        var score = ChildProcess.Cli(_folder.Path, "score", "--model", zip, "--text", "Ann", "--top", "1000", "--json");
        Assert.Equal(0, score.ExitCode);
        using var scored = JsonDocument.Parse(score.StdOut);
        var cli = scored.RootElement.GetProperty("candidates").EnumerateArray()
            .ToDictionary(c => c.GetProperty("token").GetString()!, c => c.GetProperty("probability").GetDouble());
        var input = NextCharacterModel.CreateInput(ml, loaded.Info, [("Ann", null)]);
        var perMember = loaded.Onnx.Members
            .Select(m => NextCharacterModel.FromWeights(ml, m.Info, m.State).Transform(input).GetColumn<float[]>(NextCharacterColumns.Score).Single())
            .ToArray();
        var vocabulary = loaded.Info.Vocabulary;
        Assert.Equal(vocabulary.Count, cli.Count);
        for (int i = 0; i < vocabulary.Count; i++)
        {
            double mean = perMember.Average(p => (double)p[i]);
            Assert.True(Math.Abs(cli[vocabulary[i]] - mean) <= 1e-5, $"{vocabulary[i]}: ensemble {cli[vocabulary[i]]}, mean of the members {mean}");
        }

        // evaluate gives each member alone too; by Jensen's inequality (-log of a mean <= mean of -log, target by
        // target) the ensemble's log-loss is at most the members' mean.
        var evaluate = ChildProcess.Cli(_folder.Path, "evaluate", "--model", zip, "--data", names, "--json");
        Assert.Equal(0, evaluate.ExitCode);
        using var metrics = JsonDocument.Parse(evaluate.StdOut);
        double ensembleLoss = metrics.RootElement.GetProperty("logLoss").GetDouble();
        double[] memberLosses = [.. metrics.RootElement.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("logLoss").GetDouble())];
        Assert.Equal(2, memberLosses.Length);
        Assert.True(ensembleLoss <= memberLosses.Average() + 1e-6, $"ensemble {ensembleLoss}, members {string.Join(", ", memberLosses)}");
        Assert.NotEqual(memberLosses[0], memberLosses[1]);

        // info lists the members; export-onnx keeps them.
        var info = ChildProcess.Cli(_folder.Path, "info", "--model", zip);
        Assert.Equal(0, info.ExitCode);
        Assert.Contains("ensemble of 2 models", info.StdOut, StringComparison.Ordinal);
        Assert.Equal(2, info.StdOut.Split('\n').Count(l => l.TrimStart().StartsWith("member ", StringComparison.Ordinal)));
        var export = ChildProcess.Cli(_folder.Path, "export-onnx", "--model", zip, "--out", "e.onnx");
        Assert.Equal(0, export.ExitCode);
        var file = Onnx.OnnxModelFile.Read(_folder.File("e.onnx"));
        Assert.Equal(loaded.Onnx.ParameterCount, file.ParameterCount);
        Assert.Equal(loaded.Onnx.Members.Select(m => m.Info.Architecture), file.Members.Select(m => m.Info.Architecture));
    }

    public void Dispose() => _folder.Dispose();
}
