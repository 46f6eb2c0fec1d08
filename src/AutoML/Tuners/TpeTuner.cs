// Tree-structured Parzen Estimator (Bergstra et al., "Algorithms for Hyper-Parameter Optimization", NeurIPS 2011):
// model the good and the bad trials' parameter densities l(x) and g(x) and propose the candidate maximising l/g.
using MLNet.Transformer.AutoML.Internal;

namespace MLNet.Transformer.AutoML;

/// <summary>
/// Tree-structured Parzen Estimator. After <see cref="StartupTrials"/> random proposals, the finished trials are
/// split at the <see cref="Gamma"/> quantile of the objective: the best ceil(gamma * n) completed trials form the
/// "good" set, the other completed trials and every pruned trial the "bad" set. Each dimension gets two Parzen
/// densities, l (good) and g (bad): categorical dimensions smoothed counts (count + 1) / (n + k); numeric ones a
/// mixture of Gaussian kernels truncated to the range, in log space for log-scaled ranges, one kernel per
/// observation (bandwidth: distance to the farther neighbour, clipped) plus a broad prior kernel. Dimensions are
/// modelled independently. <see cref="Candidates"/> draws from l are scored by sum(log l - log g) and the best
/// valid, new one is proposed. Seeded: the same history gives the same proposal.
/// </summary>
public sealed class TpeTuner : ISweepTuner
{
    private SweepRandom? _random;
    private CandidateFilter? _filter;
    private TunerObjective _objective = TunerObjective.Minimize;

    /// <summary>Creates the tuner.</summary>
    /// <param name="startupTrials">Random proposals before the model is used (at least 2).</param>
    /// <param name="gamma">Fraction of completed trials taken as good, in (0, 1).</param>
    /// <param name="candidates">Draws from l(x) scored per proposal.</param>
    /// <param name="priorWeight">Weight of the prior kernel (numeric) / pseudo-count (categorical).</param>
    /// <param name="maxTries">Random redraws when no candidate is valid and new.</param>
    /// <param name="avoidDuplicates">Never propose a configuration twice when a new valid one can be found.</param>
    /// <exception cref="TransformerArgumentException">An argument is out of range.</exception>
    public TpeTuner(int startupTrials = 10, double gamma = 0.25, int candidates = 24, double priorWeight = 1.0,
        int maxTries = 100, bool avoidDuplicates = true)
    {
        if (startupTrials < 2)
        {
            throw new TransformerArgumentException($"TpeTuner.StartupTrials must be at least 2, not {startupTrials}.", nameof(startupTrials));
        }

        if (!(gamma > 0 && gamma < 1))
        {
            throw new TransformerArgumentException($"TpeTuner.Gamma must be in (0, 1), not {gamma}.", nameof(gamma));
        }

        if (candidates < 1)
        {
            throw new TransformerArgumentException($"TpeTuner.Candidates must be at least 1, not {candidates}.", nameof(candidates));
        }

        if (!(priorWeight > 0))
        {
            throw new TransformerArgumentException($"TpeTuner.PriorWeight must be positive, not {priorWeight}.", nameof(priorWeight));
        }

        CandidateFilter.CheckTries(maxTries, nameof(TpeTuner));
        StartupTrials = startupTrials;
        Gamma = gamma;
        Candidates = candidates;
        PriorWeight = priorWeight;
        MaxTries = maxTries;
        AvoidDuplicates = avoidDuplicates;
    }

    /// <summary>Random proposals before the model is used.</summary>
    public int StartupTrials { get; }

    /// <summary>Fraction of completed trials taken as good.</summary>
    public double Gamma { get; }

    /// <summary>Candidates drawn from l(x) per proposal.</summary>
    public int Candidates { get; }

    /// <summary>Prior kernel weight / categorical pseudo-count.</summary>
    public double PriorWeight { get; }

    /// <summary>Random redraws when no candidate is acceptable.</summary>
    public int MaxTries { get; }

    /// <summary>Whether repeats are avoided.</summary>
    public bool AvoidDuplicates { get; }

