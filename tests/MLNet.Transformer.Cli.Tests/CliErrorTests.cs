// Failures of the command line: each exits non-zero with exactly one `error: ...` line on stderr that names the
// culprit, and nothing on stdout (or, with --json, one JSON object with the same message).
using System.Text.Json;

namespace MLNet.Transformer.Tests;

public sealed class CliErrorTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public static TheoryData<string, string[], string[]> Cases => new()
    {
        { "missing data file", ["train", "--data", "no-such-file.txt", "--out", "m.zip"], ["--data", "no-such-file.txt"] },
        { "heads not dividing dim", ["train", "--data", "{names}", "--heads", "3", "--dim", "32", "--epochs", "1", "--out", "m.zip"], ["heads", "32"] },
        { "corrupt zip", ["score", "--model", "{corrupt}", "--text", "ab"], ["--model", "corrupt.zip"] },
        { "missing model file", ["info", "--model", "no-such-model.zip"], ["--model", "no-such-model.zip"] },
        { "unknown option", ["train", "--data", "{names}", "--out", "m.zip", "--bogus"], ["--bogus", "train --help"] },
        { "unparsable value", ["train", "--data", "{names}", "--out", "m.zip", "--epochs", "many"], ["--epochs", "many"] },
        { "value not among choices", ["train", "--data", "{names}", "--out", "m.zip", "--model", "lstm"], ["lstm", "decoder"] },
        { "missing required option", ["score", "--text", "ab"], ["--model"] },
        { "unknown command", ["frobnicate"], ["frobnicate"] },
        { "unknown CSV column", ["train", "--data", "{csv}", "--column", "Nome", "--out", "m.zip"], ["--column", "people.csv", "Nome", "Name"] },
        { "row longer than --max-length", ["train", "--data", "{csv}", "--column", "Name", "--max-length", "6", "--epochs", "1", "--out", "m.zip"], ["--data", "people.csv", "'Name'", "--max-length", "--length-policy"] },
        { "sweep range upside down", ["sweep", "--data", "{names}", "--dropout", "0.5:0.1", "--out", "m.zip"], ["--dropout", "0.5:0.1"] },
        { "sweep list with a word", ["sweep", "--data", "{names}", "--heads", "1,two", "--out", "m.zip"], ["--heads", "1,two"] },
        { "sweep unknown activation", ["sweep", "--data", "{names}", "--activation", "relu,swish", "--out", "m.zip"], ["--activation", "swish", "gelu"] },
        { "sweep unknown layout", ["sweep", "--data", "{names}", "--norm", "middle", "--out", "m.zip"], ["--norm", "middle", "pre"] },
        { "sweep ensemble of none", ["sweep", "--data", "{names}", "--ensemble", "0", "--out", "m.zip"], ["--ensemble", "0"] },
        { "--out is a folder", ["train", "--data", "{csv}", "--column", "Name", "--epochs", "1", "--quiet", "--out", "{folder}"], ["--out", "m-folder"] },
        { "export-onnx --out is its --model", ["export-onnx", "--model", "{corrupt}", "--out", "{corrupt}"], ["--out", "--model", "corrupt.zip"] },
        { "attention --out is its --model", ["attention", "--model", "{corrupt}", "--text", "ab", "--out", "{corrupt}"], ["--out", "--model"] },
        { "train --out is its --data", ["train", "--data", "{csv}", "--column", "Name", "--epochs", "1", "--out", "{csv}"], ["--out", "--data", "people.csv"] },
        { "train --plot is its --out", ["train", "--data", "{csv}", "--column", "Name", "--epochs", "1", "--out", "m.zip", "--plot", "m.zip"], ["--plot", "--out"] },
        { "sweep --report is its --data", ["sweep", "--data", "{csv}", "--report", "{csv}"], ["--report", "--data"] },
        { "--nproc-per-node far beyond the cores", ["train", "--data", "{names}", "--nproc-per-node", "100000", "--out", "m.zip"], ["--nproc-per-node", "100000"] },
        { "--layers beyond the limit", ["train", "--data", "{names}", "--layers", "100000", "--out", "m.zip"], ["--layers", "256"] },
        { "--threads beyond the limit", ["train", "--data", "{names}", "--threads", "100000", "--out", "m.zip"], ["--threads", "100000"] },
        { "--dim beyond the limit", ["train", "--data", "{names}", "--dim", "1000000", "--out", "m.zip"], ["--dim", "1000000"] },
        { "model far beyond memory", ["train", "--data", "{names}", "--dim", "16384", "--ff", "65536", "--layers", "64", "--heads", "16", "--out", "m.zip"], ["--dim", "GiB", "--layers", "--batch-size"] },
        { "CSV column empty in every row", ["train", "--data", "{emptycolumn}", "--column", "Name", "--epochs", "1", "--out", "m.zip"], ["'Name'", "empty"] },
        { "score --top 0", ["score", "--model", "{corrupt}", "--text", "ab", "--top", "0"], ["--top", "0"] },
        { "sweep heads that divide no dimension", ["sweep", "--data", "{names}", "--heads", "3", "--dim", "32", "--out", "m.zip"], ["--heads 3", "--dim 32"] },
        { "sweep --parallel beyond the limit", ["sweep", "--data", "{names}", "--parallel", "100000", "--out", "m.zip"], ["--parallel", "100000"] },
        { "sweep time budget not positive", ["sweep", "--data", "{names}", "--time-budget", "-5", "--out", "m.zip"], ["--time-budget"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Command_BadInput_ExitsNonZeroWithOneErrorLine(string scenario, string[] args, string[] mentions)
    {
        var r = ChildProcess.Cli(_folder.Path, Expand(args));

        Assert.True(r.ExitCode != 0, $"{scenario}: {r}");
        string line = Assert.Single(r.StdErrLines);
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.All(mentions, m => Assert.Contains(m, line, StringComparison.OrdinalIgnoreCase));
        Assert.Equal("", r.StdOut.Trim());
        Assert.False(File.Exists(_folder.File("m.zip")), "no model is saved when training fails");
        Assert.Empty(Directory.GetFiles(_folder.Path, "*.tmp", SearchOption.AllDirectories)); // nor a partial one
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Command_BadInputWithJson_PrintsErrorObject(string scenario, string[] args, string[] mentions)
    {
        _ = mentions;
        var r = ChildProcess.Cli(_folder.Path, [.. Expand(args), "--json"]);

        Assert.True(r.ExitCode != 0, $"{scenario}: {r}");
        using var json = JsonDocument.Parse(r.StdOut);
        string error = json.RootElement.GetProperty("error").GetString()!;
        Assert.Equal("error: " + error, Assert.Single(r.StdErrLines));
    }

    [Fact]
    public void Train_NonAsciiTextInAProcessWithoutIcu_SaysNormalizationNeedsIcu()
    {
        string data = _folder.File("accents.txt");
        File.WriteAllLines(data, ["\u00E9mile", "zo\u00EB", "anna"]);

        var r = ChildProcess.Dotnet(_folder.Path, [ChildProcess.CliDll, "train", "--data", data, "--epochs", "1", "--out", "m.zip"],
            new Dictionary<string, string> { ["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"] = "1" });

        Assert.True(r.ExitCode != 0, r.ToString());
        string line = Assert.Single(r.StdErrLines);
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains("InvariantGlobalization", line, StringComparison.Ordinal);
        Assert.Contains("normalize", line, StringComparison.Ordinal);
        Assert.False(File.Exists(_folder.File("m.zip")));
    }

    public void Dispose() => _folder.Dispose();

    private string[] Expand(string[] args)
    {
        string corrupt = _folder.File("corrupt.zip");
        File.WriteAllText(corrupt, "this is a text file, not a zip archive\n");
        string csv = _folder.File("people.csv");
        File.WriteAllText(csv, CliDataOptionsTests.PeopleCsv);
        string emptyColumn = _folder.File("empty-column.csv");
        File.WriteAllText(emptyColumn, "Name,Age\n,31\n\"\",40\n,7\n");
        string folder = _folder.File("m-folder");
        Directory.CreateDirectory(folder);
        return [.. args.Select(a => a
            .Replace("{names}", TrainedCliModel.NamesPath, StringComparison.Ordinal)
            .Replace("{corrupt}", corrupt, StringComparison.Ordinal)
            .Replace("{csv}", csv, StringComparison.Ordinal)
            .Replace("{emptycolumn}", emptyColumn, StringComparison.Ordinal)
            .Replace("{folder}", folder, StringComparison.Ordinal))];
    }
}
