// Scoring throughput on data/names.txt: next-character probabilities after every name, at batch 1 and batch 64,
// through ONNX Runtime (the lean next-token-only export; the full export fetching only next_token_probabilities;
// the full export fetching every output), the native engine's batched forward, PyTorch eager inference
// (score_pytorch.py, same weights read from the exported file), and ML.NET (the fitted pipeline's chain: Transform
// over the names, and a PredictionEngine row by row, each with every column (NextCharacterOutputs.All) and with the
// "next character" columns only; the latter again with ONNX Runtime held to one thread through ML.NET's
// OnnxSessionOptions, as the raw sessions are; and ML.NET's OnnxTransformer alone over the smallest graph with the code
// points already computed: the ceiling of any chain of ML.NET built-ins over ONNX; ML.NET scores one row at a time, so
// its "batch" is 1). Methods alternate within each
// round; the report gives the median and range of rows per second over rounds, and ratios of medians, ML.NET's against
// raw ONNX Runtime at batch 1 (the lean export, token ids in). One thread everywhere.
// Usage: mlt-bench-scoring [--data data/names.txt] [--rounds 5] [--json FILE]
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;
using MLNet.Transformer.Engine;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.Onnx;
using MLNet.Transformer.Text;

var c = CultureInfo.InvariantCulture;
string data = Arg("--data") ?? Path.Combine(FindRoot(), "data", "names.txt");
int rounds = int.Parse(Arg("--rounds") ?? "5", c);
string? jsonOut = Arg("--json");
int[] batches = [1, 64];

var names = File.ReadAllLines(data).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
var vocab = CharacterVocabulary.FromCharacters(names.SelectMany(n => n.EnumerateRunes()));
var rows = names.Select(n => vocab.Encode(n, addBos: true)).ToList();
EngineRuntime.NumThreads = 1;
var cfg = new TransformerModelConfig
{
    VocabSize = vocab.Count, ModelDim = 64, Heads = 4, Layers = 2, FeedForwardDim = 128, MaxLength = 64, Dropout = 0f, Seed = 42,
};
var info = new NextCharacterModelInfo
{
    Architecture = cfg, TextColumnName = "Text", Vocabulary = [.. vocab.Tokens],
    PadId = CharacterVocabulary.PadId, BosId = CharacterVocabulary.BosId, EosId = CharacterVocabulary.EosId, UnkId = CharacterVocabulary.UnkId,
};
using var model = TransformerModel.Create(cfg);
var state = model.ExportState().AsReadOnly();
byte[] full = OnnxExporter.Export(info, state).ToByteArray();
byte[] lean = OnnxExporter.Export(info, state, OnnxExportOptions.NextTokenOnly).ToByteArray();
using var fullScorer = new OnnxNextCharacterScorer(full, "full export");
using var leanScorer = new OnnxNextCharacterScorer(lean, "lean export");

var ml = new MLContext(1);
var mlnet = NextCharacterModel.FromWeights(ml, info, state);
var namesView = ml.Data.LoadFromEnumerable(names.Select(n => new TextRow { Text = n }).ToArray());
var engine = ml.Model.CreatePredictionEngine<TextRow, ScoreRow>(mlnet);
var mlnetLean = NextCharacterModel.FromWeights(ml, info, state, NextCharacterOutputs.NextCharacter);
var leanEngine = ml.Model.CreatePredictionEngine<TextRow, ScoreRow>(mlnetLean);
// The same lean chain with ONNX Runtime on one thread (ML.NET's default is one per core), and ML.NET's OnnxTransformer
// alone: the smallest graph (code points in, Score out) over code points computed beforehand and cached.
var ml1 = new MLContext(1);
ml1.SetOnnxSessionOption(new OnnxSessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, PerSessionThreads = true });
var mlnetLean1 = NextCharacterModel.FromWeights(ml1, info, state, NextCharacterOutputs.NextCharacter);
var namesView1 = ml1.Data.LoadFromEnumerable(names.Select(n => new TextRow { Text = n }).ToArray());
var codePoints = ml1.Transforms.CopyColumns(CodePoints.TextColumn, "Text")
    .Append(ml1.Transforms.CustomMapping(new TextCodePointsNfcLower().GetMapping(), contractName: null));
