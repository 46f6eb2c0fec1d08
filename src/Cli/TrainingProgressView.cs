// Training progress on the terminal: a Spectre.Console progress bar with loss, speed and ETA when attached to a
// terminal, plain log lines on stderr otherwise, nothing with --quiet (or --json, which keeps stdout clean). A worker
// of `train --nproc-per-node` writes every report as one JSON line on stderr for its launcher instead.
using System.Globalization;
using MLNet.Transformer.LanguageModeling;
using Spectre.Console;

namespace MLNet.Transformer.Cli;

internal sealed class TrainingProgressView(bool quiet, bool json, int epochs) : IProgress<TrainingProgress>, IDisposable
{
    private readonly bool _toLauncher = WorkerLauncher.ReportsToLauncher;
    private readonly bool _bar = ProgressBar.Enabled(quiet, json) && !WorkerLauncher.ReportsToLauncher;
    private ProgressTask? _task;

    /// <summary>Runs <paramref name="work"/> under the progress display.</summary>
    public T Run<T>(Func<T> work) => _bar ? ProgressBar.Run("training", t => _task = t, work) : work();

    public void Report(TrainingProgress value)
    {
        if (_toLauncher)
        {
            Console.Error.WriteLine(WorkerLauncher.ProgressPrefix + System.Text.Json.JsonSerializer.Serialize(value, CliHost.JsonOptions).ReplaceLineEndings(" "));
            return;
        }

        var c = CultureInfo.InvariantCulture;
        string valid = value.ValidationLoss is double v ? v.ToString("F4", c) : "-";
        if (_task is not null)
        {
            _task.Value = (double)value.Step / Math.Max(1, value.TotalSteps);
            _task.Description = string.Create(c, $"epoch {value.Epoch}/{value.TotalEpochs} loss {value.TrainLoss:F4} val {valid} {value.CharactersPerSecond:N0} char/s");
        }
        else if (!quiet && value.IsEpochEnd)
        {
            Console.Error.WriteLine(string.Create(c, $"epoch {value.Epoch,4}/{epochs}  train {value.TrainLoss:F4}  valid {valid}  {value.CharactersPerSecond,8:N0} char/s  elapsed {value.Elapsed:mm\\:ss}  eta {value.EstimatedRemaining:mm\\:ss}"));
        }
    }

    public void Dispose() => _task?.StopTask();
}
