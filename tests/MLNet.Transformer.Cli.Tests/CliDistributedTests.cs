// `train --nproc-per-node` end to end, with real worker processes on the loopback address: the 2-rank model equals
// the 1-process model with twice the batch; a killed worker stops the run with a clear error and no model file; a
// worker that cannot meet its peers fails within the timeout naming the address and port.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.TestKit;

namespace MLNet.Transformer.Tests;

public sealed class CliDistributedTests
{
    private static string Names => TrainedCliModel.NamesPath;

    [Fact]
    public void Train_TwoWorkersWithBatch8_MatchOneProcessWithBatch16()
    {
        // 15% validation leaves 828 names: 52 steps of 16 rows (the last one 12) in the one epoch.
        using var folder = new TempFolder();
        string[] common = ["train", "--data", Names, "--epochs", "1", "--heads", "2", "--seed", "42", "--validation-fraction", "0.15", "--json", "--quiet"];
        var one = ChildProcess.Cli(folder.Path, [.. common, "--batch-size", "16", "--out", folder.File("one.zip")]);
        var two = ChildProcess.Cli(folder.Path, [.. common, "--batch-size", "8", "--nproc-per-node", "2", "--master-port", LoopbackRanks.FreePort().ToString(CultureInfo.InvariantCulture), "--out", folder.File("two.zip")]);

        Assert.True(one.ExitCode == 0, one.ToString());
        Assert.True(two.ExitCode == 0, two.ToString());
        using var a = JsonDocument.Parse(one.StdOut);
        using var b = JsonDocument.Parse(two.StdOut);
        Assert.Equal(1, a.RootElement.GetProperty("worldSize").GetInt32());
        Assert.Equal(2, b.RootElement.GetProperty("worldSize").GetInt32());
        Assert.Equal(52, b.RootElement.GetProperty("steps").GetInt64());
        Assert.Equal(a.RootElement.GetProperty("steps").GetInt64(), b.RootElement.GetProperty("steps").GetInt64());
        Assert.True(b.RootElement.GetProperty("allReduceMillisecondsPerStep").GetDouble() > 0);
        double lossOne = a.RootElement.GetProperty("finalValidationLoss").GetDouble(), lossTwo = b.RootElement.GetProperty("finalValidationLoss").GetDouble();
        Assert.True(Math.Abs(lossOne - lossTwo) <= 1e-5, $"validation loss {lossOne} alone, {lossTwo} with 2 ranks");
        Assert.Equal(
            a.RootElement.GetProperty("epochs")[0].GetProperty("trainLoss").GetDouble(),
            b.RootElement.GetProperty("epochs")[0].GetProperty("trainLoss").GetDouble(), 5);

        // The saved weights (key biases aside: their exact gradient is zero, see the engine's DistributedTrainingTests).
        var wa = NextCharacterModel.ReadOnnxModel(folder.File("one.zip")).File;
        var wb = NextCharacterModel.ReadOnnxModel(folder.File("two.zip")).File;
        int e = wa.Info.Architecture.ModelDim;
        foreach (var (name, (_, data)) in wa.State)
        {
            var other = wb.State[name].Data;
            for (int i = 0; i < data.Length; i++)
            {
                bool keyBias = name.EndsWith("in_proj_bias", StringComparison.Ordinal) && i >= e && i < 2 * e;
                Assert.True(keyBias || Math.Abs(data[i] - other[i]) <= 1e-5, $"{name}[{i}]: {data[i]} alone, {other[i]} with 2 ranks");
            }
        }

        // And the 2-rank model scores like the 1-process one.
        var ml = new MLContext(0);
        float[] Score(string zip) => ml.Data.CreateEnumerable<CliCommandTests.ScoreRow>(
            NextCharacterModel.Load(ml, folder.File(zip)).Model.Transform(ml.Data.LoadFromEnumerable(new[] { new CliCommandTests.TextRow { Text = "mari" } })),
            reuseRowObject: false).Single().Score;
        var sa = Score("one.zip");
        var sb = Score("two.zip");
        for (int i = 0; i < sa.Length; i++)
        {
            Assert.True(Math.Abs(sa[i] - sb[i]) <= 1e-5, $"score[{i}]: {sa[i]} vs {sb[i]}");
        }
    }

