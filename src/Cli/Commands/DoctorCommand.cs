// `doctor`: what the engine sees: native library path, libtorch version, CUDA devices, threads, the matmul backend and
// the precision --precision auto picks.
using System.CommandLine;
using MLNet.Transformer.Engine;

namespace MLNet.Transformer.Cli.Commands;

internal static class DoctorCommand
{
    public static Command Create()
    {
        var cmd = new Command("doctor", "Check the native engine: library path, libtorch version, CUDA devices, threads, precision.");
        cmd.SetAction(parse =>
        {
            string device = EngineRuntime.ResolveDevice("auto");
            var result = new
            {
                nativeLibrary = EngineRuntime.NativeLibraryPath,
                torchVersion = EngineRuntime.TorchVersion,
                cudaAvailable = EngineRuntime.IsCudaAvailable,
                cudaDevices = EngineRuntime.CudaDeviceNames,
                threads = EngineRuntime.NumThreads,
                defaultDevice = device,
                cpuMatmulBackend = EngineRuntime.CpuMatmulBackend,
                bfloat16Native = EngineRuntime.IsBFloat16Native(device),
                autoPrecision = EngineRuntime.ResolvePrecision(Precision.Auto, device).ToString(),
                openBlasThreads = Environment.GetEnvironmentVariable("OPENBLAS_NUM_THREADS"),
                runtime = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
                os = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            };
            CliHost.Output(parse, result, () =>
            {
                Console.WriteLine($"native library  {result.nativeLibrary}");
                Console.WriteLine($"libtorch        {result.torchVersion}");
                Console.WriteLine($"CUDA            {(result.cudaAvailable ? string.Join(", ", result.cudaDevices) : "not available")}");
                Console.WriteLine($"default device  {result.defaultDevice}");
                Console.WriteLine($"torch threads   {result.threads} (OPENBLAS_NUM_THREADS={result.openBlasThreads ?? "unset"})");
                Console.WriteLine($"CPU matmuls     {result.cpuMatmulBackend}");
                Console.WriteLine($"bfloat16        {(result.bfloat16Native ? "native" : "not native")} on {device}: --precision auto trains in {result.autoPrecision}");
                Console.WriteLine($".NET            {result.runtime} on {result.os}");
            });
        });
        return cmd;
    }
}
