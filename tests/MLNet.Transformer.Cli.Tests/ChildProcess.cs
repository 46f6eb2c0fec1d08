// Runs the built CLI (mlnet-transformer.dll) and the built examples as real child processes under `dotnet`,
// capturing exit code, stdout and stderr.
using System.Diagnostics;
using System.Reflection;
using System.Text;
using MLNet.Transformer.TestKit;

namespace MLNet.Transformer.Tests;

/// <summary>What a child process did.</summary>
internal sealed record ProcessResult(int ExitCode, string StdOut, string StdErr)
{
    /// <summary>The non-empty lines of stderr.</summary>
    public string[] StdErrLines => StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Everything, for assertion messages.</summary>
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{StdOut}\n--- stderr ---\n{StdErr}";
}

/// <summary>Starts `dotnet some.dll args` and waits for it.</summary>
internal static class ChildProcess
{
    /// <summary>A safety net against a hung child, not a performance assertion: the Reverse example needs about 55 s
    /// of CPU alone, and over 3 minutes of wall time while `dotnet test` runs the other test assemblies beside it on
    /// two shared cores.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(8);

    /// <summary>The configuration this test assembly (and so the examples) was built in.</summary>
    public static string Configuration { get; } =
        typeof(ChildProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "Configuration").Value!;

    /// <summary>The CLI, copied into this test's output folder by the project reference.</summary>
    public static string CliDll { get; } = Path.Combine(AppContext.BaseDirectory, "mlnet-transformer.dll");

    /// <summary>The built dll of example <paramref name="name"/> (built before this project by a project reference).</summary>
    public static string ExampleDll(string name) =>
        RepoPaths.Combine("examples", name, "bin", Configuration, "net10.0", $"MLNet.Transformer.Examples.{name}.dll");

    /// <summary>Runs the CLI with <paramref name="args"/> in <paramref name="workingDirectory"/>.</summary>
    public static ProcessResult Cli(string workingDirectory, params string[] args) => Dotnet(workingDirectory, [CliDll, .. args]);

    /// <summary>
    /// Runs `dotnet` with <paramref name="args"/>; single-threaded BLAS so results do not depend on the machine's load.
    /// <paramref name="environment"/> sets (or overrides) variables of the child.
    /// </summary>
    public static ProcessResult Dotnet(string workingDirectory, IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = StartInfo(workingDirectory, args, environment);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'dotnet {string.Join(' ', args)}' did not finish within {Timeout}.");
        }

        process.WaitForExit();
        return new ProcessResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>How <see cref="Dotnet"/> starts `dotnet args`, for a test that must watch the child while it runs.</summary>
    public static ProcessStartInfo StartInfo(string workingDirectory, IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["OPENBLAS_NUM_THREADS"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        return start;
    }
}

/// <summary>A temporary folder, deleted on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mlt-cli-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>A path inside the folder.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
