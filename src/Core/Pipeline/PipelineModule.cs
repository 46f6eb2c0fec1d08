// Registers the loaders of the stages defined in MLNet.Transformer.Core (the transformer chain) with
// ModelLoaderRegistry, explicitly, when the assembly is loaded.
using System.Runtime.CompilerServices;

namespace MLNet.Transformer;

/// <summary>Registration of Core's stage loaders.</summary>
internal static class PipelineModule
{
#pragma warning disable CA2255 // Loaders must be registered before any model is loaded; this is the assembly's single entry.
    [ModuleInitializer]
    internal static void Initialize() => TransformerChainLoader.Register();
#pragma warning restore CA2255
}
