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
        string folder = _folder.File("m-folder");
        Directory.CreateDirectory(folder);
        return [.. args.Select(a => a
            .Replace("{names}", TrainedCliModel.NamesPath, StringComparison.Ordinal)
            .Replace("{corrupt}", corrupt, StringComparison.Ordinal)
            .Replace("{csv}", csv, StringComparison.Ordinal)
            .Replace("{folder}", folder, StringComparison.Ordinal))];
    }
}
