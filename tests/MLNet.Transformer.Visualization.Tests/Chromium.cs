// Runs Debian's headless chromium on a local file (dump the DOM after scripts ran, or take a screenshot), with a
// fresh profile, no network features, and a hard timeout after which the whole process tree is killed.
using System.Diagnostics;
using System.Text;
using Xunit;

namespace MLNet.Transformer.Visualization.Tests;

internal static class Chromium
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    /// <summary>The chromium executable; fails the test (never skips) when there is none.</summary>
    public static string Executable
    {
        get
        {
            string? fromEnv = Environment.GetEnvironmentVariable("MLT_CHROMIUM");
            string[] candidates = [fromEnv ?? "", "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
            foreach (string candidate in candidates)
            {
                if (candidate.Length > 0 && File.Exists(candidate))
                {
                    return candidate;
                }
            }

            Assert.Fail("The browser tests need chromium, but none was found (looked at $MLT_CHROMIUM, /usr/bin/chromium, " +
                "/usr/bin/chromium-browser, /usr/bin/google-chrome). Install it with " +
                "`apt-get install -y chromium fonts-dejavu-core` (./build.sh test does this).");
            return "";
        }
    }

    /// <summary>Loads <paramref name="file"/> (plus an optional #fragment), runs its scripts and returns the serialized DOM.</summary>
    public static string DumpDom(string file, string fragment = "") =>
        Run([$"--dump-dom", ToUrl(file) + fragment], "--window-size=1400,1000");

    /// <summary>Saves a PNG screenshot of <paramref name="file"/> at the given window size.</summary>
    public static void Screenshot(string file, string png, int width = 1400, int height = 1000, string fragment = "")
    {
        if (File.Exists(png))
        {
            File.Delete(png);
        }

        Run([$"--screenshot={png}", ToUrl(file) + fragment], $"--window-size={width},{height}");
        Assert.True(File.Exists(png), $"chromium wrote no screenshot at {png}.");
    }

    private static string ToUrl(string file) => new Uri(Path.GetFullPath(file)).AbsoluteUri;

    private static string Run(string[] action, string windowSize)
    {
        string profile = TestPaths.NewTempDirectory();
        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1",
            $"--user-data-dir={profile}", "--virtual-time-budget=5000", windowSize,
        }.Concat(action))
        {
            info.ArgumentList.Add(arg);
        }

        using var process = new Process { StartInfo = info };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (stdout) { stdout.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (stderr) { stderr.AppendLine(e.Data); } } };
        try
        {
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (!process.WaitForExit(Timeout))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                Assert.Fail($"chromium did not finish within {Timeout.TotalSeconds} s and was killed. stderr:\n{Tail(stderr)}");
            }

            process.WaitForExit(); // flush the asynchronous readers
            Assert.True(process.ExitCode == 0, $"chromium exited with {process.ExitCode}. stderr:\n{Tail(stderr)}");
            lock (stdout)
            {
                return stdout.ToString();
            }
        }
        finally
        {
            try
            {
                Directory.Delete(profile, recursive: true);
            }
            catch (IOException)
            {
                // A profile file still held by a dying helper process; the temp folder is cleaned up by the OS.
            }
        }
    }

    private static string Tail(StringBuilder sb)
    {
        lock (sb)
        {
            string s = sb.ToString();
            return s.Length > 4000 ? s[^4000..] : s;
        }
    }
}
