// A worker of `train --nproc-per-node` dies with its launcher: Linux's PR_SET_PDEATHSIG sends it SIGKILL when the
// launcher exits for any reason (kill -9 included), and a check of the parent pid closes the race where the launcher
// died before the request was made. Elsewhere (not Linux) nothing is asked.
using System.Runtime.InteropServices;

namespace MLNet.Transformer.Cli;

/// <summary>Ties a worker's life to its launcher's.</summary>
internal static partial class ParentDeath
{
    /// <summary>Set in a worker's environment: the launcher's process id.</summary>
    public const string LauncherPidVariable = "MLT_LAUNCHER_PID";

    private const int PrSetPdeathsig = 1; // <linux/prctl.h>
    private const int SigKill = 9;

    /// <summary>
    /// In a worker started by our launcher (<see cref="LauncherPidVariable"/> set), on Linux: asks the kernel to kill
    /// this process when the launcher dies, then refuses to go on if the launcher is already gone.
    /// </summary>
    /// <exception cref="DistributedTrainingException">The launcher exited before this worker started.</exception>
    public static void DieWithLauncher()
    {
        if (!OperatingSystem.IsLinux()
            || !int.TryParse(Environment.GetEnvironmentVariable(LauncherPidVariable), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int launcher))
        {
            return;
        }

        if (Prctl(PrSetPdeathsig, SigKill, 0, 0, 0) != 0)
        {
            throw new DistributedTrainingException($"This worker cannot ask to stop with its launcher (prctl failed with errno {Marshal.GetLastPInvokeError()}).");
        }

        // Re-parented already: the launcher died between starting this process and the prctl above.
        if (GetParentPid() != launcher)
        {
            throw new DistributedTrainingException($"The launcher (pid {launcher}) is gone; this worker stops without training.");
        }
    }

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport("libc", EntryPoint = "getppid")]
    private static partial int GetParentPid();
}
