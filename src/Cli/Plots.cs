// Writing the CLI's loss and sweep plots through MLNet.Transformer.Visualization (PNG for a .png path, SVG otherwise).
using MLNet.Transformer.AutoML;
using MLNet.Transformer.LanguageModeling;
using MLNet.Transformer.Visualization;

namespace MLNet.Transformer.Cli;

internal static class Plots
{
    public static void WriteLossPlot(TrainingHistory history, string path, string title)
    {
        var train = history.Epochs.Select(e => new LossPoint(e.Epoch, e.TrainLoss)).ToArray();
        var valid = history.Epochs.Where(e => e.ValidationLoss is not null).Select(e => new LossPoint(e.Epoch, e.ValidationLoss!.Value)).ToArray();
        LossPlot.Write(path, train, valid.Length == 0 ? null : valid, title);
    }

    public static void WriteSweepPlot(SweepResult result, string path) =>
        SweepPlot.Write(path, result.Trials.Select(t => new SweepPoint(t.Parameters.Key, t.ValidationLoss, t.EpochsRun, t.Status.ToString())).ToArray());
}
