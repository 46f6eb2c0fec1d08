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

    /// <summary>
    /// What serves the engine's CPU matmuls: <c>oneDNN</c> (libtorch's libdnnl on the OpenMP pool, float32 and bfloat16)
    /// or <c>libtorch</c> (its own linear: OpenBLAS or MKL; also when <c>MLT_ONEDNN=0</c> is in the environment).
    /// </summary>
    public static string CpuMatmulBackend
    {
        get
        {
            NativeLibraryLoader.EnsureLoaded();
            return ReadString((buf, len) => NativeMethods.mlt_cpu_matmul_backend(buf, len));
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

    /// <summary>
    /// Process-wide intra-op threads (OpenMP: the engine's fused kernels, libtorch's ops and oneDNN's matmuls); at least 1.
    /// OpenBLAS keeps one thread while oneDNN serves the matmuls, since two spinning pools on the same cores halve the
    /// speed. A model's own <see cref="TransformerModel.Threads"/> takes precedence.
    /// </summary>
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

    /// <summary>
    /// True when <paramref name="device"/> computes bfloat16 matmuls natively: a CPU with AVX512_BF16 or AMX-BF16, or a
    /// CUDA device of compute capability 8.0 or later. Elsewhere bfloat16 still works, but slower than float32.
    /// </summary>
    /// <param name="device">A resolved device, <c>cpu</c> or <c>cuda:N</c>.</param>
    public static bool IsBFloat16Native(string device)
    {
        ArgumentNullException.ThrowIfNull(device);
        NativeLibraryLoader.EnsureLoaded();
        int supported;
        NativeStatus.Check(NativeMethods.mlt_bf16_native(&supported, device));
        return supported != 0;
    }

    /// <summary>
    /// The precision a model on <paramref name="device"/> trains in: <see cref="Precision.Auto"/> becomes
    /// <see cref="Precision.BFloat16"/> where <see cref="IsBFloat16Native"/> says so, else <see cref="Precision.Float32"/>;
    /// the other values are themselves.
    /// </summary>
    /// <param name="precision">The requested precision.</param>
    /// <param name="device">A resolved device, <c>cpu</c> or <c>cuda:N</c>.</param>
    public static Precision ResolvePrecision(Precision precision, string device) => precision switch
    {
        Precision.Auto => IsBFloat16Native(device) ? Precision.BFloat16 : Precision.Float32,
        Precision.Float32 or Precision.BFloat16 => precision,
        _ => throw TransformerArgumentException.ForOption($"Precision {precision} is not Auto, Float32 or BFloat16.", "precision"),
    };

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
