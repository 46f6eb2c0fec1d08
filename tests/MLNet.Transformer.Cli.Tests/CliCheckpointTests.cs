// train --checkpoint-every / --checkpoint-dir / --resume, in real child processes: a run killed with SIGKILL after a
// checkpoint and resumed ends with the same weights, bit for bit, as an uninterrupted run (CPU, dropout on; float32
// and bfloat16; rows and corpus mode); the
// checkpoint is a model the other commands read (export-onnx).
using System.Diagnostics;
using MLNet.Transformer.Checkpoints;
using MLNet.Transformer.TestKit;

namespace MLNet.Transformer.Tests;

public sealed class CliCheckpointTests
{
    private static string[] TrainArgs(string data, string checkpoints, string output, string precision = "fp32", bool corpus = false) =>
    [
        "train", .. corpus ? ["--corpus", data, "--context-length", "24", "--max-steps", "150", "--eval-every", "50"] : new[] { "--data", data, "--epochs", "12" },
        "--layers", "2", "--heads", "2", "--dim", "32", "--ff", "64",
        "--dropout", "0.1", "--batch-size", "16", "--seed", "7", "--device", "cpu", "--threads", "1", "--precision", precision,
        "--checkpoint-every", "10", "--checkpoint-dir", checkpoints, "--out", output, "--quiet",
    ];

    [Theory]
    [InlineData("fp32", false)]
    [InlineData("bf16", false)]
    [InlineData("fp32", true)]
    public void Train_KilledAfterACheckpointThenResumed_SameWeightsBitForBitAsAnUninterruptedRun(string precision, bool corpus)
    {
        using var folder = new TempFolder();
        string data = folder.File("names.txt");
        File.WriteAllLines(data, File.ReadLines(RepoPaths.Combine("data", "names.txt")).Take(600));
        string[] TrainArgs(string data, string checkpoints, string output) => CliCheckpointTests.TrainArgs(data, checkpoints, output, precision, corpus);

        string straight = folder.File("straight");
        var full = ChildProcess.Cli(folder.Path, TrainArgs(data, straight, folder.File("straight.zip")));
        Assert.True(full.ExitCode == 0, full.ToString());

        // The same run, killed with SIGKILL once a checkpoint past the first epoch exists.
        string interrupted = folder.File("interrupted");
        var start = ChildProcess.StartInfo(folder.Path, [ChildProcess.CliDll, .. TrainArgs(data, interrupted, folder.File("interrupted.zip"))]);
        long killedAfter;
        using (var victim = Process.Start(start)!)
        {
            victim.StandardOutput.ReadToEndAsync();
            victim.StandardError.ReadToEndAsync();
            var clock = Stopwatch.StartNew();
            while (LatestStep(interrupted) < 60 && !victim.HasExited && clock.Elapsed < TimeSpan.FromMinutes(3))
            {
                Thread.Sleep(5);
            }

            Assert.False(victim.HasExited, "the run ended before it could be killed; make it longer");
            victim.Kill(); // SIGKILL on Unix
            victim.WaitForExit();
            killedAfter = LatestStep(interrupted);
        }

        Assert.False(Directory.Exists(Path.Combine(interrupted, "final")), "the killed run must not have finished");
        var resumed = ChildProcess.Cli(folder.Path, [.. TrainArgs(data, interrupted, folder.File("resumed.zip")), "--resume", interrupted]);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());

        var a = SafeTensors.Read(Path.Combine(straight, "final", Checkpoint.WeightsFile)).Tensors;
        var b = SafeTensors.Read(Path.Combine(interrupted, "final", Checkpoint.WeightsFile)).Tensors;
        Assert.Equal(a.Keys, b.Keys);
        foreach (var (name, (_, data0)) in a)
        {
            Assert.True(data0.AsSpan().SequenceEqual(b[name].Data), $"{name} differs after resuming from step {killedAfter} ({precision}, {(corpus ? "corpus" : "rows")})");
        }

        Assert.True(killedAfter >= 60, $"killed after step {killedAfter}");
    }

    [Fact]
    public void Train_ResumeWithAnotherBatchSize_FailsNamingTheFlag()
    {
        using var folder = new TempFolder();
        string data = folder.File("names.txt");
        File.WriteAllLines(data, File.ReadLines(RepoPaths.Combine("data", "names.txt")).Take(200));
        string checkpoints = folder.File("ckpt");
        var args = TrainArgs(data, checkpoints, folder.File("a.zip"));
        args[Array.IndexOf(args, "--epochs") + 1] = "1";
        Assert.Equal(0, ChildProcess.Cli(folder.Path, args).ExitCode);

        args[Array.IndexOf(args, "--batch-size") + 1] = "8";
        var result = ChildProcess.Cli(folder.Path, [.. args, "--resume", checkpoints]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("--batch-size", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("16", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void ExportOnnx_FromTheFinalCheckpoint_SameGraphAsFromTheZip()
    {
        using var folder = new TempFolder();
        string data = folder.File("names.txt");
        File.WriteAllLines(data, File.ReadLines(RepoPaths.Combine("data", "names.txt")).Take(200));
        string checkpoints = folder.File("ckpt");
        var args = TrainArgs(data, checkpoints, folder.File("a.zip"));
        args[Array.IndexOf(args, "--epochs") + 1] = "1";
        Assert.Equal(0, ChildProcess.Cli(folder.Path, args).ExitCode);

        var fromCheckpoint = ChildProcess.Cli(folder.Path, "export-onnx", "--model", Path.Combine(checkpoints, "final"), "--out", folder.File("c.onnx"));
        var fromZip = ChildProcess.Cli(folder.Path, "export-onnx", "--model", folder.File("a.zip"), "--out", folder.File("z.onnx"));

        Assert.True(fromCheckpoint.ExitCode == 0, fromCheckpoint.ToString());
        Assert.True(fromZip.ExitCode == 0, fromZip.ToString());
        Assert.Equal(File.ReadAllBytes(folder.File("z.onnx")), File.ReadAllBytes(folder.File("c.onnx")));
    }

    /// <summary>The step of the newest complete checkpoint in <paramref name="root"/>, or -1.</summary>
    private static long LatestStep(string root)
    {
        try
        {
            string latest = File.ReadAllText(Path.Combine(root, CheckpointDirectory.LatestFile)).Trim();
            return long.Parse(latest["step-".Length..], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException or ArgumentOutOfRangeException)
        {
            return -1;
        }
    }
}
