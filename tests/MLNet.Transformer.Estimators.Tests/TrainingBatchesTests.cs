// The learning-rate schedule (TrainingBatches.LearningRate): linear warm-up from lr/W, then constant, linear
// or cosine decay to MinimumLearningRateFraction of the peak, against values worked out by hand.
using MLNet.Transformer.LanguageModeling;
using Xunit;

namespace MLNet.Transformer.Tests;

public class TrainingBatchesTests
{
    // Peak 0.01, 4 warm-up steps, floor 10% of the peak, 14 steps in all: 10 decay steps after the warm-up.
    private static TransformerDecoderTrainerOptions Options(LearningRateSchedule schedule) => new()
    {
        LearningRate = 0.01f, WarmupSteps = 4, MinimumLearningRateFraction = 0.1f, Schedule = schedule,
    };

    [Theory]
    // Warm-up, the same for every schedule: 0.01 * (step + 1) / 4.
    [InlineData(LearningRateSchedule.Constant, 0, 0.0025)]
    [InlineData(LearningRateSchedule.Linear, 1, 0.005)]
    [InlineData(LearningRateSchedule.Cosine, 3, 0.01)]
    // Constant: the peak from the end of the warm-up on.
    [InlineData(LearningRateSchedule.Constant, 4, 0.01)]
    [InlineData(LearningRateSchedule.Constant, 13, 0.01)]
    // Linear: 0.01 * (1 - 0.9 * (step - 4) / 10).
    [InlineData(LearningRateSchedule.Linear, 4, 0.01)]
    [InlineData(LearningRateSchedule.Linear, 6, 0.0082)]
    [InlineData(LearningRateSchedule.Linear, 9, 0.0055)]
    [InlineData(LearningRateSchedule.Linear, 13, 0.0019)]
    [InlineData(LearningRateSchedule.Linear, 14, 0.001)]
    [InlineData(LearningRateSchedule.Linear, 40, 0.001)]
    // Cosine: 0.01 * (0.1 + 0.45 * (1 + cos(pi * (step - 4) / 10))); cos(0.2 pi) = 0.80901699, cos(0.9 pi) = -0.95105652.
    [InlineData(LearningRateSchedule.Cosine, 4, 0.01)]
    [InlineData(LearningRateSchedule.Cosine, 6, 0.0091405765)]
    [InlineData(LearningRateSchedule.Cosine, 9, 0.0055)]
    [InlineData(LearningRateSchedule.Cosine, 13, 0.0012202457)]
    [InlineData(LearningRateSchedule.Cosine, 14, 0.001)]
    public void LearningRate_StepOfFourteen_MatchesHandComputedValue(LearningRateSchedule schedule, long step, double expected)
    {
        double lr = TrainingBatches.LearningRate(Options(schedule), step, totalSteps: 14);
        Assert.True(Math.Abs(lr - expected) <= 1e-6 * expected, $"{schedule} step {step}: {lr:R}, expected {expected:R}");
    }

    [Fact]
    public void LearningRate_NoWarmup_FirstStepIsThePeak()
    {
        var o = Options(LearningRateSchedule.Linear);
        o.WarmupSteps = 0;
        Assert.Equal(0.01f, TrainingBatches.LearningRate(o, 0, 10));
        Assert.True(Math.Abs(TrainingBatches.LearningRate(o, 5, 10) - 0.0055) <= 1e-9, "half-way through a 10-step linear decay");
    }
}
