// The README's C# quick start is examples/QuickStart/Program.cs verbatim; it is run here as a real program: once to
// train, save, load and predict, then again from a copy outside the repository with MLT_NATIVE_LIBRARY pointing
// to a file that does not exist, loading the saved zip and predicting: scoring a saved model needs no native engine.
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using MLNet.Transformer.TestKit;

namespace MLNet.Transformer.Tests;

// Same collection as the in-process comparisons of CliCommandTests: the runs here train, which must not overlap
// a bit-for-bit comparison on this machine's few cores.
[Collection(TrainedCliModelGroup.Name)]
public sealed class ReadmeQuickStartTests : IDisposable
{
    private const string Example = "QuickStart";
    private readonly TempFolder _folder = new();

    [Fact]
    public void Readme_CSharpBlock_IsTheQuickStartExampleVerbatim()
    {
        string readme = File.ReadAllText(RepoPaths.Combine("README.md")).ReplaceLineEndings("\n");
        int section = readme.IndexOf("\n## C# quick start\n", StringComparison.Ordinal);
        Assert.True(section >= 0, "README has a C# quick start section");
        var block = Regex.Match(readme[section..], "```csharp\n(.*?)```", RegexOptions.Singleline);
        Assert.True(block.Success, "the section has a csharp block");
        string program = File.ReadAllText(RepoPaths.Combine("examples", Example, "Program.cs")).ReplaceLineEndings("\n");

        Assert.Equal(program.Trim(), block.Groups[1].Value.Trim());
        Assert.Contains("using Microsoft.ML;", program, StringComparison.Ordinal);
    }

    [Fact]
    public void QuickStart_TrainSaveThenLoadInAProcessWithoutEngine_PredictsTheSame()
    {
        Directory.CreateDirectory(_folder.File("data"));
        File.Copy(RepoPaths.Combine("data", "names.txt"), _folder.File(Path.Combine("data", "names.txt")));

        // 1. Train, save names.zip, evaluate, generate, load and predict (the engine found as usual).
        var full = Run(ChildProcess.ExampleDll(Example));
        Assert.True(full.ExitCode == 0, full.ToString());
        Assert.Equal("", full.StdErr.Trim());
        string[] lines = full.StdOut.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        var names = File.ReadAllLines(RepoPaths.Combine("data", "names.txt")).Where(l => l.Length > 0).ToArray();
        var evaluation = Regex.Match(lines[0], @"^perplexity (\d+\.\d\d) over (\d+) characters of (\d+) names$");
        Assert.True(evaluation.Success, lines[0]);
        Assert.Equal(names.Sum(n => n.Length + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), evaluation.Groups[2].Value);
        Assert.Equal(names.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), evaluation.Groups[3].Value);
        // Uniform guessing over ~30 tokens has perplexity 30, a unigram model about 20; the trained model measures ~9.
        Assert.InRange(double.Parse(evaluation.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 1, 16);
        string[] words = lines[1]["generated: ".Length..].Split(", ");
        Assert.StartsWith("generated: ", lines[1], StringComparison.Ordinal);
        Assert.Equal(5, words.Length);
        Assert.All(words, w => Assert.StartsWith("ca", w, StringComparison.Ordinal));
        var predicted = Regex.Match(lines[2], @"^'flyca' -> '(\p{Ll}|<EOS>)' \((\p{Ll}|<EOS>), p = 0\.\d{4}\); probabilities sum to 1\.0000$");
        Assert.True(predicted.Success, lines[2]);
        Assert.Equal(predicted.Groups[1].Value, predicted.Groups[2].Value); // PredictedNextChar is Score's argmax
        Assert.True(File.Exists(_folder.File("names.zip")));

        // 2. A copy of the program outside the repository (so no artifacts/native above it) with no engine to load.
        string app = CopyProgramOutside();
        var noEngine = new Dictionary<string, string> { ["MLT_NATIVE_LIBRARY"] = _folder.File(Path.Combine("missing", "libmlt.so")) };

        // Control: without the engine, training fails, so the engine really is out of reach there.
        var train = Run(app, noEngine);
        Assert.NotEqual(0, train.ExitCode);
        Assert.Contains("NativeLibraryNotFoundException", train.StdErr, StringComparison.Ordinal);

        // Loading the saved zip and predicting works, with the same prediction, bit for bit as printed.
        var load = Run(app, noEngine, "names.zip");
        Assert.True(load.ExitCode == 0, load.ToString());
        Assert.Equal("", load.StdErr.Trim());
        Assert.Equal(lines[2], load.StdOut.Trim());
    }

    public void Dispose() => _folder.Dispose();

    private ProcessResult Run(string dll, IReadOnlyDictionary<string, string>? environment = null, params string[] args) =>
        ChildProcess.Dotnet(_folder.Path, [dll, .. args], environment);

    /// <summary>Copies the built example (with this platform's native runtime files only) into the temp folder.</summary>
    private string CopyProgramOutside()
    {
        string built = Path.GetDirectoryName(ChildProcess.ExampleDll(Example))!;
        string target = _folder.File("app");
        Directory.CreateDirectory(target);
        foreach (string file in Directory.GetFiles(built))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        string runtime = Path.Combine(built, "runtimes", RuntimeInformation.RuntimeIdentifier);
        foreach (string file in Directory.GetFiles(runtime, "*", SearchOption.AllDirectories))
        {
            string to = Path.Combine(target, "runtimes", RuntimeInformation.RuntimeIdentifier, Path.GetRelativePath(runtime, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }

        return Path.Combine(target, Path.GetFileName(ChildProcess.ExampleDll(Example)));
    }
}
