// Writes a sweep's results as CSV (one row per trial, one column per parameter) and as JSON (trials and configurations).
using System.Globalization;
using System.Text;
using System.Text.Json;
using MLNet.Transformer.AutoML.Internal;

namespace MLNet.Transformer.AutoML;

/// <summary>
/// Writes a <see cref="SweepResult"/> to disk. Rows are in leaderboard order, then unranked trials by id. Files are
/// written to a temporary file and renamed, so a reader never sees a partial report. Numbers use the invariant
/// culture; non-finite values are empty CSV fields and JSON nulls.
/// </summary>
public sealed class SweepReport
{
    /// <summary>The fixed CSV columns, before one column per parameter and the trailing columns.</summary>
    public static readonly IReadOnlyList<string> LeadingColumns =
        ["rank", "id", "status", "metric", "validation_loss", "best_epoch", "last_validation_loss", "perplexity", "epochs",
         "stopped_early", "repeat_of", "duration_seconds", "seed", "device", "threads"];

    /// <summary>The CSV columns after the parameter columns.</summary>
    public static readonly IReadOnlyList<string> TrailingColumns = ["key", "epoch_losses", "message"];

    /// <summary>Creates a report writer.</summary>
    public SweepReport(SweepResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        Result = result;
    }

    /// <summary>The result reported.</summary>
    public SweepResult Result { get; }

