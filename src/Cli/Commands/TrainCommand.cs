// `train`: load a text file through ML.NET, train a decoder-only or encoder-decoder next-character model on its text
// column, save the ML.NET .zip. With --nproc-per-node N (and --nnodes for several machines) it launches N data-parallel
// workers of itself; a process launched that way (WORLD_SIZE in its environment) trains as its rank, and only rank 0
// writes the model and the plot.
using System.CommandLine;
using System.Globalization;
using Microsoft.ML;
using MLNet.Transformer.Engine;
using MLNet.Transformer.LanguageModeling;

namespace MLNet.Transformer.Cli.Commands;

internal static class TrainCommand
{
    public static Command Create()
    {
        var data = new Option<string?>("--data") { Description = "Training text: one example per line, or a .csv/.tsv with a header." };
        var corpus = new Option<string?>("--corpus") { Description = "Train on running text instead: the file's lines joined by newlines, random windows of --context-length." };
        var contextLength = new Option<int>("--context-length") { Description = "--corpus: characters per training window.", DefaultValueFactory = _ => 128 };
        var maxSteps = new Option<int>("--max-steps") { Description = "--corpus: optimisation steps.", DefaultValueFactory = _ => 2000 };
        var evalEvery = new Option<int>("--eval-every") { Description = "--corpus: evaluate on the held-out tail (--validation-fraction) every K steps.", DefaultValueFactory = _ => 200 };
        var column = new Option<string?>("--column") { Description = "CSV/TSV column holding the text (default: the first)." };
        var sourceColumn = new Option<string?>("--source-column") { Description = "Encoder-decoder: CSV/TSV column holding the source text (e.g. word -> reversed word)." };
        var model = new Option<string>("--model") { Description = "decoder or encoder-decoder.", DefaultValueFactory = _ => "decoder" };
        model.AcceptOnlyFromAmong("decoder", "encoder-decoder");
        var layers = new Option<int>("--layers") { Description = "Blocks (each of encoder and decoder).", DefaultValueFactory = _ => 1 };
        var heads = new Option<int>("--heads") { Description = "Attention heads; must divide --dim.", DefaultValueFactory = _ => 1 };
        var dim = new Option<int>("--dim") { Description = "Model dimension.", DefaultValueFactory = _ => 32 };
        var ff = new Option<int>("--ff") { Description = "Feed-forward width.", DefaultValueFactory = _ => 32 };
        var dropout = new Option<float>("--dropout") { Description = "Dropout probability.", DefaultValueFactory = _ => 0f };
        var normFirst = new Option<bool>("--norm-first") { Description = "Pre-LN blocks (default Post-LN)." };
        var activation = new Option<string>("--activation") { Description = "relu or gelu.", DefaultValueFactory = _ => "relu" };
        activation.AcceptOnlyFromAmong("relu", "gelu");
        var epochs = new Option<int>("--epochs") { Description = "Passes over the data.", DefaultValueFactory = _ => 100 };
        var batch = new Option<int>("--batch-size") { Description = "Rows per step.", DefaultValueFactory = _ => 16 };
        var lr = new Option<float>("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => 1e-3f };
        var warmup = new Option<int>("--warmup") { Description = "Warm-up steps.", DefaultValueFactory = _ => 0 };
        var schedule = new Option<string>("--schedule") { Description = "constant, linear or cosine decay after warm-up.", DefaultValueFactory = _ => "constant" };
        schedule.AcceptOnlyFromAmong("constant", "linear", "cosine");
        var weightDecay = new Option<float>("--weight-decay") { Description = "Weight decay (AdamW when > 0).", DefaultValueFactory = _ => 0f };
        var clip = new Option<float>("--clip") { Description = "Gradient-norm clipping (0 = off).", DefaultValueFactory = _ => 0f };
        var seed = new Option<int>("--seed") { Description = "Seed of the split, initialisation, shuffling and dropout.", DefaultValueFactory = _ => 42 };
        var device = new Option<string>("--device") { Description = "auto, cpu or cuda:N.", DefaultValueFactory = _ => "auto" };
        var threads = new Option<int?>("--threads") { Description = "CPU threads of this training (default: the engine's choice by model size)." };
        var precision = new Option<string>("--precision") { Description = "auto (bf16 where the device computes it natively, else fp32), fp32 or bf16.", DefaultValueFactory = _ => "auto" };
        precision.AcceptOnlyFromAmong("auto", "fp32", "bf16");
        var validation = new Option<double>("--validation-fraction") { Description = "Held-out fraction for validation loss and early stopping.", DefaultValueFactory = _ => 0.2 };
        var patience = new Option<int>("--patience") { Description = "Early-stopping patience in epochs (0 = off).", DefaultValueFactory = _ => 0 };
        var maxLength = new Option<int>("--max-length") { Description = "Longest row in tokens (BOS/EOS included).", DefaultValueFactory = _ => 64 };
        var lengthPolicy = new Option<string>("--length-policy") { Description = "Rows longer than --max-length: throw, truncate or skip.", DefaultValueFactory = _ => "throw" };
        lengthPolicy.AcceptOnlyFromAmong("throw", "truncate", "skip");
        var lower = new Option<bool>("--lower-case", "--lowercase") { Description = "Lower-case the text before splitting it into characters." };
        var outputs = new Option<string>("--outputs") { Description = "Columns the saved model computes: all (attention, token lists, row metrics) or next-character (Score, PredictedLabel, PredictedNextChar; fastest).", DefaultValueFactory = _ => "all" };
        outputs.AcceptOnlyFromAmong("all", "next-character");
        var output = new Option<string>("--out") { Description = "Where to save the model .zip.", Required = true };
        var plot = new Option<string?>("--plot") { Description = "Write the loss curves to this file: PNG when it ends in .png, SVG otherwise." };
        var nproc = new Option<int>("--nproc-per-node") { Description = "Data-parallel worker processes on this machine; --batch-size is per worker.", DefaultValueFactory = _ => 1 };
        var nnodes = new Option<int>("--nnodes") { Description = "Machines taking part (run this command on each).", DefaultValueFactory = _ => 1 };
        var nodeRank = new Option<int>("--node-rank") { Description = "This machine's index in [0, --nnodes); node 0 hosts rank 0.", DefaultValueFactory = _ => 0 };
        var masterAddr = new Option<string>("--master-addr") { Description = "Address of node 0 (rank 0's rendezvous).", DefaultValueFactory = _ => "127.0.0.1" };
        var masterPort = new Option<int>("--master-port") { Description = "Port of rank 0's rendezvous.", DefaultValueFactory = _ => DistributedSettings.DefaultPort };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Write a checkpoint (weights, optimizer, random state, data position) every N steps into --checkpoint-dir.", DefaultValueFactory = _ => 0 };
        var checkpointDir = new Option<string?>("--checkpoint-dir") { Description = "Folder of the periodic checkpoints; the final model is also written there as 'final'." };
        var resume = new Option<string?>("--resume") { Description = "Continue the run whose checkpoint folder is here (same data and options), exactly where it stopped." };
        var distTimeout = new Option<double>("--dist-timeout") { Description = "Seconds the rendezvous and each all-reduce may wait for the other ranks.", DefaultValueFactory = _ => DistributedSettings.DefaultTimeout.TotalSeconds };

        var cmd = new Command("train", "Train a next-character transformer and save it as a .zip.")
        {
            data, column, sourceColumn, model, layers, heads, dim, ff, dropout, normFirst, activation, epochs, batch, lr, warmup,
            schedule, weightDecay, clip, seed, device, threads, precision, validation, patience, maxLength, lengthPolicy, lower, outputs, output, plot,
            nproc, nnodes, nodeRank, masterAddr, masterPort, distTimeout, checkpointEvery, checkpointDir, resume,
            corpus, contextLength, maxSteps, evalEvery,
        };
        cmd.SetAction(parse =>
        {
            if (WorkerLauncher.ReportsToLauncher)
            {
                ParentDeath.DieWithLauncher();
            }

            OutputPaths.CheckDistinct([("--data", parse.GetValue(data))], [("--out", parse.GetValue(output)), ("--plot", parse.GetValue(plot))]);
            var ml = new MLContext(parse.GetValue(seed));
            string? corpusPath = parse.GetValue(corpus);
            if ((corpusPath is null) == (parse.GetValue(data) is null))
            {
                throw new ArgumentException("Give either --data (one example per line) or --corpus (running text).");
            }

            var (view, textColumn) = corpusPath is not null
                ? (DataLoading.LoadCorpus(ml, corpusPath), DataLoading.DefaultTextColumn)
                : DataLoading.Load(ml, parse.GetValue(data)!, parse.GetValue(column), parse.GetValue(sourceColumn));
            string kind = parse.GetValue(model)!;
            string? src = parse.GetValue(sourceColumn);
            if (src is not null && kind != "encoder-decoder")
            {
                throw new ArgumentException("--source-column needs --model encoder-decoder.");
            }

            TransformerTrainerOptions options = kind == "decoder"
                ? new TransformerDecoderTrainerOptions()
                : new TransformerEncoderDecoderTrainerOptions { SourceColumnName = src };
            options.TextColumnName = textColumn;
            options.LowerCase = parse.GetValue(lower);
            options.Outputs = parse.GetValue(outputs) == "next-character" ? NextCharacterOutputs.NextCharacter : NextCharacterOutputs.All;
            options.LengthPolicy = Enum.Parse<LengthPolicy>(parse.GetValue(lengthPolicy)!, ignoreCase: true);
            options.Layers = parse.GetValue(layers);
            options.Heads = parse.GetValue(heads);
            options.ModelDimension = parse.GetValue(dim);
            options.FeedForwardDimension = parse.GetValue(ff);
            options.Dropout = parse.GetValue(dropout);
            options.NormFirst = parse.GetValue(normFirst);
            options.Activation = parse.GetValue(activation) == "gelu" ? TransformerActivation.Gelu : TransformerActivation.Relu;
            options.Epochs = parse.GetValue(epochs);
            options.BatchSize = parse.GetValue(batch);
            options.LearningRate = parse.GetValue(lr);
            options.WarmupSteps = parse.GetValue(warmup);
            options.Schedule = Enum.Parse<LearningRateSchedule>(parse.GetValue(schedule)!, ignoreCase: true);
            options.WeightDecay = parse.GetValue(weightDecay);
            options.Optimizer = options.WeightDecay > 0 ? TransformerOptimizer.AdamW : TransformerOptimizer.Adam;
            options.GradientClipNorm = parse.GetValue(clip);
            options.Seed = parse.GetValue(seed);
            options.Device = parse.GetValue(device)!;
            options.Threads = parse.GetValue(threads);
            options.Precision = parse.GetValue(precision) switch { "fp32" => Precision.Float32, "bf16" => Precision.BFloat16, _ => Precision.Auto };
            options.ValidationFraction = parse.GetValue(validation);
            options.EarlyStoppingPatience = parse.GetValue(patience);
            options.MaximumLength = parse.GetValue(maxLength);
            options.CheckpointEvery = parse.GetValue(checkpointEvery);
            options.CheckpointDirectory = parse.GetValue(checkpointDir);
            options.ResumeFrom = parse.GetValue(resume);
            if (corpusPath is not null)
            {
                options.Mode = TrainingMode.Corpus;
                options.ContextLength = parse.GetValue(contextLength);
                options.MaxSteps = parse.GetValue(maxSteps);
                options.EvaluateEvery = parse.GetValue(evalEvery);
            }

            ValidateAsFlags(options);
            bool quiet = parse.GetValue(CliHost.Quiet), json = parse.GetValue(CliHost.Json);
            var plan = new LaunchPlan(
                parse.GetValue(nnodes), parse.GetValue(nodeRank), parse.GetValue(nproc), parse.GetValue(masterAddr)!, parse.GetValue(masterPort),
                TimeSpan.FromSeconds(parse.GetValue(distTimeout)));
            plan.Validate();
            if (!WorkerLauncher.IsWorker && plan.WorldSize > 1)
            {
                string? rank0;
                using (var launcherView = new TrainingProgressView(quiet, json, options.Epochs))
                {
                    rank0 = launcherView.Run(() => WorkerLauncher.Run(plan, CliHost.Arguments, launcherView, quiet || json));
                }

                Console.Out.Write(rank0 ?? (json ? "" : $"Node {plan.NodeRank}: {plan.ProcessesPerNode} worker(s) finished; rank 0 (node 0) saved the model.{Environment.NewLine}"));
                return;
            }

            if (WorkerLauncher.IsWorker)
            {
                options.Distributed = DistributedSettings.FromEnvironment()! with { Timeout = plan.Timeout };
            }

            bool writes = options.Distributed is not { Rank: > 0 };
            using var progress = new TrainingProgressView(quiet || !writes, json, options.Epochs);
            options.Progress = progress;
            var trainer = ml.MulticlassClassification.Trainers.Transformer(options);
            var predictor = progress.Run(() => FitAsFlags(trainer, view, corpusPath ?? parse.GetValue(data)!));
            string outPath = parse.GetValue(output)!;
            var history = predictor.History!;
            if (!writes)
            {
                return; // rank 0 writes the model, the plot and the result
            }

            ModelFile.Save(ml, predictor, view.Schema, history, outPath);
            if (options.CheckpointDirectory is { } checkpoints && predictor.Checkpoint is { } final)
            {
                final.Save(Path.Combine(checkpoints, "final"));
            }

            if (parse.GetValue(plot) is { } plotPath)
            {
                Plots.WriteLossPlot(history, plotPath, $"{kind} L{options.Layers} H{options.Heads} d{options.ModelDimension}");
            }

            var last = history.Epochs[^1];
            var result = new
            {
                model = Path.GetFullPath(outPath),
                kind,
                data = corpusPath ?? parse.GetValue(data),
                textColumn,
                sourceColumn = src,
                parameters = predictor.ParameterCount,
                device = predictor.Info.TrainedOn,
                precision = history.Precision.ToString(),
                vocabularySize = predictor.Info.Vocabulary.Count,
                epochs = history.Epochs,
                finalTrainLoss = last.TrainLoss,
                finalValidationLoss = last.ValidationLoss,
                finalValidationBitsPerCharacter = last.ValidationLoss / Math.Log(2),
                bestEpoch = history.BestEpoch,
                bestValidationLoss = history.BestValidationLoss,
                stoppedEarly = history.StoppedEarly,
                restoredBestWeights = history.RestoredBestWeights,
                truncatedRows = history.TruncatedRows,
                skippedRows = history.SkippedRows,
                trainingSeconds = history.TrainingSeconds,
                secondsPerEpoch = history.TrainingSeconds / history.Epochs.Count,
                secondsPerStep = history.TrainingSeconds / Math.Max(1, history.Steps),
                worldSize = history.WorldSize,
                steps = history.Steps,
                allReduceMillisecondsPerStep = history.WorldSize > 1 ? history.AllReduceTime.TotalMilliseconds / Math.Max(1, history.Steps) : (double?)null,
            };
            CliHost.Output(parse, result, () =>
            {
                var c = CultureInfo.InvariantCulture;
                string ranks = history.WorldSize > 1 ? string.Create(c, $" x {history.WorldSize} ranks (all-reduce {history.AllReduceTime.TotalMilliseconds / Math.Max(1, history.Steps):F2} ms/step)") : "";
                Console.WriteLine(string.Create(c, $"Trained {kind} ({predictor.ParameterCount:N0} parameters) on {predictor.Info.TrainedOn} in {history.Precision}{ranks} in {history.TrainingSeconds:F1} s ({history.TrainingSeconds / history.Epochs.Count:F3} s/epoch)."));
                if (corpusPath is not null && last.ValidationLoss is double nats)
                {
                    Console.WriteLine(string.Create(c, $"Corpus: {history.Steps} steps of {options.BatchSize} x {options.ContextLength} characters; validation loss {nats:F4} nats = {nats / Math.Log(2):F4} bits per character."));
                }

                Console.WriteLine(string.Create(c, $"Final train loss {last.TrainLoss:F4}, validation loss {(last.ValidationLoss is double v ? v.ToString("F4", c) : "n/a")}; best validation {(history.BestValidationLoss is double b ? b.ToString("F4", c) : "n/a")} at epoch {history.BestEpoch?.ToString(c) ?? "-"}{(history.RestoredBestWeights ? " (weights restored)" : "")}."));
                if (history.TruncatedRows + history.SkippedRows > 0)
                {
                    Console.WriteLine(string.Create(c, $"Rows longer than --max-length {options.MaximumLength}: {history.TruncatedRows} truncated, {history.SkippedRows} skipped."));
                }

                Console.WriteLine($"Saved {Path.GetFullPath(outPath)}");
            });
        });
        return cmd;
    }

    /// <summary>The command-line flag of each trainer option, so errors name what the user typed.</summary>
    private static readonly Dictionary<string, string> Flags = new(StringComparer.Ordinal)
    {
        [nameof(TransformerTrainerOptions.Layers)] = "--layers",
        [nameof(TransformerTrainerOptions.Heads)] = "--heads",
        [nameof(TransformerTrainerOptions.ModelDimension)] = "--dim",
        [nameof(TransformerTrainerOptions.FeedForwardDimension)] = "--ff",
        [nameof(TransformerTrainerOptions.Dropout)] = "--dropout",
        [nameof(TransformerTrainerOptions.MaximumLength)] = "--max-length",
        [nameof(TransformerTrainerOptions.Epochs)] = "--epochs",
        [nameof(TransformerTrainerOptions.BatchSize)] = "--batch-size",
        [nameof(TransformerTrainerOptions.LearningRate)] = "--lr",
        [nameof(TransformerTrainerOptions.WarmupSteps)] = "--warmup",
        [nameof(TransformerTrainerOptions.WeightDecay)] = "--weight-decay",
        [nameof(TransformerTrainerOptions.GradientClipNorm)] = "--clip",
        [nameof(TransformerTrainerOptions.Device)] = "--device",
        [nameof(TransformerTrainerOptions.Threads)] = "--threads",
        [nameof(TransformerTrainerOptions.Precision)] = "--precision",
        [nameof(TransformerTrainerOptions.ValidationFraction)] = "--validation-fraction",
        [nameof(TransformerTrainerOptions.EarlyStoppingPatience)] = "--patience",
        [nameof(TransformerTrainerOptions.LengthPolicy)] = "--length-policy",
        [nameof(TransformerTrainerOptions.CheckpointEvery)] = "--checkpoint-every",
        [nameof(TransformerTrainerOptions.CheckpointDirectory)] = "--checkpoint-dir",
        [nameof(TransformerTrainerOptions.ResumeFrom)] = "--resume",
        [nameof(TransformerTrainerOptions.ContextLength)] = "--context-length",
        [nameof(TransformerTrainerOptions.MaxSteps)] = "--max-steps",
        [nameof(TransformerTrainerOptions.EvaluateEvery)] = "--eval-every",
        [nameof(TransformerTrainerOptions.Mode)] = "--corpus",
        [nameof(TransformerTrainerOptions.Seed)] = "--seed",
        [nameof(TransformerTrainerOptions.Schedule)] = "--schedule",
        [nameof(TransformerTrainerOptions.Optimizer)] = "--weight-decay",
    };

    /// <summary>Fits, naming the data file and the command-line flags in a too-long-row error instead of the C# options.</summary>
    private static NextCharacterPredictionTransformer FitAsFlags(TransformerTrainerBase trainer, IDataView view, string path)
    {
        try
        {
            return trainer.Fit(view);
        }
        catch (ArgumentOutOfRangeException e) when (e.Message.Contains(nameof(TransformerTrainerOptions.LengthPolicy), StringComparison.Ordinal))
        {
            string message = e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal)
                .Replace(nameof(TransformerTrainerOptions.MaximumLength), "--max-length", StringComparison.Ordinal)
                .Replace("set LengthPolicy to Truncate or Skip", "pass --length-policy truncate or skip", StringComparison.Ordinal);
            throw new ArgumentException($"--data '{path}': {message}", e);
        }
        catch (ArgumentException e) when (e.ParamName is { } name && Flags.TryGetValue(name, out string? flag))
        {
            // Option checks made by Fit itself (e.g. a resumed run's options against its checkpoint).
            string message = e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal)
                .Replace($"Option {name}:", $"{flag}:", StringComparison.Ordinal);
            throw new ArgumentException(message, flag, e);
        }
    }

    /// <summary>Validates the options, naming the offending command-line flag instead of the C# option.</summary>
    private static void ValidateAsFlags(TransformerTrainerOptions options)
    {
        try
        {
            options.Validate();
        }
        catch (ArgumentException e) when (e.ParamName is { } name && Flags.TryGetValue(name, out string? flag))
        {
            string message = e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal)
                .Replace($"Option {name}:", $"{flag}:", StringComparison.Ordinal);
            // Any other option the message names (the memory estimate lists several) reads as its flag too.
            message = System.Text.RegularExpressions.Regex.Replace(message, @"\b[A-Z][A-Za-z]+\b", m => Flags.TryGetValue(m.Value, out string? f) ? f : m.Value);
            throw new ArgumentException(message, flag, e);
        }
    }
}
