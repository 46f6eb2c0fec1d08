// The encoder-decoder through the command line: honest single-column next-character mode on names.txt, and a
// true source -> target model (word -> reversed word) from a CSV with --source-column.
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using MLNet.Transformer.LanguageModeling;

namespace MLNet.Transformer.Tests;

public sealed class CliEncoderDecoderTests : IDisposable
{
    private readonly TempFolder _folder = new();

    [Fact]
    public void Train_EncoderDecoderSingleColumn_TrainsHonestCausalModelThatScores()
    {
        string model = _folder.File("ed.zip");
        var train = Run("train", "--model", "encoder-decoder", "--data", TrainedCliModel.NamesPath, "--epochs", "2", "--seed", "1", "--out", model, "--json");
        using var trainJson = JsonDocument.Parse(train.StdOut);
        Assert.Equal("encoder-decoder", trainJson.RootElement.GetProperty("kind").GetString());
        Assert.Equal(2, trainJson.RootElement.GetProperty("epochs").GetArrayLength());

        using var info = JsonDocument.Parse(Run("info", "--model", model, "--json").StdOut);
        var architecture = info.RootElement.GetProperty("architecture");
        Assert.Equal("EncoderDecoder", info.RootElement.GetProperty("kind").GetString());
        // Honest: the encoder reads the prefix causally and cross-attention sees no later position.
        Assert.True(architecture.GetProperty("causalEncoder").GetBoolean());
        Assert.True(architecture.GetProperty("causalCross").GetBoolean());

        // Every candidate: a distribution over the whole vocabulary, bit for bit what ML.NET computes in process.
        using var score = JsonDocument.Parse(Run("score", "--model", model, "--text", "flyca", "--top", "1000", "--json").StdOut);
        AssertScoresMatchInProcess(score.RootElement, model, new TextRow { Text = "flyca" });

        string page = _folder.File("ed.html");
        Run("attention", "--model", model, "--text", "flyca", "--out", page);
        var kinds = CliCommandTests.AttentionPageData(File.ReadAllText(page)).GetProperty("sections").EnumerateArray()
            .Select(s => s.GetProperty("kind").GetString()).ToArray();
        Assert.Equal(3, kinds.Length); // encoder self, decoder self and cross attention
    }

    [Fact]
    public void Train_SourceColumn_GeneratesFromTheSourceAndScoringNeedsIt()
    {
        var csv = new StringBuilder("Word,Reversed\n");
        foreach (string w in File.ReadLines(TrainedCliModel.NamesPath).Take(200))
        {
            csv.Append(w).Append(',').Append(new string(w.Reverse().ToArray())).Append('\n');
        }

        string data = _folder.File("reverse.csv");
        File.WriteAllText(data, csv.ToString());
        string model = _folder.File("reverse.zip");
        Run("train", "--model", "encoder-decoder", "--data", data, "--column", "Reversed", "--source-column", "Word", "--epochs", "2", "--out", model, "--json");

        using var info = JsonDocument.Parse(Run("info", "--model", model, "--json").StdOut);
        Assert.Equal("Reversed", info.RootElement.GetProperty("textColumn").GetString());

        using var generated = JsonDocument.Parse(Run("generate", "--model", model, "--source", "zebra", "--temperature", "0", "--count", "1", "--json").StdOut);
        Assert.Equal(1, generated.RootElement.GetProperty("samples").GetArrayLength());

        using var scored = JsonDocument.Parse(Run("score", "--model", model, "--source", "zebra", "--text", "ar", "--top", "1000", "--json").StdOut);
        Assert.Equal(["<BOS>", "a", "r"], scored.RootElement.GetProperty("inputTokens").EnumerateArray().Select(t => t.GetString()));
        AssertScoresMatchInProcess(scored.RootElement, model, new ReverseRow { Word = "zebra", Reversed = "ar" });

        // The source matters: another source gives other probabilities.
        using var other = JsonDocument.Parse(Run("score", "--model", model, "--source", "apple", "--text", "ar", "--top", "1000", "--json").StdOut);
        Assert.NotEqual(Probabilities(scored.RootElement), Probabilities(other.RootElement));

        // evaluate reads both columns of the CSV: every row, every target character plus its EOS.
        using var evaluation = JsonDocument.Parse(Run("evaluate", "--model", model, "--data", data, "--json").StdOut);
        Assert.Equal(200, evaluation.RootElement.GetProperty("rows").GetInt64());
        Assert.Equal(File.ReadLines(TrainedCliModel.NamesPath).Take(200).Sum(w => w.Length + 1), evaluation.RootElement.GetProperty("tokens").GetInt64());

        var noSource = ChildProcess.Cli(_folder.Path, "score", "--model", model, "--text", "ar");
        Assert.NotEqual(0, noSource.ExitCode);
        Assert.StartsWith("error: --source", Assert.Single(noSource.StdErrLines), StringComparison.Ordinal);
    }

    public void Dispose() => _folder.Dispose();

    /// <summary>
    /// The CLI's candidates (all of them) sum to 1 within 1e-5 and equal, bit for bit, the Score column ML.NET
    /// computes in process from the loaded zip for <paramref name="row"/>.
    /// </summary>
    private static void AssertScoresMatchInProcess<TRow>(JsonElement cli, string model, TRow row)
        where TRow : class
    {
        var probabilities = Probabilities(cli);
        Assert.Equal(1.0, probabilities.Values.Sum(p => (double)p), 1e-5);

        var ml = new MLContext(0);
        var loaded = NextCharacterModel.Load(ml, model);
        var scored = loaded.Model.Transform(ml.Data.LoadFromEnumerable(new[] { row }));
        var inProcess = ml.Data.CreateEnumerable<ScoreRow>(scored, reuseRowObject: false).Single();
        Assert.Equal(loaded.Info.Vocabulary.Count, inProcess.Score.Length);
        Assert.Equal(inProcess.Score.Length, probabilities.Count);
        for (int i = 0; i < inProcess.Score.Length; i++)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(inProcess.Score[i]), BitConverter.SingleToInt32Bits(probabilities[loaded.Info.Vocabulary[i]]));
        }

        Assert.Equal(inProcess.PredictedNextChar, cli.GetProperty("predictedNextChar").GetString());
    }

    private static Dictionary<string, float> Probabilities(JsonElement cli) => cli.GetProperty("candidates").EnumerateArray()
        .ToDictionary(c => c.GetProperty("token").GetString()!, c => c.GetProperty("probability").GetSingle());

    public sealed class TextRow
    {
        public string Text { get; set; } = "";
    }

    public sealed class ReverseRow
    {
        public string Word { get; set; } = "";

        public string Reversed { get; set; } = "";
    }

    public sealed class ScoreRow
    {
        public string PredictedNextChar { get; set; } = "";

        public float[] Score { get; set; } = [];
    }

    private ProcessResult Run(params string[] args)
    {
        var r = ChildProcess.Cli(_folder.Path, args);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r;
    }
}
