// Commands over a saved ML.NET model .zip: evaluate, score, generate, info, export-onnx (info also reads exported
// .onnx files). Scoring runs the loaded ML.NET chain; none of them needs the native training engine.
using System.CommandLine;
using System.Globalization;
using Google.Protobuf;
using Microsoft.ML;
using MLNet.Transformer.Checkpoints;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.Onnx;

namespace MLNet.Transformer.Cli.Commands;

internal static class ModelCommands
{
    private static Option<string> ModelOption() => new("--model") { Description = "A model .zip saved by train, or a checkpoint folder (train --checkpoint-dir).", Required = true };

    public static Command Evaluate()
    {
        var model = ModelOption();
        var data = new Option<string>("--data") { Description = "Text to evaluate on (same format as train's --data).", Required = true };
        var column = new Option<string?>("--column") { Description = "CSV/TSV text column (default: the model's text column)." };
        var cmd = new Command("evaluate", "Log-loss, perplexity, accuracy and top-5 accuracy over every character (EOS included) of every row of --data.") { model, data, column };
        cmd.SetAction(parse =>
        {
            var ml = new MLContext(0);
            using var loaded = ModelFile.Load(ml, parse.GetValue(model)!);
            string path = parse.GetValue(data)!;
            var (view, textColumn) = DataLoading.Load(ml, path, parse.GetValue(column) ?? loaded.Info.TextColumnName, loaded.Info.SourceColumnName);
            if (textColumn != loaded.Info.TextColumnName)
            {
                view = ml.Transforms.CopyColumns(loaded.Info.TextColumnName, textColumn).Fit(view).Transform(view);
            }

            var metrics = ml.MulticlassClassification.EvaluateNextCharacter(loaded.Scoring(ml).Transform(view));
            // An ensemble's members, each alone on the same rows: what averaging them gained.
            var members = loaded.Loaded.Onnx.IsEnsemble
                ? loaded.Loaded.Onnx.Members
                    .Select(m => ml.MulticlassClassification.EvaluateNextCharacter(NextCharacterModel.FromWeights(ml, m.Info, m.State).Transform(view)))
                    .Select(m => new { m.LogLoss, m.Perplexity, m.Accuracy, m.TopKAccuracy })
                    .ToArray()
                : null;
            var result = new
            {
                data = path,
                textColumn,
                metrics.LogLoss,
                metrics.Perplexity,
                metrics.BitsPerCharacter,
                metrics.Accuracy,
                metrics.TopKAccuracy,
                metrics.TopK,
                metrics.Tokens,
                metrics.Rows,
                members,
            };
            CliHost.Output(parse, result, () =>
            {
                var c = CultureInfo.InvariantCulture;
                Console.WriteLine(string.Create(c,
                    $"log-loss {metrics.LogLoss:F4} nats/char  perplexity {metrics.Perplexity:F3}  accuracy {metrics.Accuracy:P1}  top-{metrics.TopK} {metrics.TopKAccuracy:P1}  over {metrics.Tokens:N0} characters (EOS included) of all {metrics.Rows:N0} rows of {path}, column '{textColumn}'"));
                for (int i = 0; i < (members?.Length ?? 0); i++)
                {
                    var m = members![i];
                    Console.WriteLine(string.Create(c, $"  member {i} alone: log-loss {m.LogLoss:F4}  perplexity {m.Perplexity:F3}  accuracy {m.Accuracy:P1}  top-{metrics.TopK} {m.TopKAccuracy:P1}"));
                }
            });
        });
        return cmd;
    }

