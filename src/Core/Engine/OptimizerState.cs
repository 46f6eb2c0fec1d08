// The optimiser's state of a TransformerModel as plain arrays: Adam's moments per state tensor and its step count.
// What a checkpoint stores so that training continues exactly where it stopped.
namespace MLNet.Transformer.Engine;

/// <summary>Adam's state, as PyTorch's <c>optimizer.state_dict()</c> keeps it per parameter.</summary>
/// <param name="Step">Steps taken (Adam's t, used by the bias correction).</param>
/// <param name="ExpAvg">First moment <c>exp_avg</c> of each state tensor, keyed by state-dict name: (shape, row-major data).</param>
/// <param name="ExpAvgSq">Second moment <c>exp_avg_sq</c> of each state tensor, keyed likewise.</param>
public sealed record OptimizerState(
    long Step,
    IReadOnlyDictionary<string, (long[] Shape, float[] Data)> ExpAvg,
    IReadOnlyDictionary<string, (long[] Shape, float[] Data)> ExpAvgSq);
