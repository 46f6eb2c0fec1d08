// Seeded fuzzing of model files: a few hundred mutations of a saved zip (bit flips, truncations, removed entries,
// the ONNX entry changed and re-zipped with valid CRCs) and of an exported .onnx, within a fixed time budget. Every
// outcome must be a typed error (ModelFormatException) or scores bit-identical to the undamaged file's.
using System.Diagnostics;
using Google.Protobuf;
using Microsoft.ML;
using MLNet.Transformer.LanguageModeling;
using Onnx;
using Xunit.Abstractions;

namespace MLNet.Transformer.Onnx.Tests;

[Collection(ModelFileGroup.Name)]
public sealed class ModelFuzzTests(SavedModelZip saved, ITestOutputHelper output)
{
    private const int Seed = 1919;
    private static readonly TimeSpan ZipBudget = TimeSpan.FromSeconds(18);
    private static readonly TimeSpan OnnxBudget = TimeSpan.FromSeconds(8);

    [Fact]
    public void Load_MutatedZips_TypedErrorOrBitIdenticalScores()
    {
        var random = new Random(Seed);
        var clock = Stopwatch.StartNew();
        var outcomes = new Dictionary<string, int>(StringComparer.Ordinal);
        int done = 0;
        for (; done < 300 && clock.Elapsed < ZipBudget; done++)
        {
            var (kind, bytes) = MutateZip(random, done);
            string path = Path.Combine(saved.Folder, $"fuzz-{done}.zip");
            File.WriteAllBytes(path, bytes);
            var ml = new MLContext(0);
            string outcome;
            try
            {
                using var loaded = NextCharacterModel.Load(ml, path);
                var scores = SavedModelZip.Score(ml, loaded);
                AssertBitIdentical(saved.Scores, scores, $"mutation {done} ({kind}, seed {Seed})");
                outcome = "identical";
            }
            catch (ModelFormatException e)
            {
                Assert.Contains(path, e.Message, StringComparison.Ordinal);
                outcome = e.GetType().Name;
            }
            catch (Exception e)
            {
                Assert.Fail($"mutation {done} ({kind}, seed {Seed}) gave {e.GetType().Name}: {e.Message}");
                throw;
            }
            finally
            {
                File.Delete(path);
            }

            outcomes[$"{kind} -> {outcome}"] = outcomes.GetValueOrDefault($"{kind} -> {outcome}") + 1;
        }

        output.WriteLine($"{done} zip mutations in {clock.Elapsed.TotalSeconds:F1} s");
        foreach (var (k, n) in outcomes.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"  {k}: {n}");
        }

