// End-to-end tests of the mlnet-transformer commands, each run as a real child process: train once (shared),
// then score/evaluate/generate/info/attention/doctor on the saved ML.NET .zip, cross-checked in process against
// ML.NET (NextCharacterModel.Load + Transform).
using System.Text.Json;
using Microsoft.ML;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.Onnx;
using MLNet.Transformer.TestKit;

namespace MLNet.Transformer.Tests;

/// <summary>One decoder model trained by `train --json` on data/names.txt, shared by the tests of the collection.</summary>
public sealed class TrainedCliModel : IDisposable
{
    private readonly TempFolder _folder = new();

    public TrainedCliModel()
    {
        ModelPath = _folder.File("names.zip");
        PlotPath = _folder.File("loss.png");
        Train = ChildProcess.Cli(_folder.Path,
            "train", "--data", NamesPath, "--epochs", "3", "--heads", "2", "--seed", "42", "--out", ModelPath, "--plot", PlotPath, "--json");
    }

    /// <summary>data/names.txt.</summary>
    public static string NamesPath => RepoPaths.Combine("data", "names.txt");

    /// <summary>Where the model was saved.</summary>
    public string ModelPath { get; }

    /// <summary>Where train's --plot went (a .png path, so a PNG).</summary>
    public string PlotPath { get; }

    /// <summary>The train command's result.</summary>
    internal ProcessResult Train { get; }

    /// <summary>A scratch folder for the tests' own files.</summary>
    internal TempFolder Folder => _folder;

    public void Dispose() => _folder.Dispose();
}

[CollectionDefinition(Name)]
public sealed class TrainedCliModelGroup : ICollectionFixture<TrainedCliModel>
{
    public const string Name = "Trained CLI model";
}

[Collection(TrainedCliModelGroup.Name)]
public sealed class CliCommandTests(TrainedCliModel trained)
{
    [Fact]
    public void Train_PlotPathEndingInPng_WritesAPngWithTheTrainingCurve()
    {
        using var png = SkiaSharp.SKBitmap.Decode(trained.PlotPath);

        Assert.NotNull(png);
        Assert.Equal((760, 440), (png.Width, png.Height));
        int trainBlue = 0; // #2563eb, the training curve
        for (int y = 0; y < png.Height; y++)
        {
            for (int x = 0; x < png.Width; x++)
            {
                var c = png.GetPixel(x, y);
                trainBlue += Math.Abs(c.Red - 0x25) + Math.Abs(c.Green - 0x63) + Math.Abs(c.Blue - 0xeb) < 40 ? 1 : 0;
            }
        }

        Assert.True(trainBlue > 200, $"only {trainBlue} pixels of the training curve's colour");
    }

    private const string FlycaText = "flyca";

    [Fact]
    public void Train_Json_ReportsEpochHistoryFinalLossesAndSeconds()
    {
        var r = trained.Train;
        Assert.True(r.ExitCode == 0, r.ToString());
        using var json = JsonDocument.Parse(r.StdOut); // stdout holds the JSON and nothing else
        var root = json.RootElement;
        var epochs = root.GetProperty("epochs").EnumerateArray().ToArray();
        Assert.Equal([1, 2, 3], epochs.Select(e => e.GetProperty("epoch").GetInt32()));
        foreach (var e in epochs)
        {
            Assert.InRange(e.GetProperty("trainLoss").GetDouble(), 0.1, 10);
            Assert.InRange(e.GetProperty("validationLoss").GetDouble(), 0.1, 10); // 20% held out by default
        }

        Assert.Equal(epochs[^1].GetProperty("trainLoss").GetDouble(), root.GetProperty("finalTrainLoss").GetDouble());
        Assert.Equal(epochs[^1].GetProperty("validationLoss").GetDouble(), root.GetProperty("finalValidationLoss").GetDouble());
        Assert.True(epochs[^1].GetProperty("trainLoss").GetDouble() < epochs[0].GetProperty("trainLoss").GetDouble(), "the loss should fall");
        Assert.True(root.GetProperty("trainingSeconds").GetDouble() > 0);
        Assert.Equal("decoder", root.GetProperty("kind").GetString());
        Assert.Equal(Path.GetFullPath(trained.ModelPath), root.GetProperty("model").GetString());
        Assert.True(File.Exists(trained.ModelPath));
    }