    [Fact]
    public async Task Train_TwoNodesOnOneMachine_NodeZeroSavesAModelEqualToOneProcessWithTwiceTheBatch()
    {
        // --nnodes 2: one launcher per node, here both on the loopback address, each with one worker.
        using var folder = new TempFolder();
        string port = LoopbackRanks.FreePort().ToString(CultureInfo.InvariantCulture);
        string[] common = ["train", "--data", Names, "--epochs", "1", "--seed", "5", "--json", "--quiet"];
        string[] node = [.. common, "--batch-size", "8", "--nnodes", "2", "--nproc-per-node", "1", "--master-addr", "127.0.0.1", "--master-port", port];
        var secondRun = Task.Run(() => ChildProcess.Cli(folder.Path, [.. node, "--node-rank", "1", "--out", folder.File("node1.zip")]));
        var first = ChildProcess.Cli(folder.Path, [.. node, "--node-rank", "0", "--out", folder.File("node0.zip")]);
        var second = await secondRun;
        var one = ChildProcess.Cli(folder.Path, [.. common, "--batch-size", "16", "--out", folder.File("one.zip")]);

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.True(one.ExitCode == 0, one.ToString());
        Assert.True(File.Exists(folder.File("node0.zip")));
        Assert.False(File.Exists(folder.File("node1.zip")), "node 1 has no rank 0 and must not save");
        Assert.Equal("", second.StdOut); // --json: node 1 prints no result of its own
        using var a = JsonDocument.Parse(first.StdOut);
        using var b = JsonDocument.Parse(one.StdOut);
        Assert.Equal(2, a.RootElement.GetProperty("worldSize").GetInt32());
        Assert.Equal(b.RootElement.GetProperty("finalValidationLoss").GetDouble(), a.RootElement.GetProperty("finalValidationLoss").GetDouble(), 5);
    }

    [Fact]
    public void Train_WorkerKilledMidTraining_StopsWithAClearErrorWithinTheTimeoutAndSavesNothing()
    {
        using var folder = new TempFolder();
        int port = LoopbackRanks.FreePort();
        string model = folder.File("never.zip");
        var start = ChildProcess.StartInfo(folder.Path, [ChildProcess.CliDll, "train", "--data", Names, "--epochs", "500", "--batch-size", "8",
            "--nproc-per-node", "2", "--master-port", port.ToString(CultureInfo.InvariantCulture), "--dist-timeout", "5", "--out", model]);
        using var launcher = Process.Start(start)!;
        var stderr = new StringBuilder();
        int? victim = null;
        bool trained = false;
        using var ready = new ManualResetEventSlim();
        launcher.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not { } line)
            {
                return;
            }

