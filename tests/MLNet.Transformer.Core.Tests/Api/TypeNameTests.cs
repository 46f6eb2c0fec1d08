// No public type of the library shadows a Microsoft.ML type name: a user who writes `using Microsoft.ML;` next to
// this library's namespaces must never get an ambiguous or silently different type.
using System.Reflection;
using Microsoft.ML;

namespace MLNet.Transformer.Tests.Api;

public sealed class TypeNameTests
{
    /// <summary>Public names of Microsoft.ML.AutoML and Microsoft.ML.SearchSpace (not restorable here, so listed).</summary>
    private static readonly string[] AutoMLNames =
    [
        "AutoCatalog", "AutoMLExperiment", "SweepablePipeline", "SweepableEstimator", "TrialResult", "TrialSettings",
        "ExperimentResult", "ExperimentSettings", "ColumnInformation", "MLContextExtension", "ITrialRunner", "ITuner",
        "SearchSpace", "Parameter", "ChoiceOption", "UniformSingleOption", "UniformIntOption", "IMetricManager",
        "IMonitor", "IPerformanceMonitor", "RunDetail", "CrossValidationRunDetail", "InferenceException",
    ];

    public static IEnumerable<Assembly> OurAssemblies() =>
    [
        typeof(TransformerException).Assembly,                                  // Core
        typeof(LanguageModeling.NextCharacterPredictionTransformer).Assembly,  // Transforms
        typeof(LanguageModeling.TransformerDecoderTrainer).Assembly,           // Estimators
        typeof(AutoML.TransformerSweepExtensions).Assembly,                              // AutoML
        typeof(Visualization.AttentionPage).Assembly,                          // Visualization
    ];

    [Fact]
    public void PublicTypes_NoNameOfMicrosoftML()
    {
        // Load ML.NET's assemblies that a user of this library has: the core and the ONNX transformer.
        var mlnet = new[] { typeof(MLContext).Assembly, typeof(IDataView).Assembly, typeof(Microsoft.ML.Transforms.Onnx.OnnxTransformer).Assembly, typeof(Microsoft.ML.Data.TextLoader).Assembly }
            .Concat(AppDomain.CurrentDomain.GetAssemblies().Where(a => a.GetName().Name!.StartsWith("Microsoft.ML", StringComparison.Ordinal)))
            .Distinct()
            .SelectMany(a => a.GetExportedTypes())
            .Where(t => t.Namespace?.StartsWith("Microsoft.ML", StringComparison.Ordinal) == true)
            .Select(t => BaseName(t.Name))
            .Concat(AutoMLNames)
            .ToHashSet(StringComparer.Ordinal);

        Assert.Contains("MLContext", mlnet);
        Assert.Contains("OnnxTransformer", mlnet);
        var ours = OurAssemblies().Distinct().SelectMany(a => a.GetExportedTypes()).Where(t => !t.IsNested).ToList();
        Assert.NotEmpty(ours);
        var clashes = ours.Where(t => mlnet.Contains(BaseName(t.Name))).Select(t => t.FullName).ToList();
        Assert.True(clashes.Count == 0, "public types named like Microsoft.ML types: " + string.Join(", ", clashes));
    }

    private static string BaseName(string name) => name.Split('`')[0];
}
