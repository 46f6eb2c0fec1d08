// The pipelines the command line builds and the helpers that find their parts again after loading a .zip.
using MLNet.Transformer.Data;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.Text;

namespace MLNet.Transformer.Cli;

/// <summary>Tokenizer settings chosen on the command line.</summary>
internal sealed record CharacterTokenizerOptions(bool LowerCase, int MaximumLength);

internal static class Pipelines
{
    /// <summary>text -> Tokens (and source -> SourceIds) -> next-character trainer.</summary>
    public static IEstimator<TransformerChain<NextCharacterPredictionTransformer>> NextCharacter(
        MLContext ml, TransformerTrainerOptions options, string textColumn, string? sourceColumn, CharacterTokenizerOptions tok)
    {
        IEstimator<ITransformer> tokens = ml.Transforms.Text.TokenizeIntoCharacterIds(
            DataLoading.TokensColumn, textColumn, maximumLength: tok.MaximumLength, lowerCase: tok.LowerCase);
        if (sourceColumn is not null)
        {
            tokens = tokens.Append(ml.Transforms.Text.TokenizeIntoCharacterIds(
                DataLoading.SourceIdsColumn, sourceColumn, maximumLength: tok.MaximumLength, lowerCase: tok.LowerCase));
        }

        IEstimator<NextCharacterPredictionTransformer> trainer = ml.LanguageModeling.Trainers.Transformer(options);
        return tokens.Append(trainer);
    }

    /// <summary>A loaded model .zip: the whole chain, its input schema and the next-character stage inside it.</summary>
    public sealed class LoadedModel : IDisposable
    {
        public LoadedModel(MLContext ml, string path)
        {
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"--model: file '{path}' not found.", path);
            }

            try
            {
                Chain = ml.Model.Load(path, out var schema);
                InputSchema = schema;
            }
            catch (Persistence.ModelFormatException e)
            {
                // The library's message says what is wrong, not which file: name it, as every other --model error does.
                throw new InvalidDataException($"--model: '{path}' is not a valid model: {e.Message}", e);
            }

            Predictor = Chain.FindStage<NextCharacterPredictionTransformer>() ?? throw new ArgumentException($"--model: '{path}' holds no next-character model stage.");
            var tokenizers = Chain.Stages().OfType<CharacterTokenizerTransformer>().ToArray();
            TextColumn = tokenizers.FirstOrDefault(t => t.OutputColumnName == Predictor.Info.TokensColumnName)?.InputColumnName
                ?? InputSchema.FirstOrDefault(c => !c.IsHidden && c.Type is TextDataViewType)?.Name
                ?? throw new ArgumentException($"--model: '{path}' expects no text column.");
            SourceColumn = Predictor.Info.HasSource
                ? tokenizers.FirstOrDefault(t => t.OutputColumnName == Predictor.Info.SourceColumnName)?.InputColumnName
                    ?? throw new ArgumentException($"--model: '{path}' reads source ids '{Predictor.Info.SourceColumnName}' that no tokenizer in it writes.")
                : null;
        }

        public ITransformer Chain { get; }

        public DataViewSchema InputSchema { get; }

        public NextCharacterPredictionTransformer Predictor { get; }

        /// <summary>The text column the target tokens are read from.</summary>
        public string TextColumn { get; }

        /// <summary>The source text column of an encoder-decoder model with a source, else null.</summary>
        public string? SourceColumn { get; }

        /// <summary>Scores the given texts (one row each) through the whole pipeline; <paramref name="source"/> feeds a source model.</summary>
        public IDataView Score(IReadOnlyList<string> texts, string? source = null)
        {
            if (SourceColumn is null)
            {
                return Chain.Transform(new TextListView([(TextColumn, texts)]));
            }

            if (source is null)
            {
                throw new ArgumentException($"--source: this encoder-decoder model reads its source from column '{SourceColumn}'; give the source text with --source.");
            }

            return Chain.Transform(new TextListView([(TextColumn, texts), (SourceColumn, [.. texts.Select(_ => source)])]));
        }

        public void Dispose() => Chain.Dispose();
    }

    /// <summary>An in-memory view of Text columns (the model's text column, and its source column if any).</summary>
    private sealed class TextListView(IReadOnlyList<(string Name, IReadOnlyList<string> Values)> columns) : IDataView
    {
        public DataViewSchema Schema { get; } = columns.Aggregate(new DataViewSchema.Builder(), (b, c) => b.AddColumn(c.Name, TextDataViewType.Instance)).ToSchema();

        public long? GetRowCount() => columns[0].Values.Count;

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded) => new Cursor(Schema, columns);

        private sealed class Cursor(DataViewSchema schema, IReadOnlyList<(string Name, IReadOnlyList<string> Values)> columns) : DataViewRowCursor
        {
            private int _row = -1;

            public override DataViewSchema Schema => schema;

            public override long Position => _row;

            public override bool MoveNext() => ++_row < columns[0].Values.Count;

            public override bool IsColumnActive(DataViewSchema.Column column) => true;

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                CheckGetterType<TValue>(column);
                var values = columns[column.Index].Values;
                return (ValueGetter<TValue>)(Delegate)(ValueGetter<string>)((ref string v) => v = values[_row]);
            }
        }
    }
}
