// Tests of the interop layer: struct layout against mlt.h, status-to-exception mapping, and the loader's
// candidate order and error message (tested through its pure functions, the resolver being per-process).

using System.Runtime.InteropServices;
using MLNet.Transformer.Engine;
using MLNet.Transformer.TestKit;
using MLNet.Transformer.Interop;
using Xunit;

namespace MLNet.Transformer.Engine.Tests;

public class InteropTests
{
    [Fact]
    public void NativeConfig_Layout_MatchesCStruct()
    {
        // mlt_config: 14 int32 (56 bytes), 2 float (8 bytes), then uint64 seed aligned to 8 at offset 64 -> 72 bytes.
        Assert.Equal(72, Marshal.SizeOf<NativeConfig>());
        Assert.Equal(72, System.Runtime.CompilerServices.Unsafe.SizeOf<NativeConfig>());
        Assert.Equal(0, (int)Marshal.OffsetOf<NativeConfig>(nameof(NativeConfig.Kind)));
        Assert.Equal(13 * 4, (int)Marshal.OffsetOf<NativeConfig>(nameof(NativeConfig.CausalCross)));
        Assert.Equal(56, (int)Marshal.OffsetOf<NativeConfig>(nameof(NativeConfig.Dropout)));
        Assert.Equal(60, (int)Marshal.OffsetOf<NativeConfig>(nameof(NativeConfig.LayerNormEps)));
        Assert.Equal(64, (int)Marshal.OffsetOf<NativeConfig>(nameof(NativeConfig.Seed)));
    }

    [Fact]
    public void NativeOptimizerConfig_Layout_MatchesCStruct()
    {
        // mlt_optim_config: int32 kind + 5 float = 24 bytes, no padding.
        Assert.Equal(24, Marshal.SizeOf<NativeOptimizerConfig>());
        Assert.Equal(4, (int)Marshal.OffsetOf<NativeOptimizerConfig>(nameof(NativeOptimizerConfig.Beta1)));
        Assert.Equal(20, (int)Marshal.OffsetOf<NativeOptimizerConfig>(nameof(NativeOptimizerConfig.ClipGradNorm)));
    }

    [Fact]
    public void ToNative_AllFields_CopiedInDeclarationOrder()
    {
        var config = new TransformerModelConfig
        {
            Kind = ModelKind.EncoderDecoder, VocabSize = 30, SourceVocabSize = 40, ModelDim = 12, Heads = 3, Layers = 4,
            EncoderLayers = 5, FeedForwardDim = 6, MaxLength = 7, PadId = 2, Activation = Activation.Gelu, NormFirst = true,
            CausalEncoder = true, CausalCross = true, Dropout = 0.25f, LayerNormEps = 1e-6f, Seed = ulong.MaxValue - 1,
        };
        var n = config.ToNative();
        Assert.Equal(
            new object[] { 1, 30, 40, 12, 3, 4, 5, 6, 7, 2, 1, 1, 1, 1, 0.25f, 1e-6f, ulong.MaxValue - 1 },
            new object[] { n.Kind, n.VocabSize, n.SourceVocabSize, n.DModel, n.NHeads, n.NLayers, n.NEncoderLayers, n.DFf, n.MaxLen, n.PadId, n.Activation, n.NormFirst, n.CausalEncoder, n.CausalCross, n.Dropout, n.LayerNormEps, n.Seed });
    }

    [Fact]
    public void ToNative_DecoderModel_ZeroesEncoderOnlyOptions()
    {
        var n = (SmallModels.SmallDecoder() with { SourceVocabSize = 40, CausalEncoder = true, CausalCross = true }).ToNative();
        Assert.Equal((0, 0, 0, 0), (n.SourceVocabSize, n.NEncoderLayers, n.CausalEncoder, n.CausalCross));
    }

