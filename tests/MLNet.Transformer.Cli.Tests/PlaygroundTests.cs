// `playground` end to end: the site it writes, opened in Debian's headless chromium from a static server on 127.0.0.1
// that the browser driver (tests/web/playground-browser.mjs) starts and stops; the page's probabilities against
// `score`, the screenshot, the requests, file://, sampling against `generate`, the source box, docs/onnx.md's Node example.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MLNet.Transformer.TestKit;

namespace MLNet.Transformer.Tests;

/// <summary>A small lower-casing decoder (maximum length 16) trained by the CLI, and its playground site.</summary>
public sealed class PlaygroundModel : IDisposable
{
    /// <summary>The model's maximum length (tokens, BOS included).</summary>
    public const int MaxLength = 16;

    private readonly TempFolder _folder = new();

    public PlaygroundModel()
    {
        ModelPath = _folder.File("names.zip");
        Site = _folder.File("site");
        Run("train", "--data", TrainedCliModel.NamesPath, "--epochs", "2", "--layers", "2", "--heads", "2", "--dim", "32", "--ff", "64",
            "--max-length", MaxLength.ToString(CultureInfo.InvariantCulture), "--length-policy", "truncate", "--lower-case", "--seed", "42",
            "--out", ModelPath, "--json");
        Playground = Run("playground", "--model", ModelPath, "--out", Site, "--json");
    }

    public string ModelPath { get; }

    public string Site { get; }

    internal ProcessResult Playground { get; }

    internal TempFolder Folder => _folder;

    internal ProcessResult Run(params string[] args)
    {
        var r = ChildProcess.Cli(_folder.Path, args);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r;
    }

    public void Dispose() => _folder.Dispose();
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PlaygroundGroup : ICollectionFixture<PlaygroundModel>
{
    public const string Name = "Playground";
}

[Collection(PlaygroundGroup.Name)]
public sealed class PlaygroundTests(PlaygroundModel model)
{
    /// <summary>Twenty texts: unknown characters (digits, CJK, an emoji, Greek, punctuation), upper case that the model
    /// lower-cases, NFC (e + U+0301), U+0130 and the Kelvin sign, the empty text, and lengths below, at and above the maximum.</summary>
    public static readonly string[] Texts =
    [
        "", "a", "flyca", "Anna", "MARIA", "zo\u00eb", "e\u0301mile", "ab cd", "x7!", "\u65e5\u672c", "\U0001F600a",
        "\u03a3\u0391\u03a3", "\u212aate", "\u0130lse", "o'neil",
        "abcdefghijklmn", "abcdefghijklmno", "abcdefghijklmnop", "abcdefghijklmnopqrstuvwxyz", "christopherchristopher",
    ];

    [Fact]
    public void Playground_Json_WritesTheSiteWithTheVendoredRuntimeAndModelJson()
    {
        using var json = JsonDocument.Parse(model.Playground.StdOut);
        Assert.Equal(Path.GetFullPath(model.Site), json.RootElement.GetProperty("site").GetString());
        foreach (string f in new[] { "index.html", "playground.js", "tokenizer.js", "playground.css", "attention.css", "model.onnx", "model.json",
            "ort/ort.wasm.min.mjs", "ort/ort-wasm-simd-threaded.mjs", "ort/ort-wasm-simd-threaded.wasm" })
        {
            Assert.True(File.Exists(Path.Combine(model.Site, f)), $"the site has no {f}");
        }

        // No address outside the page's own folder in anything it serves (no CDN).
        foreach (string f in new[] { "index.html", "playground.js", "tokenizer.js", "playground.css", "attention.css" })
        {
            Assert.DoesNotMatch(new Regex("(https?:)?//[a-z0-9.-]+\\.[a-z]{2,}", RegexOptions.IgnoreCase), File.ReadAllText(Path.Combine(model.Site, f)));
        }

        var meta = JsonNode.Parse(File.ReadAllText(Path.Combine(model.Site, "model.json")))!;
        using var info = JsonDocument.Parse(model.Run("info", "--model", model.ModelPath, "--json").StdOut);
        Assert.Equal(info.RootElement.GetProperty("vocabulary").EnumerateArray().Select(t => t.GetString()), meta["vocabulary"]!.AsArray().Select(t => (string?)t));
        Assert.Equal(info.RootElement.GetProperty("parameters").GetInt64(), (long)meta["parameters"]!);
        Assert.Equal(PlaygroundModel.MaxLength, (int)meta["config"]!["maxLength"]!);
        Assert.True((bool)meta["columns"]!["lowerCase"]!);
        Assert.Equal(2, meta["training"]!["epochs"]!.AsArray().Count);
        Assert.Contains("attention", meta["onnx"]!["outputs"]!.AsArray().Select(o => (string?)o));
    }

