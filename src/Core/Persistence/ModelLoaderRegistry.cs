// The explicit, thread-safe registry of stage loaders keyed by signature. Assemblies that define stages register
// their loaders from a [ModuleInitializer]; a model's stage.json names that assembly so a fresh process can load
// it (Assembly.Load by name, then run its module initializer) before giving up. No reflection scanning.
using System.Reflection;
using System.Runtime.CompilerServices;

namespace MLNet.Transformer.Persistence;

/// <summary>Explicit registry of stage loaders, keyed by stage signature. No reflection scanning.</summary>
/// <remarks>
/// Register from the stage's assembly, in a module initializer:
/// <code>
/// [ModuleInitializer] internal static void Init() =&gt; ModelLoaderRegistry.Register("CharTokenizer", CharTokenizerTransformer.Load, supportedVersion: 1);
/// </code>
/// When a model names an unregistered signature, the loader loads the assembly its stage.json records (only
/// assemblies the application can resolve by name, never a path) and runs its module initializer, then looks again.
/// </remarks>
public static class ModelLoaderRegistry
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, Registration> Loaders = new(StringComparer.Ordinal);

    /// <summary>Registers <paramref name="loader"/> for <paramref name="signature"/> (idempotent for the same loader); it accepts every stage version.</summary>
    /// <exception cref="InvalidOperationException">Another loader is registered for <paramref name="signature"/>.</exception>
    public static void Register(string signature, StageLoader loader) => Register(signature, loader, int.MaxValue);

    /// <summary>
    /// Registers <paramref name="loader"/> for <paramref name="signature"/>, reading stage versions up to
    /// <paramref name="supportedVersion"/>: a stage whose minimum readable version is newer fails with
    /// <see cref="UnsupportedModelVersionException"/> before the loader runs. Idempotent for the same loader and version.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid signature.</exception>
    /// <exception cref="InvalidOperationException">Another loader (or version) is registered for <paramref name="signature"/>.</exception>
    public static void Register(string signature, StageLoader loader, int supportedVersion)
    {
        ModelZipFormat.CheckSignature(signature);
        ArgumentNullException.ThrowIfNull(loader);
        ArgumentOutOfRangeException.ThrowIfLessThan(supportedVersion, 1);
        var registration = new Registration(loader, supportedVersion);
        lock (Gate)
        {
            if (Loaders.TryGetValue(signature, out var existing))
            {
                if (existing.Loader.Equals(loader) && existing.SupportedVersion == supportedVersion)
                {
                    return;
                }

                throw new InvalidOperationException(
                    $"Stage signature '{signature}' already has a loader ({Describe(existing.Loader)}); signatures must be unique.");
            }

            Loaders.Add(signature, registration);
        }
    }

    /// <summary>True when a loader is registered for <paramref name="signature"/>.</summary>
    public static bool IsRegistered(string signature)
    {
        lock (Gate)
        {
            return Loaders.ContainsKey(signature);
        }
    }

    /// <summary>Removes a registration (tests only).</summary>
    internal static bool Unregister(string signature)
    {
        lock (Gate)
        {
            return Loaders.Remove(signature);
        }
    }

    /// <summary>The simple name of the assembly defining the registered loader of <paramref name="signature"/>, or null.</summary>
    internal static string? LoaderAssemblyName(string signature)
    {
        lock (Gate)
        {
            return Loaders.TryGetValue(signature, out var r) ? r.Loader.Method.Module.Assembly.GetName().Name : null;
        }
    }

    /// <summary>Finds the loader of <paramref name="signature"/>, loading <paramref name="assemblyName"/> first if needed.</summary>
    /// <exception cref="UnknownStageException">Still unregistered.</exception>
    internal static Registration Resolve(string signature, string? assemblyName, string stagePath)
    {
        if (TryGet(signature, out var found))
        {
            return found;
        }

        string attempt;
        if (string.IsNullOrEmpty(assemblyName))
        {
            attempt = "its stage.json names no assembly to load";
        }
        else if (!ModelZipFormat.AssemblyNamePattern().IsMatch(assemblyName))
        {
            attempt = $"its stage.json names the assembly '{assemblyName}', which is not a simple assembly name";
        }
        else
        {
            try
            {
                var assembly = Assembly.Load(new AssemblyName(assemblyName));
                RuntimeHelpers.RunModuleConstructor(assembly.ManifestModule.ModuleHandle);
                if (TryGet(signature, out found))
                {
                    return found;
                }

                attempt = $"assembly '{assemblyName}' (named by its stage.json) was loaded but did not register it";
            }
            catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException or ArgumentException)
            {
                attempt = $"assembly '{assemblyName}' (named by its stage.json) could not be loaded: {e.Message}";
            }
        }

        throw new UnknownStageException(
            $"No loader is registered for stage signature '{signature}' ({stagePath}); {attempt}. Reference the assembly that defines the stage, " +
            $"or register a loader with ModelLoaderRegistry.Register(\"{signature}\", loader) (usually from a [ModuleInitializer]) before loading.",
            signature, stagePath);
    }

    private static bool TryGet(string signature, out Registration registration)
    {
        lock (Gate)
        {
            return Loaders.TryGetValue(signature, out registration!);
        }
    }

    private static string Describe(StageLoader loader) => $"{loader.Method.DeclaringType?.FullName}.{loader.Method.Name}";

    /// <summary>A registered loader and the newest stage version it reads.</summary>
    internal sealed record Registration(StageLoader Loader, int SupportedVersion);
}
