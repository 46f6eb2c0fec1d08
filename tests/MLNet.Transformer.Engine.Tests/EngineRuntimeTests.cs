// EngineRuntime: versions, threads, device resolution (never a silent fallback) and the loaded library.

using MLNet.Transformer.Engine;
using Xunit;

namespace MLNet.Transformer.Engine.Tests;

public class EngineRuntimeTests
{
    [Fact]
    public void TorchVersion_Loaded_IsADottedVersion()
    {
        Assert.Matches(@"^\d+\.\d+", EngineRuntime.TorchVersion);
    }

    [Fact]
    public void NativeLibraryPath_Loaded_IsAnExistingLibmlt()
    {
        var path = EngineRuntime.NativeLibraryPath;
        Assert.True(File.Exists(path), path);
        Assert.Equal("libmlt.so", Path.GetFileName(path));
    }

    [Fact]
    public void CudaDeviceNames_Count_MatchesDeviceCount()
    {
        Assert.Equal(EngineRuntime.CudaDeviceCount, EngineRuntime.CudaDeviceNames.Count);
        Assert.Equal(EngineRuntime.CudaDeviceCount > 0, EngineRuntime.IsCudaAvailable);
    }

    [Theory]
    [InlineData("cpu", "cpu")]
    [InlineData(" CPU ", "cpu")]
    public void ResolveDevice_Cpu_IsCpu(string spec, string expected)
    {
        Assert.Equal(expected, EngineRuntime.ResolveDevice(spec));
    }

    [Fact]
    public void ResolveDevice_Auto_TakesCudaOnlyWhenPresent()
    {
        Assert.Equal(EngineRuntime.IsCudaAvailable ? "cuda:0" : "cpu", EngineRuntime.ResolveDevice("auto"));
    }

    [Fact]
    public void ResolveDevice_Cuda_ResolvesOrThrowsNamingTheValue()
    {
        if (EngineRuntime.IsCudaAvailable)
        {
            Assert.Equal("cuda:0", EngineRuntime.ResolveDevice("cuda"));
            var e = Assert.Throws<DeviceUnavailableException>(() => EngineRuntime.ResolveDevice("cuda:99"));
            Assert.Contains("'cuda:99'", e.Message, StringComparison.Ordinal);
        }
        else
        {
            var e = Assert.Throws<DeviceUnavailableException>(() => EngineRuntime.ResolveDevice("cuda:0"));
            Assert.Contains("'cuda:0'", e.Message, StringComparison.Ordinal);
            Assert.Contains("not available", e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:x")]
    [InlineData("cuda:-1")]
    [InlineData("")]
    public void ResolveDevice_NotADevice_ThrowsArgumentNamingTheValue(string spec)
    {
        var e = Assert.Throws<TransformerArgumentException>(() => EngineRuntime.ResolveDevice(spec));
        Assert.Contains($"'{spec}'", e.Message, StringComparison.Ordinal);
    }
}

[Collection(SerialTests.Name)]
public class EngineRuntimeThreadTests
{
    [Fact]
    [Trait("Category", "GlobalState")]
    public void NumThreads_Set_ReadsBack()
    {
        var before = EngineRuntime.NumThreads;
        try
        {
            EngineRuntime.NumThreads = 1;
            Assert.Equal(1, EngineRuntime.NumThreads);
        }
        finally
        {
            EngineRuntime.NumThreads = before;
        }

        Assert.Throws<TransformerArgumentException>(() => EngineRuntime.NumThreads = 0);
    }
}