    [Fact]
    public void Page_TwentyTexts_ProbabilitiesEqualScoreWithin1e5AndNoRequestLeavesLoopback()
    {
        int vocabulary = JsonNode.Parse(File.ReadAllText(Path.Combine(model.Site, "model.json")))!["vocabulary"]!.AsArray().Count;
        var job = new JsonObject
        {
            ["texts"] = new JsonArray([.. Texts.Select(t => (JsonNode)new JsonObject { ["text"] = t })]),
            ["top"] = vocabulary,
        };

        JsonNode result = PlaygroundBrowser.Run(model.Site, job);

        var predictions = result["predictions"]!.AsArray();
        Assert.Equal(Texts.Length, predictions.Count);
        double largest = 0;
        foreach (var (text, page) in Texts.Zip(predictions))
        {
            Assert.True((int)page!["errorCount"]! == 0, $"'{text}': script errors {page["errors"]}");
            var rows = page["rows"]!.AsArray().ToDictionary(r => (string)r!["token"]!, r => (double)r!["probability"]!);
            Assert.Equal(vocabulary, rows.Count);
            var score = Score(text);
            Assert.Equal(score.Keys.Order(StringComparer.Ordinal), rows.Keys.Order(StringComparer.Ordinal));
            foreach (var (token, p) in score)
            {
                largest = Math.Max(largest, Math.Abs(p - rows[token]));
                Assert.True(Math.Abs(p - rows[token]) <= 1e-5, $"'{text}' token '{token}': page {rows[token]} vs score {p}");
            }

            // Longer than the maximum (15 characters after <BOS>): the page says so, and scores the cut text as `score` does.
            bool tooLong = text.EnumerateRunes().Count() > PlaygroundModel.MaxLength - 1;
            Assert.Equal(tooLong, (bool)page["truncated"]!);
            Assert.Equal(tooLong, ((string)page["notice"]!).Contains("longer than this model's maximum", StringComparison.Ordinal));
            Assert.Equal(2 * 2, (int)page["heatmaps"]!);
        }

        File.WriteAllText(Path.Combine(OutputDirectory, "playground-parity.txt"),
            string.Create(CultureInfo.InvariantCulture, $"{Texts.Length} texts, largest |page - score| = {largest:E2}\n"));
        AssertLoopbackOnly(result);
    }

    [Fact]
    public void Screenshot_Flyca_ShowsTheBarsAndTheHeatmaps()
    {
        string png = Path.Combine(OutputDirectory, "playground.png");
        var job = new JsonObject { ["screenshot"] = new JsonObject { ["path"] = png, ["text"] = "flyca" } };

        JsonNode result = PlaygroundBrowser.Run(model.Site, job);

        Assert.True((int)result["screenshot"]!["errorCount"]! == 0, (string?)result["screenshot"]!["errors"]);
        using var shot = SkiaSharp.SKBitmap.Decode(png);
        Assert.NotNull(shot);
        int bars = 0; // the bars' colour, #2563eb
        var blues = new HashSet<int>();
        for (int y = 0; y < shot.Height; y++)
        {
            for (int x = 0; x < shot.Width; x++)
            {
                var c = shot.GetPixel(x, y);
                bars += Math.Abs(c.Red - 0x25) + Math.Abs(c.Green - 0x63) + Math.Abs(c.Blue - 0xeb) < 20 ? 1 : 0;
                if (c.Blue > c.Red + 40 && c.Blue >= c.Green)
                {
                    blues.Add((c.Red >> 3 << 10) | (c.Green >> 3 << 5) | (c.Blue >> 3));
                }
            }
        }

        Assert.True(bars > 1500, $"only {bars} pixels of the bars' colour: the top-k bars are missing");
        Assert.True(blues.Count > 40, $"only {blues.Count} shades of blue: the attention heatmaps are missing or uniform");
        AssertLoopbackOnly(result);
    }

    [Fact]
    public void Typing_OneKeyAtATime_EveryKeystrokeUpdatesThePrediction()
    {
        var job = new JsonObject { ["type"] = new JsonObject { ["text"] = "christophe" } };

        JsonNode result = PlaygroundBrowser.Run(model.Site, job);

        Assert.Equal("christophe", (string?)result["typed"]!["text"]);
        var keystrokes = result["keystrokeMs"]!.AsArray().Select(v => (double)v!).ToArray();
        Assert.Equal("christophe".Length, keystrokes.Length); // one prediction per keystroke, none skipped
        Assert.True((double)result["firstPredictionMs"]! > 0);
        var top = result["typed"]!["rows"]!.AsArray();
        Assert.Equal(Score("christophe").OrderByDescending(kv => kv.Value).First().Key, (string?)top[0]!["token"]);
    }

