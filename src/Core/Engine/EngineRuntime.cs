// Process-wide facts and settings of the native engine: libtorch version, CUDA devices, threads, global
// seed and determinism, the loaded library's path, and the resolution of device options ("auto", "cuda:1").

using System.Globalization;
using System.Text;
using MLNet.Transformer.Interop;

namespace MLNet.Transformer.Engine;

/// <summary>The native engine's runtime: versions, devices, threads and global random state.</summary>
public static unsafe class EngineRuntime
{
    /// <summary>Full path of the native library that was loaded (loads it if needed).</summary>
    /// <exception cref="NativeLibraryNotFoundException">libmlt could not be loaded.</exception>
    public static string NativeLibraryPath => NativeLibraryLoader.LoadedPath;

    /// <summary>The libtorch version the engine runs on, e.g. <c>1.13.1</c>.</summary>
    public static string TorchVersion
    {
        get
        {
            NativeLibraryLoader.EnsureLoaded();
            return ReadString((buf, len) => NativeMethods.mlt_torch_version(buf, len));
        }
    }

    /// <summary>Number of CUDA devices libtorch can use (0 without CUDA).</summary>
    public static int CudaDeviceCount
    {
        get
        {
            NativeLibraryLoader.EnsureLoaded();
            int count;
            unsafe
            {
                NativeStatus.Check(NativeMethods.mlt_cuda_device_count(&count));
            }

            return count;
        }
    }

    /// <summary>Whether at least one CUDA device is usable.</summary>
    public static bool IsCudaAvailable => CudaDeviceCount > 0;

    /// <summary>
    /// The names of the CUDA devices, by index, as the CUDA runtime reports them; an entry is null where the engine
    /// cannot read the name (libmlt built without the CUDA runtime headers). Never a made-up name.
    /// </summary>
    public static IReadOnlyList<string?> CudaDeviceNames
    {
        get
        {
            var count = CudaDeviceCount;
            var names = new string?[count];
            for (var i = 0; i < count; i++)
            {
                var buffer = new byte[256];
                int status;
                fixed (byte* p = buffer)
                {
                    status = NativeMethods.mlt_cuda_device_name(p, buffer.Length, i);
                }

                if (status == NativeMethods.StatusDevice)
                {
                    continue; // the engine knows the device but not its name
                }

                NativeStatus.Check(status);
                var length = Array.IndexOf(buffer, (byte)0);
                names[i] = Encoding.UTF8.GetString(buffer, 0, length < 0 ? buffer.Length : length);
            }

            return names;
        }
    }

    /// <summary>libtorch intra-op threads (also OpenBLAS's pool where present); at least 1.</summary>
    /// <exception cref="TransformerArgumentException">Set to less than 1.</exception>
    public static int NumThreads
    {
        get
        {
            NativeLibraryLoader.EnsureLoaded();
            int n;
            unsafe
            {
                NativeStatus.Check(NativeMethods.mlt_get_num_threads(&n));
            }

            return n;
        }

        set
        {
            if (value < 1)
            {
                throw new TransformerArgumentException($"NumThreads must be at least 1, got {value}.", nameof(NumThreads));
            }

            NativeLibraryLoader.EnsureLoaded();
            NativeStatus.Check(NativeMethods.mlt_set_num_threads(value));
        }
    }

    /// <summary>Seeds libtorch's global generators (CPU and CUDA).</summary>
    /// <param name="seed">The seed.</param>
    public static void ManualSeed(ulong seed)
    {
        NativeLibraryLoader.EnsureLoaded();
        NativeStatus.Check(NativeMethods.mlt_manual_seed(seed));
    }

    /// <summary>Turns libtorch's deterministic algorithms on or off.</summary>
    /// <param name="on">True to require deterministic algorithms.</param>
    public static void SetDeterministic(bool on)
    {
        NativeLibraryLoader.EnsureLoaded();
        NativeStatus.Check(NativeMethods.mlt_set_deterministic(on ? 1 : 0));
    }

    /// <summary>
    /// Resolves a device option: <c>auto</c> is <c>cuda:0</c> when CUDA is present, else <c>cpu</c>;
    /// <c>cpu</c> is itself; <c>cuda</c> is <c>cuda:0</c>; <c>cuda:N</c> must name an existing device.
    /// Never falls back silently.
    /// </summary>
    /// <param name="spec">The option value (case-insensitive, surrounding spaces ignored).</param>
    /// <returns><c>cpu</c> or <c>cuda:N</c>.</returns>
    /// <exception cref="TransformerArgumentException">The value is not a device specification.</exception>
    /// <exception cref="DeviceUnavailableException">CUDA, or that CUDA device, is not available.</exception>
    public static string ResolveDevice(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var s = spec.Trim().ToLowerInvariant();
        switch (s)
        {
            case "cpu":
                NativeLibraryLoader.EnsureLoaded();
                return "cpu";
            case "auto":
                return CudaDeviceCount > 0 ? "cuda:0" : "cpu";
        }

        int index;
        if (s == "cuda")
        {
            index = 0;
        }
        else if (!s.StartsWith("cuda:", StringComparison.Ordinal) ||
                 !int.TryParse(s.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out index))
        {
            throw TransformerArgumentException.ForOption(
                $"Device '{spec}' is not a device; expected 'auto', 'cpu', 'cuda' or 'cuda:N'.", "device");
        }

        var count = CudaDeviceCount;
        if (count == 0)
        {
            throw new DeviceUnavailableException(
                $"Device '{spec}' was requested, but CUDA is not available here (libtorch {TorchVersion} sees no CUDA device). " +
                "Available: cpu. Use device 'cpu', or 'auto' to take CUDA only when present.");
        }

        if (index >= count)
        {
            throw new DeviceUnavailableException(
                $"Device '{spec}' was requested, but only {count} CUDA device(s) exist: " +
                $"{string.Join(", ", Enumerable.Range(0, count).Select(i => $"cuda:{i}"))} (and cpu).");
        }

        return $"cuda:{index.ToString(CultureInfo.InvariantCulture)}";
    }

    private unsafe delegate int StringReader(byte* buffer, int length);

    private static unsafe string ReadString(StringReader read)
    {
        var buffer = new byte[256];
        fixed (byte* p = buffer)
        {
            NativeStatus.Check(read(p, buffer.Length));
        }

        var length = Array.IndexOf(buffer, (byte)0);
        return Encoding.UTF8.GetString(buffer, 0, length < 0 ? buffer.Length : length);
    }
}
