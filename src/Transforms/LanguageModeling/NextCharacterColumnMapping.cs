// The stateless last step of a fitted next-character pipeline: the ONNX model's one-element outputs (string [1],
// float [1], int64 [1]) become ML.NET's scalar columns PredictedNextChar, LogLoss, TokenCount, Correct, TopKCorrect.
// Saved by contract name only, like the code-point mapping. The "next character" profile reads only the predicted token.
using System.ComponentModel;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using MLNet.Transformer.Onnx;

namespace MLNet.Transformer.LanguageModeling;

/// <summary>The ONNX outputs read by <see cref="NextCharacterColumnMapping"/> (an implementation type ML.NET needs public).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class NextCharacterOnnxRow
{
    /// <summary><see cref="OnnxNames.PredictedToken"/>.</summary>
    [ColumnName(OnnxNames.PredictedToken)]
    [VectorType(1)]
    public string[] PredictedToken { get; set; } = [];

    /// <summary><see cref="OnnxNames.RowLogLoss"/>.</summary>
    [ColumnName(OnnxNames.RowLogLoss)]
    [VectorType(1)]
    public float[] RowLogLoss { get; set; } = [];

    /// <summary><see cref="OnnxNames.RowTokenCount"/>.</summary>
    [ColumnName(OnnxNames.RowTokenCount)]
    [VectorType(1)]
    public long[] RowTokenCount { get; set; } = [];

    /// <summary><see cref="OnnxNames.RowCorrect"/>.</summary>
    [ColumnName(OnnxNames.RowCorrect)]
    [VectorType(1)]
    public long[] RowCorrect { get; set; } = [];

    /// <summary><see cref="OnnxNames.RowTopKCorrect"/>.</summary>
    [ColumnName(OnnxNames.RowTopKCorrect)]
    [VectorType(1)]
    public long[] RowTopKCorrect { get; set; } = [];
}

/// <summary>The scalar columns a fitted next-character model adds (see <see cref="NextCharacterColumns"/>; an implementation type ML.NET needs public).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
#pragma warning disable CA1852 // Not sealed: the estimators' output shapes extend it with the vector columns.
public class NextCharacterScalarColumns
#pragma warning restore CA1852
{
    /// <summary><see cref="NextCharacterColumns.PredictedNextChar"/>.</summary>
    [ColumnName(NextCharacterColumns.PredictedNextChar)]
    public string PredictedNextChar { get; set; } = "";

    /// <summary><see cref="NextCharacterColumns.LogLoss"/>.</summary>
    [ColumnName(NextCharacterColumns.LogLoss)]
    public double LogLoss { get; set; }

    /// <summary><see cref="NextCharacterColumns.TokenCount"/>.</summary>
    [ColumnName(NextCharacterColumns.TokenCount)]
    public int TokenCount { get; set; }

    /// <summary><see cref="NextCharacterColumns.Correct"/>.</summary>
    [ColumnName(NextCharacterColumns.Correct)]
    public int Correct { get; set; }

    /// <summary><see cref="NextCharacterColumns.TopKCorrect"/>.</summary>
    [ColumnName(NextCharacterColumns.TopKCorrect)]
    public int TopKCorrect { get; set; }
}

/// <summary>One-element ONNX outputs to scalar columns (an implementation type ML.NET needs public).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(ContractName)]
public sealed class NextCharacterColumnMapping : CustomMappingFactory<NextCharacterOnnxRow, NextCharacterScalarColumns>
{
    /// <summary>The contract the saved pipeline names.</summary>
    public const string ContractName = "MLNet.Transformer.NextCharacterColumns";

    /// <summary>The mapping.</summary>
    public static void Map(NextCharacterOnnxRow input, NextCharacterScalarColumns output)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        output.PredictedNextChar = input.PredictedToken.Length > 0 ? input.PredictedToken[0] : "";
        output.LogLoss = input.RowLogLoss.Length > 0 ? input.RowLogLoss[0] : double.NaN;
        output.TokenCount = input.RowTokenCount.Length > 0 ? (int)input.RowTokenCount[0] : 0;
        output.Correct = input.RowCorrect.Length > 0 ? (int)input.RowCorrect[0] : 0;
        output.TopKCorrect = input.RowTopKCorrect.Length > 0 ? (int)input.RowTopKCorrect[0] : 0;
    }

    /// <inheritdoc />
    public override Action<NextCharacterOnnxRow, NextCharacterScalarColumns> GetMapping() => Map;
}

/// <summary>The ONNX output read by <see cref="PredictedNextCharMapping"/> (an implementation type ML.NET needs public).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class PredictedTokenOnnxRow
{
    /// <summary><see cref="OnnxNames.PredictedToken"/>.</summary>
    [ColumnName(OnnxNames.PredictedToken)]
    [VectorType(1)]
    public string[] PredictedToken { get; set; } = [];
}

/// <summary>The column <see cref="PredictedNextCharMapping"/> adds (an implementation type ML.NET needs public).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class PredictedNextCharColumn
{
    /// <summary><see cref="NextCharacterColumns.PredictedNextChar"/>.</summary>
    [ColumnName(NextCharacterColumns.PredictedNextChar)]
    public string PredictedNextChar { get; set; } = "";
}

/// <summary>The one-element predicted token to the PredictedNextChar column (the "next character" profile's mapping).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(ContractName)]
public sealed class PredictedNextCharMapping : CustomMappingFactory<PredictedTokenOnnxRow, PredictedNextCharColumn>
{
    /// <summary>The contract the saved pipeline names.</summary>
    public const string ContractName = "MLNet.Transformer.PredictedNextChar";

    /// <summary>The mapping.</summary>
    public static void Map(PredictedTokenOnnxRow input, PredictedNextCharColumn output)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        output.PredictedNextChar = input.PredictedToken.Length > 0 ? input.PredictedToken[0] : "";
    }

    /// <inheritdoc />
    public override Action<PredictedTokenOnnxRow, PredictedNextCharColumn> GetMapping() => Map;
}