    /// <summary>Writes the CSV report (UTF-8, CRLF, header row) to <paramref name="path"/>.</summary>
    public void WriteCsv(string path) => IO.AtomicFile.Write(path, stream =>
    {
        using var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true);
        WriteCsv(writer);
    });

    /// <summary>Writes the CSV report to <paramref name="writer"/>.</summary>
    public void WriteCsv(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var names = ParameterNames();
        var csv = new CsvWriter(writer);
        csv.WriteRow(LeadingColumns.Concat(names).Concat(TrailingColumns));
        foreach (var (rank, t) in OrderedTrials())
        {
            var row = new List<string>
            {
                rank?.ToString(CultureInfo.InvariantCulture) ?? string.Empty,
                Format(t.Id),
                t.Status.ToString(),
                Format(t.MetricValue),
                Format(t.ValidationLoss),
                Format(t.BestEpoch),
                Format(t.LastValidationLoss),
                Format(t.Perplexity),
                Format(t.EpochsRun),
                t.StoppedEarly ? "true" : "false",
                t.RepeatOf is int r ? Format(r) : string.Empty,
                Format(t.Duration.TotalSeconds),
                Format(t.Seed),
                t.Device,
                Format(t.Threads),
            };
            row.AddRange(names.Select(n => t.Parameters.TryGetValue(n, out var v) ? ParameterSet.FormatValue(v) : string.Empty));
            row.Add(t.Parameters.Key);
            row.Add(string.Join(';', t.EpochLosses.Select(Format)));
            row.Add(t.Message ?? string.Empty);
            csv.WriteRow(row);
        }
    }

    /// <summary>Writes the JSON report (indented UTF-8) to <paramref name="path"/>.</summary>
    public void WriteJson(string path) => IO.AtomicFile.Write(path, WriteJson);

    /// <summary>Writes the JSON report to <paramref name="stream"/>.</summary>
    public void WriteJson(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        var r = Result;
        json.WriteStartObject();
        json.WriteNumber("seed", r.Seed);
        json.WriteString("metric", r.Metric);
        json.WriteNumber("maxEpochs", r.MaxEpochs);
        json.WriteString("stopReason", r.StopReason.ToString());
        json.WriteNumber("elapsedSeconds", r.Elapsed.TotalSeconds);
        json.WriteNumber("totalEpochs", r.TotalEpochs);
        if (r.Best is { } best)
        {
            json.WriteNumber("bestTrial", best.Id);
        }
        else
        {
            json.WriteNull("bestTrial");
        }

        json.WriteStartArray("trials");
        foreach (var (rank, t) in OrderedTrials())
        {
            json.WriteStartObject();
            json.WriteNumber("id", t.Id);
            if (rank is int k)
            {
                json.WriteNumber("rank", k);
            }
            else
            {
                json.WriteNull("rank");
            }

            json.WriteString("status", t.Status.ToString());
            json.WriteString("key", t.Parameters.Key);
            json.WriteStartObject("parameters");
            foreach (var (name, value) in t.Parameters)
            {
                WriteValue(json, name, value);
            }

            json.WriteEndObject();
            WriteNumber(json, "metric", t.MetricValue);
            WriteNumber(json, "validationLoss", t.ValidationLoss);
            json.WriteNumber("bestEpoch", t.BestEpoch);
            WriteNumber(json, "lastValidationLoss", t.LastValidationLoss);
            WriteNumber(json, "perplexity", t.Perplexity);
            json.WriteNumber("epochsRun", t.EpochsRun);
            json.WriteBoolean("stoppedEarly", t.StoppedEarly);
            if (t.RepeatOf is int repeatOf)
            {
                json.WriteNumber("repeatOf", repeatOf);
            }
            else
            {
                json.WriteNull("repeatOf");
            }

            json.WriteStartArray("epochLosses");
            foreach (double loss in t.EpochLosses)
            {
                if (double.IsFinite(loss))
                {
                    json.WriteNumberValue(loss);
                }
                else
                {
                    json.WriteNullValue();
                }
            }

            json.WriteEndArray();
            json.WriteNumber("durationSeconds", t.Duration.TotalSeconds);
            json.WriteNumber("seed", t.Seed);
            json.WriteString("device", t.Device);
            json.WriteNumber("threads", t.Threads);
            json.WriteStartObject("metrics");
            foreach (var (name, value) in t.Metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                WriteNumber(json, name, value);
            }

            json.WriteEndObject();
            if (t.Message is null)
            {
                json.WriteNull("message");
            }
            else
            {
                json.WriteString("message", t.Message);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("configurations");
        foreach (var c in r.Leaderboard.Configurations)
        {
            json.WriteStartObject();
            json.WriteNumber("rank", c.Rank);
            json.WriteString("key", c.Parameters.Key);
            json.WriteNumber("runs", c.Runs.Count);
            WriteNumber(json, "mean", c.Mean);
            WriteNumber(json, "standardDeviation", c.StandardDeviation);
            WriteNumber(json, "min", c.Min);
            WriteNumber(json, "max", c.Max);
            WriteNumber(json, "meanBestEpoch", c.MeanBestEpoch);
            json.WriteStartArray("trials");
            foreach (var t in c.Runs)
            {
                json.WriteNumberValue(t.Id);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static string Format(double value) => double.IsFinite(value) ? value.ToString("R", CultureInfo.InvariantCulture) : string.Empty;

    private static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static void WriteNumber(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value))
        {
            json.WriteNumber(name, value);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static void WriteValue(Utf8JsonWriter json, string name, object value)
    {
        switch (value)
        {
            case bool b:
                json.WriteBoolean(name, b);
                break;
            case int i:
                json.WriteNumber(name, i);
                break;
            case long l:
                json.WriteNumber(name, l);
                break;
            case float f:
                // Write the float's shortest decimal form, not its widened double expansion.
                json.WriteNumber(name, double.Parse(f.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture));
                break;
            case double d:
                WriteNumber(json, name, d);
                break;
            default:
                json.WriteString(name, ParameterSet.FormatValue(value));
                break;
        }
    }

    private List<string> ParameterNames()
    {
        var names = new List<string>();
        foreach (var t in Result.Trials)
        {
            foreach (var name in t.Parameters.Names)
            {
                if (!names.Contains(name, StringComparer.Ordinal))
                {
                    names.Add(name);
                }
            }
        }

        return names;
    }

    private IEnumerable<(int? Rank, SweepTrialResult Trial)> OrderedTrials()
    {
        var ranked = Result.Leaderboard.Select(e => ((int?)e.Rank, e.Trial)).ToList();
        var rankedIds = ranked.Select(r => r.Trial.Id).ToHashSet();
        return ranked.Concat(Result.Trials.Where(t => !rankedIds.Contains(t.Id)).OrderBy(t => t.Id).Select(t => ((int?)null, t)));
    }
}