    public static Command Score()
    {
        var model = ModelOption();
        var text = new Option<string>("--text") { Description = "The text whose next character to predict.", Required = true };
        var top = new Option<int>("--top") { Description = "How many candidates to list.", DefaultValueFactory = _ => 5 };
        var source = new Option<string?>("--source") { Description = "Source text (encoder-decoder models with a source column)." };
        var cmd = new Command("score", "Predict the next character of a text, with probabilities and teacher-forced predictions.") { model, text, top, source };
        cmd.SetAction(parse =>
        {
            if (parse.GetValue(top) < 1)
            {
                throw new ArgumentException($"--top must be at least 1 (got {parse.GetValue(top)}).");
            }

            var ml = new MLContext(0);
            using var loaded = ModelFile.Load(ml, parse.GetValue(model)!);
            var scored = loaded.Score(ml, [parse.GetValue(text)!], parse.GetValue(source));
            var row = ml.Data.CreateEnumerable<ScoredRow>(scored, reuseRowObject: false).Single();
            var vocabulary = loaded.Info.Vocabulary;
            if (row.Score.Length != vocabulary.Count)
            {
                throw new InvalidDataException($"--model: '{loaded.Path}' scores {row.Score.Length} tokens but its vocabulary has {vocabulary.Count}.");
            }

            var candidates = row.Score.Select((p, i) => (Token: vocabulary[i], Probability: p)).OrderByDescending(x => x.Probability).Take(parse.GetValue(top)).ToArray();
            var result = new
            {
                text = parse.GetValue(text),
                source = parse.GetValue(source),
                predictedNextChar = row.PredictedNextChar,
                candidates = candidates.Select(c => new { token = c.Token, probability = c.Probability }),
                inputTokens = row.InputTokens,
                teacherForcedPredictions = row.PredictedTokens,
                logLoss = row.LogLoss,
            };
            CliHost.Output(parse, result, () =>
            {
                var c = CultureInfo.InvariantCulture;
                Console.WriteLine($"'{parse.GetValue(text)}' -> next character '{row.PredictedNextChar}'");
                foreach (var (token, p) in candidates)
                {
                    Console.WriteLine(string.Create(c, $"  {token,-6} {p,7:P2}  {new string('#', (int)Math.Round(p * 40))}"));
                }

                Console.WriteLine($"teacher-forced: {string.Join(' ', row.InputTokens.Zip(row.PredictedTokens, (i, p) => $"{i}->{p}"))}");
                Console.WriteLine(string.Create(c, $"row log-loss {row.LogLoss:F4} nats/char"));
            });
        });
        return cmd;
    }

