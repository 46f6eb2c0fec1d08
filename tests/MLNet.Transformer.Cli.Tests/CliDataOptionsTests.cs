// train's data options through the command line: a CSV column, --lower-case, and --length-policy for rows longer
// than --max-length, with the counts reported by train and the vocabulary reported by info.
using System.Text.Json;

namespace MLNet.Transformer.Tests;

public sealed class CliDataOptionsTests : IDisposable
{
    /// <summary>Mixed case, with two names longer than a 6-token maximum (12 and 8 characters).</summary>
    internal const string PeopleCsv = "Name,Kind\nCat,animal\nDOG,animal\n\"Hippopotamus\",animal\nApple,fruit\nKiwi,fruit\nElephant,animal\n";

    private readonly TempFolder _folder = new();

    [Theory]
    [InlineData("skip", 0, 2)]
    [InlineData("truncate", 2, 0)]
    public void Train_CsvColumnLowerCaseLengthPolicy_ReportsRowsAndLearnsLowerCase(string policy, int truncated, int skipped)
    {
        string data = _folder.File("people.csv");
        File.WriteAllText(data, PeopleCsv);
        string model = _folder.File("people.zip");

        using var train = JsonDocument.Parse(Run("train", "--data", data, "--column", "Name", "--lower-case", "--max-length", "6",
            "--length-policy", policy, "--validation-fraction", "0", "--epochs", "1", "--out", model, "--json").StdOut);
        Assert.Equal("Name", train.RootElement.GetProperty("textColumn").GetString());
        Assert.Equal(truncated, train.RootElement.GetProperty("truncatedRows").GetInt32());
        Assert.Equal(skipped, train.RootElement.GetProperty("skippedRows").GetInt32());

        using var info = JsonDocument.Parse(Run("info", "--model", model, "--json").StdOut);
        Assert.Equal("Name", info.RootElement.GetProperty("textColumn").GetString());
        Assert.Equal(skipped, info.RootElement.GetProperty("skippedRows").GetInt32());
        var vocabulary = info.RootElement.GetProperty("vocabulary").EnumerateArray().Select(v => v.GetString()!).ToArray();
        Assert.DoesNotContain(vocabulary, v => v.Length == 1 && char.IsUpper(v[0]));
        Assert.Contains("d", vocabulary); // from "DOG", lower-cased

        // evaluate reads the same column and says what its figures are over: every row of the file.
        using var evaluation = JsonDocument.Parse(Run("evaluate", "--model", model, "--data", data, "--column", "Name", "--json").StdOut);
        Assert.Equal(data, evaluation.RootElement.GetProperty("data").GetString());
        Assert.Equal("Name", evaluation.RootElement.GetProperty("textColumn").GetString());
        Assert.Equal(6, evaluation.RootElement.GetProperty("rows").GetInt64());
    }

    public void Dispose() => _folder.Dispose();

    private ProcessResult Run(params string[] args)
    {
        var r = ChildProcess.Cli(_folder.Path, args);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r;
    }
}
