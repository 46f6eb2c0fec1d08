// The shared tokenizer vectors (tests/web/tokenizer-vectors.json) through the C# preprocessing the saved pipeline runs
// (CodePoints.Encode, then the vocabulary and the cut to the maximum length as the graph does) and through the
// playground's JavaScript tokenizer in Node: both must give the ids the file states.
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using MLNet.Transformer.Onnx;
using MLNet.Transformer.Text;
using Xunit;

namespace MLNet.Transformer.Visualization.Tests;

public sealed class PlaygroundTokenizerTests
{
    private static string VectorsPath => Path.Combine(TestPaths.RepoRoot, "tests", "web", "tokenizer-vectors.json");

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in Cases())
        {
            data.Add(c.GetProperty("name").GetString()!);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Encode_SharedVector_CSharpPipelineGivesTheStatedIds(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(VectorsPath));
        var root = doc.RootElement;
        var vocabulary = new CharacterVocabulary(root.GetProperty("vocabulary").EnumerateArray().Select(t => t.GetString()!));
        var c = root.GetProperty("cases").EnumerateArray().Single(x => x.GetProperty("name").GetString() == name);
        string text = c.TryGetProperty("utf16", out var units)
            ? new string([.. units.EnumerateArray().Select(u => (char)u.GetInt32())])
            : c.GetProperty("text").GetString()!;
        int maxLength = c.GetProperty("maxLength").GetInt32();

        // What the fitted pipeline's CustomMapping hands the graph: BOS, code points, EOS for a source row.
        long[] codePoints = CodePoints.Encode(text, c.GetProperty("normalize").GetBoolean(), c.GetProperty("lowerCase").GetBoolean(), c.GetProperty("addEos").GetBoolean());
        // The graph's lookup: BOS/EOS markers to their ids, a character outside the vocabulary (or a lone surrogate) to UNK.
        int[] all = [.. codePoints.Select(cp => cp switch
        {
            OnnxCodePoints.Bos => CharacterVocabulary.BosId,
            OnnxCodePoints.Eos => CharacterVocabulary.EosId,
            CodePoints.Unknown => CharacterVocabulary.UnkId,
            _ => vocabulary.GetId(new Rune((int)cp)),
        })];
        int[] ids = [.. all.Take(maxLength)];

        Assert.Equal(c.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()), ids);
        Assert.Equal(c.GetProperty("dropped").GetInt32(), all.Length - ids.Length);
    }

    [Fact]
    public void Encode_SharedVectors_JavaScriptTokenizerInNodeGivesTheStatedIds()
    {
        var info = new ProcessStartInfo(Node.Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(TestPaths.RepoRoot, "tests", "web", "tokenizer-vectors.mjs"));
        using var process = Process.Start(info)!;
        string stdout = process.StandardOutput.ReadToEnd();
        string stderr = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), "node did not finish");

        Assert.True(process.ExitCode == 0, $"node exited with {process.ExitCode}:\n{stdout}\n{stderr}");
        Assert.Contains($"{Cases().Count()}/{Cases().Count()} cases agree", stdout, StringComparison.Ordinal);
    }

    private static IEnumerable<JsonElement> Cases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(VectorsPath));
        return [.. doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.Clone())];
    }
}

/// <summary>Node.js, which the playground's JavaScript tests need (./build.sh installs it when missing).</summary>
internal static class Node
{
    /// <summary>The node executable on PATH; fails the test (never skips) when there is none.</summary>
    public static string Executable
    {
        get
        {
            foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
            {
                string candidate = Path.Combine(dir, "node");
                if (dir.Length > 0 && File.Exists(candidate))
                {
                    return candidate;
                }
            }

            Assert.Fail("The playground's JavaScript tests need Node.js (node on PATH); install it with `apt-get install -y nodejs npm` (./build.sh does).");
            return "";
        }
    }
}
