// The one place that finds and loads the native engine (libmlt) for this assembly's P/Invokes, and checks
// that its C ABI version matches NativeMethods.AbiVersion. Search order: $MLT_NATIVE_LIBRARY, next to the
// assembly, then artifacts/native/ in the assembly's directory and each of its parents (the repository build).

using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace MLNet.Transformer.Interop;

/// <summary>Loads <c>libmlt</c> once per process and serves it to the P/Invoke resolver.</summary>
internal static class NativeLibraryLoader
{
    /// <summary>The library name used in every <c>[LibraryImport]</c>.</summary>
    internal const string LibraryName = "mlt";

    /// <summary>Environment variable holding the full path of the library; tried first.</summary>
    internal const string EnvironmentVariable = "MLT_NATIVE_LIBRARY";

    private static readonly Lock Gate = new();
    private static bool s_resolverRegistered;
    private static nint s_handle;
    private static string? s_loadedPath;

    /// <summary>The file name of the library on this platform (<c>libmlt.so</c> on Linux).</summary>
    /// <summary>The runtime identifier of the training package's native folder for this process (linux-x64, ...).</summary>
    internal static string PackageRuntimeIdentifier =>
        (OperatingSystem.IsWindows() ? "win-" : OperatingSystem.IsMacOS() ? "osx-" : "linux-") + RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();

    /// <summary>The Debian package of the libtorch runtime the engine links (libtorch_cpu.so.1.13, libc10.so.1.13).</summary>
    internal const string LibtorchDebianPackage = "libtorch1.13";

    internal static string PlatformFileName =>
        OperatingSystem.IsWindows() ? "mlt.dll" : OperatingSystem.IsMacOS() ? "libmlt.dylib" : "libmlt.so";

    /// <summary>Full path of the loaded library; loads it first if needed.</summary>
    internal static string LoadedPath
    {
        get
        {
            EnsureLoaded();
            return s_loadedPath!;
        }
    }

