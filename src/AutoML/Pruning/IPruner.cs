// The pruner contract: decides at each epoch checkpoint whether a running trial goes on.
namespace MLNet.Transformer.AutoML;

/// <summary>
/// Early stopping across trials. Called from the trials' threads, concurrently: implementations are thread-safe.
/// Decisions use the validation loss (lower is better), the quantity every runner reports per epoch.
/// </summary>
public interface IPruner
{
    /// <summary>Resets the pruner for a sweep whose trials train up to <paramref name="maxEpochs"/> epochs.</summary>
    void Initialize(int maxEpochs);

    /// <summary>Whether the trial must stop after reporting <paramref name="validationLoss"/> at
    /// <paramref name="epoch"/>.</summary>
    bool ShouldPrune(int trialId, int epoch, double validationLoss);
}

/// <summary>Never prunes: every trial trains its full budget.</summary>
public sealed class NoPruner : IPruner
{
    /// <inheritdoc/>
    public void Initialize(int maxEpochs)
    {
    }

    /// <inheritdoc/>
    public bool ShouldPrune(int trialId, int epoch, double validationLoss) => false;
}
