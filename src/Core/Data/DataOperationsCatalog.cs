// Loading data into data views and reading it back. Reached through MLContext.Data.
namespace MLNet.Transformer;

/// <summary>Loads data (enumerables, text and CSV files), splits it, and reads views back as objects.</summary>
public sealed partial class DataOperationsCatalog
{
    internal DataOperationsCatalog(MLContext context) => Context = context;

    /// <summary>The owning context.</summary>
    public MLContext Context { get; }
}