    /// <inheritdoc/>
    public void Initialize(SweepSearchSpace space, int seed, TunerObjective objective)
    {
        ArgumentNullException.ThrowIfNull(space);
        _random = new SweepRandom(seed);
        _filter = new CandidateFilter(space, MaxTries, AvoidDuplicates);
        _objective = objective ?? TunerObjective.Minimize;
    }

    /// <inheritdoc/>
    public ParameterSet? Propose(IReadOnlyList<SweepTrialResult> history)
    {
        if (_filter is null || _random is null)
        {
            throw new InvalidOperationException("TpeTuner.Initialize must be called before Propose.");
        }

        ArgumentNullException.ThrowIfNull(history);
        var random = _random;
        var space = _filter.Space;
        var completed = history
            .Where(t => t.Status == TrialStatus.Completed && double.IsFinite(_objective.Evaluate(t)))
            .OrderBy(t => _objective.Evaluate(t))
            .ThenBy(t => t.Id)
            .ToList();
        var pruned = history.Where(t => t.Status == TrialStatus.Pruned).OrderBy(t => t.Id).ToList();
        if (completed.Count == 0 || completed.Count + pruned.Count < StartupTrials || space.Parameters.Count == 0)
        {
            return _filter.Pick(() => space.Sample(random));
        }

        int goodCount = Math.Max(1, (int)Math.Ceiling(Gamma * completed.Count));
        var good = completed.Take(goodCount).Select(t => t.Parameters).ToList();
        var bad = completed.Skip(goodCount).Concat(pruned).Select(t => t.Parameters).ToList();

        var models = space.Parameters.Select(p => (Good: Fit(p, good), Bad: Fit(p, bad))).ToArray();

        ParameterSet? best = null;
        double bestScore = double.NegativeInfinity;
        for (int c = 0; c < Candidates; c++)
        {
            var values = new object[models.Length];
            double score = 0;
            for (int d = 0; d < models.Length; d++)
            {
                double x = models[d].Good.Sample(random);
                values[d] = models[d].Good.ToValue(x);
                score += models[d].Good.LogDensity(x) - models[d].Bad.LogDensity(x);
            }

            var candidate = space.Compose(values);
            if (score > bestScore && _filter.IsAcceptable(candidate))
            {
                best = candidate;
                bestScore = score;
            }
        }

        return best is not null ? _filter.Remember(best) : _filter.Pick(() => space.Sample(random));
    }

    /// <inheritdoc/>
    public void Report(SweepTrialResult result)
    {
    }

    private IParzen Fit(SearchParameter parameter, List<ParameterSet> observations)
    {
        var values = new List<object>();
        foreach (var set in observations)
        {
            if (set.TryGetValue(parameter.Name, out var v))
            {
                values.Add(v);
            }
        }

        return parameter switch
        {
            ChoiceParameter choice => new CategoricalParzen(choice, values, PriorWeight),
            NumericRangeParameter range => new NumericParzen(range, values, PriorWeight),
            _ => throw new InvalidOperationException($"Unknown parameter kind {parameter.GetType().Name}."),
        };
    }

    /// <summary>A one-dimensional density over a parameter's internal coordinate.</summary>
    private interface IParzen
    {
        double Sample(SweepRandom random);

        double LogDensity(double x);

        object ToValue(double x);
    }

    /// <summary>Smoothed category frequencies; the coordinate is the category index.</summary>
    private sealed class CategoricalParzen : IParzen
    {
        private readonly ChoiceParameter _parameter;
        private readonly double[] _p;

        public CategoricalParzen(ChoiceParameter parameter, List<object> values, double prior)
        {
            _parameter = parameter;
            int k = parameter.Values.Count;
            var counts = new double[k];
            foreach (var v in values)
            {
                int i = parameter.IndexOf(v);
                if (i >= 0)
                {
                    counts[i] += 1;
                }
            }

            double total = counts.Sum() + (k * prior);
            _p = counts.Select(c => (c + prior) / total).ToArray();
        }

        public double Sample(SweepRandom random)
        {
            double u = random.NextDouble();
            for (int i = 0; i < _p.Length; i++)
            {
                u -= _p[i];
                if (u < 0)
                {
                    return i;
                }
            }

            return _p.Length - 1;
        }

