// `sweep`: search heads, layers and other hyper-parameters with pruning, refit the best, save it, write reports.
using System.CommandLine;
using System.Globalization;
using Microsoft.ML;
using MLNet.Transformer.AutoML;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.Visualization;
using Spectre.Console;

namespace MLNet.Transformer.Cli.Commands;

internal static class SweepCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Training text (one example per line, or .csv/.tsv).", Required = true };
        var column = new Option<string?>("--column") { Description = "CSV/TSV text column." };
        var heads = new Option<string>("--heads") { Description = "Head counts to try, comma-separated.", DefaultValueFactory = _ => "1,2,4" };
        var layers = new Option<string>("--layers") { Description = "Layer counts to try.", DefaultValueFactory = _ => "1,2,3" };
        var dim = new Option<string>("--dim") { Description = "Model dimensions to try.", DefaultValueFactory = _ => "32" };
        var ff = new Option<string?>("--ff") { Description = "Feed-forward widths to try (default: 2 x dim)." };
        var lr = new Option<string>("--lr") { Description = "Learning rates to try.", DefaultValueFactory = _ => "0.001" };
        var dropout = new Option<string>("--dropout") { Description = "Dropout values to try.", DefaultValueFactory = _ => "0" };
        var epochs = new Option<int>("--epochs") { Description = "Full epoch budget of a trial.", DefaultValueFactory = _ => 20 };
        var trials = new Option<int>("--trials") { Description = "Most trials.", DefaultValueFactory = _ => 50 };
        var budget = new Option<double?>("--time-budget") { Description = "Wall-clock budget in seconds." };
        var tuner = new Option<string>("--tuner") { Description = "grid, random or tpe.", DefaultValueFactory = _ => "grid" };
        tuner.AcceptOnlyFromAmong("grid", "random", "tpe");
        var pruner = new Option<string>("--pruner") { Description = "asha or none.", DefaultValueFactory = _ => "asha" };
        pruner.AcceptOnlyFromAmong("asha", "none");
        var parallel = new Option<int>("--parallel") { Description = "Trials run at once (CPU threads are split between them).", DefaultValueFactory = _ => 1 };
        var seed = new Option<int>("--seed") { Description = "Seed of the whole sweep.", DefaultValueFactory = _ => 42 };
        var device = new Option<string>("--device") { Description = "cpu or cuda:N (comma-separated for several).", DefaultValueFactory = _ => "cpu" };
        var threads = new Option<int>("--threads-per-trial") { Description = "CPU threads per trial (1 is fastest for small models).", DefaultValueFactory = _ => 1 };
        var validation = new Option<double>("--validation-fraction") { Description = "Held-out fraction used to rank trials.", DefaultValueFactory = _ => 0.2 };
        var output = new Option<string?>("--out") { Description = "Save the refitted best model to this .zip." };
        var report = new Option<string?>("--report") { Description = "Write every trial to this CSV file." };
        var reportJson = new Option<string?>("--report-json") { Description = "Write the sweep to this JSON file." };
        var plot = new Option<string?>("--plot") { Description = "Write the trials' validation losses to this file: PNG when it ends in .png, SVG otherwise." };
        var cmd = new Command("sweep", "Search heads, layers and training hyper-parameters; prune bad trials early; refit and save the best.")
        {
            data, column, heads, layers, dim, ff, lr, dropout, epochs, trials, budget, tuner, pruner, parallel, seed, device, threads, validation, output, report, reportJson, plot,
        };
        cmd.SetAction(parse =>
        {
            var ml = new MLContext(parse.GetValue(seed));
            var (view, textColumn) = DataLoading.Load(ml, parse.GetValue(data)!, parse.GetValue(column), null);
            int[] dims = Ints(parse.GetValue(dim)!, "--dim");
            var baseOptions = new TransformerDecoderTrainerOptions { TextColumnName = textColumn, ModelDimension = dims[0], FeedForwardDimension = 2 * dims[0] };
            var space = ml.TransformerSweep().CreateSearchSpace(baseOptions)
                .Choice(o => o.Heads, Ints(parse.GetValue(heads)!, "--heads"))
                .Choice(o => o.Layers, Ints(parse.GetValue(layers)!, "--layers"));
            if (dims.Length > 1)
            {
                space = space.Choice(o => o.ModelDimension, dims);
            }

            if (parse.GetValue(ff) is { } ffs)
            {
                int[] widths = Ints(ffs, "--ff");
                if (widths.Length > 1)
                {
                    space = space.Choice(o => o.FeedForwardDimension, widths);
                }
                else
                {
                    baseOptions.FeedForwardDimension = widths[0];
                }
            }

            float[] lrs = Floats(parse.GetValue(lr)!, "--lr");
            if (lrs.Length > 1)
            {
                space = space.Choice(o => o.LearningRate, lrs);
            }
            else
            {
                baseOptions.LearningRate = lrs[0];
            }

            float[] drops = Floats(parse.GetValue(dropout)!, "--dropout");
            if (drops.Length > 1)
            {
                space = space.Choice(o => o.Dropout, drops);
            }
            else
            {
                baseOptions.Dropout = drops[0];
            }

            space = space.Constraint("heads must divide the model dimension", o => o.ModelDimension % o.Heads == 0);
            var sweepOptions = new SweepOptions
            {
                MaxTrials = parse.GetValue(trials),
                TimeBudget = parse.GetValue(budget) is double s ? TimeSpan.FromSeconds(s) : null,
                Parallelism = parse.GetValue(parallel),
                ThreadsPerTrial = parse.GetValue(threads),
                Seed = parse.GetValue(seed),
                MaxEpochs = parse.GetValue(epochs),
                Devices = parse.GetValue(device)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            };
            var trainer = ml.TransformerSweep().NextCharacterSweep(space, sweepOptions);
            trainer.ValidationFraction = parse.GetValue(validation);
            trainer.Tuner = parse.GetValue(tuner) switch { "random" => new RandomTuner(), "tpe" => new TpeTuner(), _ => new GridTuner() };
            trainer.Pruner = parse.GetValue(pruner) == "none" ? new NoPruner() : new AshaPruner(minEpochs: 1, reductionFactor: 3);
            var progressView = new SweepProgressView(parse.GetValue(CliHost.Quiet), parse.GetValue(CliHost.Json));
            trainer.Monitor = progressView;
            using var cts = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
            trainer.CancellationToken = cts.Token;
            var best = progressView.Run(() => trainer.Fit(view));
            var result = trainer.LastResult!;
            if (parse.GetValue(report) is { } csv)
            {
                result.Report.WriteCsv(csv);
            }

            if (parse.GetValue(reportJson) is { } json)
            {
                result.Report.WriteJson(json);
            }

            if (parse.GetValue(plot) is { } plotPath)
            {
                Plots.WriteSweepPlot(result, plotPath);
            }

            if (parse.GetValue(output) is { } zip)
            {
                // The refitted best model reads the text column itself: an ML.NET zip that score/generate/info load,
                // with its training record, written as `train` writes its models.
                ModelFile.Save(ml, best, view.Schema, best.History, zip);
            }

            var winner = result.Best!;
            var summary = new
            {
                best = winner.Parameters.Key,
                bestValidationLoss = winner.ValidationLoss,
                bestPerplexity = winner.Perplexity,
                refitBestValidationLoss = best.History!.BestValidationLoss,
                trials = result.Trials.Count,
                completed = result.WithStatus(TrialStatus.Completed).Count,
                pruned = result.WithStatus(TrialStatus.Pruned).Count,
                failed = result.WithStatus(TrialStatus.Failed).Count,
                skipped = result.WithStatus(TrialStatus.Skipped).Count,
                totalEpochs = result.TotalEpochs,
                elapsedSeconds = result.Elapsed.TotalSeconds,
                stopReason = result.StopReason.ToString(),
                leaderboard = result.Leaderboard.Top(10).Select(e => new { rank = e.Rank, parameters = e.Trial.Parameters.Key, status = e.Trial.Status.ToString(), validationLoss = e.Trial.ValidationLoss, epochs = e.Trial.EpochsRun }),
                model = parse.GetValue(output) is { } o ? Path.GetFullPath(o) : null,
            };
            CliHost.Output(parse, summary, () =>
            {
                var c = CultureInfo.InvariantCulture;
                Console.WriteLine(string.Create(c, $"{summary.trials} trials ({summary.completed} completed, {summary.pruned} pruned, {summary.failed} failed, {summary.skipped} skipped), {summary.totalEpochs} epochs in {summary.elapsedSeconds:F1} s"));
                foreach (var e in result.Leaderboard.Top(10))
                {
                    Console.WriteLine(string.Create(c, $"  #{e.Rank,-3} {e.Trial.Parameters.Key,-40} {e.Trial.Status,-9} val {e.Trial.ValidationLoss:F4}  ({e.Trial.EpochsRun} epochs)"));
                }

                Console.WriteLine(string.Create(c, $"best: {summary.best} (validation {summary.bestValidationLoss:F4}, perplexity {summary.bestPerplexity:F2}){(summary.model is null ? "" : $"; saved {summary.model}")}"));
            });
        });
        return cmd;
    }

    private static int[] Ints(string list, string option) => Parse(list, option, s => int.Parse(s, CultureInfo.InvariantCulture));

    private static float[] Floats(string list, string option) => Parse(list, option, s => float.Parse(s, CultureInfo.InvariantCulture));

    private static T[] Parse<T>(string list, string option, Func<string, T> parse)
    {
        try
        {
            var values = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(parse).Distinct().ToArray();
            return values.Length > 0 ? values : throw new FormatException("empty list");
        }
        catch (FormatException)
        {
            throw new ArgumentException($"{option}: '{list}' is not a comma-separated list of numbers.");
        }
    }

    /// <summary>
    /// Sweep progress: a Spectre.Console bar (trials done, running, best so far) with one line per finished trial
    /// on a terminal; the same lines on stderr otherwise; nothing with --quiet or --json.
    /// </summary>
    private sealed class SweepProgressView(bool quiet, bool json) : ISweepMonitor
    {
        private readonly bool _bar = ProgressBar.Enabled(quiet, json);
        private ProgressTask? _task;

        public T Run<T>(Func<T> work) => _bar ? ProgressBar.Run("sweep", t => _task = t, work) : work();

        public void OnTrialCompleted(SweepTrialResult result) => Line(result);

        public void OnTrialFailed(SweepTrialResult result) => Line(result);

        public void OnTrialSkipped(SweepTrialResult result) => Line(result);

        public void OnProgress(SweepProgress progress)
        {
            if (_task is null)
            {
                return;
            }

            int done = progress.Completed + progress.Pruned + progress.Failed + progress.Skipped + progress.Cancelled;
            _task.Value = (double)done / Math.Max(1, progress.MaxTrials);
            string best = progress.Best is { } b ? string.Create(CultureInfo.InvariantCulture, $"best {b.ValidationLoss:F4} ({b.Parameters.Key})") : "no result yet";
            _task.Description = Markup.Escape($"trials {done}/{progress.MaxTrials}, {progress.Running} running, {progress.TotalEpochs} epochs; {best}");
        }

        private void Line(SweepTrialResult r)
        {
            if (quiet || json)
            {
                return;
            }

            string line = string.Create(CultureInfo.InvariantCulture, $"trial {r.Id,3} {r.Status,-9} {r.Parameters.Key,-40} val {r.ValidationLoss:F4} epochs {r.EpochsRun,3} {r.Duration.TotalSeconds,6:F1} s{(r.Message is null ? "" : $"  {r.Message}")}");
            if (_bar)
            {
                AnsiConsole.WriteLine(line);
            }
            else
            {
                Console.Error.WriteLine(line);
            }
        }
    }
}