    [Theory]
    [InlineData(1, typeof(TransformerArgumentException))]
    [InlineData(2, typeof(DeviceUnavailableException))]
    [InlineData(3, typeof(TorchException))]
    [InlineData(4, typeof(EngineOutOfMemoryException))]
    [InlineData(5, typeof(NativeEngineException))]
    [InlineData(6, typeof(TrainingDivergedException))]
    [InlineData(7, typeof(DistributedTrainingException))]
    [InlineData(42, typeof(NativeEngineException))]
    public void CreateException_EachStatus_MapsToTypedExceptionCarryingMessage(int status, Type expected)
    {
        var e = NativeStatus.CreateException(status, "engine said no");
        Assert.IsType(expected, e);
        Assert.Contains("engine said no", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExceptionTypes_Hierarchy_AsDocumented()
    {
        Assert.IsAssignableFrom<ArgumentException>(new TransformerArgumentException("x"));
        Assert.IsAssignableFrom<TransformerException>(new DeviceUnavailableException("x"));
        Assert.IsAssignableFrom<NativeEngineException>(new TorchException("x"));
        Assert.IsAssignableFrom<TransformerException>(new EngineOutOfMemoryException("x"));
        Assert.IsAssignableFrom<TransformerException>(new NativeLibraryNotFoundException("x"));
        Assert.IsAssignableFrom<TransformerException>(new NativeAbiMismatchException("x"));
        Assert.IsAssignableFrom<TransformerException>(new TrainingDivergedException("x"));
        Assert.IsAssignableFrom<TransformerException>(new DistributedTrainingException("x"));
    }

    [Fact]
    public void LoadFirst_EnvironmentPathMissing_ThrowsListingEveryPathAndReason()
    {
        var empty = Directory.CreateTempSubdirectory("mlt-loader-").FullName;
        try
        {
            var missing = Path.Combine(empty, "no-such-dir", "libmlt.so");
            var candidates = NativeLibraryLoader.CandidatePaths(missing, empty, empty);

            var e = Assert.Throws<NativeLibraryNotFoundException>(() => NativeLibraryLoader.LoadFirst(candidates, out _));

            Assert.Equal(missing, candidates[0].Path);
            Assert.Equal(candidates.Select(c => c.Path), e.AttemptedPaths);
            Assert.Contains(missing, e.Message, StringComparison.Ordinal);
            Assert.Contains("$MLT_NATIVE_LIBRARY", e.Message, StringComparison.Ordinal);
            Assert.Contains(Path.Combine(empty, NativeLibraryLoader.PlatformFileName), e.Message, StringComparison.Ordinal);
            Assert.Contains(Path.Combine("artifacts", "native"), e.Message, StringComparison.Ordinal);
            Assert.Contains("file does not exist", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public void LoadFirst_FileIsNotALibrary_ReportsTheDynamicLoadersError()
    {
        var dir = Directory.CreateTempSubdirectory("mlt-loader-").FullName;
        try
        {
            var fake = Path.Combine(dir, NativeLibraryLoader.PlatformFileName);
            File.WriteAllText(fake, "not an ELF file");

            var e = Assert.Throws<NativeLibraryNotFoundException>(
                () => NativeLibraryLoader.LoadFirst([(fake, "test")], out _));

            Assert.Contains(fake, e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("file does not exist", e.Message, StringComparison.Ordinal);
            // dlerror's text for a non-ELF file ("invalid ELF header" or "file too short") is passed through.
            Assert.Matches("ELF|too short|invalid", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void CandidatePaths_Order_EnvironmentThenAssemblyDirectoryThenRepositoryBuild()
    {
        var root = Directory.CreateTempSubdirectory("mlt-loader-").FullName;
        try
        {
            var built = Path.Combine(root, "artifacts", "native", NativeLibraryLoader.PlatformFileName);
            Directory.CreateDirectory(Path.GetDirectoryName(built)!);
            File.WriteAllText(built, string.Empty);
            var bin = Directory.CreateDirectory(Path.Combine(root, "tests", "bin", "Release")).FullName;

            var paths = NativeLibraryLoader.CandidatePaths("/opt/custom/libmlt.so", bin, bin).Select(c => c.Path).ToList();

            string package = Path.Combine(bin, "runtimes", NativeLibraryLoader.PackageRuntimeIdentifier, "native", NativeLibraryLoader.PlatformFileName);
            Assert.Equal(["/opt/custom/libmlt.so", Path.Combine(bin, NativeLibraryLoader.PlatformFileName), package, built], paths);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void BuildNotFoundMessage_LibtorchMissing_NamesTheDebianPackage()
    {
        var message = NativeLibraryLoader.BuildNotFoundMessage([("/a/libmlt.so", "next to the assembly", "libtorch_cpu.so.1.13: cannot open shared object file: No such file or directory")]);
        Assert.Contains("apt-get install libtorch1.13", message, StringComparison.Ordinal);
        Assert.DoesNotContain("libtorch1.13", NativeLibraryLoader.BuildNotFoundMessage([("/a/libmlt.so", "next to the assembly", "file does not exist")]), StringComparison.Ordinal);
    }

    [Fact]
    public void BuildNotFoundMessage_NumbersEveryAttemptWithOriginAndError()
    {
        var message = NativeLibraryLoader.BuildNotFoundMessage([("/a/libmlt.so", "$MLT_NATIVE_LIBRARY", "file does not exist"), ("/b/libmlt.so", "next to the assembly", "bad ELF")]);
        Assert.Contains("1. /a/libmlt.so ($MLT_NATIVE_LIBRARY): file does not exist", message, StringComparison.Ordinal);
        Assert.Contains("2. /b/libmlt.so (next to the assembly): bad ELF", message, StringComparison.Ordinal);
        Assert.Contains("./build.sh native", message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckAbiVersion_LibraryWithoutTheExport_ThrowsNamingIt()
    {
        var libm = NativeLibrary.Load("libm.so.6");
        try
        {
            var e = Assert.Throws<NativeAbiMismatchException>(() => NativeLibraryLoader.CheckAbiVersion(libm, "/some/libm.so.6"));
            Assert.Contains("/some/libm.so.6", e.Message, StringComparison.Ordinal);
            Assert.Contains("mlt_abi_version", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            NativeLibrary.Free(libm);
        }
    }

    [Fact]
    public void AbiMismatchMessage_OtherVersion_NamesBothVersionsAndTheFix()
    {
        var message = NativeLibraryLoader.AbiMismatchMessage(7, "/x/libmlt.so");
        Assert.Contains("/x/libmlt.so implements C ABI version 7", message, StringComparison.Ordinal);
        Assert.Contains($"expects version {NativeMethods.AbiVersion}", message, StringComparison.Ordinal);
        Assert.Contains("./build.sh native", message, StringComparison.Ordinal);
    }

    [Fact]
    public void AbiVersion_LoadedLibrary_MatchesManagedConstant()
    {
        Assert.True(File.Exists(EngineRuntime.NativeLibraryPath), EngineRuntime.NativeLibraryPath);
        Assert.Equal(NativeMethods.AbiVersion, NativeMethods.mlt_abi_version());
    }
}
