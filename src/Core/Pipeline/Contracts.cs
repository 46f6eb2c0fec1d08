// The estimator / transformer contracts of an ML.NET-style pipeline.
using MLNet.Transformer.Data;
using MLNet.Transformer.Persistence;

namespace MLNet.Transformer;

/// <summary>
/// A fitted pipeline stage: maps a data view to another, lazily. It holds fitted state (vocabulary, weights),
/// saves itself to a model .zip, and owns native resources, so it must be disposed.
/// </summary>
public interface ITransformer : ICanSaveModel, IDisposable
{
    /// <summary>The schema <see cref="Transform"/> would produce for <paramref name="inputSchema"/>.</summary>
    /// <exception cref="SchemaException">A needed column is missing or of the wrong type.</exception>
    DataViewSchema GetOutputSchema(DataViewSchema inputSchema);

    /// <summary>Returns a lazy view of <paramref name="input"/> with this stage's columns appended.</summary>
    /// <exception cref="SchemaException">A needed column is missing or of the wrong type.</exception>
    IDataView Transform(IDataView input);
}

/// <summary>An unfitted pipeline stage: checks the schema and learns a <typeparamref name="TTransformer"/> from data.</summary>
public interface IEstimator<out TTransformer>
    where TTransformer : ITransformer
{
    /// <summary>Trains on <paramref name="input"/> and returns the fitted transformer.</summary>
    /// <exception cref="SchemaException">A needed column is missing or of the wrong type (checked before any work).</exception>
    TTransformer Fit(IDataView input);

    /// <summary>
    /// The schema the fitted transformer will produce, computed without data. Annotations that only fitting can
    /// know (e.g. a vocabulary) are absent.
    /// </summary>
    /// <exception cref="SchemaException">A needed column is missing or of the wrong type.</exception>
    DataViewSchema GetOutputSchema(DataViewSchema inputSchema);
}
