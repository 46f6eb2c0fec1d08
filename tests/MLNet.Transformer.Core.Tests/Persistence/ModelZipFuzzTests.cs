// Seeded fuzzing of the model .zip reader: every corrupted file is rejected with a ModelFormatException, or, when
// the corruption left it semantically intact (zip slack, a local header copy, the creation time), it loads and
// reproduces the original outputs exactly. Never another exception type, never different weights.
using System.IO.Compression;
using System.Text;
using MLNet.Transformer.Persistence;
using Xunit;

namespace MLNet.Transformer.Tests.Persistence;

public sealed class ModelZipFuzzTests
{
    private const int Cases = 1200;

    [Fact]
    public void Load_RandomlyCorruptedZips_RejectedWithModelFormatExceptionOrIdentical()
    {
        using var model = TestModels.Chain(seed: 11);
        byte[] valid = TestModels.SaveToBytes(model);
        var input = TestModels.Input();
        var expected = InMemoryDataView.ReadAll(model.Transform(input));
        var entries = ZipEdit.Entries(valid);
        var rng = new Random(20240607);
        int rejected = 0, loaded = 0;
        var failures = new List<string>();

        for (int i = 0; i < Cases; i++)
        {
            var (kind, bytes) = Corrupt(valid, entries, rng);
            try
            {
                using var result = TestModels.Load(bytes, out _);
                var actual = InMemoryDataView.ReadAll(result.Transform(input));
                if (!TestModels.SameRows(expected, actual))
                {
                    failures.Add($"case {i} ({kind}): loaded with different outputs");
                }

                loaded++;
            }
            catch (ModelFormatException)
            {
                rejected++;
            }
#pragma warning disable CA1031 // The point of the test: any other exception type is a failure to report.
            catch (Exception e)
#pragma warning restore CA1031
            {
                failures.Add($"case {i} ({kind}): {e.GetType().Name}: {e.Message}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
        Assert.Equal(Cases, rejected + loaded);
        Assert.True(rejected > Cases * 3 / 4, $"only {rejected} of {Cases} corruptions were rejected");
    }

    private static (string Kind, byte[] Bytes) Corrupt(byte[] valid, List<ZipItem> entries, Random rng)
    {
        int op = rng.Next(9);
        switch (op)
        {
            case 0:
            {
                byte[] b = (byte[])valid.Clone();
                int flips = 1 + rng.Next(4);
                for (int k = 0; k < flips; k++)
                {
                    b[rng.Next(b.Length)] ^= (byte)(1 + rng.Next(255));
                }

                return ("flip bytes", b);
            }

            case 1:
                return ("truncate", valid[..rng.Next(valid.Length)]);

            case 2:
            {
                byte[] b = new byte[valid.Length + 1 + rng.Next(16)];
                int at = rng.Next(valid.Length);
                valid.AsSpan(0, at).CopyTo(b);
                rng.NextBytes(b.AsSpan(at, b.Length - valid.Length));
                valid.AsSpan(at).CopyTo(b.AsSpan(at + b.Length - valid.Length));
                return ("insert bytes", b);
            }

            case 3:
                return ("remove entry", Rebuild(entries, l => l.RemoveAt(rng.Next(l.Count))));

            case 4:
                return ("swap names", Rebuild(entries, l =>
                {
                    int a = rng.Next(l.Count), c = rng.Next(l.Count);
                    (l[a].Name, l[c].Name) = (l[c].Name, l[a].Name);
                }));

            case 5:
                return ("rename entry", Rebuild(entries, l =>
                {
                    var e = l[rng.Next(l.Count)];
                    var chars = e.Name.ToCharArray();
                    chars[rng.Next(chars.Length)] = (char)('a' + rng.Next(26));
                    e.Name = new string(chars);
                }));

            case 6:
                return ("replace contents", Rebuild(entries, l => l[rng.Next(l.Count)].Data = l[rng.Next(l.Count)].Data));

            case 7:
                return ("edit entry bytes", Rebuild(entries, l =>
                {
                    var e = l[rng.Next(l.Count)];
                    if (e.Data.Length > 0)
                    {
                        e.Data = (byte[])e.Data.Clone();
                        e.Data[rng.Next(e.Data.Length)] ^= (byte)(1 + rng.Next(255));
                    }
                }));

            default:
                return ("edit manifest", Rebuild(entries, l =>
                {
                    var m = l.Single(x => x.Name == "manifest.json");
                    string text = Encoding.UTF8.GetString(m.Data);
                    int at = rng.Next(text.Length);
                    text = rng.Next(3) switch
                    {
                        0 => text.Remove(at, Math.Min(1 + rng.Next(8), text.Length - at)),
                        1 => text.Insert(at, ((char)('0' + rng.Next(10))).ToString()),
                        _ => text[..at] + (char)(' ' + rng.Next(95)) + text[(at + 1)..],
                    };
                    m.Data = Encoding.UTF8.GetBytes(text);
                }));
        }
    }

    private static byte[] Rebuild(List<ZipItem> entries, Action<List<ZipItem>> edit)
    {
        var copy = entries.Select(e => new ZipItem(e.Name, e.Data)).ToList();
        edit(copy);
        var output = new MemoryStream();
        using (var archive = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var item in copy)
            {
                using var s = archive.CreateEntry(item.Name, CompressionLevel.Fastest).Open();
                s.Write(item.Data);
            }
        }

        return output.ToArray();
    }
}
