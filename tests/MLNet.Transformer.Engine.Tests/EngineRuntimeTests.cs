// EngineRuntime: versions, threads, device resolution (never a silent fallback) and the loaded library.

using MLNet.Transformer.Engine;
using MLNet.Transformer.Interop;
using MLNet.Transformer.TestKit;
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
    public void CudaDeviceCount_ThisMachine_AgreesWithTheDriverAndTheLoadedLibTorch()
    {
        // Independent of the engine: the kernel driver's GPUs and whether a CUDA libtorch is mapped in.
        Assert.Equal(CudaMachine.ShouldHaveCuda, EngineRuntime.CudaDeviceCount > 0);
        Assert.Equal(CudaMachine.ShouldHaveCuda, EngineRuntime.IsCudaAvailable);
    }

    [Fact]
    public void CudaDeviceNames_EachDevice_ARealNameNotAnInventedOne()
    {
        var names = EngineRuntime.CudaDeviceNames;
        Assert.Equal(EngineRuntime.CudaDeviceCount, names.Count);
        for (var i = 0; i < names.Count; i++)
        {
            Assert.False(string.IsNullOrWhiteSpace(names[i]), $"device {i} has an empty name");
            Assert.NotEqual($"CUDA device {i}", names[i]);
        }
    }

    [Fact]
    public void CudaDeviceName_IndexPastTheLastDevice_ReturnsArgumentStatusNotAName()
    {
        var count = EngineRuntime.CudaDeviceCount;
        var buffer = new byte[256];
        int status;
        unsafe
        {
            fixed (byte* p = buffer)
            {
                status = NativeMethods.mlt_cuda_device_name(p, buffer.Length, count);
            }
        }

        Assert.Equal(NativeMethods.StatusArgument, status);
        Assert.Contains($"CUDA device index {count} is out of range", NativeMethods.LastError(), StringComparison.Ordinal);
        Assert.Equal(0, buffer[0]);
    }

    [Theory]
    [InlineData("cpu", "cpu")]
    [InlineData(" CPU ", "cpu")]
    public void ResolveDevice_Cpu_IsCpu(string spec, string expected)
    {
        Assert.Equal(expected, EngineRuntime.ResolveDevice(spec));
    }

    [Fact]
    public void ResolveDevice_Auto_TakesCudaOnlyWhenThisMachineHasIt()
    {
        Assert.Equal(CudaMachine.ShouldHaveCuda ? "cuda:0" : "cpu", EngineRuntime.ResolveDevice("auto"));
    }

    [Fact]
    public void ResolveDevice_Cuda_ResolvesOrThrowsNamingTheValue()
    {
        if (CudaMachine.ShouldHaveCuda)
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
    public void NumThreads_SetToAnotherValue_ReadsBackThenRestores()
    {
        var before = EngineRuntime.NumThreads;
        var other = before == 1 ? 2 : 1; // a value that differs from the current one, so a no-op setter fails
        try
        {
            EngineRuntime.NumThreads = other;
            Assert.Equal(other, EngineRuntime.NumThreads);
        }
        finally
        {
            EngineRuntime.NumThreads = before;
        }

        Assert.Equal(before, EngineRuntime.NumThreads);
        Assert.Throws<TransformerArgumentException>(() => EngineRuntime.NumThreads = 0);
    }
}