    public static Command Generate()
    {
        var model = ModelOption();
        var prefix = new Option<string>("--prefix") { Description = "Text every sample starts with.", DefaultValueFactory = _ => "" };
        var source = new Option<string?>("--source") { Description = "Source text (encoder-decoder models with a source column)." };
        var count = new Option<int>("--count") { Description = "Number of samples.", DefaultValueFactory = _ => 5 };
        var temperature = new Option<float>("--temperature") { Description = "0 = greedy; otherwise sampling temperature.", DefaultValueFactory = _ => 1f };
        var topK = new Option<int>("--top-k") { Description = "Sample among the K most probable (0 = all).", DefaultValueFactory = _ => 0 };
        var seed = new Option<int>("--seed") { Description = "Sampler seed.", DefaultValueFactory = _ => 0 };
        var maxChars = new Option<int>("--max-chars", "--max-length") { Description = "Most characters generated per sample (the model's maximum length also bounds it).", DefaultValueFactory = _ => 32 };
        var noCache = new Option<bool>("--no-cache") { Description = "Re-read the whole text at every step instead of keeping a key/value cache (slower; the same samples)." };
        var cmd = new Command("generate", "Generate text character by character, stopping at EOS; prints each character as it is chosen.") { model, prefix, source, count, temperature, topK, seed, maxChars, noCache };
        cmd.SetAction(parse =>
        {
            var ml = new MLContext(0);
            using var loaded = ModelFile.Load(ml, parse.GetValue(model)!);
            var options = new GenerationOptions
            {
                Prefix = parse.GetValue(prefix)!,
                Source = parse.GetValue(source),
                Count = parse.GetValue(count),
                Temperature = parse.GetValue(temperature),
                TopK = parse.GetValue(topK),
                Seed = parse.GetValue(seed),
                MaximumLength = parse.GetValue(maxChars),
                UseCache = !parse.GetValue(noCache),
            };
            bool stream = !parse.GetValue(CliHost.Json);
            int current = -1;
            long generated = 0;
            void OnText(int sample, string piece)
            {
                if (sample != current)
                {
                    current = sample;
                    if (stream && sample > 0)
                    {
                        Console.Out.WriteLine();
                    }
                }
                else
                {
                    generated++;
                }

                if (stream)
                {
                    Console.Out.Write(piece);
                    Console.Out.Flush();
                }
            }

            IReadOnlyList<string> words;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                words = loaded.Loaded.Generate(options, OnText);
            }
            catch (ArgumentException e) when (GenerateFlags.FirstOrDefault(f => e.Message.StartsWith($"Option {f.Key}:", StringComparison.Ordinal)) is { Key: not null } flag)
            {
                // The library names its GenerationOptions; the user typed flags.
                throw new ArgumentException(flag.Value + e.Message[$"Option {flag.Key}".Length..].Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal), flag.Value, e);
            }

            double seconds = clock.Elapsed.TotalSeconds;
            double perSecond = generated / Math.Max(seconds, 1e-9);
            CliHost.Output(parse, new { samples = words, options, generatedCharacters = generated, seconds, charactersPerSecond = perSecond }, () =>
            {
                Console.Out.WriteLine();
                if (!parse.GetValue(CliHost.Quiet))
                {
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{generated:N0} characters in {seconds:F3} s: {perSecond:N0} characters/s ({(options.UseCache ? "key/value cache" : "no cache")})"));
                }
            });
        });
        return cmd;
    }

    public static Command Info()
    {
        var model = new Option<string>("--model") { Description = "A model .zip saved by train, a checkpoint folder, or an .onnx file written by export-onnx.", Required = true };
        var cmd = new Command("info", "Describe a model .zip or exported .onnx: architecture, vocabulary, parameters, ONNX inputs and outputs, training record.") { model };
        cmd.SetAction(parse =>
        {
            string path = parse.GetValue(model)!;
            if (IsOnnx(path))
            {
                DescribeOnnx(parse, ReadOnnx(path), textColumn: null, sourceColumn: null, h: null, outputs: null);
                return;
            }

            var ml = new MLContext(0);
            using var loaded = ModelFile.Load(ml, path);
            // What export-onnx writes (token ids, symbolic batch), from the weights inside the zip.
            var onnx = OnnxModelFile.Read(OnnxExporter.Export(loaded.Loaded.Onnx.Members).ToByteArray(), path);
            DescribeOnnx(parse, onnx, loaded.Info.TextColumnName, loaded.Info.SourceColumnName, loaded.History, loaded.Outputs);
        });
        return cmd;
    }

    public static Command ExportOnnx()
    {
        var model = ModelOption();
        var output = new Option<string>("--out") { Description = "The .onnx file to write (temporary file, then rename).", Required = true };
        var lean = new Option<bool>("--next-token-only")
        {
            Description = "Export only next_token_probabilities [N, V]: no per-position probabilities, no attention (faster scoring).",
        };
        var kvCache = new Option<bool>("--kv-cache")
        {
            Description = "Export the incremental decoder for generation: next_token_probabilities after the new tokens, with past.*/present.* key/value caches (docs/onnx.md).",
        };
        var cmd = new Command("export-onnx", "Export a model .zip or a checkpoint as ONNX (opset 17) for ONNX Runtime, ML.NET's OnnxTransformer or PyTorch tooling.") { model, output, lean, kvCache };
        cmd.SetAction(parse =>
        {
            OutputPaths.CheckDistinct([("--model", parse.GetValue(model))], [("--out", parse.GetValue(output))]);
            string source = parse.GetValue(model)!;
            string path = parse.GetValue(output)!;
            if (parse.GetValue(lean) && parse.GetValue(kvCache))
            {
                throw new ArgumentException("--next-token-only and --kv-cache are two profiles: give one of them.", "--kv-cache");
            }

            var exportOptions = parse.GetValue(kvCache) ? OnnxExportOptions.Incremental : parse.GetValue(lean) ? OnnxExportOptions.NextTokenOnly : null;
            if (Directory.Exists(source) && Checkpoint.IsCheckpoint(source))
            {
                // A checkpoint exports straight from its description and weights.
                OnnxExporter.Save(OnnxExporter.Export(Checkpoint.Load(source), exportOptions), path);
            }
            else
            {
                // The token-id model with a symbolic batch (the zip holds the code-point, batch-of-one variant ML.NET runs).
                using var loaded = ModelFile.Load(new MLContext(0), source);
                OnnxExporter.Save(OnnxExporter.Export(loaded.Loaded.Onnx.Members, exportOptions), path);
            }

            var written = ReadOnnx(path);
            var result = new { file = path, bytes = new FileInfo(path).Length, opset = written.Opset, inputs = written.Inputs, outputs = written.Outputs };
            CliHost.Output(parse, result, () =>
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {path} ({result.bytes:N0} bytes, opset {written.Opset})"));
                Console.WriteLine($"inputs:  {string.Join("; ", written.Inputs)}");
                Console.WriteLine($"outputs: {string.Join("; ", written.Outputs)}");
            });
        });
        return cmd;
    }

    /// <summary>The flag of each generation option.</summary>
    private static readonly Dictionary<string, string> GenerateFlags = new(StringComparer.Ordinal)
    {
        [nameof(GenerationOptions.Prefix)] = "--prefix",
        [nameof(GenerationOptions.Source)] = "--source",
        [nameof(GenerationOptions.Count)] = "--count",
        [nameof(GenerationOptions.Temperature)] = "--temperature",
        [nameof(GenerationOptions.TopK)] = "--top-k",
        [nameof(GenerationOptions.MaximumLength)] = "--max-chars",
    };

    private static bool IsOnnx(string path) => path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);

    private static OnnxModelFile ReadOnnx(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"--model: file '{path}' not found.", path);
        }

        try
        {
            var file = OnnxModelFile.Read(path);
            // The metadata and weights agree; ONNX Runtime must also be able to run the graph.
            using var session = OnnxNextCharacterScorer.Load(path);
            return file;
        }
        catch (OnnxModelFormatException e)
        {
            throw new InvalidDataException($"--model: {e.Message}", e);
        }
    }

    private static void DescribeOnnx(ParseResult parse, OnnxModelFile onnx, string? textColumn, string? sourceColumn, TrainingHistory? h, NextCharacterOutputs? outputs)
    {
        var info = onnx.Info;
        var a = info.Architecture;
        long parameters = onnx.ParameterCount;
        var result = new
        {
            kind = a.Kind.ToString(),
            parameters,
            architecture = a,
            ensemble = onnx.IsEnsemble ? onnx.Members.Select(m => m.Info.Architecture).ToArray() : null,
            textColumn,
            sourceColumn,
            outputs = outputs switch { NextCharacterOutputs.All => "all", NextCharacterOutputs.NextCharacter => "next-character", _ => null },
            vocabulary = info.Vocabulary,
            sourceVocabulary = info.SourceVocabulary,
            trainedOn = info.TrainedOn,
            onnx = new { opset = onnx.Opset, inputs = onnx.Inputs, outputs = onnx.Outputs },
            epochs = h?.Epochs.Count,
            bestEpoch = h?.BestEpoch,
            bestValidationLoss = h?.BestValidationLoss,
            trainingSeconds = h?.TrainingSeconds,
            truncatedRows = h?.TruncatedRows,
            skippedRows = h?.SkippedRows,
        };
        CliHost.Output(parse, result, () =>
        {
            var c = CultureInfo.InvariantCulture;
            static string Describe(Engine.TransformerModelConfig a) =>
                string.Create(CultureInfo.InvariantCulture, $"d_model {a.ModelDim}, {a.Heads} heads, {a.Layers} layer(s){(a.Kind == Engine.ModelKind.EncoderDecoder ? $" + {a.EncoderLayers} encoder layer(s)" : "")}, feed-forward {a.FeedForwardDim}, {(a.NormFirst ? "Pre-LN" : "Post-LN")}, {a.Activation}, dropout {a.Dropout}, max length {a.MaxLength}");
            if (onnx.IsEnsemble)
            {
                Console.WriteLine(string.Create(c, $"{a.Kind} ensemble of {onnx.Members.Count} models (mean of their probabilities; attention from member 0): {parameters:N0} parameters"));
                for (int i = 0; i < onnx.Members.Count; i++)
                {
                    Console.WriteLine(string.Create(c, $"  member {i}: {onnx.Members[i].ParameterCount:N0} parameters, {Describe(onnx.Members[i].Info.Architecture)}"));
                }
            }
            else
            {
                Console.WriteLine(string.Create(c, $"{a.Kind}: {parameters:N0} parameters, {Describe(a)}"));
            }

            Console.WriteLine($"vocabulary ({info.Vocabulary.Count}): {string.Join(' ', info.Vocabulary)}");
            Console.WriteLine(textColumn is null ? $"trained on {info.TrainedOn}" : $"text column '{textColumn}'{(sourceColumn is null ? "" : $", source column '{sourceColumn}'")}, trained on {info.TrainedOn}");
            if (outputs is { } o)
            {
                Console.WriteLine(o == NextCharacterOutputs.All
                    ? "scores every column: Score, PredictedLabel, PredictedNextChar, token lists, row metrics, attention"
                    : "scores the next character only (--outputs next-character): Score, PredictedLabel, PredictedNextChar");
            }

            Console.WriteLine(string.Create(c, $"ONNX opset {onnx.Opset}; inputs: {string.Join("; ", onnx.Inputs)}"));
            Console.WriteLine($"ONNX outputs: {string.Join("; ", onnx.Outputs)}");
            if (h is not null)
            {
                Console.WriteLine(string.Create(c, $"{h.Epochs.Count} epochs in {h.TrainingSeconds:F1} s; best validation loss {h.BestValidationLoss?.ToString("F4", c) ?? "n/a"} at epoch {h.BestEpoch?.ToString(c) ?? "-"}"));
            }
        });
    }

    /// <summary>The scoring columns `score` reads back.</summary>
    private sealed class ScoredRow
    {
        public string PredictedNextChar { get; set; } = "";

        public float[] Score { get; set; } = [];

        public string[] InputTokens { get; set; } = [];

        public string[] PredictedTokens { get; set; } = [];

        public double LogLoss { get; set; }
    }
}
