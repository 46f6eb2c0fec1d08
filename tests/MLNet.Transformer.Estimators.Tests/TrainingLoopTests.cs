// The training loop against the engine, one step at a time: the options' gradient clipping reaches the engine
// (the clipped gradient is the unclipped one scaled as torch.nn.utils.clip_grad_norm_), and a diverging step
// stops training with an error naming the epoch, step and learning rate while the weights stay as they were.
using MLNet.Transformer.Engine;
using MLNet.Transformer.LanguageModeling;
using Xunit;

namespace MLNet.Transformer.Tests;

public class TrainingLoopTests
{
    private const int Pad = 0;

    private static readonly TransformerModelConfig Config = new()
    {
        Kind = ModelKind.Decoder, VocabSize = 12, ModelDim = 16, Heads = 2, Layers = 1, FeedForwardDim = 16,
        MaxLength = 10, PadId = Pad, Dropout = 0f, Seed = 5,
    };

    // Six rows of ids in [1, 12), lengths 3 to 8: one batch of 8 rows, so one step per epoch.
    private static readonly TokenRow[] Rows = Enumerable.Range(0, 6)
        .Select(r => new TokenRow(Enumerable.Range(0, 3 + r).Select(i => 1 + ((r * 5 + i * 7) % 11)).ToArray(), null))
        .ToArray();

    private static TrainingLoop Loop(float clip, int warmup = 0, float lr = 1e-3f) => new(
        new TransformerDecoderTrainerOptions { Epochs = 1, BatchSize = 8, LearningRate = lr, WarmupSteps = warmup, GradientClipNorm = clip },
        Pad,
        selfSource: false);

    [Fact]
    public void Run_GradientClipNorm_EngineClipsTheGradientToTheBoundAsClipGradNorm()
    {
        using var free = TransformerModel.Create(Config);
        Loop(clip: 0f).Run(free, Rows, [], seed: 1);
        var g = Gradients(free);
        double norm = Norm(g);
        float bound = (float)(norm / 4); // a quarter of the unclipped norm: clipping must act

        using var clipped = TransformerModel.Create(Config);
        Loop(clip: bound).Run(clipped, Rows, [], seed: 1);
        var gc = Gradients(clipped);

        Assert.Equal(bound, clipped.Optimizer.ClipGradNorm);
        // clip_grad_norm_: g * bound / (norm + 1e-6), so the clipped norm is bound * norm / (norm + 1e-6).
        double coef = bound / (norm + 1e-6);
        Assert.True(Math.Abs(Norm(gc) - (bound * norm / (norm + 1e-6))) <= 1e-5 * bound, $"clipped norm {Norm(gc):R}, bound {bound:R}, unclipped {norm:R}");
        for (int i = 0; i < g.Length; i++)
        {
            Assert.True(Math.Abs(gc[i] - (g[i] * coef)) <= 1e-6 * Math.Max(1, Math.Abs(g[i])), $"gradient element {i}: {gc[i]:R}, expected {g[i] * coef:R}");
        }
    }

    [Fact]
    public void Run_NonFiniteStep_ThrowsNamingEpochStepAndLearningRate_WeightsUnchanged()
    {
        using var model = TransformerModel.Create(Config);
        var bias = model.ReadState("lm_head.bias");
        bias[3] = float.NaN;
        model.WriteState("lm_head.bias", bias);
        var before = model.ExportState();

        // Warm-up over 4 steps from a peak of 0.004: the first (and only) step runs at 0.001.
        var e = Assert.Throws<TrainingDivergedException>(() => Loop(clip: 1f, warmup: 4, lr: 0.004f).Run(model, Rows, [], seed: 1));

        Assert.Contains("epoch 1, step 1 of 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("learning rate 0.001 ", e.Message, StringComparison.Ordinal);
        Assert.Contains("peak LearningRate 0.004", e.Message, StringComparison.Ordinal);
        Assert.Equal(0.001f, e.LearningRate);
        Assert.True(float.IsNaN(e.Loss));
        Assert.IsType<TrainingDivergedException>(e.InnerException);
        foreach (var (name, (_, data)) in before)
        {
            Assert.Equal(data, model.ReadState(name));
        }
    }

    private static float[] Gradients(TransformerModel model) =>
        model.StateInfo.SelectMany(t => model.ReadState(t.Name, gradient: true)).ToArray();

    private static double Norm(float[] g) => Math.Sqrt(g.Sum(x => (double)x * x));
}
