// A trial's fitted model as bytes for the study store: its checkpoint (architecture, vocabulary, weights; no optimiser
// state) and its training record, zipped. The worker that finalizes a shared study with SweepRefit.BestTrial then
// returns the best trial's own model even when another worker trained it, instead of training it again.
using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML;
using MLNet.Transformer.Checkpoints;
using MLNet.Transformer.LanguageModeling;

namespace MLNet.Transformer.AutoML;

internal static class TrialModelArchive
{
    private const string HistoryEntry = "history.json";

    /// <summary>The model's checkpoint (weights only) and history as one zip.</summary>
    public static byte[] Pack(NextCharacterPredictionTransformer model)
    {
        var checkpoint = model.Checkpoint ?? throw new InvalidOperationException("A trial's model carries the checkpoint it was trained to.");
        var weightsOnly = checkpoint with { Optimizer = null, RandomState = null, Training = null };
        var folder = Directory.CreateTempSubdirectory("mlt-trial-");
        try
        {
            string saved = Path.Combine(folder.FullName, "checkpoint");
            weightsOnly.Save(saved);
            using var buffer = new MemoryStream();
            using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
            {
                foreach (string file in Directory.EnumerateFiles(saved))
                {
                    zip.CreateEntryFromFile(file, Path.GetFileName(file), CompressionLevel.Fastest);
                }

                if (model.History is { } history)
                {
                    using var entry = zip.CreateEntry(HistoryEntry, CompressionLevel.Fastest).Open();
                    JsonSerializer.Serialize(entry, history);
                }
            }

            return buffer.ToArray();
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>The fitted model <see cref="Pack"/> wrote, rebuilt in <paramref name="ml"/>.</summary>
    /// <exception cref="ModelFormatException">The bytes are not such an archive (<paramref name="what"/> names them).</exception>
    public static NextCharacterPredictionTransformer Unpack(MLContext ml, byte[] bytes, string what)
    {
        var folder = Directory.CreateTempSubdirectory("mlt-trial-");
        try
        {
            TrainingHistory? history = null;
            using (var zip = new ZipArchive(new MemoryStream(bytes), ZipArchiveMode.Read))
            {
                foreach (var entry in zip.Entries)
                {
                    if (entry.FullName == HistoryEntry)
                    {
                        using var stream = entry.Open();
                        history = JsonSerializer.Deserialize<TrainingHistory>(stream);
                    }
                    else if (entry.FullName is Checkpoint.DescriptionFile or Checkpoint.WeightsFile)
                    {
                        entry.ExtractToFile(Path.Combine(folder.FullName, entry.FullName));
                    }
                    else
                    {
                        throw new ModelFormatException($"{what} holds an unexpected entry '{entry.FullName}'.");
                    }
                }
            }

            return NextCharacterModel.FromCheckpoint(ml, Checkpoint.Load(folder.FullName), history);
        }
        catch (Exception e) when (e is InvalidDataException or JsonException)
        {
            throw new ModelFormatException($"{what} is not a trial model archive: {e.Message}", e);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
