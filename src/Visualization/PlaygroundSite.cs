// Writes the playground: a static site (index.html, its script, styles and tokenizer, the model's ONNX graph,
// model.json and onnxruntime-web's WebAssembly build) that predicts next characters in the browser, offline.
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.Onnx;

namespace MLNet.Transformer.Visualization;

/// <summary>What the playground shows of a model besides its graph.</summary>
/// <param name="Name">A title for the page (usually the model file's name).</param>
/// <param name="Info">The model's description: architecture, vocabularies, special ids, columns.</param>
/// <param name="Parameters">Number of weights (all members of an ensemble).</param>
/// <param name="EnsembleSize">Members averaged by the graph (1 for one model).</param>
/// <param name="History">The training record, when the model file keeps one (the loss curve of the model card).</param>
public sealed record PlaygroundModel(string Name, NextCharacterModelInfo Info, long Parameters, int EnsembleSize, TrainingHistory? History);

/// <summary>
/// The playground site: a folder to serve over HTTP (any static server; <c>file://</c> does not work, since browsers
/// load neither ES modules nor the model from files). The page reads <c>model.json</c> and runs <c>model.onnx</c>
/// (the token-id export with every output) in onnxruntime-web's single-threaded WebAssembly build.
/// </summary>
/// <remarks>
/// Contract for scripts and tests: <c>index.html?text=...</c> (and <c>&amp;source=...</c>, <c>&amp;top=K</c>) renders
/// that text's prediction; rows of <c>#top</c> carry <c>data-token</c> and <c>data-probability</c>; the body carries
/// <c>data-ready="true"</c>, <c>data-text</c>, <c>data-prediction-count</c>, <c>data-first-prediction-ms</c>,
/// <c>data-last-update-ms</c>, <c>data-truncated</c> and <c>data-errors</c> / <c>data-error-count</c>.
/// </remarks>
public static class PlaygroundSite
{
    /// <summary>The files of onnxruntime-web's <c>dist</c> folder the page loads: the WebAssembly-only ES module
    /// bundle, its Emscripten loader and the SIMD WebAssembly binary.</summary>
    public static IReadOnlyList<string> RuntimeFiles { get; } = ["ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"];

    /// <summary>The page's own files, embedded in this assembly (attention.css is the attention page's stylesheet).</summary>
    private static readonly string[] PageFiles = ["index.html", "playground.js", "tokenizer.js", "playground.css", "attention.css"];

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = false,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>
    /// Writes the site into <paramref name="directory"/> (created if needed; files of the same names are replaced).
    /// </summary>
    /// <param name="directory">The site folder.</param>
    /// <param name="model">The model's description.</param>
    /// <param name="onnx">The token-id ONNX export with every output (<c>OnnxExporter.Export(members)</c>).</param>
    /// <param name="runtimeDirectory">onnxruntime-web's <c>dist</c> folder (or a copy holding <see cref="RuntimeFiles"/>).</param>
    /// <returns>The paths written.</returns>
    /// <exception cref="FileNotFoundException">A runtime file is missing from <paramref name="runtimeDirectory"/>.</exception>
    public static IReadOnlyList<string> Write(string directory, PlaygroundModel model, byte[] onnx, string runtimeDirectory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(onnx);
        ArgumentNullException.ThrowIfNull(runtimeDirectory);
        foreach (string f in RuntimeFiles)
        {
            string path = Path.Combine(runtimeDirectory, f);
            if (!File.Exists(path))
            {
                throw new FileNotFoundException(
                    $"onnxruntime-web's '{f}' is missing from '{runtimeDirectory}': the build vendors it from npm (run ./build.sh build, which runs npm ci).", path);
            }
        }

        var outputs = OnnxModelFile.Read(onnx, model.Name).Model.Graph.Output.Select(o => o.Name).ToArray();
        var written = new List<string>();
        string ort = Path.Combine(directory, "ort");
        Directory.CreateDirectory(ort);
        foreach (string f in PageFiles)
        {
            written.Add(WriteFile(Path.Combine(directory, f), ReadAsset(f)));
        }

        written.Add(WriteFile(Path.Combine(directory, "model.onnx"), onnx));
        written.Add(WriteFile(Path.Combine(directory, "model.json"), JsonSerializer.SerializeToUtf8Bytes(Describe(model, outputs), Json)));
        foreach (string f in RuntimeFiles)
        {
            string target = Path.Combine(ort, f);
            File.Copy(Path.Combine(runtimeDirectory, f), target, overwrite: true);
            written.Add(target);
        }

        return written;
    }

    /// <summary>The content of model.json: everything the page needs that the ONNX JavaScript API cannot read from
    /// <c>metadata_props</c>.</summary>
    internal static object Describe(PlaygroundModel model, IReadOnlyList<string> outputs)
    {
        var info = model.Info;
        var h = model.History;
        return new
        {
            name = model.Name,
            parameters = model.Parameters,
            ensemble = model.EnsembleSize > 1 ? model.EnsembleSize : (int?)null,
            config = info.Architecture,
            vocabulary = info.Vocabulary,
            sourceVocabulary = info.HasSource ? info.SourceVocabulary ?? info.Vocabulary : null,
            specialTokens = new { pad = info.PadId, bos = info.BosId, eos = info.EosId, unk = info.UnkId },
            columns = new
            {
                text = info.TextColumnName,
                source = info.HasSource ? info.SourceColumnName : null,
                normalize = info.Normalize,
                lowerCase = info.LowerCase,
                trainedOn = info.TrainedOn,
            },
            onnx = new { file = "model.onnx", outputs },
            training = h is null ? null : new
            {
                epochs = h.Epochs.Select(e => new { epoch = e.Epoch, trainLoss = Finite(e.TrainLoss), validationLoss = e.ValidationLoss is { } v ? Finite(v) : null }),
                bestEpoch = h.BestEpoch,
                bestValidationLoss = h.BestValidationLoss,
            },
        };
    }

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;

    private static string WriteFile(string path, byte[] bytes)
    {
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] ReadAsset(string name)
    {
        Assembly assembly = typeof(PlaygroundSite).Assembly;
        string resource = name == "attention.css" ? "MLNet.Transformer.Visualization.attention.css" : "MLNet.Transformer.Visualization.Playground." + name;
        using Stream stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The embedded asset '{name}' is missing from {assembly.GetName().Name}.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}
