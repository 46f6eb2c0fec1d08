// `attention`: score one text and write its attention of every layer and head as a self-contained HTML page
// (and optionally bertviz JSON).
using System.CommandLine;
using Microsoft.ML;
using MLNet.Transformer.Visualization;

namespace MLNet.Transformer.Cli.Commands;

internal static class AttentionCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "A model .zip saved by train.", Required = true };
        var text = new Option<string>("--text") { Description = "The text to look at.", Required = true };
        var output = new Option<string>("--out") { Description = "The HTML page to write (works offline).", Required = true };
        var bertviz = new Option<string?>("--bertviz-json") { Description = "Also write the decoder self-attention in bertviz's JSON format." };
        var source = new Option<string?>("--source") { Description = "Source text (encoder-decoder models with a source column)." };
        var cmd = new Command("attention", "Write an offline HTML page of a text's attention: head view and all layers x heads.") { model, text, output, bertviz, source };
        cmd.SetAction(parse =>
        {
            OutputPaths.CheckDistinct([("--model", parse.GetValue(model))], [("--out", parse.GetValue(output)), ("--bertviz-json", parse.GetValue(bertviz))]);
            var ml = new MLContext(0);
            using var loaded = ModelFile.Load(ml, parse.GetValue(model)!);
            string t = parse.GetValue(text)!;
            var a = loaded.Info.Architecture;
            string title = $"'{t}' - {a.Kind} {a.Layers} layer(s) x {a.Heads} head(s), d_model {a.ModelDim}";
            var data = AttentionColumns.Read(loaded.Score(ml, [t], parse.GetValue(source)), loaded.Info, 0, title);
            string outPath = parse.GetValue(output)!;
            AttentionPage.Write(data, outPath);
            string? jsonPath = parse.GetValue(bertviz);
            if (jsonPath is not null)
            {
                BertvizJson.Write(data.Sections.First(s => s.Kind == AttentionKind.DecoderSelf), jsonPath);
            }

            CliHost.Output(parse, new { page = Path.GetFullPath(outPath), bertvizJson = jsonPath is null ? null : Path.GetFullPath(jsonPath), sections = data.Sections.Select(s => new { kind = s.Kind.ToString(), s.Layers, s.Heads, queryTokens = s.QueryTokens, keyTokens = s.KeyTokens }) },
                () => Console.WriteLine($"Wrote {Path.GetFullPath(outPath)} ({string.Join(", ", data.Sections.Select(s => $"{s.DisplayName}: {s.Layers}x{s.Heads}"))})"));
        });
        return cmd;
    }
}