    [Fact]
    public void Sample_SameSeedTwice_SameTextAndGreedyEqualsGenerate()
    {
        var seeded = PlaygroundBrowser.Run(model.Site, new JsonObject
        {
            ["sample"] = new JsonObject { ["text"] = "ma", ["temperature"] = 1.0, ["topK"] = 5, ["seed"] = 11 },
        });
        var samples = seeded["samples"]!.AsArray().Select(s => (string?)s).ToArray();
        Assert.Equal(samples[0], samples[1]);
        Assert.StartsWith("ma", samples[0], StringComparison.Ordinal);

        var greedy = PlaygroundBrowser.Run(model.Site, new JsonObject
        {
            ["sample"] = new JsonObject { ["text"] = "ma", ["temperature"] = 0, ["topK"] = 0, ["seed"] = 1 },
        });
        using var generated = JsonDocument.Parse(model.Run("generate", "--model", model.ModelPath, "--prefix", "ma", "--temperature", "0", "--count", "1", "--json").StdOut);
        Assert.Equal(generated.RootElement.GetProperty("samples")[0].GetString(), (string?)greedy["samples"]![0]);
    }

    [Fact]
    public void Page_SourceColumnModel_ShowsTheSourceBoxAndEqualsScoreWithTheSource()
    {
        var csv = new StringBuilder("Word,Reversed\n");
        foreach (string w in File.ReadLines(TrainedCliModel.NamesPath).Take(200))
        {
            csv.Append(w).Append(',').Append(new string([.. w.Reverse()])).Append('\n');
        }

        string data = model.Folder.File("reverse.csv");
        File.WriteAllText(data, csv.ToString());
        string reverse = model.Folder.File("reverse.zip");
        string site = model.Folder.File("reverse-site");
        model.Run("train", "--model", "encoder-decoder", "--data", data, "--column", "Reversed", "--source-column", "Word", "--epochs", "2", "--heads", "2", "--out", reverse, "--json");
        model.Run("playground", "--model", reverse, "--out", site);
        int vocabulary = JsonNode.Parse(File.ReadAllText(Path.Combine(site, "model.json")))!["vocabulary"]!.AsArray().Count;
        (string Text, string Source)[] rows = [("ar", "zebra"), ("", "anna"), ("ar", "apple")];

        JsonNode result = PlaygroundBrowser.Run(site, new JsonObject
        {
            ["texts"] = new JsonArray([.. rows.Select(r => (JsonNode)new JsonObject { ["text"] = r.Text, ["source"] = r.Source })]),
            ["top"] = vocabulary,
        });

        foreach (var (row, page) in rows.Zip(result["predictions"]!.AsArray()))
        {
            Assert.True((int)page!["errorCount"]! == 0, (string?)page["errors"]);
            Assert.True((bool)page["sourceShown"]!);
            Assert.Equal(row.Source, (string?)page["source"]);
            Assert.Equal(["attention", "encoder_attention", "cross_attention"], page["sections"]!.AsArray().Select(k => (string?)k));
            using var json = JsonDocument.Parse(model.Run("score", "--model", reverse, "--source", row.Source, "--text", row.Text, "--top", "100000", "--json").StdOut);
            var pageRows = page["rows"]!.AsArray().ToDictionary(r => (string)r!["token"]!, r => (double)r!["probability"]!);
            foreach (var c in json.RootElement.GetProperty("candidates").EnumerateArray())
            {
                double p = c.GetProperty("probability").GetDouble();
                string token = c.GetProperty("token").GetString()!;
                Assert.True(Math.Abs(p - pageRows[token]) <= 1e-5, $"'{row.Source}' -> '{row.Text}' token '{token}': page {pageRows[token]} vs score {p}");
            }
        }

        AssertLoopbackOnly(result);
    }

    [Fact]
    public void FileUrl_Opened_ModuleIsBlockedAndThePageSaysToServeIt()
    {
        JsonNode result = PlaygroundBrowser.Run(model.Site, new JsonObject { ["fileUrl"] = true });

        var file = result["fileUrl"]!;
        Assert.Equal("file", (string?)file["protocol"]);
        Assert.False((bool)file["moduleRan"]!); // chromium refuses the ES module (and would refuse the model) from file://
        Assert.Equal("false", (string?)file["ready"]);
        Assert.Contains("Serve this folder over HTTP", (string?)file["notice"], StringComparison.Ordinal);
    }

    [Fact]
    public void Playground_OutIsAFile_FailsNamingOut()
    {
        string file = model.Folder.File("not-a-folder");
        File.WriteAllText(file, "x");

        var r = ChildProcess.Cli(model.Folder.Path, "playground", "--model", model.ModelPath, "--out", file);

        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("error: --out:", r.StdErr, StringComparison.Ordinal);
        Assert.Equal("x", File.ReadAllText(file));
    }

