// Optimiser settings of a TransformerModel (torch.optim.Adam / AdamW hyper-parameters plus gradient
// clipping); changeable between steps. The learning rate is passed to each step instead.

using System.Globalization;
using MLNet.Transformer.Interop;

namespace MLNet.Transformer.Engine;

/// <summary>Optimiser hyper-parameters; the defaults are PyTorch's.</summary>
public sealed record OptimizerSettings
{
    /// <summary>Adam or AdamW. Default <see cref="OptimizerKind.Adam"/>.</summary>
    public OptimizerKind Kind { get; init; } = OptimizerKind.Adam;

    /// <summary>Decay of the first-moment estimate, in [0, 1). Default 0.9.</summary>
    public float Beta1 { get; init; } = 0.9f;

    /// <summary>Decay of the second-moment estimate, in [0, 1). Default 0.999.</summary>
    public float Beta2 { get; init; } = 0.999f;

    /// <summary>Added to the denominator sqrt(v) for stability; positive. Default 1e-8.</summary>
    public float Epsilon { get; init; } = 1e-8f;

    /// <summary>Weight decay, non-negative: L2 added to the gradient (Adam) or decoupled (AdamW). Default 0.</summary>
    public float WeightDecay { get; init; }

    /// <summary>When positive, the total gradient L2 norm is clipped to this (clip_grad_norm_); 0 = no clipping.</summary>
    public float ClipGradNorm { get; init; }

    /// <summary>Checks every setting; throws <see cref="TransformerArgumentException"/> naming the first bad one.</summary>
    /// <exception cref="TransformerArgumentException">A setting is out of range.</exception>
    public void Validate()
    {
        if (!Enum.IsDefined(Kind))
        {
            throw Bad(nameof(Kind), $"is {(int)Kind}, which is not an OptimizerKind");
        }

        if (!(Beta1 >= 0f && Beta1 < 1f))
        {
            throw Bad(nameof(Beta1), $"must lie in [0, 1), got {Format(Beta1)}");
        }

        if (!(Beta2 >= 0f && Beta2 < 1f))
        {
            throw Bad(nameof(Beta2), $"must lie in [0, 1), got {Format(Beta2)}");
        }

        if (!(Epsilon > 0f) || float.IsInfinity(Epsilon))
        {
            throw Bad(nameof(Epsilon), $"must be positive and finite, got {Format(Epsilon)}");
        }

        if (!(WeightDecay >= 0f) || float.IsInfinity(WeightDecay))
        {
            throw Bad(nameof(WeightDecay), $"must be non-negative and finite, got {Format(WeightDecay)}");
        }

        if (!(ClipGradNorm >= 0f) || float.IsInfinity(ClipGradNorm))
        {
            throw Bad(nameof(ClipGradNorm), $"must be 0 (no clipping) or positive and finite, got {Format(ClipGradNorm)}");
        }
    }

    /// <summary>The native mirror; call <see cref="Validate"/> first.</summary>
    internal NativeOptimizerConfig ToNative() => new()
    {
        Kind = (int)Kind,
        Beta1 = Beta1,
        Beta2 = Beta2,
        Eps = Epsilon,
        WeightDecay = WeightDecay,
        ClipGradNorm = ClipGradNorm,
    };

    private static string Format(float value) => value.ToString(CultureInfo.InvariantCulture);

    private static TransformerArgumentException Bad(string option, string problem) =>
        new($"OptimizerSettings.{option} {problem}.", $"OptimizerSettings.{option}");
}