        Assert.True(done >= 60, $"only {done} mutations ran within {ZipBudget}");
        // The fuzzing hit the interesting paths: damaged bytes refused, and harmless ones still scoring.
        Assert.Contains(outcomes.Keys, k => k.StartsWith("rezip-onnx ->", StringComparison.Ordinal) && !k.EndsWith("identical", StringComparison.Ordinal));
        Assert.Contains(outcomes.Keys, k => k.StartsWith("flip ->", StringComparison.Ordinal) && !k.EndsWith("identical", StringComparison.Ordinal));
    }

    [Fact]
    public void Read_MutatedOnnx_TypedErrorOrBitIdenticalScores()
    {
        var random = new Random(Seed + 1);
        var clock = Stopwatch.StartNew();
        long[] tokens = [1, 4, 5, 6, 1, 6, 4, 5];
        using var original = new OnnxNextCharacterScorer(saved.OnnxBytes, "original");
        var expected = original.Run(tokens, 2, 4, null, 0, OnnxNames.NextTokenProbabilities)[OnnxNames.NextTokenProbabilities].Data;
        int done = 0, refused = 0;
        for (; done < 300 && clock.Elapsed < OnnxBudget; done++)
        {
            var bytes = (byte[])saved.OnnxBytes.Clone();
            string kind;
            switch (random.Next(3))
            {
                case 0:
                    kind = "flip";
                    for (int k = random.Next(1, 4); k > 0; k--)
                    {
                        bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                    }

                    break;
                case 1:
                    kind = "truncate";
                    bytes = bytes[..random.Next(bytes.Length)];
                    break;
                default:
                    kind = "field";
                    bytes = MutateField(random, bytes);
                    break;
            }

            try
            {
                using var scorer = new OnnxNextCharacterScorer(bytes, $"fuzz-{done}.onnx");
                var actual = scorer.Run(tokens, 2, 4, null, 0, OnnxNames.NextTokenProbabilities)[OnnxNames.NextTokenProbabilities].Data;
                AssertBitIdentical([expected], [actual], $"onnx mutation {done} ({kind}, seed {Seed + 1})");
            }
            catch (ModelFormatException e)
            {
                Assert.Contains($"fuzz-{done}.onnx", e.Message, StringComparison.Ordinal);
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"onnx mutation {done} ({kind}, seed {Seed + 1}) gave {e.GetType().Name}: {e.Message}");
            }
        }

        output.WriteLine($"{done} onnx mutations in {clock.Elapsed.TotalSeconds:F1} s, {refused} refused");
        Assert.True(done >= 100, $"only {done} mutations ran within {OnnxBudget}");
        Assert.True(refused > done / 2, $"{refused} of {done} refused");
    }

    private (string Kind, byte[] Bytes) MutateZip(Random random, int index)
    {
        var bytes = (byte[])saved.ZipBytes.Clone();
        switch (index % 4)
        {
            case 0:
                for (int k = random.Next(1, 4); k > 0; k--)
                {
                    bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                }

                return ("flip", bytes);
            case 1:
                return ("truncate", bytes[..random.Next(bytes.Length)]);
            case 2:
            {
                string[] names;
                using (var zip = new System.IO.Compression.ZipArchive(new MemoryStream(bytes), System.IO.Compression.ZipArchiveMode.Read))
                {
                    names = [.. zip.Entries.Select(e => e.FullName)];
                }

                string victim = names[random.Next(names.Length)];
                return ("remove-entry", SavedModelZip.Rezip(bytes, (name, content) => name == victim ? null : content));
            }

            default:
                return ("rezip-onnx", SavedModelZip.Rezip(bytes, (name, content) =>
                {
                    if (!SavedModelZip.IsNextCharacterOnnx(name, content))
                    {
                        return content;
                    }

                    var changed = (byte[])content.Clone();
                    for (int k = random.Next(1, 3); k > 0; k--)
                    {
                        changed[4 + random.Next(changed.Length - 4)] ^= (byte)(1 << random.Next(8));
                    }

                    return changed;
                }));
        }
    }

    /// <summary>Changes one field through protobuf (so the file still parses): a weight, an attribute or a metadata value.</summary>
    private static byte[] MutateField(Random random, byte[] bytes)
    {
        var proto = ModelProto.Parser.ParseFrom(bytes);
        switch (random.Next(3))
        {
            case 0:
                var t = proto.Graph.Initializer[random.Next(proto.Graph.Initializer.Count)];
                if (!t.RawData.IsEmpty)
                {
                    var raw = t.RawData.ToByteArray();
                    raw[random.Next(raw.Length)] ^= (byte)(1 << random.Next(8));
                    t.RawData = ByteString.CopyFrom(raw);
                }

                break;
            case 1:
                var node = proto.Graph.Node[random.Next(proto.Graph.Node.Count)];
                if (node.Attribute.Count > 0)
                {
                    var a = node.Attribute[random.Next(node.Attribute.Count)];
                    a.I ^= 1;
                    a.F += 1f;
                }
                else
                {
                    proto.Graph.Node.Remove(node);
                }

                break;
            default:
                var p = proto.MetadataProps[random.Next(proto.MetadataProps.Count)];
                p.Value = p.Value.Length > 2 ? p.Value[..^1] : p.Value + " ";
                break;
        }

        return proto.ToByteArray();
    }

    private static void AssertBitIdentical(float[][] expected, float[][] actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} rows, expected {expected.Length}");
        for (int r = 0; r < expected.Length; r++)
        {
            Assert.True(
                expected[r].Length == actual[r].Length && expected[r].Zip(actual[r]).All(x => BitConverter.SingleToInt32Bits(x.First) == BitConverter.SingleToInt32Bits(x.Second)),
                $"{what}: row {r} scores differ from the undamaged model's");
        }
    }
}
