// train --corpus in a child process: a running text (empty lines kept), a step budget, evaluation every K steps,
// bits per character beside nats; --data and --corpus exclude each other.
using System.Text.Json;
using MLNet.Transformer.TestKit;

namespace MLNet.Transformer.Tests;

public sealed class CliCorpusTests
{
    [Fact]
    public void Train_Corpus_ReportsEvaluationsAndBitsPerCharacter()
    {
        using var folder = new TempFolder();
        string corpus = folder.File("text.txt");
        File.WriteAllText(corpus, string.Join("\n\n", File.ReadLines(RepoPaths.Combine("data", "names.txt")).Take(400)) + "\n");

        var result = ChildProcess.Cli(folder.Path, "train", "--corpus", corpus, "--context-length", "16", "--max-steps", "30", "--eval-every", "10",
            "--batch-size", "8", "--dim", "32", "--ff", "64", "--heads", "2", "--validation-fraction", "0.1", "--out", folder.File("m.zip"), "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.StdOut);
        var r = json.RootElement;
        Assert.Equal(30, r.GetProperty("steps").GetInt64());
        Assert.Equal(3, r.GetProperty("epochs").GetArrayLength());
        double nats = r.GetProperty("finalValidationLoss").GetDouble();
        Assert.Equal(nats / Math.Log(2), r.GetProperty("finalValidationBitsPerCharacter").GetDouble(), 12);
    }

    [Fact]
    public void Train_DataAndCorpusTogether_FailsNamingBoth()
    {
        using var folder = new TempFolder();
        string corpus = folder.File("text.txt");
        File.WriteAllText(corpus, "abc\n");

        var result = ChildProcess.Cli(folder.Path, "train", "--corpus", corpus, "--data", corpus, "--out", folder.File("m.zip"));

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("--data", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("--corpus", result.StdErr, StringComparison.Ordinal);
    }
}