    [Fact]
    public void OnnxDocs_NodeExample_PrintsScoresProbabilities()
    {
        // The ```js block of docs/onnx.md, run as it is with onnxruntime-node against the site's model.json and model.onnx.
        string doc = File.ReadAllText(RepoPaths.Combine("docs", "onnx.md"));
        string code = Regex.Match(doc, "```js\n(// next-char\\.mjs.*?)```", RegexOptions.Singleline).Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(code), "docs/onnx.md has no ```js block starting with // next-char.mjs");
        string script = Path.Combine(OutputDirectory, "next-char.mjs"); // inside the repository, so that node finds node_modules
        File.WriteAllText(script, code);

        foreach (string text in new[] { "Flyca", "e\u0301mile", "abcdefghijklmnopqrstuvwxyz", "" })
        {
            var node = NodeRun(script, Path.Combine(model.Site, "model.json"), Path.Combine(model.Site, "model.onnx"), text);
            var printed = JsonNode.Parse(node)!.AsArray().ToDictionary(pair => (string)pair![0]!, pair => (double)pair![1]!);
            var score = Score(text);
            var expected = score.OrderByDescending(kv => kv.Value).Take(5).ToArray();
            Assert.Equal(expected.Select(kv => kv.Key), printed.Keys);
            foreach (var (token, p) in expected)
            {
                Assert.True(Math.Abs(p - printed[token]) <= 1e-5, $"'{text}' token '{token}': node {printed[token]} vs score {p}");
            }
        }
    }

    private static string OutputDirectory
    {
        get
        {
            string dir = RepoPaths.Combine("artifacts", "test-output");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    /// <summary>`score --json` over the whole vocabulary: token -> probability.</summary>
    private Dictionary<string, double> Score(string text)
    {
        using var json = JsonDocument.Parse(model.Run("score", "--model", model.ModelPath, "--text", text, "--top", "100000", "--json").StdOut);
        return json.RootElement.GetProperty("candidates").EnumerateArray()
            .ToDictionary(c => c.GetProperty("token").GetString()!, c => c.GetProperty("probability").GetDouble());
    }

    private static void AssertLoopbackOnly(JsonNode result)
    {
        string origin = (string)result["origin"]!;
        Assert.StartsWith("http://127.0.0.1:", origin, StringComparison.Ordinal);
        var requests = result["requests"]!.AsArray().Select(r => (string)r!).ToArray();
        Assert.NotEmpty(requests);
        Assert.All(requests, r => Assert.StartsWith(origin + "/", r, StringComparison.Ordinal));
        var served = result["served"]!.AsArray();
        Assert.All(served, s => Assert.Contains((string)s!["remote"]!, new[] { "127.0.0.1", "::ffff:127.0.0.1" }));
        var paths = served.Select(s => (string)s!["url"]!).ToArray();
        Assert.Contains("/model.onnx", paths);
        Assert.Contains("/ort/ort-wasm-simd-threaded.wasm", paths);
    }

    private static string NodeRun(params string[] args)
    {
        var info = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, StandardOutputEncoding = Encoding.UTF8 };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(2)), "node did not finish");
        Assert.True(p.ExitCode == 0, $"node {string.Join(' ', args)} exited with {p.ExitCode}:\n{stderr}");
        return stdout.Result;
    }
}

/// <summary>Runs tests/web/playground-browser.mjs: its own static server on 127.0.0.1 and Debian's chromium, headless.</summary>
internal static class PlaygroundBrowser
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    /// <summary>Runs <paramref name="job"/> against <paramref name="site"/> and returns the driver's JSON result.</summary>
    public static JsonNode Run(string site, JsonObject job)
    {
        job["site"] = Path.GetFullPath(site);
        job["chromium"] = Chromium;
        var info = new ProcessStartInfo("node")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add(RepoPaths.Combine("tests", "web", "playground-browser.mjs"));
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start node");
        process.StandardInput.Write(job.ToJsonString());
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"the browser driver did not finish within {Timeout}; stderr:\n{stderr.Result}");
        }

        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"the browser driver exited with {process.ExitCode}:\n{stderr.Result}");
        return JsonNode.Parse(stdout.Result)!;
    }

    private static string Chromium
    {
        get
        {
            string[] candidates = [Environment.GetEnvironmentVariable("MLT_CHROMIUM") ?? "", "/usr/bin/chromium", "/usr/bin/chromium-browser"];
            string? found = candidates.FirstOrDefault(c => c.Length > 0 && File.Exists(c));
            Assert.True(found is not null, "The playground tests need chromium: `apt-get install -y chromium fonts-dejavu-core` (./build.sh test does this).");
            return found!;
        }
    }
}
