// The one Spectre.Console progress display the long commands (train, sweep) share: shown only when attached to a
// terminal and neither --quiet nor --json is given.
using Spectre.Console;

namespace MLNet.Transformer.Cli;

internal static class ProgressBar
{
    /// <summary>True when a live bar may be drawn (a terminal on both streams, not quiet, not JSON).</summary>
    public static bool Enabled(bool quiet, bool json) => !quiet && !json && !Console.IsErrorRedirected && !Console.IsOutputRedirected;

    /// <summary>Runs <paramref name="work"/> under a bar; <paramref name="started"/> receives the task to update.</summary>
    public static T Run<T>(string name, Action<ProgressTask> started, Func<T> work)
    {
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(name, maxValue: 1.0);
                started(task);
                result = work();
                task.Value = task.MaxValue;
            });
        return result;
    }
}
