// Finds a python that can import torch ($MLT_PYTHON, then python3 on PATH, then /usr/bin/python3) and runs scripts.
// Private to the persistence tests; replace with TestKit's PyTorchReference once that exists.
using System.Diagnostics;
using Xunit;

namespace MLNet.Transformer.Tests.Persistence;

internal static class PythonTorch
{
    private static readonly Lazy<string?> Found = new(Find);

    /// <summary>The python executable, or null when none can import torch (and MLT_PYTHON is unset).</summary>
    public static string? Executable => Found.Value;

    /// <summary>Runs <paramref name="script"/> with <paramref name="args"/>; returns stdout; fails the test on a non-zero exit.</summary>
    public static string Run(string script, params string[] args)
    {
        string file = Path.Combine(Path.GetTempPath(), $"mlt-py-{Guid.NewGuid():N}.py");
        File.WriteAllText(file, script);
        try
        {
            var (code, stdout, stderr) = Exec(Executable!, [file, .. args]);
            Assert.True(code == 0, $"python exited with {code}:\n{stdout}\n{stderr}");
            return stdout;
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static string? Find()
    {
        string? configured = Environment.GetEnvironmentVariable("MLT_PYTHON");
        if (!string.IsNullOrEmpty(configured))
        {
            // An explicitly configured python must work: a broken setting fails loudly rather than skipping.
            return configured;
        }

        var candidates = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "python3"))
            .Append("/usr/bin/python3")
            .Where(File.Exists)
            .Distinct();
        foreach (string candidate in candidates)
        {
            try
            {
                if (Exec(candidate, ["-c", "import torch"]).Code == 0)
                {
                    return candidate;
                }
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // Not executable; try the next.
            }
        }

        return null;
    }

    private static (int Code, string Stdout, string Stderr) Exec(string exe, string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.Result);
    }
}
