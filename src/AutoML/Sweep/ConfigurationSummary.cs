// One configuration of a sweep over all the seeds it was trained with: the mean and spread of its metric, so that a
// winner is chosen by what the configuration does, not by one lucky seed.
namespace MLNet.Transformer.AutoML;

/// <summary>
/// A configuration's completed runs (the trial the tuner proposed and its repeats with other seeds) and the
/// statistics of their metric: mean, sample standard deviation (n - 1 in the denominator; 0 for one run), range,
/// and the mean best epoch.
/// </summary>
public sealed class ConfigurationSummary
{
    internal ConfigurationSummary(int rank, IReadOnlyList<SweepTrialResult> runs, TunerObjective objective)
    {
        Rank = rank;
        Runs = runs;
        Parameters = runs[0].Parameters;
        var values = runs.Select(t => t.MetricValue).ToArray();
        Mean = values.Average();
        StandardDeviation = values.Length < 2 ? 0 : Math.Sqrt(values.Sum(v => (v - Mean) * (v - Mean)) / (values.Length - 1));
        Min = values.Min();
        Max = values.Max();
        MeanBestEpoch = runs.Average(t => (double)t.BestEpoch);
        BestRun = runs.OrderBy(objective.Evaluate).ThenBy(t => t.Id).First();
    }

    /// <summary>1-based rank among the configurations.</summary>
    public int Rank { get; }

    /// <summary>The configuration.</summary>
    public ParameterSet Parameters { get; }

    /// <summary>Its completed runs, in trial-id order (the tuner's trial first).</summary>
    public IReadOnlyList<SweepTrialResult> Runs { get; }

    /// <summary>Mean of the runs' metric (<see cref="SweepTrialResult.MetricValue"/>).</summary>
    public double Mean { get; }

    /// <summary>Sample standard deviation of the runs' metric; 0 for a single run.</summary>
    public double StandardDeviation { get; }

    /// <summary>Lowest metric of the runs.</summary>
    public double Min { get; }

    /// <summary>Highest metric of the runs.</summary>
    public double Max { get; }

    /// <summary>Mean of the runs' best epochs: the epoch count a refit of this configuration trains for.</summary>
    public double MeanBestEpoch { get; }

    /// <summary>The run with the best metric.</summary>
    public SweepTrialResult BestRun { get; }

    /// <summary>A one-line summary: mean +- standard deviation over n runs.</summary>
    public override string ToString() =>
        FormattableString.Invariant($"#{Rank} {Parameters.Key} {Mean:F4} +- {StandardDeviation:F4} (n={Runs.Count}, best epoch {MeanBestEpoch:F1})");
}
