// What a trainer does with training rows longer than its maximum length.
namespace MLNet.Transformer.LanguageModeling;

/// <summary>What Fit does with a row longer than the trainer's MaximumLength.</summary>
public enum LengthPolicy
{
    /// <summary>Fail, naming the column and the row number (default).</summary>
    Throw,

    /// <summary>Keep the row's first characters (the count goes into <see cref="TrainingHistory.TruncatedRows"/>).</summary>
    Truncate,

    /// <summary>Leave the row out (the count goes into <see cref="TrainingHistory.SkippedRows"/>).</summary>
    Skip,
}
