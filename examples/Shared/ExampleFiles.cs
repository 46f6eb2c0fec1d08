// Shared by the examples: finds the repository (and data/names.txt) from the current directory or the program's
// own location, so an example runs from anywhere inside the checkout or from its build output.
namespace MLNet.Transformer.Examples;

internal static class ExampleFiles
{
    /// <summary>The folder holding MLNet.Transformer.sln.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>The bundled list of animal, fruit and vegetable names.</summary>
    public static string NamesPath => Path.Combine(RepositoryRoot, "data", "names.txt");

    private static string FindRepositoryRoot()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "MLNet.Transformer.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new DirectoryNotFoundException("MLNet.Transformer.sln not found above the current directory; run from inside the repository.");
    }
}
