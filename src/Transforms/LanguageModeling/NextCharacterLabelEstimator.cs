// The label of ML.NET's multiclass evaluator for (prefix, next character) rows: ML.NET's own MapValueToKey over the
// vocabulary of the next-character model earlier in the pipeline, read from its PredictedLabel key values when fitted,
// so key k is the model's Score slot k - 1 (also in CrossValidate, where every fold's model has its own vocabulary).
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Transformer.LanguageModeling;

/// <summary>
/// Maps a Text column holding the next character (a vocabulary token: one character, or <c>&lt;EOS&gt;</c> after the
/// last) to a key over the vocabulary of the next-character model that precedes it in the pipeline, for
/// <c>mlContext.MulticlassClassification.Evaluate</c> and <c>CrossValidate</c>. Fitting gives ML.NET's own
/// <c>MapValueToKey</c> transformer (saveable); characters outside the vocabulary get the missing key.
/// </summary>
public sealed class NextCharacterLabelEstimator : IEstimator<ITransformer>
{
    private readonly MLContext _context;

    internal NextCharacterLabelEstimator(MLContext context, string outputColumnName, string inputColumnName)
    {
        _context = context;
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
    }

    /// <summary>The key column written (ML.NET's evaluators read "Label" by default).</summary>
    public string OutputColumnName { get; }

    /// <summary>The Text column holding the next character.</summary>
    public string InputColumnName { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException">The next-character column is missing or not Text, or no
    /// next-character model precedes this estimator.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var columns = inputSchema.ToDictionary(c => c.Name, c => c);
        Check(
            columns.TryGetValue(InputColumnName, out var column),
            column.Kind == SchemaShape.Column.VectorKind.Scalar && column.ItemType is TextDataViewType,
            column.Kind == SchemaShape.Column.VectorKind.Scalar ? column.ItemType?.ToString() : $"Vector<{column.ItemType}>",
            columns.TryGetValue(NextCharacterColumns.PredictedLabel, out var predicted) && predicted.IsKey);
        return _context.Transforms.Conversion.MapValueToKey(OutputColumnName, InputColumnName).GetOutputSchema(inputSchema);
    }

    private void Check(bool found, bool isText, string? type, bool afterModel)
    {
        if (!found)
        {
            throw new ArgumentOutOfRangeException(paramName: null, $"Could not find input column '{InputColumnName}' (expected type String): the next character of each row, the label of the evaluation.");
        }

        if (!isText)
        {
            throw new ArgumentOutOfRangeException(paramName: null, $"Schema mismatch for input column '{InputColumnName}': expected String, got {type}.");
        }

        if (!afterModel)
        {
            throw new ArgumentOutOfRangeException(paramName: null, $"Column '{OutputColumnName}' maps '{InputColumnName}' over a next-character model's vocabulary: append it after the model (no key column '{NextCharacterColumns.PredictedLabel}' in its input).");
        }
    }

    /// <inheritdoc />
    public ITransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var column = input.Schema.GetColumnOrNull(InputColumnName);
        var predicted = input.Schema.GetColumnOrNull(NextCharacterColumns.PredictedLabel);
        Check(column is not null, column?.Type is TextDataViewType, column?.Type.ToString(), predicted?.Type is KeyDataViewType);
        var tokens = Vocabulary(input.Schema);
        var keyData = NextCharacterModel.VocabularyView(_context, tokens);
        return _context.Transforms.Conversion.MapValueToKey(OutputColumnName, InputColumnName, keyData: keyData).Fit(input);
    }

    /// <summary>
    /// The vocabulary of the next-character model that scored <paramref name="schema"/>: the KeyValues of its
    /// <see cref="NextCharacterColumns.PredictedLabel"/>, in key order (token k - 1 is key k and Score's slot k - 1).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The schema has no PredictedLabel key with key values.</exception>
    public static IReadOnlyList<string> Vocabulary(DataViewSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var column = schema.GetColumnOrNull(NextCharacterColumns.PredictedLabel);
        if (column is not { } c || c.Type is not KeyDataViewType || !c.HasKeyValues())
        {
            throw new ArgumentOutOfRangeException(paramName: null, $"No key column '{NextCharacterColumns.PredictedLabel}' with key values: score the data with a next-character model first.");
        }

        VBuffer<ReadOnlyMemory<char>> values = default;
        c.GetKeyValues(ref values);
        return [.. values.DenseValues().Select(v => v.ToString())];
    }
}
