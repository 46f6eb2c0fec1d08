// Composition of pipeline stages, as in ML.NET: an EstimatorChain fits its estimators in order (each on the
// output of the stages before it) into a TransformerChain, which applies, saves and disposes its elements.
using System.Collections;
using MLNet.Transformer.Data;
using MLNet.Transformer.Persistence;

namespace MLNet.Transformer;

/// <summary>The estimators of a chain, for flattening chains appended to chains.</summary>
internal interface IEstimatorChain
{
    IReadOnlyList<IEstimator<ITransformer>> Estimators { get; }
}

/// <summary>
/// Estimators fitted one after another. <see cref="Fit"/> first checks the whole chain's schema with
/// <see cref="GetOutputSchema"/> (so a bad column fails before any training), then fits each estimator on the
/// output of the transformers fitted before it.
/// </summary>
/// <typeparam name="TLastTransformer">The type of the last fitted transformer.</typeparam>
public sealed class EstimatorChain<TLastTransformer> : IEstimator<TransformerChain<TLastTransformer>>, IEstimatorChain
    where TLastTransformer : class, ITransformer
{
    private readonly IEstimator<ITransformer>[] _estimators;

    /// <summary>An empty chain; <see cref="Append{TNewTrans}"/> estimators to it.</summary>
    public EstimatorChain() => _estimators = [];

    private EstimatorChain(IEstimator<ITransformer>[] estimators) => _estimators = estimators;

    /// <summary>The estimators, in order.</summary>
    public IReadOnlyList<IEstimator<ITransformer>> Estimators => _estimators;

    /// <summary>The last estimator.</summary>
    /// <exception cref="InvalidOperationException">The chain is empty.</exception>
    public IEstimator<TLastTransformer> LastEstimator => _estimators.Length == 0
        ? throw new InvalidOperationException("The estimator chain is empty.")
        : (IEstimator<TLastTransformer>)_estimators[^1];

    /// <summary>A new chain with <paramref name="estimator"/> appended (an appended chain stays one nested element).</summary>
    public EstimatorChain<TNewTrans> Append<TNewTrans>(IEstimator<TNewTrans> estimator)
        where TNewTrans : class, ITransformer
    {
        ArgumentNullException.ThrowIfNull(estimator);
        return new EstimatorChain<TNewTrans>([.. _estimators, estimator]);
    }

    /// <summary>A chain of <paramref name="estimators"/>, whose last must produce a <typeparamref name="TLastTransformer"/>.</summary>
    internal static EstimatorChain<TLastTransformer> From(IEnumerable<IEstimator<ITransformer>> estimators) => new([.. estimators]);

    /// <summary>Kept for ML.NET compatibility: views here are re-read lazily, so no cache is inserted.</summary>
    public EstimatorChain<TLastTransformer> AppendCacheCheckpoint(MLContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return this;
    }

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var schema = inputSchema;
        foreach (var e in _estimators)
        {
            schema = e.GetOutputSchema(schema);
        }

        return schema;
    }

    /// <inheritdoc />
    public TransformerChain<TLastTransformer> Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        GetOutputSchema(input.Schema);
        var fitted = new List<ITransformer>(_estimators.Length);
        try
        {
            var current = input;
            foreach (var e in _estimators)
            {
                var t = e.Fit(current);
                fitted.Add(t);
                current = t.Transform(current);
            }

            return new TransformerChain<TLastTransformer>(fitted);
        }
        catch
        {
            foreach (var t in fitted)
            {
                t.Dispose();
            }

            throw;
        }
    }
}

