// Registers the loaders of this assembly's saved stages with ModelLoaderRegistry, explicitly (no reflection
// scanning), once, when the assembly is loaded.
using System.Runtime.CompilerServices;
using MLNet.Transformer.Text;

namespace MLNet.Transformer;

/// <summary>The loaders of the stages defined in MLNet.Transformer.Transforms.</summary>
public static class TransformsLoaders
{
    private static int _registered;

    /// <summary>
    /// Registers every stage loader of this assembly (idempotent). Runs automatically when the assembly loads;
    /// call it explicitly before loading a model in a process that has not touched this assembly yet.
    /// </summary>
    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 0)
        {
            CharacterTokenizerTransformer.RegisterLoader();
        }
    }

#pragma warning disable CA2255 // Loaders must be registered before any model is loaded; this is the assembly's single entry.
    [ModuleInitializer]
    internal static void Initialize() => Register();
#pragma warning restore CA2255
}
