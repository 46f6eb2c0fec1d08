// Where ML.NET's OnnxTransformer puts the temporary copy of an ONNX model it builds from bytes (a stream-created
// stage, or one loaded from a zip): one folder per process, removed when the process exits; folders left by killed
// processes are removed by the next process that creates its own.
using System.Diagnostics;
using Microsoft.ML;

namespace MLNet.Transformer.LanguageModeling;

/// <summary>The per-process folder for ML.NET's temporary model files, and a way to route a context's files there.</summary>
internal static class TemporaryFiles
{
    private const string Prefix = "mlnet-transformer-";
    private static readonly Lazy<string> s_folder = new(Create);

    /// <summary>This process's folder, created on first use and removed at exit.</summary>
    public static string Folder => s_folder.Value;

    /// <summary>
    /// Runs <paramref name="create"/> (which builds ONNX stages through <paramref name="mlContext"/>) with the
    /// context's temporary files in <see cref="Folder"/>, then restores the caller's <c>TempFilePath</c>.
    /// </summary>
    public static T InProcessFolder<T>(MLContext mlContext, Func<T> create)
    {
        // The caller's context is shared: one swap at a time per context.
        lock (mlContext)
        {
            string saved = mlContext.TempFilePath;
            mlContext.TempFilePath = Folder;
            try
            {
                return create();
            }
            finally
            {
                mlContext.TempFilePath = saved;
            }
        }
    }

    private static string Create()
    {
        string root = Path.GetTempPath();
        RemoveOrphans(root);
        string folder = Path.Combine(root, Prefix + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(folder);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(folder);
        return folder;
    }

    /// <summary>Removes the folders of processes that no longer run (killed before their exit handler ran).</summary>
    private static void RemoveOrphans(string root)
    {
        try
        {
            foreach (var dir in Directory.EnumerateDirectories(root, Prefix + "*"))
            {
                if (int.TryParse(Path.GetFileName(dir).AsSpan(Prefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int pid)
                    && pid != Environment.ProcessId && !IsRunning(pid))
                {
                    TryDelete(dir);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // An unreadable temporary folder only means orphans stay.
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Another user's folder, or one already gone.
        }
    }
}
