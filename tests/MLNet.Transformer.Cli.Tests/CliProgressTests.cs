// Progress output of long commands when not attached to a terminal: plain log lines on stderr, one per epoch
// (or per finished trial), and none at all with --quiet. (On a terminal a Spectre.Console bar replaces them.)
using System.Text.RegularExpressions;
using MLNet.Transformer.TestKit;

namespace MLNet.Transformer.Tests;

public sealed class CliProgressTests : IDisposable
{
    private readonly TempFolder _folder = new();

    [Fact]
    public void Train_Redirected_OneLinePerEpoch_QuietSilencesThem()
    {
        string names = RepoPaths.Combine("data", "names.txt");
        var plain = ChildProcess.Cli(_folder.Path, "train", "--data", names, "--epochs", "3", "--out", "a.zip");
        Assert.Equal(0, plain.ExitCode);
        var lines = plain.StdErrLines;
        Assert.Equal(3, lines.Length);
        for (int e = 1; e <= 3; e++)
        {
            Assert.Matches($@"^epoch\s+{e}/3\s+train \d\.\d{{4}}\s+valid \d\.\d{{4}}\s+[\d,]+ char/s\s+elapsed \d\d:\d\d\s+eta \d\d:\d\d$", lines[e - 1]);
        }

        var quiet = ChildProcess.Cli(_folder.Path, "train", "--data", names, "--epochs", "3", "--out", "b.zip", "--quiet");
        Assert.Equal(0, quiet.ExitCode);
        Assert.Equal("", quiet.StdErr);
        Assert.Contains("Saved", quiet.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void Sweep_Redirected_OneLinePerTrial_QuietSilencesThem()
    {
        string names = RepoPaths.Combine("data", "names.txt");
        // Every default dimension fixed but the heads: a two-point grid, then the better point once more with another seed.
        string[] args = ["sweep", "--data", names, "--heads", "1,2", "--layers", "1", "--dim", "32", "--ff-ratio", "2", "--dropout", "0",
            "--lr", "0.001", "--weight-decay", "0", "--norm", "post", "--activation", "relu", "--warmup", "0", "--schedule", "constant",
            "--batch-size", "16", "--epochs", "2", "--repeat-top", "1", "--repeat-seeds", "1"];
        var plain = ChildProcess.Cli(_folder.Path, args);
        Assert.Equal(0, plain.ExitCode);
        Assert.Equal(3, plain.StdErrLines.Count(l => Regex.IsMatch(l, @"^trial\s+\d+ (Completed|Pruned)\s+Heads=\d\s+val \d\.\d{4} at epoch\s+\d of\s+\d\s")));
        Assert.Single(plain.StdErrLines, l => Regex.IsMatch(l, @"^trial\s+2 Completed\s+Heads=\d\s.*repeat of [01]$"));
        var quiet = ChildProcess.Cli(_folder.Path, [.. args, "--quiet"]);
        Assert.Equal(0, quiet.ExitCode);
        Assert.Equal("", quiet.StdErr);
    }

    public void Dispose() => _folder.Dispose();
}
