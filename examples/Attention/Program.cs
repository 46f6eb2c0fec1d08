// Example: look inside a small 2-layer, 4-head decoder: read the Attention column of one scored text, print one
// head as a table, then write the offline HTML viewer (AttentionPage) and bertviz JSON for the same text.
// Run: dotnet run --project examples/Attention -c Release [output folder]
using System.Globalization;
using MLNet.Transformer;
using MLNet.Transformer.Examples;
using MLNet.Transformer.Data;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.Text;
using MLNet.Transformer.Visualization;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
string dataPath = ExampleFiles.NamesPath;
string outDir = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "mlnet-transformer-attention-example");
Directory.CreateDirectory(outDir);
const string Text = "flycatcher";

var ml = new MLContext(seed: 1);
IDataView names = ml.Data.LoadFromTextLines(dataPath);
var pipeline = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", inputColumnName: "Text")
    .Append(ml.LanguageModeling.Trainers.TransformerDecoder(
        "Tokens", layers: 2, heads: 4, modelDimension: 64, feedForwardDimension: 128, epochs: 10));
using var model = pipeline.Fit(names);

// Score one text. Attention is flattened [Layer, Head, Query, Key]; the Shape annotation gives Layer and Head,
// and the query/key axes are the InputTokens (<BOS> and the characters).
IDataView scored = model.Transform(ml.Data.LoadFromEnumerable(new[] { new TextRow { Text = Text } }));
var attentionColumn = scored.Schema[NextCharacterColumns.Attention];
int[] shape = attentionColumn.Annotations.GetValue<int[]>(Annotations.Kinds.Shape);
int layers = shape[0], heads = shape[1];
var row = ml.Data.CreateEnumerable<AttentionRow>(scored).Single();
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
var data = AttentionColumns.Read(scored, row: 0, title: $"'{Text}' - decoder, 2 layers x 4 heads");
string page = Path.Combine(outDir, "attention.html");
string json = Path.Combine(outDir, "attention.bertviz.json");
AttentionPage.Write(data, page);
BertvizJson.Write(data.Sections.Single(s => s.Kind == AttentionKind.DecoderSelf), json);
Console.WriteLine($"Wrote {page} ({new FileInfo(page).Length / 1024} KiB, works offline)");
Console.WriteLine($"Wrote {json}");

static string Short(string token) => $"{(token == "<BOS>" ? "BOS" : token),5}";

/// <summary>The input row.</summary>
internal sealed class TextRow
{
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
//     f    81   19    .    .    .    .    .    .    .    .    .
//     l     2    4   95    .    .    .    .    .    .    .    .
//     y     0    4   82   13    .    .    .    .    .    .    .
//     c    78   17    2    3    1    .    .    .    .    .    .
//     a    12    2   41   35    5    5    .    .    .    .    .
//     t     2   10   71    2    6    2    8    .    .    .    .
//     c    82    9    1    2    0    5    1    0    .    .    .
//     h     2    5   19    3   10    7   19   17   17    .    .
//     e     0    0    3    1    2    5    4    7   76    1    .
//     r     4    1    4    1    4    4    3    7   11   58    2
// Wrote /tmp/mlnet-transformer-attention-example/attention.html (36 KiB, works offline)
// Wrote /tmp/mlnet-transformer-attention-example/attention.bertviz.json
