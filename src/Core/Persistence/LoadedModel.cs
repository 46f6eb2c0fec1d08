// The transformer returned by ModelOperationsCatalog.Load: the saved pipeline plus the input schema it was saved
// with, checked at scoring time so a mismatched input fails with a SchemaException naming the column.
using MLNet.Transformer.Data;

namespace MLNet.Transformer.Persistence;

/// <summary>
/// A loaded pipeline: delegates to <see cref="Model"/> after checking that the input has every (visible) column of
/// <see cref="InputSchema"/> with the same type. Saving it saves <see cref="Model"/>; disposing it disposes <see cref="Model"/>.
/// </summary>
public sealed class LoadedModel : ITransformer
{
    internal LoadedModel(ITransformer model, DataViewSchema inputSchema)
    {
        Model = model;
        InputSchema = inputSchema;
    }

    /// <summary>The saved root stage (e.g. a transformer chain), without the schema check.</summary>
    public ITransformer Model { get; }

    /// <summary>The input schema the model was saved with.</summary>
    public DataViewSchema InputSchema { get; }

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        InputSchema.CheckCompatible(inputSchema);
        return Model.GetOutputSchema(inputSchema);
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        InputSchema.CheckCompatible(input.Schema);
        return Model.Transform(input);
    }

    /// <inheritdoc />
    public void Save(ModelSaveContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Model.Save(context);
    }

    /// <inheritdoc />
    public void Dispose() => Model.Dispose();
}

/// <summary>Checks data against the input schema a model was saved with.</summary>
public static class ModelSchemaChecker
{
    /// <summary>
    /// Throws unless <paramref name="actual"/> has every visible column of <paramref name="expected"/> with an equal
    /// type (vector dimensions included). Extra columns and annotations are not compared.
    /// </summary>
    /// <exception cref="SchemaException">A column is missing or has another type; the message names it.</exception>
    public static void CheckCompatible(this DataViewSchema expected, DataViewSchema actual)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        foreach (var column in expected)
        {
            if (column.IsHidden)
            {
                continue;
            }

            var found = actual.GetColumnOrNull(column.Name);
            if (found is null)
            {
                var missing = SchemaException.MissingColumn(column.Name, actual);
                throw new SchemaException(
                    $"The model was saved with input column '{column.Name}' ({column.Type}), which the data lacks. {missing.Message}", column.Name);
            }

            if (!found.Type.Equals(column.Type))
            {
                throw new SchemaException(
                    $"Column '{column.Name}' has type {found.Type}; the model was saved with input type {column.Type}.", column.Name);
            }
        }
    }
}
