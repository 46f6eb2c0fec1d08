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

        IEstimator<NextCharacterPredictionTransformer> trainer = options switch
        {
            TransformerDecoderTrainerOptions d => ml.LanguageModeling.Trainers.TransformerDecoder(d),
            TransformerEncoderDecoderTrainerOptions e => ml.LanguageModeling.Trainers.TransformerEncoderDecoder(e),
            _ => throw new ArgumentException("Unknown trainer options.", nameof(options)),
        };
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

            Chain = ml.Model.Load(path, out var schema);
            InputSchema = schema;
            Predictor = Find(Chain) ?? throw new ArgumentException($"--model: '{path}' holds no next-character model stage.");
            TextColumn = InputSchema.FirstOrDefault(c => !c.IsHidden && c.Type is TextDataViewType)?.Name
                ?? throw new ArgumentException($"--model: '{path}' expects no text column.");
        }

        public ITransformer Chain { get; }

        public DataViewSchema InputSchema { get; }

        public NextCharacterPredictionTransformer Predictor { get; }

        public string TextColumn { get; }

        /// <summary>Scores the given texts (one row each) through the whole pipeline.</summary>
        public IDataView Score(IReadOnlyList<string> texts) => Chain.Transform(new TextListView(TextColumn, texts));

        public void Dispose() => Chain.Dispose();

        private static NextCharacterPredictionTransformer? Find(ITransformer t) => t switch
        {
            NextCharacterPredictionTransformer p => p,
            Persistence.LoadedModel l => Find(l.Model),
            IEnumerable<ITransformer> chain => chain.Select(Find).LastOrDefault(x => x is not null),
            _ => null,
        };
    }

    /// <summary>An in-memory view with one Text column of the given name (the model's text column).</summary>
    private sealed class TextListView(string column, IReadOnlyList<string> texts) : IDataView
    {
        public DataViewSchema Schema { get; } = new DataViewSchema.Builder().AddColumn(column, TextDataViewType.Instance).ToSchema();

        public long? GetRowCount() => texts.Count;

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded) => new Cursor(Schema, texts);

        private sealed class Cursor(DataViewSchema schema, IReadOnlyList<string> texts) : DataViewRowCursor
        {
            private int _row = -1;

            public override DataViewSchema Schema => schema;

            public override long Position => _row;

            public override bool MoveNext() => ++_row < texts.Count;

            public override bool IsColumnActive(DataViewSchema.Column column) => true;

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                CheckGetterType<TValue>(column);
                return (ValueGetter<TValue>)(Delegate)(ValueGetter<string>)((ref string v) => v = texts[_row]);
            }
        }
    }
}
