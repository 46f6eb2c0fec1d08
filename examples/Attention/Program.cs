// Example: look inside a small 2-layer, 4-head decoder: read the Attention column of one scored text, print one
// head as a table, then write the offline HTML viewer (AttentionPage) and bertviz JSON for the same text.
// Run: dotnet run --project examples/Attention -c Release [output folder]
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Transformer.Examples;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.Visualization;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
string dataPath = ExampleFiles.NamesPath;
string outDir = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "mlnet-transformer-attention-example");
Directory.CreateDirectory(outDir);
const string Text = "flycatcher";

var ml = new MLContext(seed: 1);
IDataView names = ml.Data.LoadFromTextFile<TextRow>(dataPath);
var model = ml.MulticlassClassification.Trainers.TransformerDecoder(new TransformerDecoderTrainerOptions
{
    Layers = 2, Heads = 4, ModelDimension = 64, FeedForwardDimension = 128, Epochs = 10, Seed = 1,
}).Fit(names);

// Score one text. Attention is flattened [Layer, Head, Query, Key]: Layer and Head come from the model's
// description (model.Info.Architecture), the query/key axes are the InputTokens (<BOS> and the characters).
IDataView scored = model.Transform(ml.Data.LoadFromEnumerable(new[] { new TextRow { Text = Text } }));
int layers = model.Info.Architecture.Layers, heads = model.Info.Architecture.Heads;
var row = ml.Data.CreateEnumerable<AttentionRow>(scored, reuseRowObject: false).Single();
int t = row.InputTokens.Length;
Console.WriteLine($"'{Text}': {layers} layers x {heads} heads, {t} x {t} attention per head ({row.Attention.Length} floats)");

// One head as a table: row = query position, column = key position; causal, so the upper triangle is 0.
const int Layer = 1, Head = 0;
Console.WriteLine($"Layer {Layer + 1}, head {Head + 1} (row: query attends to column: key), in %:");
Console.WriteLine("      " + string.Concat(row.InputTokens.Select(Short)));
for (int q = 0; q < t; q++)
{
    var cells = Enumerable.Range(0, t).Select(k =>
    {
        float w = row.Attention[(((Layer * heads) + Head) * t + q) * t + k]; // index into (L, H, T, T)
        return k > q ? "    ." : $"{w * 100,5:F0}";
    });
    Console.WriteLine(Short(row.InputTokens[q]) + " " + string.Concat(cells));
}

// The same data, every layer and head, as a self-contained page and as bertviz JSON.
var data = AttentionColumns.Read(scored, model.Info, row: 0, title: $"'{Text}' - decoder, 2 layers x 4 heads");
string page = Path.Combine(outDir, "attention.html");
string json = Path.Combine(outDir, "attention.bertviz.json");
AttentionPage.Write(data, page);
BertvizJson.Write(data.Sections.Single(s => s.Kind == AttentionKind.DecoderSelf), json);
Console.WriteLine($"Wrote {page} ({new FileInfo(page).Length / 1024} KiB, works offline)");
Console.WriteLine($"Wrote {json}");

static string Short(string token) => $"{(token == "<BOS>" ? "BOS" : token),5}";

/// <summary>The input row: one name per line.</summary>
internal sealed class TextRow
{
    [LoadColumn(0)]
    public string Text { get; set; } = "";
}

/// <summary>The columns this example reads back.</summary>
internal sealed class AttentionRow
{
    public string[] InputTokens { get; set; } = [];

    public float[] Attention { get; set; } = [];
}

// Expected output (a real run: libtorch 1.13 on CPU, Debian 12, x64). Fixed seeds: on one machine it repeats
// exactly. Another CPU or libtorch build may round differently, so the percentages can move by a point or two;
// stable everywhere: the header line, the causal upper triangle of '.', rows summing to ~100, and the two files.
//
// 'flycatcher': 2 layers x 4 heads, 11 x 11 attention per head (968 floats)
// Layer 2, head 1 (row: query attends to column: key), in %:
//         BOS    f    l    y    c    a    t    c    h    e    r
//   BOS   100    .    .    .    .    .    .    .    .    .    .
//     f    38   62    .    .    .    .    .    .    .    .    .
//     l     1    1   98    .    .    .    .    .    .    .    .
//     y    32   10   17   41    .    .    .    .    .    .    .
//     c     0    6   13   81    0    .    .    .    .    .    .
//     a    12    1   11    5   33   37    .    .    .    .    .
//     t    56    5    2    9    6    7   16    .    .    .    .
//     c     0    1    1    5    0    3   89    1    .    .    .
//     h    64    1    1    5    7    3    3    8    8    .    .
//     e    34    1    1    3   19   11    1   14   14    2    .
//     r     1    2    0    2    0    0    1    1   17   66    8
// Wrote /tmp/mlnet-transformer-attention-example/attention.html (36 KiB, works offline)
// Wrote /tmp/mlnet-transformer-attention-example/attention.bertviz.json