    [Fact]
    public void Score_TwoProcesses_BitIdenticalProbabilities()
    {
        var first = ScoreAll();
        var second = ScoreAll();

        Assert.Equal(first.Raw, second.Raw);
        Assert.Equal(first.Probabilities.Count, second.Probabilities.Count);
        foreach (var (token, p) in first.Probabilities)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(p), BitConverter.SingleToInt32Bits(second.Probabilities[token]));
        }
    }

    [Fact]
    public void Score_CliAndInProcessApi_BitIdenticalProbabilities()
    {
        var cli = ScoreAll();

        var ml = new MLContext(0);
        var loaded = NextCharacterModel.Load(ml, trained.ModelPath);
        var scored = loaded.Model.Transform(ml.Data.LoadFromEnumerable(new[] { new TextRow { Text = FlycaText } }));
        var slots = loaded.Info.Vocabulary;
        var row = ml.Data.CreateEnumerable<ScoreRow>(scored, reuseRowObject: false).Single();

        Assert.Equal(slots.Count, row.Score.Length);
        Assert.Equal(slots.Count, cli.Probabilities.Count);
        for (int i = 0; i < slots.Count; i++)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(row.Score[i]), BitConverter.SingleToInt32Bits(cli.Probabilities[slots[i]]));
        }

        Assert.Equal(row.PredictedNextChar, cli.Predicted);
        Assert.Equal(slots[Array.IndexOf(row.Score, row.Score.Max())], cli.Predicted);
        Assert.Equal(1.0, row.Score.Sum(p => (double)p), 1e-5);
    }

    [Fact]
    public void Evaluate_Json_CountsEveryCharacterAndMatchesTheApi()
    {
        var r = Cli("evaluate", "--model", trained.ModelPath, "--data", TrainedCliModel.NamesPath, "--json");
        using var json = JsonDocument.Parse(r.StdOut);
        var m = json.RootElement;

        // Hand count: every character of every non-empty line plus its EOS.
        var lines = File.ReadAllLines(TrainedCliModel.NamesPath).Where(l => l.Length > 0).ToArray();
        Assert.Equal(lines.Length, m.GetProperty("rows").GetInt64());
        Assert.Equal(lines.Sum(l => l.Length + 1), m.GetProperty("tokens").GetInt64());
        double logLoss = m.GetProperty("logLoss").GetDouble();
        Assert.Equal(Math.Exp(logLoss), m.GetProperty("perplexity").GetDouble(), 1e-9);
        Assert.Equal(logLoss / Math.Log(2), m.GetProperty("bitsPerCharacter").GetDouble(), 1e-9);
        double accuracy = m.GetProperty("accuracy").GetDouble(), top = m.GetProperty("topKAccuracy").GetDouble();
        Assert.InRange(accuracy, 0, top);
        Assert.InRange(top, accuracy, 1);
        Assert.Equal(5, m.GetProperty("topK").GetInt32());
        Assert.Equal(TrainedCliModel.NamesPath, m.GetProperty("data").GetString()); // what the figures are over

        var ml = new MLContext(0);
        var loaded = NextCharacterModel.Load(ml, trained.ModelPath);
        var rows = ml.Data.LoadFromEnumerable(lines.Select(l => new TextRow { Text = l }).ToArray());
        var api = ml.MulticlassClassification.EvaluateNextCharacter(loaded.Model.Transform(rows));
        Assert.Equal(lines.Length, api.Rows);
        Assert.Equal(api.LogLoss, logLoss, 1e-12);
        Assert.Equal(api.Accuracy, accuracy);
        Assert.Equal(api.TopKAccuracy, top);
    }

    [Fact]
    public void Generate_SameSeed_SameWordsAcrossProcesses()
    {
        string[] Sample(int seed) => Samples(Cli("generate", "--model", trained.ModelPath, "--count", "5", "--temperature", "1", "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json"));

        var a = Sample(3);
        var b = Sample(3);
        var c = Sample(4);

        Assert.Equal(5, a.Length);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Generate_TemperatureZero_DeterministicIgnoresSeedAndMatchesTheApi()
    {
        var a = Samples(Cli("generate", "--model", trained.ModelPath, "--count", "2", "--temperature", "0", "--seed", "1", "--prefix", "ca", "--json"));
        var b = Samples(Cli("generate", "--model", trained.ModelPath, "--count", "2", "--temperature", "0", "--seed", "2", "--prefix", "ca", "--json"));

        Assert.Equal(a, b);
        Assert.Equal(a[0], a[1]);
        Assert.StartsWith("ca", a[0], StringComparison.Ordinal);

        var loaded = NextCharacterModel.Load(new MLContext(0), trained.ModelPath);
        Assert.Equal(a[0], loaded.Generate(new GenerationOptions { Prefix = "ca", Temperature = 0 })[0]);
    }

    [Fact]
    public void Generate_StreamsTheSamplesAndNoCacheGivesTheSameText()
    {
        string[] args = ["generate", "--model", trained.ModelPath, "--count", "4", "--temperature", "1", "--seed", "7", "--max-chars", "6"];
        var cached = Cli(args);
        var uncached = Cli([.. args, "--no-cache"]);
        Assert.True(cached.ExitCode == 0, cached.ToString());
        Assert.True(uncached.ExitCode == 0, uncached.ToString());
        Assert.Equal(cached.StdOut, uncached.StdOut);
        Assert.Contains("characters/s (key/value cache)", cached.StdErr, StringComparison.Ordinal);
        Assert.Contains("characters/s (no cache)", uncached.StdErr, StringComparison.Ordinal);

        // One line per sample, the same samples as --json, each at most --max-chars long.
        Assert.EndsWith("\n", cached.StdOut, StringComparison.Ordinal);
        var lines = cached.StdOut[..^1].Split('\n');
        var json = Samples(Cli([.. args, "--json"]));
        Assert.Equal(json, lines);
        Assert.All(lines, l => Assert.InRange(l.Length, 0, 6));
    }

    [Fact]
    public void ExportOnnx_KvCache_WritesTheIncrementalGraph()
    {
        string path = trained.Folder.File("incremental.onnx");
        var r = Cli("export-onnx", "--model", trained.ModelPath, "--out", path, "--kv-cache");
        Assert.True(r.ExitCode == 0, r.ToString());
        var file = OnnxModelFile.Read(path);
        Assert.Contains(file.Inputs, i => i.StartsWith(OnnxNames.PastKey("layers.0.self_attn"), StringComparison.Ordinal));
        Assert.Contains(file.Outputs, o => o.StartsWith(OnnxNames.PresentValue("layers.0.self_attn"), StringComparison.Ordinal));
        Assert.DoesNotContain(file.Outputs, o => o.StartsWith(OnnxNames.Attention, StringComparison.Ordinal));

        var both = ChildProcess.Cli(trained.Folder.Path, "export-onnx", "--model", trained.ModelPath, "--out", path, "--kv-cache", "--next-token-only");
        Assert.NotEqual(0, both.ExitCode);
        Assert.Contains("--kv-cache", both.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_OutputsNextCharacter_SavesTheMulticlassColumnsOnlyAndEvaluateStillCountsEveryCharacter()
    {
        string lean = trained.Folder.File("lean.zip");
        var train = Cli("train", "--data", TrainedCliModel.NamesPath, "--epochs", "1", "--seed", "42", "--outputs", "next-character", "--out", lean, "--quiet");
        Assert.True(train.ExitCode == 0, train.ToString());
        var ml = new MLContext(0);
        var loaded = NextCharacterModel.Load(ml, lean);
        var schema = loaded.Model.GetOutputSchema(loaded.InputSchema);
        Assert.Equal(
            ["Text", NextCharacterColumns.PredictedNextChar, NextCharacterColumns.Score, NextCharacterColumns.PredictedLabel],
            schema.Where(c => !c.IsHidden).Select(c => c.Name).ToArray());

        // evaluate and score rebuild the model's every-column chain from its ONNX model.
        using var json = JsonDocument.Parse(Cli("evaluate", "--model", lean, "--data", TrainedCliModel.NamesPath, "--json").StdOut);
        var lines = File.ReadAllLines(TrainedCliModel.NamesPath).Where(l => l.Length > 0).Select(l => new TextRow { Text = l });
        var full = loaded.CreateChain(ml, NextCharacterOutputs.All).Transform(ml.Data.LoadFromEnumerable(lines));
        Assert.Equal(ml.MulticlassClassification.EvaluateNextCharacter(full).LogLoss, json.RootElement.GetProperty("logLoss").GetDouble(), 6);
        Assert.Equal(0, Cli("score", "--model", lean, "--text", "flyca").ExitCode);
        using var info = JsonDocument.Parse(Cli("info", "--model", lean, "--json").StdOut);
        Assert.Equal("next-character", info.RootElement.GetProperty("outputs").GetString());
        Assert.Contains("scores the next character only", Cli("info", "--model", lean).StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_Json_DescribesArchitectureVocabularyAndHistory()
    {
        using var train = JsonDocument.Parse(trained.Train.StdOut);
        using var json = JsonDocument.Parse(Cli("info", "--model", trained.ModelPath, "--json").StdOut);
        var info = json.RootElement;

        Assert.Equal("Decoder", info.GetProperty("kind").GetString());
        Assert.Equal(train.RootElement.GetProperty("parameters").GetInt64(), info.GetProperty("parameters").GetInt64());
        Assert.Equal(2, info.GetProperty("architecture").GetProperty("heads").GetInt32());
        Assert.Equal(32, info.GetProperty("architecture").GetProperty("modelDim").GetInt32());
        Assert.Equal("Text", info.GetProperty("textColumn").GetString());
        Assert.Equal("all", info.GetProperty("outputs").GetString());
        Assert.Equal(3, info.GetProperty("epochs").GetInt32());
        var vocabulary = info.GetProperty("vocabulary").EnumerateArray().Select(v => v.GetString()).ToHashSet();
        Assert.Contains("<BOS>", vocabulary);
        Assert.Contains("<EOS>", vocabulary);
        Assert.All(File.ReadAllText(TrainedCliModel.NamesPath).Where(char.IsLetter).Distinct(), ch => Assert.Contains(ch.ToString(), vocabulary));
    }

    [Fact]
    public void ExportOnnx_Out_WritesAModelOnnxRuntimeScoresLikeTheZip()
    {
        string onnx = trained.Folder.File("names.onnx");
        using var export = JsonDocument.Parse(Cli("export-onnx", "--model", trained.ModelPath, "--out", onnx, "--json").StdOut);
        Assert.Equal(17, export.RootElement.GetProperty("opset").GetInt32());
        Assert.Equal(["tokens: int64 [N, T]"], export.RootElement.GetProperty("inputs").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("attention: float [N, 1, 2, T, T]", export.RootElement.GetProperty("outputs").EnumerateArray().Select(e => e.GetString()));

        // info reads the .onnx alone: the same parameters as the trained model, and the ONNX interface.
        using var train = JsonDocument.Parse(trained.Train.StdOut);
        using var info = JsonDocument.Parse(Cli("info", "--model", onnx, "--json").StdOut);
        Assert.Equal(train.RootElement.GetProperty("parameters").GetInt64(), info.RootElement.GetProperty("parameters").GetInt64());
        Assert.Equal(17, info.RootElement.GetProperty("onnx").GetProperty("opset").GetInt32());

        // ONNX Runtime on the exported file gives the zip's next-character probabilities.
        using var scorer = Onnx.OnnxNextCharacterScorer.Load(onnx);
        var vocabulary = scorer.Info.Vocabulary.ToList();
        int[] ids = [scorer.Info.BosId, .. FlycaText.Select(ch => vocabulary.IndexOf(ch.ToString()))];
        float[] fromOnnx = scorer.ScoreNext([ids])[0];
        var zip = ScoreAll();
        for (int i = 0; i < vocabulary.Count; i++)
        {
            Assert.True(Math.Abs(zip.Probabilities[vocabulary[i]] - fromOnnx[i]) <= 1e-5, $"{vocabulary[i]}: zip {zip.Probabilities[vocabulary[i]]}, onnx {fromOnnx[i]}");
        }
    }

    [Fact]
    public void ExportOnnx_ModelThatIsNotAZip_FailsNamingItAndWritesNothing()
    {
        string notAModel = trained.Folder.File("not-a-model.zip");
        File.WriteAllText(notAModel, "plain text");
        string onnx = trained.Folder.File("never.onnx");
        var r = ChildProcess.Cli(trained.Folder.Path, "export-onnx", "--model", notAModel, "--out", onnx);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(notAModel, r.StdErr, StringComparison.Ordinal);
        Assert.False(File.Exists(onnx));
        Assert.Empty(Directory.GetFiles(trained.Folder.Path, "*.tmp", SearchOption.AllDirectories));

        string truncated = trained.Folder.File("truncated.onnx");
        File.WriteAllBytes(truncated, [0x08, 0x08, 0x12, 0x40, 0x01]);
        var info = ChildProcess.Cli(trained.Folder.Path, "info", "--model", truncated);
        Assert.Equal(1, info.ExitCode);
        Assert.StartsWith($"error: --model: {truncated}: is not an ONNX model", info.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Attention_Out_WritesOfflinePageWithTheTokens()
    {
        string page = trained.Folder.File("attention.html");
        string bertviz = trained.Folder.File("attention.json");
        var r = Cli("attention", "--model", trained.ModelPath, "--text", FlycaText, "--out", page, "--bertviz-json", bertviz);

        Assert.Single(r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        string html = File.ReadAllText(page);
        Assert.DoesNotContain("http://", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("https://", html, StringComparison.OrdinalIgnoreCase);
        var section = AttentionPageData(html).GetProperty("sections")[0];
        string[] expected = ["<BOS>", "f", "l", "y", "c", "a"];
        Assert.Equal(expected, section.GetProperty("queryTokens").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(expected, section.GetProperty("keyTokens").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(2, section.GetProperty("heads").GetInt32());
        var fromJson = Visualization.BertvizJson.FromJson(File.ReadAllText(bertviz));
        Assert.Equal(expected, fromJson.QueryTokens);
    }

    [Fact]
    public void Doctor_Json_ReportsTorchVersionAndCuda()
    {
        using var json = JsonDocument.Parse(Cli("doctor", "--json").StdOut);
        var d = json.RootElement;

        Assert.Matches(@"^\d+\.\d+", d.GetProperty("torchVersion").GetString());
        Assert.Contains(d.GetProperty("cudaAvailable").ValueKind, new[] { JsonValueKind.True, JsonValueKind.False });
        Assert.True(File.Exists(d.GetProperty("nativeLibrary").GetString()));
        Assert.True(d.GetProperty("threads").GetInt32() >= 1);
    }

    /// <summary>The JSON the attention page embeds for its script.</summary>
    internal static JsonElement AttentionPageData(string html)
    {
        const string Open = "<script id=\"attention-data\" type=\"application/json\">";
        int start = html.IndexOf(Open, StringComparison.Ordinal);
        Assert.True(start >= 0, "the page embeds its data");
        start += Open.Length;
        int end = html.IndexOf("</script>", start, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(html[start..end]);
        return doc.RootElement.Clone();
    }

    [Fact]
    public void Commands_ZipSavedByModelSave_ReadItWithoutTheCliRecord()
    {
        // A zip an app saved with mlContext.Model.Save has no CLI training record: every command still reads it.
        var ml = new MLContext(0);
        string saved = trained.Folder.File("saved-by-app.zip");
        using (var loaded = NextCharacterModel.Load(ml, trained.ModelPath))
        {
            ml.Model.Save(loaded.Model, loaded.InputSchema, saved);
        }

        Assert.DoesNotContain(IO.ModelArchive.Read(saved).EntryNames, n => n.StartsWith("MLNet.Transformer.Cli", StringComparison.Ordinal));
        Assert.Null(IO.ModelArchive.Read(saved).GetEntry("no/such/entry"));
        var score = Cli("score", "--model", saved, "--text", FlycaText, "--top", "1000", "--json");
        Assert.Equal(ScoreAll().Raw, score.StdOut);
        using var info = JsonDocument.Parse(Cli("info", "--model", saved, "--json").StdOut);
        Assert.Equal(32, info.RootElement.GetProperty("architecture").GetProperty("modelDim").GetInt32());
        Assert.Equal(2, Samples(Cli("generate", "--model", saved, "--count", "2", "--seed", "3", "--json")).Length);
    }

    private ProcessResult Cli(params string[] args)
    {
        var r = ChildProcess.Cli(trained.Folder.Path, args);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r;
    }

    private (string Raw, string Predicted, Dictionary<string, float> Probabilities) ScoreAll()
    {
        var r = Cli("score", "--model", trained.ModelPath, "--text", FlycaText, "--top", "1000", "--json");
        using var json = JsonDocument.Parse(r.StdOut);
        var probabilities = json.RootElement.GetProperty("candidates").EnumerateArray()
            .ToDictionary(c => c.GetProperty("token").GetString()!, c => c.GetProperty("probability").GetSingle());
        return (r.StdOut, json.RootElement.GetProperty("predictedNextChar").GetString()!, probabilities);
    }

    private static string[] Samples(ProcessResult r)
    {
        using var json = JsonDocument.Parse(r.StdOut);
        return [.. json.RootElement.GetProperty("samples").EnumerateArray().Select(s => s.GetString()!)];
    }

    /// <summary>Input row of the model (its text column is "Text").</summary>
    public sealed class TextRow
    {
        public string Text { get; set; } = "";
    }

    /// <summary>The prediction columns read back.</summary>
    public sealed class ScoreRow
    {
        public string PredictedNextChar { get; set; } = "";

        public float[] Score { get; set; } = [];
    }
}