var codePointsView = ml1.Data.Cache(codePoints.Fit(namesView1).Transform(namesView1));
_ = codePointsView.GetColumn<long[]>(OnnxNames.CodePoints).Count(); // fill the cache before timing
byte[] smallest = OnnxExporter.Export(info, state, new OnnxExportOptions
{
    Input = OnnxInput.CodePoints, BatchOfOne = true, IncludeTokenText = false, IncludeRowMetrics = false, IncludeAttention = false,
    IncludePositionProbabilities = false,
}).ToByteArray();
var onnxAlone = ml1.Transforms.ApplyOnnxModel([OnnxNames.Score], [OnnxNames.CodePoints], new MemoryStream(smallest)).Fit(codePointsView);

string work = Directory.CreateTempSubdirectory("mlt-bench-scoring-").FullName;
File.WriteAllBytes(Path.Combine(work, "model.onnx"), full);
File.WriteAllText(Path.Combine(work, "rows.json"), JsonSerializer.Serialize(rows));
string python = Environment.GetEnvironmentVariable("MLT_PYTHON") ?? "python3";
string script = Path.Combine(FindRoot(), "bench", "Scoring", "score_pytorch.py");

int v = cfg.VocabSize;
string[] allOutputs = [.. fullScorer.OutputNames];
var methods = new (string Name, Func<int, double> Run)[]
{
    ("engine forward", b => Sum(Batches(b).Select(x => EngineNext(x.Tokens, x.N, x.T, x.Lengths)))),
    ("ORT lean export", b => Sum(leanScorer.ScoreNext(rows, b).Select(p => (double)p[0]))),
    ("ORT full, next only", b => Sum(Batches(b).Select(x => (double)fullScorer.Run(x.Tokens, x.N, x.T, null, 0, OnnxNames.NextTokenProbabilities)[OnnxNames.NextTokenProbabilities].Data[0]))),
    ("ORT full, all outputs", b => Sum(Batches(b).Select(x => (double)fullScorer.Run(x.Tokens, x.N, x.T, null, 0, allOutputs)[OnnxNames.NextTokenProbabilities].Data[0]))),
    ("ML.NET Transform", _ => Sum(mlnet.Transform(namesView).GetColumn<float[]>("Score").Select(p => (double)p[0]))),
    ("ML.NET PredictionEngine", _ => Sum(names.Select(n => (double)engine.Predict(new TextRow { Text = n }).Score[0]))),
    ("ML.NET Transform, next character", _ => Sum(mlnetLean.Transform(namesView).GetColumn<float[]>("Score").Select(p => (double)p[0]))),
    ("ML.NET Transform, next character, 1 ORT thread", _ => Sum(mlnetLean1.Transform(namesView1).GetColumn<float[]>("Score").Select(p => (double)p[0]))),
    ("ML.NET OnnxTransformer alone, smallest graph, 1 ORT thread", _ => Sum(onnxAlone.Transform(codePointsView).GetColumn<float[]>(OnnxNames.Score).Select(p => (double)p[0]))),
    ("ML.NET PredictionEngine, next character", _ => Sum(names.Select(n => (double)leanEngine.Predict(new TextRow { Text = n }).Score[0]))),
};

// ML.NET scores row by row: time it once (listed under batch 1).
bool Skip(string method, int batch) => method.StartsWith("ML.NET", StringComparison.Ordinal) && batch != 1;
string load0 = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
foreach (var (name, run) in methods)
{
    foreach (int b in batches.Where(b => !Skip(name, b)))
    {
        run(b);   // warm-up: sessions, allocators, caches
    }
}

var seconds = new Dictionary<string, List<double>>();
void Record(string key, double s) => (seconds.TryGetValue(key, out var l) ? l : seconds[key] = []).Add(s);
for (int r = 0; r < rounds; r++)
{
    foreach (var (name, run) in methods)
    {
        foreach (int b in batches.Where(b => !Skip(name, b)))
        {
            var sw = Stopwatch.StartNew();
            run(b);
            Record($"{name}|{b}", sw.Elapsed.TotalSeconds);
        }
    }

    using var doc = JsonDocument.Parse(RunPython(python, script, Path.Combine(work, "model.onnx"), Path.Combine(work, "rows.json"), [.. batches.Select(b => b.ToString(c))]));
    foreach (int b in batches)
    {
        Record($"PyTorch eager|{b}", doc.RootElement.GetProperty("batch").GetProperty(b.ToString(c)).GetDouble());
    }

    Console.Error.WriteLine($"round {r + 1}/{rounds} done");
}

string load1 = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
Directory.Delete(work, recursive: true);

