// Reads a model .zip as untrusted input, before anything parses it: every entry is decompressed by its real size
// under a cap (a declared size is only an upper bound, never trusted) and its CRC-32 checked, and the archive stays in
// memory, so that what ML.NET loads afterwards is exactly the bytes that were checked.
using System.IO.Compression;
using System.IO.Hashing;

namespace MLNet.Transformer.IO;

/// <summary>Size limits for reading a model archive; a file beyond them is refused before memory is spent on it.</summary>
public sealed record ModelArchiveLimits
{
    /// <summary>The defaults: 1 GiB per file and per entry, 2 GiB decompressed in all, 10,000 entries.</summary>
    public static ModelArchiveLimits Default { get; } = new();

    /// <summary>Largest archive file read, in bytes.</summary>
    public long MaxFileBytes { get; init; } = 1L << 30;

    /// <summary>Largest decompressed entry, in bytes (a float32 model of 256 M parameters).</summary>
    public long MaxEntryBytes { get; init; } = 1L << 30;

    /// <summary>Most decompressed bytes over all entries together.</summary>
    public long MaxTotalBytes { get; init; } = 2L << 30;

    /// <summary>Most entries.</summary>
    public int MaxEntries { get; init; } = 10_000;
}

/// <summary>
/// A model .zip whose entries have all been read to their end and checked against their CRC-32, within
/// <see cref="ModelArchiveLimits"/>. <see cref="OpenRead"/> gives the checked archive's bytes to a loader.
/// </summary>
public sealed class ModelArchive
{
    private readonly byte[] _bytes;
    private readonly Dictionary<string, byte[]> _entries;

    private ModelArchive(string path, byte[] bytes, Dictionary<string, byte[]> entries)
    {
        Path = path;
        _bytes = bytes;
        _entries = entries;
    }

    /// <summary>The file read (as given).</summary>
    public string Path { get; }

    /// <summary>Entry names (<see cref="ZipArchiveEntry.FullName"/>), in archive order.</summary>
    public IReadOnlyCollection<string> EntryNames => _entries.Keys;

    /// <summary>The archive's bytes, as checked, for a loader that reads a zip from a stream.</summary>
    public Stream OpenRead() => new MemoryStream(_bytes, writable: false);

    /// <summary>The checked content of entry <paramref name="fullName"/>, or null when the archive has no such entry.</summary>
    public ReadOnlyMemory<byte>? GetEntry(string fullName)
    {
        // Not a conditional expression: its null would become an empty, non-null memory (null converts to byte[], and
        // byte[] to ReadOnlyMemory<byte>).
        if (_entries.TryGetValue(fullName, out var data))
        {
            return data;
        }

        return null;
    }

    /// <summary>
    /// Reads <paramref name="path"/>, decompresses every entry (never more than its declared size, never more than
    /// the limits) and compares each entry's CRC-32 with the one the archive records.
    /// </summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="ModelFormatException">Not a zip, over a limit, truncated, or an entry whose content does not
    /// match its size or CRC-32 (<see cref="ModelFormatException.EntryPath"/> names the entry).</exception>
    public static ModelArchive Read(string path, ModelArchiveLimits? limits = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        limits ??= ModelArchiveLimits.Default;
        byte[] bytes = ReadFile(path, limits);
        var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        string current = "zip";
        try
        {
            using var zip = new ZipArchive(new MemoryStream(bytes, writable: false), ZipArchiveMode.Read);
            if (zip.Entries.Count > limits.MaxEntries)
            {
                throw new ModelFormatException($"{path}: holds {zip.Entries.Count:N0} entries; a model archive holds at most {limits.MaxEntries:N0}.", "zip");
            }

            long total = 0;
            foreach (var entry in zip.Entries)
            {
                current = entry.FullName;
                if (entry.Length > limits.MaxEntryBytes)
                {
                    throw new ModelFormatException(
                        $"{path}: entry '{entry.FullName}' declares {entry.Length:N0} bytes; the limit is {limits.MaxEntryBytes:N0} (ModelArchiveLimits.MaxEntryBytes).", entry.FullName);
                }

                total += entry.Length;
                if (total > limits.MaxTotalBytes)
                {
                    throw new ModelFormatException(
                        $"{path}: its entries declare more than {limits.MaxTotalBytes:N0} bytes in all (ModelArchiveLimits.MaxTotalBytes).", entry.FullName);
                }

                var data = ReadEntry(path, entry);
                if (!entries.TryAdd(entry.FullName, data))
                {
                    throw new ModelFormatException($"{path}: holds entry '{entry.FullName}' twice.", entry.FullName);
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException or (IOException and not FileNotFoundException))
        {
            string what = current == "zip" ? "is not a readable zip archive" : $"entry '{current}' cannot be read";
            throw new ModelFormatException($"{path}: {what} ({e.Message}).", current, e);
        }

        return new ModelArchive(path, bytes, entries);
    }

    private static byte[] ReadFile(string path, ModelArchiveLimits limits)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Model file '{path}' not found.", path);
        }

        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            long max = Math.Min(limits.MaxFileBytes, Array.MaxLength);
            if (stream.Length > max)
            {
                throw new ModelFormatException($"{path}: is {stream.Length:N0} bytes; the limit is {max:N0} (ModelArchiveLimits.MaxFileBytes).", "file");
            }

            var bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
            return bytes;
        }
        catch (Exception e) when (e is (IOException and not FileNotFoundException) or UnauthorizedAccessException)
        {
            throw new ModelFormatException($"{path}: cannot be read: {e.Message}", "file", e);
        }
    }

    /// <summary>The entry's content: exactly its declared length, no byte more, matching its CRC-32.</summary>
    private static byte[] ReadEntry(string path, ZipArchiveEntry entry)
    {
        var data = new byte[entry.Length];
        using (var stream = entry.Open())
        {
            int read = stream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
            if (read < data.Length)
            {
                throw new ModelFormatException($"{path}: entry '{entry.FullName}' is truncated: {read:N0} of {data.Length:N0} bytes.", entry.FullName);
            }

            if (stream.ReadByte() >= 0)
            {
                throw new ModelFormatException($"{path}: entry '{entry.FullName}' holds more than the {data.Length:N0} bytes it declares.", entry.FullName);
            }
        }

        uint crc = Crc32.HashToUInt32(data);
        if (crc != entry.Crc32)
        {
            throw new ModelFormatException(
                $"{path}: entry '{entry.FullName}' is damaged: its CRC-32 is {crc:x8}, the archive records {entry.Crc32:x8}.", entry.FullName);
        }

        return data;
    }
}
