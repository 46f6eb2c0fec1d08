// Runs each example program (its built dll, from a folder outside the repository so it must find data/names.txt
// from its own location) and checks the lines a reader relies on.
using System.Globalization;
using System.Text.RegularExpressions;

namespace MLNet.Transformer.Tests;

public sealed partial class ExamplesTests : IDisposable
{
    private readonly TempFolder _folder = new();

    [Fact]
    public void NextChar_Run_PredictsScoresEvaluatesAndGenerates()
    {
        string output = RunExample("NextChar");

        Assert.Matches(@"(?m)^'flyca' -> next character '(\p{Ll}|<EOS>)'$", output);
        Assert.Equal(5, Regex.Count(output, @"(?m)^  (\p{Ll}|<EOS>|<UNK>)\s+\d+\.\d %$"));
        var held = HeldOutLine().Match(output);
        Assert.True(held.Success, output);
        // Uniform guessing over the ~30 tokens has perplexity 30; a unigram model about 20. The example's model
        // measures about 12 (see the comment in Program.cs); 16 leaves room for other machines' rounding.
        Assert.InRange(Number(held.Groups["ppl"].Value), 1, 16);
        Assert.Equal(6, Regex.Match(output, @"(?m)^Generated \(temperature 0\.8, seed 7\): (.+)$").Groups[1].Value.Split(", ").Length);
        Assert.Matches(@"(?m)^Greedy from 'ca': ca\p{Ll}*$", output);
    }

