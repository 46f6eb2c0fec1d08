// Fixed loss curves and sweep trials shared by the plot tests (hand-written, shaped like a real char-level run).
namespace MLNet.Transformer.Visualization.Tests;

internal static class PlotData
{
    public static readonly LossPoint[] Train =
    [
        new(1, 3.02), new(2, 2.41), new(3, 2.18), new(4, 2.05), new(5, 1.97), new(6, 1.91), new(7, 1.86),
        new(8, 1.82), new(9, 1.79), new(10, 1.76), new(11, 1.74), new(12, 1.72),
    ];

    public static readonly LossPoint[] Validation =
    [
        new(1, 2.71), new(2, 2.33), new(3, 2.16), new(4, 2.07), new(5, 2.02), new(6, 1.99), new(7, 1.975),
        new(8, 1.968), new(9, 1.972), new(10, 1.981), new(11, 1.99), new(12, 2.004),
    ];

    public static readonly SweepPoint[] Sweep =
    [
        new("L2 H4 d64", 1.968, 12, "completed"),
        new("L1 H2 d32", 2.214, 12, "completed"),
        new("L4 H4 d128", 1.932, 12, "completed"),
        new("L2 H2 d32", 2.405, 3, "pruned"),
        new("L4 H8 d256", double.NaN, 1, "failed"),
        new("L3 H4 d96", 1.951, 12, "completed"),
        new("L1 H1 d16", 2.612, 2, "pruned"),
    ];
}
