// Locates the repository from a test's output directory, by walking up to MLNet.Transformer.sln.

namespace MLNet.Transformer.TestKit;

/// <summary>Paths inside the repository, found from the running test assembly.</summary>
public static class RepoPaths
{
    /// <summary>The file that marks the repository root.</summary>
    public const string SolutionFileName = "MLNet.Transformer.sln";

    private static readonly Lazy<string> s_root = new(() =>
        FindRoot(AppContext.BaseDirectory)
        ?? throw new InvalidOperationException(
            $"No {SolutionFileName} in {AppContext.BaseDirectory} or any parent; tests must run from inside the repository."));

    /// <summary>The repository root (the directory holding MLNet.Transformer.sln).</summary>
    public static string Root => s_root.Value;

    /// <summary>A path under the repository root.</summary>
    public static string Combine(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>The nearest directory at or above <paramref name="start"/> holding the solution file, or null.</summary>
    public static string? FindRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, SolutionFileName)))
            {
                return dir.FullName;
            }
        }

        return null;
    }
}
