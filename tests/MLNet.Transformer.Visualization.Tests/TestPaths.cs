// Locates the repository root (the folder holding MLNet.Transformer.sln) and the test artifact folder under it.
namespace MLNet.Transformer.Visualization.Tests;

internal static class TestPaths
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MLNet.Transformer.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"MLNet.Transformer.sln not found above {AppContext.BaseDirectory}.");
    });

    public static string RepoRoot => Root.Value;

    /// <summary>artifacts/test-output under the repository root, created on demand.</summary>
    public static string OutputDirectory
    {
        get
        {
            string dir = Path.Combine(RepoRoot, "artifacts", "test-output");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    /// <summary>A new empty temporary folder.</summary>
    public static string NewTempDirectory()
    {
        string dir = Path.Combine(Path.GetTempPath(), "mlt-viz-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
