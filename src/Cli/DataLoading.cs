// Loading the command line's --data files: one example per line, or CSV/TSV with a header and named columns.
using MLNet.Transformer.Data;

namespace MLNet.Transformer.Cli;

internal static class DataLoading
{
    /// <summary>Token-id column the CLI's pipelines use for the text.</summary>
    public const string TokensColumn = "Tokens";

    /// <summary>Token-id column for the source text of encoder-decoder models.</summary>
    public const string SourceIdsColumn = "SourceIds";

    /// <summary>
    /// Loads <paramref name="path"/>: .csv and .tsv files are read with their header and <paramref name="column"/>
    /// (default: the first column) names the text; any other file has one example per line in column "Text".
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
            char sep = ext == ".tsv" ? '\t' : ',';
            var view = ml.Data.LoadFromTextFile(path, new TextLoaderOptions { Separator = sep, HasHeader = true });
            string text = column ?? view.Schema[0].Name;
            _ = view.Schema[text];
            if (sourceColumn is not null)
            {
                _ = view.Schema[sourceColumn];
            }

            return (view, text);
        }

        if (sourceColumn is not null)
        {
            throw new ArgumentException($"--source-column needs a .csv or .tsv file with a header; '{path}' is a plain text file.");
        }

        return (ml.Data.LoadFromTextLines(path, column ?? "Text"), column ?? "Text");
    }
}