var report = new StringBuilder();
report.AppendLine(c, $"Scoring {rows.Count} names (next-character probabilities after each), decoder L2 H4 d64 ff128 V{v}, {rounds} rounds, one thread each (engine, ORT intra-op, torch + OpenBLAS).");
report.AppendLine(c, $"load average before: {load0}; after: {load1}");
report.AppendLine("| method | batch | rows/s (median) | range | vs engine | vs PyTorch |");
report.AppendLine("|---|---|---|---|---|---|");
var table = new List<object>();
foreach (int b in batches)
{
    double Median(string m) => rows.Count / seconds[$"{m}|{b}"].Order().ElementAt(rounds / 2);
    foreach (var m in methods.Select(x => x.Name).Append("PyTorch eager").Where(m => !Skip(m, b)))
    {
        var rps = seconds[$"{m}|{b}"].Select(s => rows.Count / s).Order().ToArray();
        double med = Median(m);
        report.AppendLine(c, $"| {m} | {b} | {med:N0} | {rps[0]:N0}-{rps[^1]:N0} | {med / Median("engine forward"):F2}x | {med / Median("PyTorch eager"):F2}x |");
        table.Add(new { method = m, batch = b, rowsPerSecond = med, min = rps[0], max = rps[^1] });
    }
}

double Batch1(string m) => rows.Count / seconds[$"{m}|1"].Order().ElementAt(rounds / 2);
report.AppendLine();
report.AppendLine("ML.NET against raw ONNX Runtime at batch 1 (ORT lean export):");
foreach (var m in methods.Select(x => x.Name).Where(m => m.StartsWith("ML.NET", StringComparison.Ordinal)))
{
    report.AppendLine(c, $"- {m}: {Batch1(m) / Batch1("ORT lean export"):F2}x");
}

Console.WriteLine(report.ToString());
if (jsonOut is not null)
{
    File.WriteAllText(jsonOut, JsonSerializer.Serialize(new { rows = rows.Count, rounds, load0, load1, table }));
}

return 0;

string? Arg(string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

static string FindRoot()
{
    for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
    {
        if (File.Exists(Path.Combine(d.FullName, "MLNet.Transformer.sln")))
        {
            return d.FullName;
        }
    }

    throw new InvalidOperationException("Run from inside the repository (MLNet.Transformer.sln not found above the program).");
}

static double Sum(IEnumerable<double> xs) => xs.Sum();

IEnumerable<(long[] Tokens, int N, int T, int[] Lengths)> Batches(int b)
{
    for (int start = 0; start < rows.Count; start += b)
    {
        int n = Math.Min(b, rows.Count - start);
        int t = 0;
        for (int i = 0; i < n; i++)
        {
            t = Math.Max(t, rows[start + i].Length);
        }

        var tokens = new long[n * t];
        var lengths = new int[n];
        for (int i = 0; i < n; i++)
        {
            var row = rows[start + i];
            lengths[i] = row.Length;
            for (int j = 0; j < row.Length; j++)
            {
                tokens[(i * t) + j] = row[j];
            }
        }

        yield return (tokens, n, t, lengths);
    }
}

double EngineNext(long[] tokens, int n, int t, int[] lengths)
{
    var logits = model.Forward(new TokenBatch(tokens, n, t)).Logits!.GetArray();
    double check = 0;
    var p = new float[v];
    for (int i = 0; i < n; i++)
    {
        var row = logits.AsSpan(((i * t) + lengths[i] - 1) * v, v);
        float max = float.NegativeInfinity;
        foreach (var x in row)
        {
            max = Math.Max(max, x);
        }

        float sum = 0;
        for (int j = 0; j < v; j++)
        {
            p[j] = MathF.Exp(row[j] - max);
            sum += p[j];
        }

        check += p[0] / sum;
    }

    return check;
}

static string RunPython(string python, string script, string model, string rowsFile, string[] batchSizes)
{
    var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    foreach (var a in new[] { script, model, rowsFile }.Concat(batchSizes))
    {
        psi.ArgumentList.Add(a);
    }

    psi.Environment["OMP_NUM_THREADS"] = "1";
    psi.Environment["OPENBLAS_NUM_THREADS"] = "1";
    using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {python}");
    var stderr = p.StandardError.ReadToEndAsync();
    string stdout = p.StandardOutput.ReadToEnd();
    p.WaitForExit();
    return p.ExitCode == 0 ? stdout : throw new InvalidOperationException($"{python} {script} exited with {p.ExitCode}: {stderr.Result}");
}

internal sealed class TextRow
{
    public string Text { get; set; } = "";
}

internal sealed class ScoreRow
{
    public float[] Score { get; set; } = [];
}
