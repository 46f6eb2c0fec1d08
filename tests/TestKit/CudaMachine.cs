// Whether CUDA should be usable here, found without asking the engine: the NVIDIA kernel driver's devices,
// CUDA_VISIBLE_DEVICES, and whether a CUDA build of libtorch is mapped into this process. Device tests compare
// the engine's answers with this instead of with the engine's own CudaDeviceCount.

using MLNet.Transformer.Engine;

namespace MLNet.Transformer.TestKit;

/// <summary>Independent facts about CUDA on the machine running the tests (Linux).</summary>
public static class CudaMachine
{
    /// <summary>
    /// True when the engine should see at least one CUDA device: the loaded engine pulled in libtorch's CUDA
    /// library, the kernel driver lists an NVIDIA GPU, and CUDA_VISIBLE_DEVICES does not hide them all.
    /// </summary>
    public static bool ShouldHaveCuda => CudaLibTorchLoaded && DriverGpuCount > 0 && !VisibleDevicesHidesAll;

    /// <summary>Whether a CUDA build of libtorch (libc10_cuda / libtorch_cuda) is mapped into this process.</summary>
    public static bool CudaLibTorchLoaded
    {
        get
        {
            _ = EngineRuntime.NativeLibraryPath; // loads libmlt and, with it, libtorch
            return File.ReadLines("/proc/self/maps").Any(l => l.Contains("libc10_cuda", StringComparison.Ordinal) || l.Contains("libtorch_cuda", StringComparison.Ordinal));
        }
    }

    /// <summary>GPUs the NVIDIA kernel driver reports (0 without the driver).</summary>
    public static int DriverGpuCount
    {
        get
        {
            const string gpus = "/proc/driver/nvidia/gpus";
            if (Directory.Exists(gpus))
            {
                return Directory.GetDirectories(gpus).Length;
            }

            // Without /proc/driver/nvidia (some containers): the device nodes /dev/nvidia0, /dev/nvidia1, ...
            return Directory.Exists("/dev")
                ? Directory.GetFiles("/dev", "nvidia*").Select(Path.GetFileName).Count(n => n!.Length > 6 && n[6..].All(char.IsAsciiDigit))
                : 0;
        }
    }

    private static bool VisibleDevicesHidesAll
    {
        get
        {
            var visible = Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES");
            return visible is not null && (visible.Trim().Length == 0 || visible.Trim().StartsWith('-'));
        }
    }
}