        public double LogDensity(double x) => Math.Log(_p[(int)x]);

        public object ToValue(double x) => _parameter.Values[(int)x];
    }

    /// <summary>A mixture of truncated Gaussians over [low, high] (log space when log-scaled).</summary>
    private sealed class NumericParzen : IParzen
    {
        private readonly NumericRangeParameter _parameter;
        private readonly double _low, _high;
        private readonly double[] _mu, _sigma, _weight, _logMass;

        public NumericParzen(NumericRangeParameter parameter, List<object> values, double prior)
        {
            _parameter = parameter;
            _low = parameter.InternalLow;
            _high = parameter.InternalHigh;
            double span = Math.Max(_high - _low, 1e-12);

            // Observations plus the prior kernel at the middle; sorted to find neighbours.
            var points = values.Select(v => (Mu: Math.Clamp(parameter.ToInternal(v), _low, _high), Weight: 1.0, IsPrior: false)).ToList();
            points.Add((0.5 * (_low + _high), prior, true));
            points.Sort((a, b) => a.Mu.CompareTo(b.Mu));
            int n = points.Count;
            _mu = new double[n];
            _sigma = new double[n];
            _weight = new double[n];
            _logMass = new double[n];
            double minSigma = span / Math.Min(100.0, 1.0 + n);
            double totalWeight = points.Sum(p => p.Weight);
            for (int i = 0; i < n; i++)
            {
                double left = points[i].Mu - (i > 0 ? points[i - 1].Mu : _low);
                double right = (i < n - 1 ? points[i + 1].Mu : _high) - points[i].Mu;
                double sigma = points[i].IsPrior ? span : Math.Clamp(Math.Max(left, right), minSigma, span);
                _mu[i] = points[i].Mu;
                _sigma[i] = sigma;
                _weight[i] = points[i].Weight / totalWeight;

                // Probability mass of the kernel inside [low, high] (truncation normaliser).
                double mass = NormalCdf((_high - _mu[i]) / sigma) - NormalCdf((_low - _mu[i]) / sigma);
                _logMass[i] = Math.Log(Math.Max(mass, 1e-300));
            }
        }

        public double Sample(SweepRandom random)
        {
            double u = random.NextDouble();
            int k = _weight.Length - 1;
            for (int i = 0; i < _weight.Length; i++)
            {
                u -= _weight[i];
                if (u < 0)
                {
                    k = i;
                    break;
                }
            }

            for (int tries = 0; tries < 100; tries++)
            {
                double x = _mu[k] + (_sigma[k] * random.NextGaussian());
                if (x >= _low && x <= _high)
                {
                    return x;
                }
            }

            return Math.Clamp(_mu[k], _low, _high);
        }

        public double LogDensity(double x)
        {
            // log sum_i w_i N(x; mu_i, s_i) / Z_i, computed with the log-sum-exp trick.
            double max = double.NegativeInfinity;
            var terms = new double[_mu.Length];
            for (int i = 0; i < _mu.Length; i++)
            {
                double z = (x - _mu[i]) / _sigma[i];
                terms[i] = Math.Log(_weight[i]) - (0.5 * z * z) - Math.Log(_sigma[i] * Math.Sqrt(2 * Math.PI)) - _logMass[i];
                max = Math.Max(max, terms[i]);
            }

            double sum = terms.Sum(t => Math.Exp(t - max));
            return max + Math.Log(sum);
        }

        public object ToValue(double x) => _parameter.FromInternal(x);

        // Standard normal CDF via erf (Abramowitz and Stegun 7.1.26, |error| < 1.5e-7).
        private static double NormalCdf(double z)
        {
            double x = Math.Abs(z) / Math.Sqrt(2);
            double t = 1 / (1 + (0.3275911 * x));
            double poly = t * (0.254829592 + (t * (-0.284496736 + (t * (1.421413741 + (t * (-1.453152027 + (t * 1.061405429))))))));
            double erf = 1 - (poly * Math.Exp(-x * x));
            return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
        }
    }
}