            lock (stderr)
            {
                stderr.AppendLine(line);
                if (line.StartsWith("[rank 1] started, pid ", StringComparison.Ordinal))
                {
                    victim = int.Parse(line["[rank 1] started, pid ".Length..], CultureInfo.InvariantCulture);
                }

                trained |= line.StartsWith("epoch ", StringComparison.Ordinal);
                if (victim is not null && trained)
                {
                    ready.Set();
                }
            }
        };
        launcher.BeginErrorReadLine();
        var stdout = new StringBuilder();
        launcher.OutputDataReceived += (_, e) =>
        {
            lock (stdout)
            {
                stdout.Append(e.Data);
            }
        };
        launcher.BeginOutputReadLine();

        try
        {
            Assert.True(ready.Wait(TimeSpan.FromMinutes(3)), $"no epoch finished:\n{stderr}");
            Process.GetProcessById(victim!.Value).Kill();
            var clock = Stopwatch.StartNew();
            Assert.True(launcher.WaitForExit(TimeSpan.FromSeconds(60)), $"the launcher hung after rank 1 died:\n{stderr}");
            clock.Stop();
            launcher.WaitForExit();

            string log;
            lock (stderr)
            {
                log = stderr.ToString();
            }

            Assert.Equal(1, launcher.ExitCode);
            string error = log.Split('\n').Single(l => l.StartsWith("error: ", StringComparison.Ordinal));
            Assert.Contains($"127.0.0.1:{port}", error, StringComparison.Ordinal);
            Assert.Contains($"rank 1 (pid {victim}) was killed by signal 9", error, StringComparison.Ordinal);
            // Rank 0 stopped by itself, with the engine's error, not killed by the launcher.
            // (one machine on the loopback address: the ranks met in a rendezvous file, not at a TCP port)
            Assert.Matches(@"rank 0 \(pid \d+\) exited with code 1: rank 0 of 2 at file://\S+/rendezvous-[0-9a-f]{32}/store \(gloo\)", error);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5 + 20), $"stopping took {clock.Elapsed}");
            Assert.False(File.Exists(model), "a model was saved");
            Assert.Empty(Directory.GetFiles(folder.Path));
            lock (stdout)
            {
                Assert.Equal("", stdout.ToString());
            }
        }
        finally
        {
            if (!launcher.HasExited)
            {
                launcher.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public void Train_LauncherKilled_WorkersDieWithItAndSaveNothing()
    {
        using var folder = new TempFolder();
        int port = LoopbackRanks.FreePort();
        string model = folder.File("never.zip");
        var start = ChildProcess.StartInfo(folder.Path, [ChildProcess.CliDll, "train", "--data", Names, "--epochs", "500", "--batch-size", "8",
            "--nproc-per-node", "2", "--master-port", port.ToString(CultureInfo.InvariantCulture), "--out", model]);
        using var launcher = Process.Start(start)!;
        var pids = new List<int>();
        var stderr = new StringBuilder();
        bool trained = false;
        using var ready = new ManualResetEventSlim();
        launcher.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not { } line)
            {
                return;
            }

            lock (stderr)
            {
                stderr.AppendLine(line);
                trained |= line.StartsWith("epoch ", StringComparison.Ordinal);
                if (trained)
                {
                    ready.Set();
                }
            }
        };
        launcher.BeginErrorReadLine();
        launcher.BeginOutputReadLine();
        try
        {
            Assert.True(ready.Wait(TimeSpan.FromMinutes(3)), $"no epoch finished:\n{stderr}");
            pids.AddRange(ChildrenOf(launcher.Id));
            Assert.Equal(2, pids.Count);
            launcher.Kill(); // SIGKILL: the launcher's own signal handlers never run
            launcher.WaitForExit();

            var clock = Stopwatch.StartNew();
            while (pids.Any(IsAlive) && clock.Elapsed < TimeSpan.FromSeconds(15))
            {
                Thread.Sleep(100);
            }

            Assert.False(pids.Any(IsAlive), $"workers {string.Join(", ", pids.Where(IsAlive))} outlived their launcher by {clock.Elapsed}");
            Assert.False(File.Exists(model), "a worker saved a model after its launcher died");
        }
        finally
        {
            foreach (int pid in pids.Where(IsAlive))
            {
                Process.GetProcessById(pid).Kill();
            }
        }
    }

    /// <summary>The processes whose parent is <paramref name="parent"/> (from /proc/PID/stat).</summary>
    private static List<int> ChildrenOf(int parent)
    {
        var children = new List<int>();
        foreach (string dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), CultureInfo.InvariantCulture, out int pid))
            {
                continue;
            }

            try
            {
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                // pid (comm) state ppid ...: the command may hold spaces and parentheses, so read after the last ')'.
                string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(fields[1], CultureInfo.InvariantCulture) == parent)
                {
                    children.Add(pid);
                }
            }
            catch (IOException)
            {
                // The process ended while we looked.
            }
        }

        return children;
    }

    /// <summary>True while process <paramref name="pid"/> runs (a zombie waiting to be reaped counts as gone).</summary>
    private static bool IsAlive(int pid)
    {
        string status = $"/proc/{pid}/status";
        try
        {
            return File.Exists(status) && !File.ReadAllLines(status).Any(l => l.StartsWith("State:", StringComparison.Ordinal) && l.Contains('Z', StringComparison.Ordinal));
        }
        catch (IOException)
        {
            return false;
        }
    }

    [Fact]
    public void Train_WorkerWhoseMasterPortHasNoListener_FailsWithinTheTimeoutNamingAddressAndPort()
    {
        using var folder = new TempFolder();
        int port = LoopbackRanks.FreePort();
        var clock = Stopwatch.StartNew();

        var result = Worker(folder, rank: 1, port);

        clock.Stop();
        Assert.Equal(1, result.ExitCode);
        string error = Assert.Single(result.StdErrLines, l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.Contains($"rank 1 of 2 at 127.0.0.1:{port}", error, StringComparison.Ordinal);
        Assert.Contains("connecting to the rendezvous store", error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(folder.Path));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3 + 60), $"took {clock.Elapsed}"); // process start and data loading included
    }

    [Fact]
    public void Train_WorldThatNeverFills_FailsWithinTheTimeoutCountingWhoJoined()
    {
        using var folder = new TempFolder();
        int port = LoopbackRanks.FreePort();

        var result = Worker(folder, rank: 0, port);

        Assert.Equal(1, result.ExitCode);
        string error = Assert.Single(result.StdErrLines, l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.Contains($"127.0.0.1:{port}", error, StringComparison.Ordinal);
        Assert.Contains("only 1 of 2 ranks joined within 3000 ms", error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    [Theory]
    [InlineData("--nproc-per-node", "0", "--nproc-per-node: must be >= 1")]
    [InlineData("--node-rank", "2", "--node-rank: must be in [0, 2)")]
    [InlineData("--master-port", "70000", "--master-port: must be in [1, 65535]")]
    public void Train_BadDistributedFlag_FailsNamingIt(string flag, string value, string expected)
    {
        using var folder = new TempFolder();

        var result = ChildProcess.Cli(folder.Path, "train", "--data", Names, "--epochs", "1", "--nnodes", "2", flag, value, "--out", folder.File("m.zip"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(expected, Assert.Single(result.StdErrLines), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    /// <summary>One rank of a 2-rank world started as a launcher would, alone: its peer never comes.</summary>
    private static ProcessResult Worker(TempFolder folder, int rank, int port) =>
        ChildProcess.Dotnet(
            folder.Path,
            [ChildProcess.CliDll, "train", "--data", Names, "--epochs", "1", "--dist-timeout", "3", "--out", folder.File("m.zip")],
            new Dictionary<string, string>
            {
                ["WORLD_SIZE"] = "2", ["RANK"] = rank.ToString(CultureInfo.InvariantCulture), ["LOCAL_RANK"] = rank.ToString(CultureInfo.InvariantCulture),
                ["MASTER_ADDR"] = "127.0.0.1", ["MASTER_PORT"] = port.ToString(CultureInfo.InvariantCulture), ["GLOO_SOCKET_IFNAME"] = "lo",
            });
}
