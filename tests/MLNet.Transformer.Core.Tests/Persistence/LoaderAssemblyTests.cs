// The registry's fallback for a fresh process: an unknown signature makes it load the assembly stage.json names
// and run its module initializer. The assembly is emitted here (PersistedAssemblyBuilder) so it is truly unloaded.
using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.Loader;
using MLNet.Transformer.Data;
using MLNet.Transformer.Persistence;
using Xunit;

namespace MLNet.Transformer.Tests.Persistence;

/// <summary>The loader the emitted assembly's module initializer registers (public so emitted IL can call it).</summary>
public static class LazyStageLoader
{
    /// <summary>Signature registered only by the emitted assembly.</summary>
    public const string Signature = "Test.Lazy";

    /// <summary>Loads the lazy stage.</summary>
    public static ITransformer Load(ModelLoadContext context) => new VersionedStage(context.Version, context.MinReadableVersion);
}

public sealed class LoaderAssemblyTests
{
    private const string AssemblyName = "MLT.Emitted.LazyStages";

    [Fact]
    public void Load_SignatureRegisteredByUnloadedAssembly_LoadsAssemblyByNameAndRunsItsInitializer()
    {
        string dir = Directory.CreateTempSubdirectory("mlt-asm-").FullName;
        string dll = Path.Combine(dir, AssemblyName + ".dll");
        EmitRegisteringAssembly(dll);
        Assembly? Resolve(AssemblyLoadContext alc, AssemblyName name) =>
            name.Name == AssemblyName ? alc.LoadFromAssemblyPath(dll) : null;
        AssemblyLoadContext.Default.Resolving += Resolve;
        try
        {
            Assert.False(ModelLoaderRegistry.IsRegistered(LazyStageLoader.Signature));
            byte[] zip = TestModels.SaveToBytes(new LazyStage());
            zip = ZipEdit.Replace(zip, "stages/0000-Test.Lazy/stage.json",
                $"{{\"signature\":\"Test.Lazy\",\"version\":1,\"minReadableVersion\":1,\"assembly\":\"{AssemblyName}\"}}");

            using var loaded = TestModels.Load(zip, out _);

            Assert.IsType<VersionedStage>(((LoadedModel)loaded).Model);
            Assert.True(ModelLoaderRegistry.IsRegistered(LazyStageLoader.Signature));
        }
        finally
        {
            AssemblyLoadContext.Default.Resolving -= Resolve;
            ModelLoaderRegistry.Unregister(LazyStageLoader.Signature);
        }
    }

    /// <summary>An assembly whose module initializer calls ModelLoaderRegistry.Register("Test.Lazy", LazyStageLoader.Load).</summary>
    private static void EmitRegisteringAssembly(string path)
    {
        var builder = new PersistedAssemblyBuilder(new AssemblyName(AssemblyName), typeof(object).Assembly);
        var module = builder.DefineDynamicModule(AssemblyName);
        var cctor = module.DefineGlobalMethod(
            ".cctor",
            MethodAttributes.Private | MethodAttributes.Static | MethodAttributes.SpecialName | MethodAttributes.RTSpecialName,
            typeof(void),
            Type.EmptyTypes);
        var il = cctor.GetILGenerator();
        il.Emit(OpCodes.Ldstr, LazyStageLoader.Signature);
        il.Emit(OpCodes.Ldnull);
        il.Emit(OpCodes.Ldftn, typeof(LazyStageLoader).GetMethod(nameof(LazyStageLoader.Load))!);
        il.Emit(OpCodes.Newobj, typeof(StageLoader).GetConstructors()[0]);
        il.Emit(OpCodes.Call, typeof(ModelLoaderRegistry).GetMethod(nameof(ModelLoaderRegistry.Register), [typeof(string), typeof(StageLoader)])!);
        il.Emit(OpCodes.Ret);
        module.CreateGlobalFunctions();
        builder.Save(path);
    }

    private sealed class LazyStage : TestStage
    {
        public override DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inputSchema;

        public override void Save(ModelSaveContext context) => context.SetStage(LazyStageLoader.Signature, 1, 1);

        protected override InMemoryDataView Apply(InMemoryDataView input) => input;
    }
}
