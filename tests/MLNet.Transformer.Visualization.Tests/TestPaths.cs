// The test artifact folder under the repository root (found by TestKit's RepoPaths) and scratch folders.
namespace MLNet.Transformer.Visualization.Tests;

internal static class TestPaths
{
    public static string RepoRoot => MLNet.Transformer.TestKit.RepoPaths.Root;

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
