// What the command line promises about files: damaged models are refused (never scored), an output never lands on
// an input (symbolic links followed), no temporary file outlives a command, and messages name flags, not C# options.
using System.Buffers.Binary;
using System.IO.Compression;

namespace MLNet.Transformer.Tests;

[Collection(TrainedCliModelGroup.Name)]
public sealed class CliFileSafetyTests(TrainedCliModel trained)
{
    [Fact]
    public void Score_BitFlipsInsideTheModelsOnnxEntry_RefusedNamingModelAndEntry()
    {
        Assert.Equal(0, trained.Train.ExitCode);
        byte[] original = File.ReadAllBytes(trained.ModelPath);
        var (offset, length, name) = LargestEntry(original);
        var random = new Random(1919);
        for (int i = 0; i < 3; i++)
        {
            var bytes = (byte[])original.Clone();
            bytes[offset + random.Next(length)] ^= (byte)(1 << random.Next(8));
            string path = trained.Folder.File($"flipped-{i}.zip");
            File.WriteAllBytes(path, bytes);

            var r = ChildProcess.Cli(trained.Folder.Path, "score", "--model", path, "--text", "ann");

            Assert.True(r.ExitCode == 1, r.ToString());
            string line = Assert.Single(r.StdErrLines);
            Assert.Contains("--model", line, StringComparison.Ordinal);
            Assert.Contains(path, line, StringComparison.Ordinal);
            Assert.Contains(name, line, StringComparison.Ordinal);
            Assert.Equal("", r.StdOut);
        }
    }

    [Fact]
    public void ExportOnnx_OutIsASymbolicLinkToTheModel_RefusedAndTheModelIsUntouched()
    {
        string model = trained.Folder.File("linked-model.zip");
        File.Copy(trained.ModelPath, model, overwrite: true);
        byte[] before = File.ReadAllBytes(model);
        string link = trained.Folder.File("model-link.onnx");
        File.Delete(link);
        File.CreateSymbolicLink(link, model);

        var r = ChildProcess.Cli(trained.Folder.Path, "export-onnx", "--model", model, "--out", link);

        Assert.True(r.ExitCode == 1, r.ToString());
        string line = Assert.Single(r.StdErrLines);
        Assert.Contains("--out", line, StringComparison.Ordinal);
        Assert.Contains("--model", line, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(model));
        Assert.NotNull(new FileInfo(link).LinkTarget);
    }

    [Fact]
    public void Commands_PrivateTmpdir_LeaveNoTemporaryFile()
    {
        string tmp = trained.Folder.File("private-tmp");
        Directory.CreateDirectory(tmp);
        var environment = new Dictionary<string, string> { ["TMPDIR"] = tmp, ["DOTNET_EnableDiagnostics"] = "0" };
        string[][] commands =
        [
            ["score", "--model", trained.ModelPath, "--text", "ann"],
            ["info", "--model", trained.ModelPath],
            ["generate", "--model", trained.ModelPath, "--count", "2"],
            ["evaluate", "--model", trained.ModelPath, "--data", TrainedCliModel.NamesPath],
            ["attention", "--model", trained.ModelPath, "--text", "ann", "--out", trained.Folder.File("tmp-attention.html")],
            ["export-onnx", "--model", trained.ModelPath, "--out", trained.Folder.File("tmp-export.onnx")],
        ];
        foreach (var args in commands)
        {
            var r = ChildProcess.Dotnet(trained.Folder.Path, [ChildProcess.CliDll, .. args], environment);

            Assert.True(r.ExitCode == 0, $"{args[0]}: {r}");
            // ONNX Runtime's telemetry library keeps one 51-byte session id, ".ses", in the temporary folder and
            // reuses it across processes; nothing else may remain (ML.NET's copies of the model least of all).
            Assert.DoesNotContain(Directory.GetFileSystemEntries(tmp, "*", SearchOption.AllDirectories), e => Path.GetFileName(e) != ".ses");
        }
    }

    [Fact]
    public void Score_SourceGivenToADecoder_Refused()
    {
        var r = ChildProcess.Cli(trained.Folder.Path, "score", "--model", trained.ModelPath, "--text", "ann", "--source", "nna");

        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains("--source", Assert.Single(r.StdErrLines), StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_PrefixTooLong_ErrorNamesTheFlagWithoutRepeatingTheText()
    {
        string prefix = new('a', 100_000);
        var r = ChildProcess.Cli(trained.Folder.Path, "generate", "--model", trained.ModelPath, "--prefix", prefix);

        Assert.True(r.ExitCode == 1, r.ToString());
        string line = Assert.Single(r.StdErrLines);
        Assert.StartsWith("error: --prefix:", line, StringComparison.Ordinal);
        Assert.True(line.Length < 400, $"{line.Length} characters");
    }

    [Fact]
    public void Generate_CountZero_ErrorNamesTheFlag()
    {
        var r = ChildProcess.Cli(trained.Folder.Path, "generate", "--model", trained.ModelPath, "--count", "0");

        Assert.True(r.ExitCode == 1, r.ToString());
        string line = Assert.Single(r.StdErrLines);
        Assert.StartsWith("error: --count:", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Option", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_HighTemperature_NeverWritesTheUnknownToken()
    {
        var r = ChildProcess.Cli(trained.Folder.Path, "generate", "--model", trained.ModelPath, "--count", "40", "--temperature", "50", "--seed", "3");

        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.DoesNotContain("<UNK>", r.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("<", r.StdOut, StringComparison.Ordinal);
    }

    /// <summary>Offset, stored length and name of the zip's largest local entry (the model's ONNX graph).</summary>
    private static (int Offset, int Length, string Name) LargestEntry(byte[] zip)
    {
        string name;
        using (var archive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read))
        {
            name = archive.Entries.MaxBy(e => e.CompressedLength)!.FullName;
        }

        for (int i = 0; i + 30 < zip.Length; i++)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(i)) == 0x04034b50)
            {
                int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(i + 26));
                int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(i + 28));
                if (System.Text.Encoding.UTF8.GetString(zip, i + 30, nameLength) == name)
                {
                    return (i + 30 + nameLength + extraLength, (int)BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(i + 18)), name);
                }
            }
        }

        throw new InvalidOperationException("no local header for " + name);
    }
}
