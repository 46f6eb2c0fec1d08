// `sweep`: search every trainer option with early stopping and pruning, re-run the best with more seeds, refit the
// winner, save it, write reports.
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
        var data = new Option<string?>("--data") { Description = "Training text (one example per line, or .csv/.tsv); without it, sweep only reports the study in --storage." };
        var column = new Option<string?>("--column") { Description = "CSV/TSV text column." };
        const string Spec = "comma-separated values, or lo:hi for a range";
        var heads = new Option<string?>("--heads") { Description = $"Head counts ({Spec}; default 1,2,4)." };
        var layers = new Option<string?>("--layers") { Description = $"Layer counts ({Spec}; default 1,2,3)." };
        var dim = new Option<string?>("--dim") { Description = $"Model dimensions ({Spec}; default 32,48,64)." };
        var ff = new Option<string?>("--ff") { Description = $"Feed-forward widths ({Spec}; replaces --ff-ratio)." };
        var ffRatio = new Option<string?>("--ff-ratio") { Description = $"Feed-forward width as a multiple of the dimension ({Spec}; default 2,4)." };
        var dropout = new Option<string?>("--dropout") { Description = $"Dropout ({Spec}; default 0:0.6)." };
        var lr = new Option<string?>("--lr") { Description = $"Peak learning rates ({Spec}, log scale; default 3e-4:3e-3)." };
        var weightDecay = new Option<string?>("--weight-decay") { Description = $"AdamW weight decay ({Spec}, log scale when lo > 0; default 0,0.01,0.05,0.1)." };
        var norm = new Option<string?>("--norm") { Description = "Block layout: pre (Pre-LN), post (Post-LN) or pre,post (default)." };
        var activation = new Option<string?>("--activation") { Description = "Feed-forward activation: relu, gelu or relu,gelu (default)." };
        var warmup = new Option<string?>("--warmup") { Description = $"Warm-up steps ({Spec}; default 0,100)." };
        var schedule = new Option<string?>("--schedule") { Description = "Learning-rate schedules: constant, linear, cosine, comma-separated (default constant,cosine)." };
        var batch = new Option<string?>("--batch-size") { Description = $"Batch sizes ({Spec}; default 16,32)." };
        var patience = new Option<string>("--patience") { Description = $"Early stopping inside each trial: epochs without improvement ({Spec}; 0 = off).", DefaultValueFactory = _ => "6" };
        var minDelta = new Option<float>("--min-delta") { Description = "Smallest validation-loss decrease that counts as an improvement.", DefaultValueFactory = _ => 1e-4f };
        var epochs = new Option<int>("--epochs") { Description = "Most epochs of a trial.", DefaultValueFactory = _ => 60 };
        var trials = new Option<int?>("--trials") { Description = "Most trials the tuner proposes, repeats not counted (default: 200, or no limit with --time-budget)." };
        var budget = new Option<double?>("--time-budget") { Description = "Wall-clock budget of the sweep in seconds (the refit follows it)." };
        var tuner = new Option<string>("--tuner") { Description = "auto (grid when the grid fits in --trials, else tpe), grid, random or tpe.", DefaultValueFactory = _ => "auto" };
        tuner.AcceptOnlyFromAmong("auto", "grid", "random", "tpe");
        var pruner = new Option<string>("--pruner") { Description = "asha or none.", DefaultValueFactory = _ => "asha" };
        pruner.AcceptOnlyFromAmong("asha", "none");
        var pruneAfter = new Option<int>("--prune-after") { Description = "ASHA's first rung: epochs every trial trains before it can be pruned (later rungs x3).", DefaultValueFactory = _ => 10 };
        var repeatTop = new Option<int>("--repeat-top") { Description = "Re-run the best N configurations with more seeds (0 = off).", DefaultValueFactory = _ => 3 };
        var repeatSeeds = new Option<int>("--repeat-seeds") { Description = "Extra seeds per re-run configuration.", DefaultValueFactory = _ => 2 };
        var refit = new Option<string>("--refit") { Description = "all-data: train the winner on all of --data for its best epoch count; best-trial: keep its best trial's model.", DefaultValueFactory = _ => "all-data" };
        refit.AcceptOnlyFromAmong("all-data", "best-trial");
        var ensemble = new Option<int>("--ensemble")
        {
            Description = "Average the top N configurations' models (each refitted as --refit says) into one model; 1 = the winner alone.",
            DefaultValueFactory = _ => 3,
        };
        var parallel = new Option<int>("--parallel") { Description = "Trials run at once (CPU threads are split between them).", DefaultValueFactory = _ => 1 };
        var seed = new Option<int>("--seed") { Description = "Seed of the whole sweep.", DefaultValueFactory = _ => 42 };
        var device = new Option<string>("--device") { Description = "cpu or cuda:N (comma-separated for several).", DefaultValueFactory = _ => "cpu" };
        var threads = new Option<int>("--threads-per-trial") { Description = "CPU threads per trial (1 is fastest for small models).", DefaultValueFactory = _ => 1 };
        var validation = new Option<double>("--validation-fraction") { Description = "Held-out fraction used to rank trials.", DefaultValueFactory = _ => 0.2 };
        var output = new Option<string?>("--out") { Description = "Save the refitted best model to this .zip." };
        var report = new Option<string?>("--report") { Description = "Write every trial to this CSV file." };
        var reportJson = new Option<string?>("--report-json") { Description = "Write the sweep to this JSON file." };
        var plot = new Option<string?>("--plot") { Description = "Write the trials' validation losses to this file: PNG when it ends in .png, SVG otherwise." };
        var storage = new Option<string?>("--storage")
        {
            Description = "Study store shared by workers running the same command: sqlite:///path.db or postgresql://user:password@host:port/database (default with --out: sqlite:///<out>.study.db beside the model).",
        };
        var study = new Option<string>("--study") { Description = "Study name in --storage.", DefaultValueFactory = _ => "sweep" };
        var finalize = new Option<bool>("--finalize") { Description = "Propose no trial: run the study's missing repeats, refit and save from what --storage recorded." };
        var grace = new Option<double>("--heartbeat-grace") { Description = "Seconds without a heartbeat after which a worker's trial is failed and retried once.", DefaultValueFactory = _ => 60 };
        var cmd = new Command("sweep", "Search every trainer option (default: a wide space, TPE); stop and prune trials early; re-run the best with more seeds; refit and save the winner.")
        {
            data, column, heads, layers, dim, ff, ffRatio, dropout, lr, weightDecay, norm, activation, warmup, schedule, batch, patience, minDelta,
            epochs, trials, budget, tuner, pruner, pruneAfter, repeatTop, repeatSeeds, refit, ensemble, parallel, seed, device, threads, validation, output, report, reportJson, plot,
            storage, study, finalize, grace,
        };
        cmd.SetAction(parse =>
        {
            OutputPaths.CheckDistinct(
                [("--data", parse.GetValue(data))],
                [("--out", parse.GetValue(output)), ("--report", parse.GetValue(report)), ("--report-json", parse.GetValue(reportJson)), ("--plot", parse.GetValue(plot))]);
            string? storageUrl = parse.GetValue(storage);
            if (storageUrl is null && parse.GetValue(output) is { } outFile)
            {
                // Every sweep that saves a model keeps its study beside it, so that running it again resumes it.
                storageUrl = "sqlite:///" + Path.ChangeExtension(Path.GetFullPath(outFile), ".study.db");
            }

            if (parse.GetValue(data) is null)
            {
                ReportStudy(parse, storageUrl, parse.GetValue(study)!, report, reportJson, plot);
                return;
            }

            var ml = new MLContext(parse.GetValue(seed));
            var (view, textColumn) = DataLoading.Load(ml, parse.GetValue(data)!, parse.GetValue(column), null);
            var space = ml.TransformerSweep().CreateDefaultSearchSpace(new TransformerDecoderTrainerOptions { TextColumnName = textColumn });
            var sweepOptions = new SweepOptions
            {
                MaxTrials = parse.GetValue(trials) ?? (parse.GetValue(budget) is null ? 200 : int.MaxValue),
                TimeBudget = parse.GetValue(budget) is double s ? TimeSpan.FromSeconds(s) : null,
                Parallelism = parse.GetValue(parallel),
                ThreadsPerTrial = parse.GetValue(threads),
                Seed = parse.GetValue(seed),
                MaxEpochs = parse.GetValue(epochs),
                EarlyStoppingMinDelta = parse.GetValue(minDelta),
                RepeatTopConfigurations = parse.GetValue(repeatTop),
                RepeatSeeds = parse.GetValue(repeatSeeds),
                Devices = parse.GetValue(device)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                Storage = storageUrl,
                StudyName = parse.GetValue(study)!,
                FinalizeOnly = parse.GetValue(finalize),
            };
            ValidateAsFlags(sweepOptions);
            CheckHeadsDivideSomeDimension(parse.GetValue(heads), parse.GetValue(dim));
            double graceSeconds = parse.GetValue(grace);
            if (!(graceSeconds > 0) || !double.IsFinite(graceSeconds))
            {
                throw new ArgumentException($"--heartbeat-grace: must be a positive number of seconds (got {graceSeconds}).", "--heartbeat-grace");
            }

            if (sweepOptions.FinalizeOnly && storageUrl is null)
            {
                throw new ArgumentException("--finalize: needs the study's --storage (or the --out it was saved beside).", "--finalize");
            }

            sweepOptions.HeartbeatGrace = TimeSpan.FromSeconds(graceSeconds);
            sweepOptions.HeartbeatInterval = TimeSpan.FromSeconds(Math.Min(5, graceSeconds / 4));
            SearchSpaceSpec.Apply(space, parse.GetValue(heads), "--heads", o => o.Heads);
            SearchSpaceSpec.Apply(space, parse.GetValue(layers), "--layers", o => o.Layers);
            SearchSpaceSpec.Apply(space, parse.GetValue(dim), "--dim", o => o.ModelDimension);
            if (parse.GetValue(ff) is { } widths)
            {
                space.Remove(DefaultTransformerSearchSpace.FeedForwardRatio);
                SearchSpaceSpec.Apply(space, widths, "--ff", o => o.FeedForwardDimension);
            }
            else if (parse.GetValue(ffRatio) is { } ratios)
            {
                int[] r = SearchSpaceSpec.List(ratios, "--ff-ratio", SearchSpaceSpec.ParseInt);
                if (r.Length == 1 && space.Parameters.All(p => p.Name != nameof(TransformerTrainerOptions.ModelDimension)))
                {
                    // One ratio and one dimension: a fixed width, not a searched value.
                    space.Remove(DefaultTransformerSearchSpace.FeedForwardRatio);
                    space.BaseOptions.FeedForwardDimension = r[0] * space.BaseOptions.ModelDimension;
                }
                else
                {
                    space.Choice<int>(DefaultTransformerSearchSpace.FeedForwardRatio, (o, k) => o.FeedForwardDimension = k * o.ModelDimension, r);
                }
            }

            SearchSpaceSpec.Apply(space, parse.GetValue(dropout), "--dropout", o => o.Dropout);
            SearchSpaceSpec.Apply(space, parse.GetValue(lr), "--lr", o => o.LearningRate, logScale: true);
            SearchSpaceSpec.Apply(space, parse.GetValue(weightDecay), "--weight-decay", o => o.WeightDecay, logScale: true);
            SearchSpaceSpec.ApplyChoice(space, parse.GetValue(norm), "--norm", o => o.NormFirst, v => v switch
            {
                "pre" => true,
                "post" => false,
                _ => throw new FormatException("expected pre or post"),
            });
            SearchSpaceSpec.ApplyChoice(space, parse.GetValue(activation), "--activation", o => o.Activation, SearchSpaceSpec.ParseEnum<TransformerActivation>);
            SearchSpaceSpec.Apply(space, parse.GetValue(warmup), "--warmup", o => o.WarmupSteps);
            SearchSpaceSpec.ApplyChoice(space, parse.GetValue(schedule), "--schedule", o => o.Schedule, SearchSpaceSpec.ParseEnum<LearningRateSchedule>);
            SearchSpaceSpec.Apply(space, parse.GetValue(batch), "--batch-size", o => o.BatchSize);
            int[] patiences = SearchSpaceSpec.List(parse.GetValue(patience)!, "--patience", SearchSpaceSpec.ParseInt);
            if (patiences.Length == 1)
            {
                sweepOptions.EarlyStoppingPatience = patiences[0];
            }
            else
            {
                SearchSpaceSpec.Apply(space, parse.GetValue(patience), "--patience", o => o.EarlyStoppingPatience);
            }

            var trainer = ml.TransformerSweep().NextCharacterSweep(space, sweepOptions);
            trainer.ValidationFraction = parse.GetValue(validation);
            trainer.Refit = parse.GetValue(refit) == "best-trial" ? SweepRefit.BestTrial : SweepRefit.AllData;
            int ensembleSize = parse.GetValue(ensemble);
            trainer.EnsembleSize = ensembleSize >= 1
                ? ensembleSize
                : throw new ArgumentException($"--ensemble: must be at least 1 (got {parse.GetValue(ensemble)}).", "--ensemble");
            trainer.Tuner = parse.GetValue(tuner) switch
            {
                "random" => new RandomTuner(),
                "tpe" => new TpeTuner(),
                "grid" => new GridTuner(),
                _ => space.GridSize is long size && size <= sweepOptions.MaxTrials ? new GridTuner() : new TpeTuner(),
            };
            trainer.Pruner = parse.GetValue(pruner) == "none" ? new NoPruner() : new AshaPruner(minEpochs: parse.GetValue(pruneAfter), reductionFactor: 3);
            var progressView = new SweepProgressView(parse.GetValue(CliHost.Quiet), parse.GetValue(CliHost.Json), sweepOptions.TimeBudget);
            trainer.Monitor = progressView;
            using var cts = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
            trainer.CancellationToken = cts.Token;
            NextCharacterPredictionTransformer best;
            try
            {
                best = progressView.Run(() => trainer.Fit(view));
            }
            catch (StudyFinalizedElsewhereException e)
            {
                // A worker of a shared study whose finalization is another's: its trials are recorded; report the study.
                WriteReports(parse, e.Result, report, reportJson, plot);
                CliHost.Output(parse, StudySummary(e.Result, progressView.RanHere, e.Message), () => Console.WriteLine(e.Message));
                return;
            }
            catch (OperationCanceledException) when (trainer.LastResult is { } interrupted)
            {
                // Interrupted: the finished trials are still worth their reports.
                WriteReports(parse, interrupted, report, reportJson, plot);
                throw new OperationCanceledException($"Sweep cancelled after {interrupted.Trials.Count(t => t.Status is TrialStatus.Completed or TrialStatus.Pruned)} finished trials (reports written; no model saved).");
            }

            var result = trainer.LastResult!;
            var refitReport = trainer.LastRefit!;
            WriteReports(parse, result, report, reportJson, plot);
            if (parse.GetValue(output) is { } zip)
            {
                // The refitted best model reads the text column itself: an ML.NET zip that score/generate/info load,
                // with its training record, written as `train` writes its models.
                ModelFile.Save(ml, best, view.Schema, best.History, zip);
            }

            var winner = refitReport.Configuration;
            var summary = new
            {
                best = winner.Parameters.Key,
                bestValidationLoss = refitReport.Trial.ValidationLoss,
                bestEpoch = refitReport.Trial.BestEpoch,
                bestPerplexity = refitReport.Trial.Perplexity,
                bestMean = winner.Mean,
                bestStandardDeviation = winner.StandardDeviation,
                bestRuns = winner.Runs.Count,
                refit = new
                {
                    mode = parse.GetValue(refit),
                    epochs = refitReport.Epochs,
                    rows = refitReport.Rows,
                    trainLoss = refitReport.TrainLoss,
                    seconds = refitReport.Seconds,
                    members = refitReport.Members.Select(m => new
                    {
                        rank = m.Configuration.Rank, parameters = m.Configuration.Parameters.Key, seed = m.Trial.Seed, epochs = m.Epochs,
                        trainLoss = m.TrainLoss, seconds = m.Seconds,
                    }).ToArray(),
                },
                trials = result.Trials.Count,
                completed = result.WithStatus(TrialStatus.Completed).Count,
                stoppedEarly = result.Trials.Count(t => t.StoppedEarly),
                pruned = result.WithStatus(TrialStatus.Pruned).Count,
                failed = result.WithStatus(TrialStatus.Failed).Count,
                skipped = result.WithStatus(TrialStatus.Skipped).Count,
                cancelled = result.WithStatus(TrialStatus.Cancelled).Count,
                repeats = result.Trials.Count(t => t.RepeatOf is not null),
                totalEpochs = result.TotalEpochs,
                elapsedSeconds = result.Elapsed.TotalSeconds,
                stopReason = result.StopReason.ToString(),
                leaderboard = result.Leaderboard.Configurations.Take(10).Select(c => new
                {
                    rank = c.Rank, parameters = c.Parameters.Key, runs = c.Runs.Count, mean = c.Mean, standardDeviation = c.StandardDeviation,
                    min = c.Min, max = c.Max, meanBestEpoch = c.MeanBestEpoch,
                }),
                model = parse.GetValue(output) is { } o ? Path.GetFullPath(o) : null,
                study = result.Study,
                worker = result.Worker,
                ranHere = progressView.RanHere,
            };
            CliHost.Output(parse, summary, () =>
            {
                var c = CultureInfo.InvariantCulture;
                Console.WriteLine(string.Create(c, $"{summary.trials} trials ({summary.completed} completed, {summary.stoppedEarly} of them stopped early; {summary.pruned} pruned, {summary.failed} failed, {summary.skipped} skipped, {summary.cancelled} cancelled; {summary.repeats} repeats), {summary.totalEpochs} epochs in {summary.elapsedSeconds:F1} s, stopped by {summary.stopReason}"));
                Console.WriteLine("  rank configuration: best validation loss, mean +- sd over seeds (runs), mean best epoch");
                foreach (var e in result.Leaderboard.Configurations.Take(10))
                {
                    Console.WriteLine(string.Create(c, $"  #{e.Rank,-3} {e.Parameters.Key}: {e.Min:F4}, {e.Mean:F4} +- {e.StandardDeviation:F4} ({e.Runs.Count}), epoch {e.MeanBestEpoch:F1}"));
                }

                Console.WriteLine(string.Create(c, $"best: {summary.best} (validation {summary.bestValidationLoss:F4} at epoch {summary.bestEpoch}; mean {summary.bestMean:F4} +- {summary.bestStandardDeviation:F4} over {summary.bestRuns} seeds)"));
                if (summary.refit.members.Length == 1)
                {
                    Console.WriteLine(string.Create(c, $"refit ({summary.refit.mode}): {summary.refit.epochs} epochs on {summary.refit.rows} rows, train loss {summary.refit.trainLoss:F4}{(summary.model is null ? "" : $"; saved {summary.model}")}"));
                }
                else
                {
                    Console.WriteLine(string.Create(c, $"refit ({summary.refit.mode}): an ensemble of the top {summary.refit.members.Length} configurations (mean of their probabilities), on {summary.refit.rows} rows in {summary.refit.seconds:F1} s{(summary.model is null ? "" : $"; saved {summary.model}")}"));
                    foreach (var m in summary.refit.members)
                    {
                        Console.WriteLine(string.Create(c, $"  #{m.rank} {m.parameters}: seed {m.seed}, {m.epochs} epochs, train loss {m.trainLoss:F4}"));
                    }
                }
            });
        });
        return cmd;
    }

    /// <summary>`sweep` without --data: the study's leaderboard, read from the store (every worker's trials).</summary>
    private static void ReportStudy(ParseResult parse, string? url, string name, Option<string?> report, Option<string?> reportJson, Option<string?> plot)
    {
        if (url is null)
        {
            throw new ArgumentException("--data: required, unless --storage (or --out) names a study to report.");
        }

        using var store = StudyStore.Open(url);
        var info = store.FindStudy(name) ?? throw new ArgumentException(
            $"--study: no study '{name}' in {store.Host} (it holds: {(store.StudyNames() is { Count: > 0 } names ? string.Join(", ", names) : "none")}).");
        var result = store.LoadResult(info);
        WriteReports(parse, result, report, reportJson, plot);
        var summary = new
        {
            study = info.Name,
            finalized = store.IsFinalized(info),
            trials = result.Trials.Count,
            completed = result.WithStatus(TrialStatus.Completed).Count,
            pruned = result.WithStatus(TrialStatus.Pruned).Count,
            failed = result.WithStatus(TrialStatus.Failed).Count,
            skipped = result.WithStatus(TrialStatus.Skipped).Count,
            repeats = result.Trials.Count(t => t.RepeatOf is not null),
            all = result.Trials.Select(t => new { id = t.Id, status = t.Status.ToString(), parameters = t.Parameters.Key, repeatOf = t.RepeatOf, message = t.Message }).ToArray(),
            leaderboard = result.Leaderboard.Select(e => new
            {
                rank = e.Rank, id = e.Trial.Id, parameters = e.Trial.Parameters.Key, status = e.Trial.Status.ToString(), validationLoss = e.Trial.ValidationLoss,
                epochs = e.Trial.EpochsRun, seed = e.Trial.Seed, repeatOf = e.Trial.RepeatOf,
            }).ToArray(),
        };
        CliHost.Output(parse, summary, () =>
        {
            var c = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(c, $"study {info.Name} in {store.Host}: {summary.trials} trials ({summary.completed} completed, {summary.pruned} pruned, {summary.failed} failed, {summary.skipped} skipped; {summary.repeats} repeats){(summary.finalized ? ", finalized" : "")}"));
            foreach (var e in summary.leaderboard.Take(20))
            {
                Console.WriteLine(string.Create(c, $"  #{e.rank,-3} trial {e.id,3} {e.status,-9} {e.parameters}: {e.validationLoss:F4} ({e.epochs} epochs)"));
            }
        });
    }

    /// <summary>The summary of a worker that left its study's finalization to another.</summary>
    private static object StudySummary(SweepResult result, IReadOnlyList<int> ranHere, string message) => new
    {
        study = result.Study,
        worker = result.Worker,
        finalizedBy = result.FinalizedBy,
        message,
        ranHere,
        trials = result.Trials.Count,
        completed = result.WithStatus(TrialStatus.Completed).Count,
        failed = result.WithStatus(TrialStatus.Failed).Count,
        leaderboard = result.Leaderboard.Select(e => new { rank = e.Rank, id = e.Trial.Id, parameters = e.Trial.Parameters.Key, validationLoss = e.Trial.ValidationLoss }).ToArray(),
    };

    private static void WriteReports(ParseResult parse, SweepResult result, Option<string?> report, Option<string?> reportJson, Option<string?> plot)
    {
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
    }

    /// <summary>
    /// Sweep progress: a Spectre.Console bar (trials done, running, best so far) with one line per finished trial
    /// on a terminal; the same lines on stderr otherwise; nothing with --quiet or --json.
    /// </summary>
    private sealed class SweepProgressView(bool quiet, bool json, TimeSpan? budget) : ISweepMonitor
    {
        private readonly bool _bar = ProgressBar.Enabled(quiet, json);
        private readonly List<int> _ranHere = [];
        private ProgressTask? _task;

        /// <summary>The trials this process ran (a worker of a shared study sees the others' only in the result).</summary>
        public IReadOnlyList<int> RanHere => _ranHere.Order().ToArray();

        public void OnTrialStarted(TrialStartInfo trial) => _ranHere.Add(trial.Id);

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
            _task.Value = budget is { } limit && progress.MaxTrials == int.MaxValue
                ? Math.Min(1, progress.Elapsed / limit)
                : (double)done / Math.Max(1, progress.MaxTrials);
            string best = progress.Best is { } b ? string.Create(CultureInfo.InvariantCulture, $"best {b.ValidationLoss:F4} ({b.Parameters.Key})") : "no result yet";
            string of = progress.MaxTrials == int.MaxValue ? "" : $"/{progress.MaxTrials}";
            _task.Description = Markup.Escape($"trials {done}{of}, {progress.Running} running, {progress.TotalEpochs} epochs; {best}");
        }

        private void Line(SweepTrialResult r)
        {
            if (quiet || json)
            {
                return;
            }

            string line = string.Create(CultureInfo.InvariantCulture, $"trial {r.Id,3} {r.Status,-9} {r.Parameters.Key,-40} val {r.ValidationLoss:F4} at epoch {r.BestEpoch,3} of {r.EpochsRun,3}{(r.StoppedEarly ? " (stopped early)" : "")} {r.Duration.TotalSeconds,6:F1} s{(r.RepeatOf is int k ? $"  repeat of {k}" : "")}{(r.Message is null ? "" : $"  {r.Message}")}");
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

    /// <summary>The flag of each sweep option, so errors name what the user typed.</summary>
    private static readonly Dictionary<string, string> Flags = new(StringComparer.Ordinal)
    {
        [nameof(SweepOptions.MaxTrials)] = "--trials",
        [nameof(SweepOptions.TimeBudget)] = "--time-budget",
        [nameof(SweepOptions.Parallelism)] = "--parallel",
        [nameof(SweepOptions.ThreadsPerTrial)] = "--threads-per-trial",
        [nameof(SweepOptions.MaxEpochs)] = "--epochs",
        [nameof(SweepOptions.Devices)] = "--device",
        [nameof(SweepOptions.EarlyStoppingPatience)] = "--patience",
        [nameof(SweepOptions.EarlyStoppingMinDelta)] = "--min-delta",
        [nameof(SweepOptions.RepeatTopConfigurations)] = "--repeat-top",
        [nameof(SweepOptions.RepeatSeeds)] = "--repeat-seeds",
    };

    /// <summary>Validates the sweep options, naming the command-line flag instead of the C# option.</summary>
    private static void ValidateAsFlags(SweepOptions options)
    {
        try
        {
            options.Validate();
        }
        catch (ArgumentException e) when (e.ParamName is { } name && Flags.TryGetValue(name, out string? flag))
        {
            string message = e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal)
                .Replace($"SweepOptions.{name} must", $"{flag} must", StringComparison.Ordinal);
            throw new ArgumentException(message, flag, e);
        }
    }

    /// <summary>
    /// Refuses head counts and dimensions of which no pair fits (heads must divide the dimension) before any trial is
    /// drawn; ranges are left to the sampler.
    /// </summary>
    private static void CheckHeadsDivideSomeDimension(string? heads, string? dims)
    {
        static int[]? Values(string? spec, string flag, int[] fallback)
        {
            if (spec is null)
            {
                return fallback;
            }

            try
            {
                return SearchSpaceSpec.List(spec, flag, SearchSpaceSpec.ParseInt);
            }
            catch (ArgumentException)
            {
                return null; // a range: some values may fit
            }
        }

        int[]? h = Values(heads, "--heads", [1, 2, 4]);
        int[]? d = Values(dims, "--dim", [32, 48, 64]);
        if (h is null || d is null || (heads is null && dims is null))
        {
            return;
        }

        if (!h.Any(x => x > 0 && d.Any(y => y % x == 0)))
        {
            throw new ArgumentException(
                $"--heads {string.Join(',', h)} and --dim {string.Join(',', d)}: no head count divides any dimension, so every trial would be skipped. Give head counts that divide a dimension.");
        }
    }
}
