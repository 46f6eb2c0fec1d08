// `playground`: write a static site that predicts a model's next characters in the browser (onnxruntime-web,
// vendored from npm by the build), with attention, sampling and a model card; serve it from any static server.
using System.CommandLine;
using Google.Protobuf;
using Microsoft.ML;
using MLNet.Transformer.Onnx;
using MLNet.Transformer.Visualization;

namespace MLNet.Transformer.Cli.Commands;

internal static class PlaygroundCommand
{
    /// <summary>Where the CLI's build copied onnxruntime-web's files (see MLNet.Transformer.Cli.csproj).</summary>
    private static string RuntimeDirectory => Path.Combine(AppContext.BaseDirectory, "onnxruntime-web");

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "A model .zip saved by train (or sweep).", Required = true };
        var output = new Option<string>("--out") { Description = "The folder to write the site into (created if needed).", Required = true };
        var cmd = new Command("playground",
            "Write an offline browser playground: type text, see the next character's probabilities, attention per layer and head, samples and the model card. Serve the folder over HTTP (file:// does not work).")
        { model, output };
        cmd.SetAction(parse =>
        {
            var ml = new MLContext(0);
            var loaded = ModelFile.Load(ml, parse.GetValue(model)!);
            string dir = parse.GetValue(output)!;
            if (File.Exists(dir))
            {
                throw new IOException($"--out: '{dir}' is a file; give a folder for the site.");
            }

            var onnx = loaded.Loaded.Onnx;
            // The token-id export with every output (next_token_probabilities, probabilities, attention), symbolic batch.
            byte[] graph = OnnxExporter.Export(onnx.Members).ToByteArray();
            var description = new PlaygroundModel(Path.GetFileName(loaded.Path), loaded.Info, onnx.ParameterCount, onnx.Members.Count, loaded.History);
            IReadOnlyList<string> written;
            try
            {
                written = PlaygroundSite.Write(dir, description, graph, RuntimeDirectory);
            }
            catch (Exception e) when (e is UnauthorizedAccessException or DirectoryNotFoundException || (e is IOException && e is not FileNotFoundException))
            {
                throw new IOException($"--out: cannot write the site into '{dir}': {e.Message}", e);
            }

            string index = Path.GetFullPath(Path.Combine(dir, "index.html"));
            CliHost.Output(parse, new { site = Path.GetFullPath(dir), index, files = written.Select(Path.GetFullPath) }, () =>
            {
                Console.WriteLine($"Wrote the playground into {Path.GetFullPath(dir)} ({written.Count} files).");
                Console.WriteLine($"Serve it over HTTP, e.g.: python3 -m http.server 8000 --bind 127.0.0.1 --directory {Path.GetFullPath(dir)}");
                Console.WriteLine("then open http://127.0.0.1:8000/ (add ?text=... to start with a text).");
            });
        });
        return cmd;
    }
}