    /// <summary>Registers the resolver for this assembly (idempotent). Does not load anything.</summary>
    internal static void RegisterResolver()
    {
        lock (Gate)
        {
            if (s_resolverRegistered)
            {
                return;
            }

            NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, Resolve);
            s_resolverRegistered = true;
        }
    }

    /// <summary>
    /// Loads the library and checks its ABI version, once. Throws <see cref="NativeLibraryNotFoundException"/>
    /// or <see cref="NativeAbiMismatchException"/>; a failed attempt is retried on the next call.
    /// </summary>
    internal static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (s_handle != 0)
            {
                return;
            }

            var candidates = CandidatePaths(
                Environment.GetEnvironmentVariable(EnvironmentVariable),
                AssemblyDirectory(),
                AppContext.BaseDirectory);
            var handle = LoadFirst(candidates, out var path);
            try
            {
                CheckAbiVersion(handle, path);
            }
            catch
            {
                NativeLibrary.Free(handle);
                throw;
            }

            s_handle = handle;
            s_loadedPath = path;
        }

        RegisterResolver();
    }

    /// <summary>
    /// The candidate paths in search order, each with where it came from. Pure: reads no environment and
    /// touches no file except to test whether <c>artifacts/native</c> files exist while walking up.
    /// </summary>
    /// <param name="environmentValue">Value of <c>MLT_NATIVE_LIBRARY</c>, or null/empty when unset.</param>
    /// <param name="assemblyDirectory">Directory of the Core assembly.</param>
    /// <param name="baseDirectory">AppContext.BaseDirectory.</param>
    internal static IReadOnlyList<(string Path, string Origin)> CandidatePaths(
        string? environmentValue, string? assemblyDirectory, string? baseDirectory)
    {
        var result = new List<(string Path, string Origin)>();
        if (!string.IsNullOrWhiteSpace(environmentValue))
        {
            result.Add((environmentValue, "$" + EnvironmentVariable));
        }

        foreach (var dir in new[] { baseDirectory, assemblyDirectory })
        {
            if (!string.IsNullOrEmpty(dir))
            {
                var path = Path.GetFullPath(Path.Combine(dir, PlatformFileName));
                if (!result.Exists(c => c.Path == path))
                {
                    result.Add((path, "next to the assembly"));
                }
            }
        }

        // The training package's layout in an app's build output (a build without a runtime identifier keeps it).
        foreach (var dir in new[] { baseDirectory, assemblyDirectory })
        {
            if (!string.IsNullOrEmpty(dir))
            {
                var path = Path.GetFullPath(Path.Combine(dir, "runtimes", PackageRuntimeIdentifier, "native", PlatformFileName));
                if (!result.Exists(c => c.Path == path))
                {
                    result.Add((path, $"package (runtimes/{PackageRuntimeIdentifier}/native)"));
                }
            }
        }

        // Walk up from the assembly: every artifacts/native/libmlt.so that exists is a candidate, nearest first;
        // when none exists, the nearest one is still listed so that the error shows where it was expected.
        var start = assemblyDirectory ?? baseDirectory;
        var walked = new List<string>();
        for (var dir = string.IsNullOrEmpty(start) ? null : new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "artifacts", "native", PlatformFileName);
            walked.Add(path);
            if (File.Exists(path))
            {
                result.Add((path, "repository build (artifacts/native above the assembly)"));
            }
        }

        if (walked.Count > 0 && !walked.Exists(File.Exists))
        {
            result.Add((walked[0], $"repository build (none in any of the {walked.Count} directories from here up to the root)"));
        }

        return result;
    }

    /// <summary>
    /// Loads the first candidate that loads. Throws <see cref="NativeLibraryNotFoundException"/> listing every
    /// candidate and the loader's error for it when none does.
    /// </summary>
    /// <param name="candidates">Paths to try, in order, with their origins.</param>
    /// <param name="loadedPath">The path that loaded.</param>
    internal static nint LoadFirst(IReadOnlyList<(string Path, string Origin)> candidates, out string loadedPath)
    {
        var failures = new List<(string Path, string Origin, string Error)>();
        foreach (var (path, origin) in candidates)
        {
            if (!File.Exists(path))
            {
                failures.Add((path, origin, "file does not exist"));
                continue;
            }

            if (NativeLibrary.TryLoad(path, out var handle))
            {
                loadedPath = path;
                return handle;
            }

            failures.Add((path, origin, LoaderError(path)));
        }

        throw new NativeLibraryNotFoundException(BuildNotFoundMessage(failures), failures.Select(f => f.Path));
    }

    /// <summary>The message of <see cref="NativeLibraryNotFoundException"/>: every path, origin and error.</summary>
    /// <param name="failures">Each path tried, where it came from, and why it did not load.</param>
    internal static string BuildNotFoundMessage(IReadOnlyList<(string Path, string Origin, string Error)> failures)
    {
        var sb = new StringBuilder();
        sb.Append("The native engine library ").Append(PlatformFileName).Append(" could not be loaded.");
        if (failures.Count == 0)
        {
            sb.Append(" No path was tried.");
        }
        else
        {
            sb.Append(" Paths tried, in order:");
            for (var i = 0; i < failures.Count; i++)
            {
                var (path, origin, error) = failures[i];
                sb.AppendLine().Append(CultureInfo.InvariantCulture, $"  {i + 1}. {path} ({origin}): {error}");
            }
        }

        if (failures.Any(f => f.Error.Contains("libtorch", StringComparison.Ordinal) || f.Error.Contains("libc10", StringComparison.Ordinal)))
        {
            sb.AppendLine().Append(CultureInfo.InvariantCulture,
                $"The engine needs the libtorch runtime it was built against: on Debian 12 install the package {LibtorchDebianPackage} (apt-get install {LibtorchDebianPackage}).");
        }

        sb.AppendLine().Append(CultureInfo.InvariantCulture,
            $"Build it with './build.sh native', or set {EnvironmentVariable} to the full path of {PlatformFileName}.");
        return sb.ToString();
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != LibraryName)
        {
            return 0;
        }

        EnsureLoaded();
        return s_handle;
    }

    // NativeLibrary.TryLoad reports only false; Load's exception carries the dynamic loader's message (dlerror).
    private static string LoaderError(string path)
    {
        try
        {
            var handle = NativeLibrary.Load(path);
            NativeLibrary.Free(handle);
            return "TryLoad failed, but a second attempt succeeded";
        }
        catch (DllNotFoundException e)
        {
            return e.Message;
        }
        catch (BadImageFormatException e)
        {
            return e.Message;
        }
    }

    /// <summary>Throws <see cref="NativeAbiMismatchException"/> unless the library reports <see cref="NativeMethods.AbiVersion"/>.</summary>
    /// <param name="handle">A loaded library.</param>
    /// <param name="path">Its path, for the message.</param>
    internal static unsafe void CheckAbiVersion(nint handle, string path)
    {
        if (!NativeLibrary.TryGetExport(handle, "mlt_abi_version", out var export))
        {
            throw new NativeAbiMismatchException(
                $"{path} does not export mlt_abi_version; it is not an MLNet.Transformer engine (expected ABI version {NativeMethods.AbiVersion}).");
        }

        var version = ((delegate* unmanaged<int>)export)();
        if (version != NativeMethods.AbiVersion)
        {
            throw new NativeAbiMismatchException(AbiMismatchMessage(version, path));
        }
    }

    /// <summary>The message for a library implementing another ABI version.</summary>
    /// <param name="version">The version the library reported.</param>
    /// <param name="path">The library's path.</param>
    internal static string AbiMismatchMessage(int version, string path) =>
        $"{path} implements C ABI version {version}, but MLNet.Transformer.Core expects version {NativeMethods.AbiVersion}. " +
        "Rebuild the native engine ('./build.sh native') from the same source tree as the managed code.";

    private static string? AssemblyDirectory()
    {
        var location = typeof(NativeLibraryLoader).Assembly.Location;
        return string.IsNullOrEmpty(location) ? null : Path.GetDirectoryName(location);
    }
}