/// <summary>
/// Fitted transformers applied one after another. The chain owns its elements: disposing it disposes them, and
/// saving it saves each as a nested stage. Loaded back as <c>TransformerChain&lt;ITransformer&gt;</c>.
/// </summary>
/// <typeparam name="TLastTransformer">The type of the last transformer.</typeparam>
public sealed class TransformerChain<TLastTransformer> : ITransformer, IEnumerable<ITransformer>
    where TLastTransformer : class, ITransformer
{
    private readonly ITransformer[] _transformers;
    private bool _disposed;

    /// <summary>A chain of <paramref name="transformers"/>; the last must be a <typeparamref name="TLastTransformer"/>.</summary>
    public TransformerChain(params IEnumerable<ITransformer> transformers)
    {
        ArgumentNullException.ThrowIfNull(transformers);
        _transformers = [.. transformers];
        if (_transformers.Any(t => t is null))
        {
            throw new ArgumentException("A chain cannot hold null transformers.", nameof(transformers));
        }

        if (_transformers.Length > 0 && _transformers[^1] is not TLastTransformer)
        {
            throw new ArgumentException(
                $"The last transformer is a {_transformers[^1].GetType().Name}, not a {typeof(TLastTransformer).Name}.", nameof(transformers));
        }
    }

    /// <summary>The last transformer.</summary>
    /// <exception cref="InvalidOperationException">The chain is empty.</exception>
    public TLastTransformer LastTransformer => _transformers.Length == 0
        ? throw new InvalidOperationException("The transformer chain is empty.")
        : (TLastTransformer)_transformers[^1];

    /// <summary>Number of transformers.</summary>
    public int Count => _transformers.Length;

    /// <summary>
    /// A new chain with <paramref name="transformer"/> appended. It shares this chain's elements, so dispose only
    /// one of the two chains (disposal of the elements is idempotent either way).
    /// </summary>
    public TransformerChain<TNewLast> Append<TNewLast>(TNewLast transformer)
        where TNewLast : class, ITransformer
    {
        ArgumentNullException.ThrowIfNull(transformer);
        return new TransformerChain<TNewLast>([.. _transformers, transformer]);
    }

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var schema = inputSchema;
        foreach (var t in _transformers)
        {
            schema = t.GetOutputSchema(schema);
        }

        return schema;
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ObjectDisposedException.ThrowIf(_disposed, this);
        GetOutputSchema(input.Schema);
        var view = input;
        foreach (var t in _transformers)
        {
            view = t.Transform(view);
        }

        return view;
    }

    /// <summary>
    /// Writes stage "TransformerChain" version 1: config <c>{ "count": n }</c>, then element <c>i</c> as the nested
    /// stage "stage{i}" (e.g. "stage0", "stage1").
    /// </summary>
    public void Save(ModelSaveContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ObjectDisposedException.ThrowIf(_disposed, this);
        context.SetStage(TransformerChainLoader.Signature, TransformerChainLoader.Version, 1);
        context.WriteConfig(new TransformerChainLoader.Config { Count = _transformers.Length });
        for (int i = 0; i < _transformers.Length; i++)
        {
            context.WriteStage(TransformerChainLoader.StageName(i), _transformers[i]);
        }
    }

    /// <inheritdoc />
    public IEnumerator<ITransformer> GetEnumerator() => ((IEnumerable<ITransformer>)_transformers).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Disposes every element, last first. Idempotent.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        List<Exception>? errors = null;
        for (int i = _transformers.Length - 1; i >= 0; i--)
        {
            try
            {
                _transformers[i].Dispose();
            }
#pragma warning disable CA1031 // Every element must get its Dispose; failures are rethrown together below.
            catch (Exception e)
#pragma warning restore CA1031
            {
                (errors ??= []).Add(e);
            }
        }

        if (errors is not null)
        {
            throw new AggregateException("Disposing the chain's transformers failed.", errors);
        }
    }
}

/// <summary>The saved form and loader of <see cref="TransformerChain{TLastTransformer}"/>.</summary>
internal static class TransformerChainLoader
{
    public const string Signature = "TransformerChain";
    public const int Version = 1;

    public static string StageName(int index) => $"stage{index}";

    /// <summary>Registers the chain's loader (idempotent).</summary>
    public static void Register() => ModelLoaderRegistry.Register(Signature, Load, Version);

    /// <summary>Rebuilds a chain (as <c>TransformerChain&lt;ITransformer&gt;</c>) from its nested stages.</summary>
    public static ITransformer Load(ModelLoadContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var config = context.ReadConfig<Config>();
        var elements = new List<ITransformer>(config.Count);
        try
        {
            for (int i = 0; i < config.Count; i++)
            {
                elements.Add(context.ReadStage(StageName(i)));
            }
        }
        catch
        {
            foreach (var t in elements)
            {
                t.Dispose();
            }

            throw;
        }

        return new TransformerChain<ITransformer>(elements);
    }

    /// <summary>The chain's config entry.</summary>
    internal sealed class Config
    {
        /// <summary>Number of nested stages.</summary>
        public int Count { get; set; }
    }
}

/// <summary>ML.NET's <c>Append</c> extensions: build chains from single estimators and transformers.</summary>
public static class PipelineExtensions
{
    /// <summary>A chain of <paramref name="start"/> then <paramref name="estimator"/>.</summary>
    public static EstimatorChain<TTrans> Append<TTrans>(this IEstimator<ITransformer> start, IEstimator<TTrans> estimator)
        where TTrans : class, ITransformer
    {
        ArgumentNullException.ThrowIfNull(start);
        // A chain at the start is flattened: its estimators come first, one by one.
        var head = start is IEstimatorChain chain
            ? EstimatorChain<ITransformer>.From(chain.Estimators)
            : new EstimatorChain<ITransformer>().Append(start);
        return head.Append(estimator);
    }

    /// <summary>A chain of <paramref name="start"/> then <paramref name="transformer"/> (the new chain owns both).</summary>
    public static TransformerChain<TTrans> Append<TTrans>(this ITransformer start, TTrans transformer)
        where TTrans : class, ITransformer
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(transformer);
        return new TransformerChain<TTrans>(start, transformer);
    }

    /// <summary>Kept for ML.NET compatibility: returns <paramref name="start"/> as a chain; views are re-read lazily, nothing is cached.</summary>
    public static EstimatorChain<TTrans> AppendCacheCheckpoint<TTrans>(this IEstimator<TTrans> start, MLContext context)
        where TTrans : class, ITransformer
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(context);
        return new EstimatorChain<ITransformer>().Append(start);
    }
}
