// CSV and JSON sweep reports: written atomically, quoted properly, and parsed back to the same values.
using System.Globalization;
using System.Text;
using System.Text.Json;
using MLNet.Transformer.AutoML;
using Xunit;

namespace MLNet.Transformer.AutoML.Tests;

public sealed class SweepReportTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mlt-automl-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static async Task<SweepResult> SweepWithAwkwardFailureAsync()
    {
        var runner = new AnalyticRunner
        {
            OnStart = (o, _) =>
            {
                if (o.Heads == 2 && o.Layers == 3)
                {
                    throw new InvalidOperationException("bad, \"quoted\"\nsecond line");
                }
            },
        };
        return await new SweepExperiment<PlainOptions>(Spaces.HeadsLayers(dim: 12), runner, new SweepOptions { MaxEpochs = 3, Seed = 9 })
            .WithTuner(new GridTuner())
            .WithPruner(new AshaPruner())
            .RunAsync();
    }

    [Fact]
    public async Task WriteCsv_SweepWithFailureAndSkips_ParsesBackToTheSameValues()
    {
        var result = await SweepWithAwkwardFailureAsync();
        string path = Path.Combine(_dir, "sub", "sweep.csv");

        result.Report.WriteCsv(path);

        var rows = ParseCsv(File.ReadAllText(path, Encoding.UTF8));
        var header = rows[0];
        Assert.Equal(
            ["rank", "id", "status", "metric", "validation_loss", "best_epoch", "last_validation_loss", "perplexity", "epochs",
                "stopped_early", "repeat_of", "duration_seconds", "seed", "device", "threads", "Heads", "Layers", "key", "epoch_losses", "message"],
            header);
        Assert.Equal(result.Trials.Count + 1, rows.Count);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp"));

        var byId = rows.Skip(1).ToDictionary(r => int.Parse(r[header.IndexOf("id")], CultureInfo.InvariantCulture));
        foreach (var t in result.Trials)
        {
            var row = byId[t.Id];
            Assert.Equal(t.Status.ToString(), row[header.IndexOf("status")]);
            Assert.Equal(t.Parameters.Key, row[header.IndexOf("key")]);
            Assert.Equal(t.Parameters.Get<int>("Heads").ToString(CultureInfo.InvariantCulture), row[header.IndexOf("Heads")]);
            Assert.Equal(t.EpochsRun.ToString(CultureInfo.InvariantCulture), row[header.IndexOf("epochs")]);
            Assert.Equal(t.Message ?? string.Empty, row[header.IndexOf("message")]);
            if (t.Status is TrialStatus.Completed or TrialStatus.Pruned)
            {
                Assert.Equal(t.ValidationLoss, double.Parse(row[header.IndexOf("validation_loss")], CultureInfo.InvariantCulture));
                Assert.Equal(t.LastValidationLoss, double.Parse(row[header.IndexOf("last_validation_loss")], CultureInfo.InvariantCulture));
                Assert.Equal(t.BestEpoch, int.Parse(row[header.IndexOf("best_epoch")], CultureInfo.InvariantCulture));
                Assert.Equal(t.StoppedEarly ? "true" : "false", row[header.IndexOf("stopped_early")]);
                Assert.Equal(t.EpochLosses, row[header.IndexOf("epoch_losses")].Split(';').Select(s => double.Parse(s, CultureInfo.InvariantCulture)));
                Assert.Equal(result.Leaderboard.RankOf(t.Id)!.Value.ToString(CultureInfo.InvariantCulture), row[header.IndexOf("rank")]);
            }
            else
            {
                Assert.Equal(string.Empty, row[header.IndexOf("rank")]);
            }
        }

        // The first data row is the best trial.
        Assert.Equal(result.Best!.Id.ToString(CultureInfo.InvariantCulture), rows[1][header.IndexOf("id")]);
        Assert.Contains(rows, r => r[header.IndexOf("message")] == "InvalidOperationException: bad, \"quoted\"\nsecond line");
    }

    [Fact]
    public async Task WriteJson_Sweep_ParsesBackToTheSameValues()
    {
        var result = await SweepWithAwkwardFailureAsync();
        string path = Path.Combine(_dir, "sweep.json");
        File.WriteAllText(Path.Combine(Directory.CreateDirectory(_dir).FullName, "sweep.json"), "old contents");

        result.Report.WriteJson(path);

        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        Assert.Equal(9, root.GetProperty("seed").GetInt32());
        Assert.Equal(result.Best!.Id, root.GetProperty("bestTrial").GetInt32());
        Assert.Equal(result.TotalEpochs, root.GetProperty("totalEpochs").GetInt64());
        Assert.Equal("TunerExhausted", root.GetProperty("stopReason").GetString());
        var trials = root.GetProperty("trials").EnumerateArray().ToList();
        Assert.Equal(result.Trials.Count, trials.Count);
        foreach (var element in trials)
        {
            var t = result.Trials.Single(x => x.Id == element.GetProperty("id").GetInt32());
            Assert.Equal(t.Status.ToString(), element.GetProperty("status").GetString());
            Assert.Equal(t.Parameters.Get<int>("Heads"), element.GetProperty("parameters").GetProperty("Heads").GetInt32());
            Assert.Equal(t.Parameters.Get<int>("Layers"), element.GetProperty("parameters").GetProperty("Layers").GetInt32());
            Assert.Equal(t.Message, element.GetProperty("message").GetString());
            if (t.Status == TrialStatus.Skipped || t.Status == TrialStatus.Failed)
            {
                Assert.Equal(JsonValueKind.Null, element.GetProperty("validationLoss").ValueKind);
            }
            else
            {
                Assert.Equal(t.ValidationLoss, element.GetProperty("validationLoss").GetDouble());
                Assert.Equal(t.Perplexity, element.GetProperty("perplexity").GetDouble(), 12);
                Assert.Equal(t.EpochLosses, element.GetProperty("epochLosses").EnumerateArray().Select(e => e.GetDouble()));
                Assert.Equal(t.BestEpoch, element.GetProperty("bestEpoch").GetInt32());
                Assert.Equal(t.LastValidationLoss, element.GetProperty("lastValidationLoss").GetDouble());
            }
        }

        var configurations = root.GetProperty("configurations").EnumerateArray().ToList();
        Assert.Equal(result.Leaderboard.Configurations.Count, configurations.Count);
        foreach (var (element, c) in configurations.Zip(result.Leaderboard.Configurations))
        {
            Assert.Equal(c.Parameters.Key, element.GetProperty("key").GetString());
            Assert.Equal(c.Mean, element.GetProperty("mean").GetDouble());
            Assert.Equal(c.StandardDeviation, element.GetProperty("standardDeviation").GetDouble());
            Assert.Equal(c.Runs.Select(t => t.Id), element.GetProperty("trials").EnumerateArray().Select(e => e.GetInt32()));
        }
    }

    [Fact]
    public void Perplexity_IsExpOfLoss()
    {
        var t = new SweepTrialResult { Id = 0, Parameters = ParameterSet.Empty, Status = TrialStatus.Completed, ValidationLoss = Math.Log(7.5) };
        Assert.Equal(7.5, t.Perplexity, 12);
    }

    /// <summary>An independent RFC 4180 reader: quoted fields, doubled quotes, CRLF records.</summary>
    private static List<List<string>> ParseCsv(string text)
    {
        var rows = new List<List<string>>();
        var row = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                row.Add(field.ToString());
                field.Clear();
            }
            else if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                row.Add(field.ToString());
                field.Clear();
                rows.Add(row);
                row = [];
                i++;
            }
            else
            {
                field.Append(c);
            }
        }

        Assert.Empty(field.ToString());
        Assert.Empty(row);
        return rows;
    }
}
