// Runs project-written PyTorch reference scripts for parity tests: finds a python3 that can import torch
// ($MLT_PYTHON first), and exchanges JSON and float32 tensor bundles with the script through a temp folder.

using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MLNet.Transformer.TestKit;

/// <summary>Finds the Python interpreter with torch and runs reference scripts.</summary>
public static class PyTorchReference
{
    /// <summary>Environment variable naming the interpreter to use; tried first.</summary>
    public const string EnvironmentVariable = "MLT_PYTHON";

    private static readonly Lazy<(string? Path, string Report)> s_python = new(Find);

    /// <summary>The interpreter that imports torch, or null when none was found.</summary>
    public static string? PythonPath => s_python.Value.Path;

    /// <summary>Whether an interpreter with torch was found.</summary>
    public static bool IsAvailable => PythonPath is not null;

    /// <summary>The interpreter, or an exception listing every candidate tried and why it failed.</summary>
    public static string RequirePython() =>
        PythonPath ?? throw new InvalidOperationException(
            "No python3 that can 'import torch' was found (install python3-torch or set MLT_PYTHON). Tried:" +
            Environment.NewLine + s_python.Value.Report);

    /// <summary>
    /// Runs <paramref name="scriptPath"/> with the workspace folder as first argument and working directory.
    /// Throws with the script's output when it exits non-zero or runs past <paramref name="timeout"/>.
    /// </summary>
    /// <returns>The script's standard output.</returns>
    public static string Run(string scriptPath, PyTorchWorkspace workspace, TimeSpan? timeout = null, params string[] args)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        var python = RequirePython();
        var (exit, stdout, stderr) = RunProcess(
            python, [scriptPath, workspace.Directory, .. args], workspace.Directory, timeout ?? TimeSpan.FromMinutes(5));
        if (exit != 0)
        {
            throw new InvalidOperationException(
                $"{python} {scriptPath} exited with {exit}.{Environment.NewLine}--- stdout ---{Environment.NewLine}{stdout}" +
                $"{Environment.NewLine}--- stderr ---{Environment.NewLine}{stderr}");
        }

        return stdout;
    }

    private static (string? Path, string Report) Find()
    {
        var candidates = new List<string>();
        var fromEnv = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnv))
        {
            candidates.Add(fromEnv);
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator))
        {
            if (!string.IsNullOrEmpty(dir))
            {
                candidates.Add(Path.Combine(dir, "python3"));
            }
        }

        candidates.Add("/usr/bin/python3");
        candidates.Add("/usr/local/bin/python3");
        var report = new StringBuilder();
        foreach (var candidate in candidates.Distinct(StringComparer.Ordinal))
        {
            if (!File.Exists(candidate))
            {
                report.AppendLine(CultureInfo.InvariantCulture, $"  {candidate}: does not exist");
                continue;
            }

            try
            {
                var (exit, _, stderr) = RunProcess(
                    candidate, ["-c", "import torch"], Path.GetTempPath(), TimeSpan.FromSeconds(120));
                if (exit == 0)
                {
                    return (candidate, report.ToString());
                }

                var lines = stderr.Trim().Split('\n');
                report.AppendLine(CultureInfo.InvariantCulture, $"  {candidate}: 'import torch' failed: {lines[^1]}");
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or TimeoutException)
            {
                report.AppendLine(CultureInfo.InvariantCulture, $"  {candidate}: {e.Message}");
            }
        }

        return (null, report.ToString());
    }

    private static (int Exit, string Stdout, string Stderr) RunProcess(
        string fileName, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        // One thread per library keeps the reference quick and its reductions in a fixed order.
        info.Environment["OMP_NUM_THREADS"] = "1";
        info.Environment["OPENBLAS_NUM_THREADS"] = "1";
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} ran longer than {timeout}.");
        }

        process.WaitForExit();
        return (process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }
}

/// <summary>
/// A temporary folder shared with a reference script: JSON files, and tensor bundles (<c>NAME.json</c> listing
/// name, shape and element offset of each tensor + <c>NAME.bin</c> holding them as little-endian float32).
/// Deleted on dispose unless <c>MLT_KEEP_TEMP=1</c>.
/// </summary>
public sealed class PyTorchWorkspace : IDisposable
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    /// <summary>Creates a fresh folder under the system temp directory.</summary>
    public PyTorchWorkspace()
    {
        Directory = Path.Combine(Path.GetTempPath(), "mlt-pytorch-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(Directory);
    }

    /// <summary>The folder.</summary>
    public string Directory { get; }

    /// <summary>Writes <paramref name="value"/> as <c>NAME.json</c>.</summary>
    public void WriteJson(string name, object value) =>
        File.WriteAllText(PathOf(name + ".json"), JsonSerializer.Serialize(value, JsonOptions));

    /// <summary>Parses <c>NAME.json</c>.</summary>
    public JsonDocument ReadJson(string name) => JsonDocument.Parse(File.ReadAllText(PathOf(name + ".json")));

    /// <summary>Writes a tensor bundle <c>NAME.json</c> + <c>NAME.bin</c>.</summary>
    public void WriteTensors(string name, IEnumerable<KeyValuePair<string, (long[] Shape, float[] Data)>> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var manifest = new List<object>();
        long offset = 0;
        using (var bin = File.Create(PathOf(name + ".bin")))
        {
            foreach (var (tensorName, (shape, data)) in tensors)
            {
                manifest.Add(new { name = tensorName, shape, offset });
                bin.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
                offset += data.Length;
            }
        }

        WriteJson(name, new { count = offset, tensors = manifest });
    }

    /// <summary>Reads a tensor bundle written by the script (same layout as <see cref="WriteTensors"/>).</summary>
    public Dictionary<string, (long[] Shape, float[] Data)> ReadTensors(string name)
    {
        var bytes = File.ReadAllBytes(PathOf(name + ".bin"));
        var all = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes);
        using var doc = ReadJson(name);
        var result = new Dictionary<string, (long[] Shape, float[] Data)>(StringComparer.Ordinal);
        foreach (var t in doc.RootElement.GetProperty("tensors").EnumerateArray())
        {
            var shape = t.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var count = (int)shape.Aggregate(1L, (a, d) => a * d);
            var offset = t.GetProperty("offset").GetInt32();
            result.Add(t.GetProperty("name").GetString()!, (shape, all.Slice(offset, count).ToArray()));
        }

        return result;
    }

    /// <summary>A file in the folder.</summary>
    public string PathOf(string fileName) => Path.Combine(Directory, fileName);

    /// <summary>Deletes the folder (kept when MLT_KEEP_TEMP=1, for debugging).</summary>
    public void Dispose()
    {
        if (Environment.GetEnvironmentVariable("MLT_KEEP_TEMP") == "1")
        {
            return;
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}
