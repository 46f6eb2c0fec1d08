// A model .zip on the command line: ML.NET's own format (mlContext.Model.Save), loaded through
// NextCharacterModel.Load, with errors naming --model; plus the training record the CLI keeps next to the chain.
using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML;
using MLNet.Transformer.IO;
using MLNet.Transformer.LanguageModeling;

namespace MLNet.Transformer.Cli;

/// <summary>A loaded model .zip: the ML.NET chain, its description and the training record `train` stored with it.</summary>
internal sealed class ModelFile : IDisposable
{
    /// <summary>Zip entry where `train` keeps the training history (ML.NET ignores entries it does not know).</summary>
    public const string HistoryEntry = "MLNet.Transformer.Cli/TrainingHistory.json";

    private ModelFile(string path, LoadedNextCharacterModel loaded, TrainingHistory? history)
    {
        Path = path;
        Loaded = loaded;
        History = history;
    }

    public string Path { get; }

    public LoadedNextCharacterModel Loaded { get; }

    public NextCharacterModelInfo Info => Loaded.Info;

    /// <summary>The training record, when the zip was written by `train`.</summary>
    public TrainingHistory? History { get; }

    /// <summary>Loads <paramref name="path"/>; every failure names --model and the file.</summary>
    public static ModelFile Load(MLContext ml, string path)
    {
        if (!File.Exists(path) && !(Directory.Exists(path) && Checkpoints.Checkpoint.IsCheckpoint(path)))
        {
            throw new FileNotFoundException($"--model: file '{path}' not found.", path);
        }

        try
        {
            if (Directory.Exists(path))
            {
                return new ModelFile(path, NextCharacterModel.Load(ml, path), null);  // a checkpoint: no training record
            }

            // One read of the file: every entry checked (CRC-32, sizes), the chain and the history loaded from those bytes.
            var archive = ModelArchive.Read(path);
            var history = ReadHistory(archive);
            return new ModelFile(path, NextCharacterModel.Load(ml, archive), history);
        }
        catch (Exception e) when (e is ModelFormatException or InvalidDataException or JsonException)
        {
            // The library's message may not say which file: name it, as every other --model error does.
            string message = e.Message.StartsWith(path, StringComparison.Ordinal) ? e.Message[path.Length..].TrimStart(':', ' ') : e.Message;
            throw new InvalidDataException($"--model: '{path}' is not a valid model: {message}", e);
        }
    }

    /// <summary>
    /// Writes <paramref name="model"/> as an ML.NET zip with the training record, through a temporary file in the
    /// same folder and a rename: a failed save leaves no partial file and an existing file untouched.
    /// </summary>
    public static void Save(MLContext ml, ITransformer model, DataViewSchema inputSchema, TrainingHistory? history, string path)
    {
        using var buffer = new MemoryStream();
        ml.Model.Save(model, inputSchema, buffer);
        if (history is not null)
        {
            using var zip = new ZipArchive(buffer, ZipArchiveMode.Update, leaveOpen: true);
            using var entry = zip.CreateEntry(HistoryEntry).Open();
            JsonSerializer.Serialize(entry, history, CliHost.JsonOptions);
        }

        try
        {
            AtomicFile.Write(path, stream =>
            {
                buffer.Position = 0;
                buffer.CopyTo(stream);
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"--out: cannot write '{path}': {e.Message}", e);
        }
    }

    /// <summary>Scores <paramref name="texts"/> (one row each); <paramref name="source"/> feeds a model with a source column.</summary>
    public IDataView Score(MLContext ml, IReadOnlyList<string> texts, string? source)
    {
        if (!Info.HasSource && source is not null)
        {
            throw new ArgumentException("--source: this model reads no source text (it is not an encoder-decoder trained with --source-column); leave --source out.");
        }

        if (Info.HasSource && source is null)
        {
            throw new ArgumentException($"--source: this encoder-decoder model reads its source from column '{Info.SourceColumnName}'; give the source text with --source.");
        }

        return Scoring(ml).Transform(NextCharacterModel.CreateInput(ml, Info, texts.Select(t => (t, source))));
    }

    /// <summary>Disposes the chain, removing ML.NET's temporary copy of the ONNX model.</summary>
    public void Dispose() => Loaded.Dispose();

    /// <summary>What the saved chain computes: every column, or only the next character (--outputs next-character).</summary>
    public NextCharacterOutputs Outputs =>
        Loaded.Model.GetOutputSchema(Loaded.InputSchema).GetColumnOrNull(NextCharacterColumns.LogLoss) is null
            ? NextCharacterOutputs.NextCharacter
            : NextCharacterOutputs.All;

    /// <summary>The loaded chain, or, for a model saved with --outputs next-character, its chain with every column.</summary>
    public ITransformer Scoring(MLContext ml) =>
        Outputs == NextCharacterOutputs.NextCharacter ? Loaded.CreateChain(ml, NextCharacterOutputs.All) : Loaded.Model;

    private static TrainingHistory? ReadHistory(ModelArchive archive) =>
        archive.GetEntry(HistoryEntry) is { } entry ? JsonSerializer.Deserialize<TrainingHistory>(entry.Span, CliHost.JsonOptions) : null;
}
