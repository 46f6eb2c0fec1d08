// Refuses a command whose output would land on one of its own inputs, or two outputs on one file: paths are compared
// after resolving them to full paths with every symbolic link followed, before the command does any work.
namespace MLNet.Transformer.Cli;

/// <summary>Checks that a command's output files are distinct from its inputs and from each other.</summary>
internal static class OutputPaths
{
    private static readonly StringComparer Comparer = OperatingSystem.IsLinux() ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase;

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> naming both flags when an output resolves to an input or to another
    /// output. Null paths (options not given) are skipped.
    /// </summary>
    public static void CheckDistinct(IReadOnlyList<(string Flag, string? Path)> inputs, IReadOnlyList<(string Flag, string? Path)> outputs)
    {
        var seen = new List<(string Flag, string Path, string Resolved, bool Output)>();
        foreach (var (flag, path, output) in inputs.Select(i => (i.Flag, i.Path, false)).Concat(outputs.Select(o => (o.Flag, o.Path, true))))
        {
            if (string.IsNullOrWhiteSpace(path))
            {
                continue;
            }

            string resolved = Resolve(path);
            if (output)
            {
                foreach (var other in seen.Where(s => Comparer.Equals(s.Resolved, resolved)))
                {
                    string what = other.Output ? "another output" : "an input";
                    throw new ArgumentException(
                        $"{flag} '{path}' is the same file as {other.Flag} '{other.Path}' ({resolved}): writing it would overwrite {what} of this command. Give {flag} another path.",
                        flag);
                }
            }

            seen.Add((flag, path, resolved, output));
        }
    }

    /// <summary>The full path with every symbolic link along it followed (the parts that do not exist yet kept as they are).</summary>
    public static string Resolve(string path)
    {
        string full = Path.GetFullPath(path);
        string root = Path.GetPathRoot(full) ?? "/";
        string current = root;
        foreach (string part in full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            string next = Path.Combine(current, part);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            try
            {
                if (info.LinkTarget is not null)
                {
                    next = Path.GetFullPath(info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? next);
                }
            }
            catch (IOException)
            {
                // A link loop or an unreadable link: compare by the path as given.
            }

            current = next;
        }

        return current;
    }
}
