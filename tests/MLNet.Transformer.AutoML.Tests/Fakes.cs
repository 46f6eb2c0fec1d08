// Test doubles for the sweep engine: options classes, a runner whose validation-loss curve is an analytic
// function of the parameters and the epoch, and a manually advanced clock.
using MLNet.Transformer.AutoML;

namespace MLNet.Transformer.AutoML.Tests;

public enum FakeActivation
{
    Relu,
    Gelu,
}

/// <summary>Options declared with the search attributes.</summary>
public sealed class FakeModelOptions
{
    [SearchChoice(1, 2, 4, 8)]
    public int Heads { get; set; } = 1;

    [SearchRange(1, 4)]
    public int Layers { get; set; } = 1;

    [SearchRange(1e-4, 3e-3, LogScale = true, GridSteps = 3)]
    public float LearningRate { get; set; } = 1e-3f;

    [SearchChoice("relu", "gelu")]
    public string Activation { get; set; } = "relu";

    [SearchChoice(true, false)]
    public bool NormFirst { get; set; }

    [SearchChoice("Relu", "Gelu")]
    public FakeActivation Kind { get; set; }

    [SearchRange(0.0, 0.3)]
    public double Dropout { get; set; }

    public int Dim { get; set; } = 16;

    public NestedOptions Model { get; set; } = new();

    public int? ReceivedSeed { get; set; }
}

public sealed class NestedOptions
{
    public int Width { get; set; } = 8;
}

/// <summary>Options without attributes, for the builder.</summary>
public sealed class PlainOptions
{
    public int Heads { get; set; } = 1;

    public int Layers { get; set; } = 1;

    public float LearningRate { get; set; } = 1e-3f;

    public int Dim { get; set; } = 16;
}

/// <summary>A continuous 2-D problem for the tuner comparison.</summary>
public sealed class QuadraticOptions
{
    public double X { get; set; }

    public double Y { get; set; }
}

/// <summary>loss(h, l, e) = a(h, l) + b / e with a(h, l) = 1 + 0.3 (log2 h - 2)^2 + 0.2 (l - 2)^2: the optimum
/// is h = 4, l = 2 at every epoch, and curves never cross, so pruning cannot lose the best trial.</summary>
public sealed class AnalyticRunner : ISweepTrialRunner<PlainOptions>
{
    private int _running;
    private int _maxRunning;
    private readonly object _gate = new();

    public const double B = 2.0;

    public Func<PlainOptions, TrialContext, Task>? BeforeEpoch { get; set; }

    public Action<PlainOptions, TrialContext>? OnStart { get; set; }

    public int MaxConcurrent => _maxRunning;

    public List<TrialContext> Contexts { get; } = [];

    private long _epochsTrained;

    public long EpochsTrained => Interlocked.Read(ref _epochsTrained);

    public static double Floor(int heads, int layers) =>
        1 + (0.3 * Math.Pow(Math.Log2(heads) - 2, 2)) + (0.2 * Math.Pow(layers - 2, 2));

    public static double Loss(int heads, int layers, int epoch) => Floor(heads, layers) + (B / epoch);

    public async Task<TrialOutcome> RunAsync(PlainOptions options, TrialContext context, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Contexts.Add(context);
            _running++;
            _maxRunning = Math.Max(_maxRunning, _running);
        }

        try
        {
            OnStart?.Invoke(options, context);
            for (int epoch = 1; epoch <= context.MaxEpochs; epoch++)
            {
                if (BeforeEpoch is not null)
                {
                    await BeforeEpoch(options, context);
                }

                Interlocked.Increment(ref _epochsTrained);
                if (!context.ReportEpoch(epoch, Loss(options.Heads, options.Layers, epoch)))
                {
                    break;
                }
            }

            return TrialOutcome.Empty;
        }
        finally
        {
            lock (_gate)
            {
                _running--;
            }
        }
    }
}

/// <summary>One epoch; loss = (x - 1.3)^2 + (y + 0.7)^2.</summary>
public sealed class QuadraticRunner : ISweepTrialRunner<QuadraticOptions>
{
    public static double Loss(double x, double y) => ((x - 1.3) * (x - 1.3)) + ((y + 0.7) * (y + 0.7));

    /// <summary>A note every trial's outcome carries (null: none).</summary>
    public string? Note { get; init; }

    public Task<TrialOutcome> RunAsync(QuadraticOptions options, TrialContext context, CancellationToken cancellationToken)
    {
        context.ReportEpoch(1, Loss(options.X, options.Y));
        return Task.FromResult(Note is null ? TrialOutcome.Empty : new TrialOutcome { Message = Note });
    }
}

/// <summary>A clock that moves only when told to.</summary>
public sealed class FakeClock : TimeProvider
{
    private long _ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public override DateTimeOffset GetUtcNow() => new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(GetTimestamp());

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>Records every monitor call.</summary>
public sealed class RecordingMonitor : ISweepMonitor
{
    public List<string> Events { get; } = [];

    public List<SweepTrialResult> BestChanges { get; } = [];

    public SweepProgress? LastProgress { get; private set; }

    public Action<SweepTrialResult>? OnFinished { get; set; }

    public void OnTrialStarted(TrialStartInfo trial) => Events.Add($"start {trial.Id}");

    public void OnTrialCompleted(SweepTrialResult result)
    {
        Events.Add($"{result.Status} {result.Id}");
        OnFinished?.Invoke(result);
    }

    public void OnTrialFailed(SweepTrialResult result) => Events.Add($"failed {result.Id}");

    public void OnTrialSkipped(SweepTrialResult result) => Events.Add($"skipped {result.Id}");

    public void OnBestChanged(SweepTrialResult best) => BestChanges.Add(best);

    public void OnProgress(SweepProgress progress) => LastProgress = progress;
}

internal static class Spaces
{
    /// <summary>Heads {1, 2, 4, 8} x Layers 1..4 over <see cref="PlainOptions"/>.</summary>
    public static SweepSearchSpace<PlainOptions> HeadsLayers(int dim = 16) =>
        SweepSearchSpace.Create(new PlainOptions { Dim = dim })
            .Choice(o => o.Heads, 1, 2, 4, 8)
            .Range(o => o.Layers, 1, 4)
            .Constraint("heads must divide dim", o => o.Dim % o.Heads == 0);
}

/// <summary>A temporary folder for SQLite study files: disposing closes the pooled connections, then deletes it.</summary>
public sealed class StudyFolder : IDisposable
{
    public DirectoryInfo Folder { get; } = Directory.CreateTempSubdirectory("mlt-study-");

    /// <summary>A path in the folder.</summary>
    public string File(string name) => Path.Combine(Folder.FullName, name);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Folder.Delete(recursive: true);
    }
}
