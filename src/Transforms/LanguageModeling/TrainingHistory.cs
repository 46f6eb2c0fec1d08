// The record of a Fit: per-epoch losses and speed, the best epoch, early stopping.
namespace MLNet.Transformer.LanguageModeling;

/// <summary>One epoch of training.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="TrainLoss">Mean training loss (nats per token) over the epoch, with dropout on.</param>
/// <param name="ValidationLoss">Mean validation loss over every validation token, or null without validation.</param>
/// <param name="Seconds">Wall time of the epoch (training steps and validation).</param>
/// <param name="CharactersPerSecond">Training target tokens per second.</param>
public sealed record EpochRecord(int Epoch, double TrainLoss, double? ValidationLoss, double Seconds, double CharactersPerSecond);

/// <summary>What happened during Fit.</summary>
/// <param name="Epochs">Per-epoch records.</param>
/// <param name="BestEpoch">Epoch with the lowest validation loss, if validated.</param>
/// <param name="BestValidationLoss">That loss.</param>
/// <param name="StoppedEarly">True when early stopping ended training.</param>
/// <param name="RestoredBestWeights">True when the final weights are those of <paramref name="BestEpoch"/>, not of the last epoch.</param>
/// <param name="TrainingSeconds">Wall time of the loop, excluding data loading and model creation.</param>
public sealed record TrainingHistory(
    IReadOnlyList<EpochRecord> Epochs, int? BestEpoch, double? BestValidationLoss, bool StoppedEarly, bool RestoredBestWeights, double TrainingSeconds)
{
    /// <summary>Training and validation rows longer than the maximum length that were cut (<see cref="LengthPolicy.Truncate"/>).</summary>
    public int TruncatedRows { get; init; }

    /// <summary>Training and validation rows longer than the maximum length that were left out (<see cref="LengthPolicy.Skip"/>).</summary>
    public int SkippedRows { get; init; }

    /// <summary>The arithmetic training and validation ran in (<see cref="Engine.Precision.Auto"/> resolved for the device).</summary>
    public Engine.Precision Precision { get; init; } = Engine.Precision.Float32;

    /// <summary>Processes that trained together (1 without data-parallel training).</summary>
    public int WorldSize { get; init; } = 1;

    /// <summary>This process's rank among <see cref="WorldSize"/> (0 alone). Only rank 0 should write files.</summary>
    public int Rank { get; init; }

    /// <summary>Optimiser steps taken (each over every rank's share of one global batch).</summary>
    public long Steps { get; init; }

    /// <summary>Wall time this rank spent in gradient and loss all-reduces (waiting for slower ranks included); zero alone.</summary>
    public TimeSpan AllReduceTime { get; init; }
}