    [Fact]
    public void Attention_Run_PrintsCausalRowsThatSumToOneAndWritesOfflineFiles()
    {
        string output = RunExample("Attention", _folder.Path);

        Assert.Contains("'flycatcher': 2 layers x 4 heads, 11 x 11 attention per head (968 floats)", output, StringComparison.Ordinal);
        var rows = Regex.Matches(output, @"(?m)^\s*(BOS|\p{Ll})((?:\s+(?:\d+|\.))+)$");
        Assert.Equal(11, rows.Count);
        for (int q = 0; q < rows.Count; q++)
        {
            string[] cells = rows[q].Groups[2].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(11, cells.Length);
            Assert.All(cells.Skip(q + 1), c => Assert.Equal(".", c)); // causal: nothing after the query
            int sum = cells.Take(q + 1).Sum(c => int.Parse(c, CultureInfo.InvariantCulture));
            Assert.InRange(sum, 100 - 6, 100 + 6); // percentages rounded cell by cell
        }

        string html = File.ReadAllText(Path.Combine(_folder.Path, "attention.html"));
        Assert.DoesNotContain("http://", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("https://", html, StringComparison.OrdinalIgnoreCase);
        var section = Visualization.BertvizJson.FromJson(File.ReadAllText(Path.Combine(_folder.Path, "attention.bertviz.json")));
        Assert.Equal((2, 4), (section.Layers, section.Heads));
        Assert.Equal(["<BOS>", "f", "l", "y", "c", "a", "t", "c", "h", "e", "r"], section.QueryTokens);
    }

    [Fact]
    public void Reverse_Run_ReversesMostHeldOutWordsThroughCrossAttention()
    {
        string output = RunExample("Reverse");

        // Exact match needs every character and the stop right. A decoder that ignored the source (e.g. broken
        // cross-attention) gets ~0% on unseen words; the example measures 88.3% on 205 words (see Program.cs),
        // whose sampling error is about 2.3 points, so 70% catches a broken path without flaking elsewhere.
        var exact = Regex.Match(output, @"(?m)^Held-out exact match \(greedy\): (\d+)/(\d+) = ");
        Assert.True(exact.Success, output);
        double accuracy = Number(exact.Groups[1].Value) / Number(exact.Groups[2].Value);
        Assert.True(accuracy >= 0.70, $"held-out exact match {accuracy:P1}\n{output}");

        // Some decoder layer must attend from each output character to the source character it copies.
        double aligned = Regex.Matches(output, @"(?m)^Cross-attention layer \d+: .* for (\d+\.\d) % of output characters$")
            .Select(m => Number(m.Groups[1].Value)).DefaultIfEmpty(0).Max();
        Assert.True(aligned >= 80, output);
        Assert.Matches(@"(?m)^  zebra -> arbez$", output);
    }

    [Fact]
    public void Sweep_Run_RanksNineTrialsPrunesAndWritesReports()
    {
        string output = RunExample("Sweep", _folder.Path);

        var trials = Regex.Matches(output, @"(?m)^  #\d+ Heads=(1|2|4),Layers=(1|2|3)\s+(Completed|Pruned)\s+validation (\d+\.\d+) at epoch\s+(\d+) of\s+(\d+)(?<early> \(stopped early\))?$");
        Assert.Equal(9, trials.Count);
        Assert.Equal(9, trials.Select(m => m.Groups[1].Value + m.Groups[2].Value).Distinct().Count());
        Assert.Contains(trials, m => m.Groups[3].Value == "Pruned");
        // A completed trial ran the full budget or stopped itself 5 epochs after its best.
        Assert.All(trials.Where(m => m.Groups[3].Value == "Completed"), m => Assert.Equal(
            m.Groups["early"].Success ? int.Parse(m.Groups[5].Value, CultureInfo.InvariantCulture) + 5 : 18, int.Parse(m.Groups[6].Value, CultureInfo.InvariantCulture)));
        // The leaderboard ranks completed trials first, by validation loss, then the pruned ones.
        string[] statuses = trials.Select(m => m.Groups[3].Value).ToArray();
        int completed = statuses.Count(s => s == "Completed");
        Assert.All(statuses.Take(completed), s => Assert.Equal("Completed", s));
        double[] completedLosses = trials.Take(completed).Select(m => Number(m.Groups[4].Value)).ToArray();
        Assert.Equal(completedLosses.Order(), completedLosses);
        var best = Regex.Match(output, @"(?m)^Best: Heads=(\d),Layers=(\d) \(validation (\d\.\d+), perplexity \d+\.\d+\)$");
        Assert.True(best.Success, output);
        Assert.Equal(completedLosses[0], Number(best.Groups[3].Value)); // the best is the leaderboard's first
        // The refit trains the winning configuration again, on all the names, for its best epoch count.
        string bestEpoch = trials[0].Groups[5].Value;
        Assert.Matches($@"(?m)^Refitted best: [\d,]+ parameters, {best.Groups[1].Value} head\(s\), {best.Groups[2].Value} layer\(s\), {bestEpoch} epochs on all 974 names$", output);
        int totalEpochs = int.Parse(Regex.Match(output, @"(?m)^9 trials, .*; (\d+) epochs of 162 for a plain grid$").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Equal(trials.Sum(m => int.Parse(m.Groups[6].Value, CultureInfo.InvariantCulture)), totalEpochs);
        foreach (string file in new[] { "sweep.csv", "sweep.svg", "best.zip" })
        {
            Assert.True(new FileInfo(Path.Combine(_folder.Path, file)).Length > 100, file);
        }

        Assert.Equal(10, File.ReadAllLines(Path.Combine(_folder.Path, "sweep.csv")).Length); // header + 9 trials
    }

    public void Dispose() => _folder.Dispose();

    private string RunExample(string name, params string[] args)
    {
        string dll = ChildProcess.ExampleDll(name);
        Assert.True(File.Exists(dll), $"{dll} is missing: build the solution (or this test project) first.");
        var r = ChildProcess.Dotnet(_folder.Path, [dll, .. args]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("", r.StdErr.Trim());
        return r.StdOut.ReplaceLineEndings("\n");
    }

    private static double Number(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"(?m)^Held-out \((\d+) names, (\d+) characters\): log-loss (?<loss>\d+\.\d+), perplexity (?<ppl>\d+\.\d+), accuracy \d+\.\d %, top-5 \d+\.\d %$")]
    private static partial Regex HeldOutLine();
}
