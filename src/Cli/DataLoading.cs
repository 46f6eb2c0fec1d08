// Loading the command line's --data files as ML.NET data views: one example per line (LoadFromEnumerable), or
// CSV/TSV with a header and named columns (TextLoader).
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Transformer.Cli;

internal static class DataLoading
{
    /// <summary>The text column of a plain text file (one example per line).</summary>
    public const string DefaultTextColumn = "Text";

    /// <summary>
    /// Loads <paramref name="path"/>: .csv and .tsv files are read with their header, every column as text, and
    /// <paramref name="column"/> (default: the first column) names the text; any other file has one example per line
    /// in column <paramref name="column"/> (default "Text"). <paramref name="sourceColumn"/> must be a header column.
    /// </summary>
    public static (IDataView Data, string TextColumn) Load(MLContext ml, string path, string? column, string? sourceColumn)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"--data: file '{path}' not found.", path);
        }

        string ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext is ".csv" or ".tsv")
        {
            char separator = ext == ".tsv" ? '\t' : ',';
            string header = File.ReadLines(path).FirstOrDefault()
                ?? throw new InvalidDataException($"--data: '{path}' is empty; a {ext} file needs a header line.");
            string[] names = [.. header.TrimStart('\uFEFF').Split(separator).Select(n => n.Trim().Trim('"'))];
            string text = column ?? names[0];
            RequireColumn(names, text, "--column", path);
            if (sourceColumn is not null)
            {
                RequireColumn(names, sourceColumn, "--source-column", path);
            }

            var loader = ml.Data.CreateTextLoader(new TextLoader.Options
            {
                Separators = [separator],
                HasHeader = true,
                AllowQuoting = true,
                Columns = [.. names.Select((n, i) => new TextLoader.Column(n, DataKind.String, i))],
            });
            return (loader.Load(path), text);
        }

        if (sourceColumn is not null)
        {
            throw new ArgumentException($"--source-column needs a .csv or .tsv file with a header; '{path}' is a plain text file.");
        }

        // One example per line, the whole line (no separator, quoting or comment rules); empty lines are no examples.
        string name = column ?? DefaultTextColumn;
        var definition = SchemaDefinition.Create(typeof(LineRow));
        definition[nameof(LineRow.Text)].ColumnName = name;
        return (ml.Data.LoadFromEnumerable(new Lines(path), definition), name);
    }

    /// <summary>
    /// Every cursor gets its own reader of the file, so the view streams like a TextLoader's and cursors may run at
    /// once (a LINQ chain over one File.ReadLines shares its reader between enumerations: one closes it under another).
    /// </summary>
    /// <summary>
    /// A running text for corpus training: every line of <paramref name="path"/>, empty ones included, read lazily at
    /// each pass (the file is never held as strings), in column "Text".
    /// </summary>
    public static IDataView LoadCorpus(MLContext ml, string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"--corpus: file '{path}' not found.", path);
        }

        return ml.Data.LoadFromEnumerable(new Lines(path, keepEmpty: true));
    }

    private sealed class Lines(string path, bool keepEmpty = false) : IEnumerable<LineRow>
    {
        public IEnumerator<LineRow> GetEnumerator()
        {
            foreach (string line in File.ReadLines(path))
            {
                if (keepEmpty || line.Length > 0)
                {
                    yield return new LineRow { Text = line };
                }
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private static void RequireColumn(string[] names, string name, string flag, string path)
    {
        if (!names.Contains(name, StringComparer.Ordinal))
        {
            throw new ArgumentException($"{flag}: '{path}' has no column '{name}' (columns: {string.Join(", ", names)}).");
        }
    }

    private sealed class LineRow
    {
        public string Text { get; set; } = "";
    }
}
