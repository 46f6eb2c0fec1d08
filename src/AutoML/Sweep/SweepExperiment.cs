// The sweep itself: ties a search space, a tuner, a pruner, a trial runner, budgets and a monitor together and runs
// trials in parallel up to a degree, recording every outcome.
using MLNet.Transformer.AutoML.Internal;

namespace MLNet.Transformer.AutoML;

/// <summary>
/// A hyperparameter sweep over <typeparamref name="TOptions"/>. Configurations come from the <see cref="Tuner"/>
/// (default <see cref="TpeTuner"/>); those violating a constraint are recorded as skipped and never trained; the
/// others are materialised into fresh options and trained by the runner, up to
/// <see cref="SweepOptions.Parallelism"/> at a time, each with a seed derived from the sweep seed and its id, a
/// thread budget and a device. Each trial stops itself when its validation loss stops improving
/// (<see cref="SweepOptions.EarlyStoppingPatience"/>) and is ranked by its best epoch; the <see cref="Pruner"/>
/// (default none) stops unpromising trials at epoch checkpoints, judging their best loss so far. After the search,
/// the best <see cref="SweepOptions.RepeatTopConfigurations"/> configurations are trained again with more seeds.
/// A runner exception fails only its trial. Cancellation and the time budget stop the sweep, cancel running trials,
/// and still return every finished result.
/// With <see cref="SweepOptions.Storage"/> the sweep is one worker of a study kept in a <see cref="StudyStore"/>: it
/// claims each trial in a transaction (a dead worker's trial, queued again, first), its tuner is advanced to the
/// study's proposal count and conditions on every finished trial of the study, ASHA rungs are decided on the losses
/// every worker recorded, <see cref="SweepOptions.MaxTrials"/> and <see cref="SweepOptions.TimeBudget"/> count the
/// whole study, and the worker that finds the search over (no trial left running anywhere) claims the study's
/// finalization and runs the repeats; the others return the study's trials with <see cref="SweepResult.Finalizes"/>
/// false.
/// </summary>
/// <typeparam name="TOptions">The options type the runner trains.</typeparam>
public sealed class SweepExperiment<TOptions>
    where TOptions : class
{
    private const int TunerSeedStream = 1;
    private const int TrialSeedStream = 2;

    /// <summary>How often a study-store worker with nothing left to claim looks again (for other workers' trials ending
    /// or dying); also the floor of the poll while its own trials run.</summary>
    private static readonly TimeSpan IdlePollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>Creates a sweep.</summary>
    /// <param name="space">What to search.</param>
    /// <param name="runner">Trains one configuration.</param>
    /// <param name="options">Budget and control; null: defaults.</param>
    public SweepExperiment(SweepSearchSpace<TOptions> space, ISweepTrialRunner<TOptions> runner, SweepOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(space);
        ArgumentNullException.ThrowIfNull(runner);
        Space = space;
        Runner = runner;
        Options = options ?? new SweepOptions();
    }

    /// <summary>The search space.</summary>
    public SweepSearchSpace<TOptions> Space { get; }

    /// <summary>The trial runner.</summary>
    public ISweepTrialRunner<TOptions> Runner { get; }

    /// <summary>Budget and control.</summary>
    public SweepOptions Options { get; }

    /// <summary>The tuner (default: a new <see cref="TpeTuner"/>).</summary>
    public ISweepTuner Tuner { get; set; } = new TpeTuner();

    /// <summary>The pruner (default: <see cref="NoPruner"/>).</summary>
    public IPruner Pruner { get; set; } = new NoPruner();

    /// <summary>The progress monitor, if any.</summary>
    public ISweepMonitor? Monitor { get; set; }

    /// <summary>Sets <see cref="Tuner"/>; returns this sweep.</summary>
    public SweepExperiment<TOptions> WithTuner(ISweepTuner tuner)
    {
        Tuner = tuner ?? throw new ArgumentNullException(nameof(tuner));
        return this;
    }

    /// <summary>Sets <see cref="Pruner"/>; returns this sweep.</summary>
    public SweepExperiment<TOptions> WithPruner(IPruner pruner)
    {
        Pruner = pruner ?? throw new ArgumentNullException(nameof(pruner));
        return this;
    }

    /// <summary>Sets <see cref="Monitor"/>; returns this sweep.</summary>
    public SweepExperiment<TOptions> WithMonitor(ISweepMonitor? monitor)
    {
        Monitor = monitor;
        return this;
    }

    /// <summary>Runs the sweep to its end: tuner exhausted, trial or time budget spent, or cancellation.</summary>
    /// <param name="cancellationToken">Stops the sweep; finished trials are kept, running ones marked cancelled.</param>
    /// <returns>Every trial and the leaderboard; never throws for trial failures or cancellation.</returns>
    /// <exception cref="TransformerArgumentException">Invalid options, or a space the tuner cannot search.</exception>
    public async Task<SweepResult> RunAsync(CancellationToken cancellationToken = default)
    {
        Options.Validate();
        int seed = Options.Seed ?? StudySeed(Options) ?? System.Security.Cryptography.RandomNumberGenerator.GetInt32(int.MaxValue);
        var run = new Run(this, seed);
        return await run.ExecuteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>When a caller that will finish the study itself (a refit after the repeats) sets this, a finalizing
    /// run leaves the study unfinalized until the result's <see cref="SweepResult.EndFinalization"/> is called.</summary>
    internal bool DeferFinalization { get; set; }

    /// <summary>The seed of the study <paramref name="options"/> names, when it exists (workers without a seed join it).</summary>
    internal static int? StudySeed(SweepOptions options)
    {
        if (options.Storage is not { } url)
        {
            return null;
        }

        using var store = StudyStore.Open(url);
        return store.FindStudy(options.StudyName)?.Seed;
    }

    /// <summary>The state of one execution of the sweep.</summary>
    private sealed class Run
    {
        private readonly SweepExperiment<TOptions> _sweep;
        private readonly SweepOptions _options;
        private readonly int _seed;
        private readonly TimeProvider _clock;
        private readonly TunerObjective _objective;
        private readonly List<SweepTrialResult> _history = [];
        private readonly int[] _deviceLoad;
        private readonly long _start;
        private int _nextDevice;
        private int _started;
        private SweepTrialResult? _best;
        private volatile bool _timedOut;
        private CancellationTokenSource? _stop;

        // The study store, when the sweep is one worker of a shared study.
        private readonly string _worker = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
        private readonly HashSet<int> _known = [];
        private StudyStore? _store;
        private StudyInfo? _study;
        private ITimer? _beat;
        private TimeSpan _priorUsage;
        private int _tunerProposals;
        private bool _othersRunning;
        private SweepStopReason? _storeEnd;

        public Run(SweepExperiment<TOptions> sweep, int seed)
        {
            _sweep = sweep;
            _options = sweep.Options;
            _seed = seed;
            _clock = _options.TimeProvider;
            _objective = new TunerObjective(_options.MaximizeMetric);
            _deviceLoad = new int[_options.Devices.Count];
            _start = _clock.GetTimestamp();
        }

        private TimeSpan Elapsed => _clock.GetElapsedTime(_start);

        /// <summary>The time the study has used: this run's, plus what earlier workers spent before it started.</summary>
        private TimeSpan StudyElapsed => Elapsed + _priorUsage;

        private bool BudgetSpent => _timedOut || (_options.TimeBudget is { } budget && StudyElapsed >= budget);

        /// <summary>Whether the search must leave the rest of the time budget to the repeats: the time they are
        /// expected to take (1.25 x their count x the completed trials' mean duration / the parallel degree), at most
        /// <see cref="SweepOptions.RepeatBudgetFraction"/> of the budget.</summary>
        private bool SearchBudgetSpent
        {
            get
            {
                if (_options.RepeatTopConfigurations == 0 || _options.TimeBudget is not { } budget)
                {
                    return false;
                }

                var reserve = budget * _options.RepeatBudgetFraction;
                var completed = _history.Where(t => t.Status == TrialStatus.Completed).ToList();
                if (completed.Count > 0)
                {
                    double runs = Math.Ceiling(_options.RepeatTopConfigurations * _options.RepeatSeeds / (double)_options.Parallelism);
                    var expected = TimeSpan.FromTicks((long)(1.25 * runs * completed.Average(t => t.Duration.Ticks)));
                    reserve = expected < reserve ? expected : reserve;
                }

                return StudyElapsed >= budget - reserve;
            }
        }

        public async Task<SweepResult> ExecuteAsync(CancellationToken cancellationToken)
        {
            _sweep.Tuner.Initialize(_sweep.Space, SweepRandom.DeriveSeed(_seed, TunerSeedStream, 0), _objective);
            _sweep.Pruner.Initialize(_options.MaxEpochs);
            if (_options.Storage is { } url)
            {
                OpenStudy(url);
            }

            bool keepStudy = false;
            try
            {
                var result = await ExecuteCoreAsync(cancellationToken).ConfigureAwait(false);
                keepStudy = result.EndFinalization is not null;
                return result;
            }
            finally
            {
                if (!keepStudy)
                {
                    CloseStudy();
                }
            }
        }

        private void OpenStudy(string url)
        {
            _store = StudyStore.Open(url);
            try
            {
                _study = _store.OpenStudy(_options.StudyName, StudySpace.Describe(_sweep.Space), _seed, _options.Metric, _options.MaximizeMetric, _options.MaxEpochs);
                _priorUsage = TimeSpan.FromMilliseconds(_store.UsedMilliseconds(_study, _store.NowMilliseconds()));
                _store.RegisterWorker(_study, _worker);
                _beat = _clock.CreateTimer(_ => Beat(), null, _options.HeartbeatInterval, _options.HeartbeatInterval);
                Sync(_store.LoadTrials(_study, _sweep.Space));
            }
            catch
            {
                CloseStudy();
                throw;
            }
        }

        private void CloseStudy()
        {
            _beat?.Dispose();
            _beat = null;
            _store?.Dispose();
            _store = null;
        }

        private void Beat()
        {
            try
            {
                if (_store is { } store && _study is { } study)
                {
                    store.Beat(study, _worker);
                }
            }
#pragma warning disable CA1031 // A missed heartbeat is not fatal; the next claim or report names a lost connection.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        /// <summary>Takes the study's finished trials that this run has not seen into the history and the tuner.</summary>
        private void Sync(IReadOnlyList<StoredTrial> trials)
        {
            foreach (var t in trials)
            {
                if (t.Result is { } result && _known.Add(t.Number))
                {
                    _history.Add(result);
                    _sweep.Tuner.Report(result);
                }
            }
        }

        /// <summary>The next trial of the study for this worker (see <see cref="StudyStore.Claim"/>), or null with
        /// <see cref="_storeEnd"/> set when the search has nothing left, or <see cref="_othersRunning"/> when it waits
        /// on other workers' trials.</summary>
        private ClaimedTrial? ClaimFromStore(HashSet<int> runningHere)
        {
            _othersRunning = false;
            _storeEnd = null;
            return _store!.Claim(_study!, _sweep.Space, _worker, (long)_options.HeartbeatGrace.TotalMilliseconds, trials =>
            {
                Sync(trials);
                _othersRunning = trials.Any(t => t.Status is StudyStore.Running or StudyStore.Pending && !runningHere.Contains(t.Number));
                if (_options.FinalizeOnly)
                {
                    _storeEnd = SweepStopReason.MaxTrials;
                    return null;
                }

                var proposals = trials.Where(t => t.RepeatOf is null && t.RetryOf is null).ToList();
                int trained = proposals.Count(t => t.Status is not (nameof(TrialStatus.Skipped) or nameof(TrialStatus.Cancelled)));
                int trailingSkips = proposals.AsEnumerable().Reverse().TakeWhile(t => t.Status == nameof(TrialStatus.Skipped)).Count();
                if (trained >= _options.MaxTrials)
                {
                    _storeEnd = SweepStopReason.MaxTrials;
                    return null;
                }

                if (SearchBudgetSpent || BudgetSpent)
                {
                    _storeEnd = SweepStopReason.TimeBudget;
                    return null;
                }

                if (trailingSkips >= _options.MaxConsecutiveSkips)
                {
                    _storeEnd = SweepStopReason.TooManySkips;
                    return null;
                }

                // The tuner makes the study's proposals in order: advance it past those other workers made, so that a
                // grid or random search proposes exactly what one process would.
                ParameterSet? parameters = null;
                do
                {
                    parameters = _sweep.Tuner.Propose(_history);
                    _tunerProposals++;
                }
                while (parameters is not null && _tunerProposals <= proposals.Count);

                if (parameters is null)
                {
                    _storeEnd = SweepStopReason.TunerExhausted;
                    return null;
                }

                return new Proposal(parameters, _sweep.Space.FindViolation(parameters), null, n => SweepRandom.DeriveSeed(_seed, TrialSeedStream, n));
            });
        }

        private async Task<SweepResult> ExecuteCoreAsync(CancellationToken cancellationToken)
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            _stop = stop;
            var remaining = _options.TimeBudget is { } budget ? budget - _priorUsage : (TimeSpan?)null;
            if (remaining is { } left && left <= TimeSpan.Zero)
            {
                _timedOut = true;
            }

            using var budgetTimer = remaining is { } r && r > TimeSpan.Zero ? new CancellationTokenSource(r, _clock) : null;
            using var budgetRegistration = budgetTimer?.Token.Register(() =>
            {
                _timedOut = true;
                TryCancel(stop);
            });

            var running = new Dictionary<Task<SweepTrialResult>, int>();
            var runningIds = new Dictionary<Task<SweepTrialResult>, int>();
            int nextId = 0, trained = 0, consecutiveSkips = 0;
            SweepStopReason? stopReason = null, searchEnd = null;
            Queue<SweepTrialResult>? repeats = null;
            string? finalizedBy = null;
            bool finalizes = _store is null, waitForOthers = false;
            try
            {
                while (true)
                {
                    waitForOthers = false;
                    while (stopReason is null && running.Count < _options.Parallelism)
                    {
                        if (cancellationToken.IsCancellationRequested)
                        {
                            stopReason = SweepStopReason.Cancelled;
                        }
                        else if (BudgetSpent)
                        {
                            _timedOut = true;
                            TryCancel(stop);
                            stopReason = SweepStopReason.TimeBudget;
                        }
                        else if (searchEnd is not null)
                        {
                            // The repeats: once the search's last trials have finished, re-run the best configurations.
                            if (repeats is null && running.Count > 0)
                            {
                                break;
                            }

                            if (repeats is null && _store is not null)
                            {
                                // The study's finalization (repeats here, refit by the caller) runs on one worker only.
                                finalizedBy = _store.ClaimFinalization(_study!, _worker, (long)_options.HeartbeatGrace.TotalMilliseconds, _options.FinalizeOnly);
                                if (finalizedBy is not null)
                                {
                                    stopReason = searchEnd;
                                    break;
                                }

                                finalizes = true;
                                Sync(_store.LoadTrials(_study!, _sweep.Space));
                            }

                            repeats ??= PlanRepeats();
                            if (!repeats.TryDequeue(out var original))
                            {
                                stopReason = searchEnd;
                                break;
                            }

                            if (_store is not null)
                            {
                                var repeat = _store.Claim(_study!, _sweep.Space, _worker, (long)_options.HeartbeatGrace.TotalMilliseconds,
                                    _ => new Proposal(original.Parameters, null, original.Id, n => SweepRandom.DeriveSeed(_seed, TrialSeedStream, n)));
                                if (repeat is not null)
                                {
                                    StartTrial(running, repeat.Number, repeat.Parameters, repeat.RepeatOf, stop.Token, repeat.Seed);
                                    runningIds[running.Keys.Last()] = repeat.Number;
                                }

                                continue;
                            }

                            int id = nextId++;
                            StartTrial(running, id, original.Parameters, original.Id, stop.Token);
                        }
                        else if (_store is not null)
                        {
                            var claimed = ClaimFromStore([.. runningIds.Values]);
                            if (claimed is not null)
                            {
                                StartTrial(running, claimed.Number, claimed.Parameters, claimed.RepeatOf, stop.Token, claimed.Seed);
                                runningIds[running.Keys.Last()] = claimed.Number;
                            }
                            else if (_othersRunning)
                            {
                                // Nothing to propose, but other workers' trials may still die and come back to the queue.
                                waitForOthers = true;
                                break;
                            }
                            else if (running.Count == 0)
                            {
                                searchEnd = _storeEnd ?? SweepStopReason.MaxTrials;
                            }
                            else
                            {
                                break;
                            }
                        }
                        else if (SearchBudgetSpent)
                        {
                            searchEnd = SweepStopReason.TimeBudget;
                        }
                        else if (trained >= _options.MaxTrials)
                        {
                            searchEnd = SweepStopReason.MaxTrials;
                        }
                        else if (_sweep.Tuner.Propose(_history) is not { } parameters)
                        {
                            searchEnd = SweepStopReason.TunerExhausted;
                        }
                        else if (_sweep.Space.FindViolation(parameters) is { } violation)
                        {
                            Record(new SweepTrialResult
                            {
                                Id = nextId++,
                                Parameters = parameters,
                                Status = TrialStatus.Skipped,
                                Seed = SweepRandom.DeriveSeed(_seed, TrialSeedStream, nextId - 1),
                                Message = violation,
                            }, running.Count);
                            if (++consecutiveSkips >= _options.MaxConsecutiveSkips)
                            {
                                searchEnd = SweepStopReason.TooManySkips;
                            }
                        }
                        else
                        {
                            consecutiveSkips = 0;
                            trained++;
                            StartTrial(running, nextId++, parameters, null, stop.Token);
                        }
                    }

                    if (running.Count == 0 && !(waitForOthers && stopReason is null))
                    {
                        break;
                    }

                    if (_store is not null && stopReason is null && (waitForOthers || searchEnd is null))
                    {
                        // Poll the study while waiting: a trial of a worker that stopped beating must be retried here.
                        // A worker with nothing left to claim polls often, so that it leaves (or finalizes) as soon as
                        // the others' last trials end rather than up to half a heartbeat later.
                        var interval = waitForOthers
                            ? IdlePollInterval
                            : TimeSpan.FromTicks(Math.Max(IdlePollInterval.Ticks, _options.HeartbeatInterval.Ticks / 2));
                        var poll = Task.Delay(interval, _clock, stop.Token);
                        var first = await Task.WhenAny(running.Keys.Append(poll)).ConfigureAwait(false);
                        if (first == poll)
                        {
                            await Task.WhenAny(poll).ConfigureAwait(false);
                            continue;
                        }
                    }

                    var finished = await Task.WhenAny(running.Keys).ConfigureAwait(false);
                    _deviceLoad[running[finished]]--;
                    running.Remove(finished);
                    runningIds.Remove(finished);
                    Record(await finished.ConfigureAwait(false), running.Count);
                }
            }
            finally
            {
                if (running.Count > 0)
                {
                    // Leaving early (a tuner or monitor threw): stop and drain the trials still running.
                    TryCancel(stop);
                    await Task.WhenAll(running.Keys).ConfigureAwait(false);
                }

                _stop = null;
            }

            if (_store is null)
            {
                var trials = _history.OrderBy(t => t.Id).ToArray();
                return new SweepResult(trials, new Leaderboard(trials, _objective), _seed,
                    stopReason ?? SweepStopReason.TunerExhausted, Elapsed, _options.Metric, _options.MaxEpochs);
            }

            // The study's leaderboard: every worker's finished trials.
            var store = _store;
            var study = _study!;
            var all = store.LoadTrials(study, _sweep.Space).Where(t => t.Result is not null).Select(t => t.Result!).ToArray();
            Action<bool>? end = null;
            if (finalizes)
            {
                bool completed = stopReason != SweepStopReason.Cancelled && !cancellationToken.IsCancellationRequested;
                if (_sweep.DeferFinalization && completed)
                {
                    end = done =>
                    {
                        try
                        {
                            store.EndFinalization(study, _worker, done);
                        }
                        finally
                        {
                            CloseStudy();
                        }
                    };
                }
                else
                {
                    store.EndFinalization(study, _worker, completed);
                }
            }

            return new SweepResult(all, new Leaderboard(all, _objective), _seed, stopReason ?? SweepStopReason.TunerExhausted, Elapsed,
                _options.Metric, _options.MaxEpochs)
            {
                Study = study.Name,
                Finalizes = finalizes,
                FinalizedBy = finalizedBy,
                Worker = _worker,
                EndFinalization = end,
            };
        }

        private void StartTrial(Dictionary<Task<SweepTrialResult>, int> running, int id, ParameterSet parameters, int? repeatOf, CancellationToken token, int? seed = null)
        {
            int device = TakeDevice();
            var info = new TrialStartInfo
            {
                Id = id,
                Parameters = parameters,
                Seed = seed ?? SweepRandom.DeriveSeed(_seed, TrialSeedStream, id),
                Device = _options.Devices[device],
                Threads = _options.EffectiveThreadsPerTrial,
                RepeatOf = repeatOf,
            };
            _started++;
            running.Add(RunTrialAsync(info, token), device);
            _sweep.Monitor?.OnTrialStarted(info);
        }

        /// <summary>The repeat runs: the best <see cref="SweepOptions.RepeatTopConfigurations"/> distinct completed
        /// configurations, <see cref="SweepOptions.RepeatSeeds"/> runs each, interleaved (every configuration's second
        /// run before any third) so that a budget that ends early leaves them with equal counts where it can.</summary>
        private Queue<SweepTrialResult> PlanRepeats()
        {
            var top = _history
                .Where(t => t.Status == TrialStatus.Completed && t.RepeatOf is null && double.IsFinite(_objective.Evaluate(t)))
                .OrderBy(_objective.Evaluate).ThenBy(t => t.Id)
                .DistinctBy(t => t.Parameters.Key)
                .Take(_options.RepeatTopConfigurations)
                .ToList();
            // Repeats already run (by an earlier finalization of the study) are not run again.
            var done = _history.Where(t => t.RepeatOf is int o && t.Status != TrialStatus.Cancelled).GroupBy(t => t.RepeatOf!.Value).ToDictionary(g => g.Key, g => g.Count());
            var queue = new Queue<SweepTrialResult>();
            for (int r = 0; r < _options.RepeatSeeds; r++)
            {
                foreach (var t in top)
                {
                    if (r >= done.GetValueOrDefault(t.Id))
                    {
                        queue.Enqueue(t);
                    }
                }
            }

            return queue;
        }

        private static void TryCancel(CancellationTokenSource source)
        {
            try
            {
                source.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The sweep already finished; nothing left to stop.
            }
        }

        private int TakeDevice()
        {
            int n = _deviceLoad.Length, best = _nextDevice % n;
            for (int k = 1; k < n; k++)
            {
                int d = (_nextDevice + k) % n;
                if (_deviceLoad[d] < _deviceLoad[best])
                {
                    best = d;
                }
            }

            _deviceLoad[best]++;
            _nextDevice = best + 1;
            return best;
        }

        private void Record(SweepTrialResult result, int running)
        {
            if (_store is not null)
            {
                _store.Finish(_study!, result, _worker);
                _known.Add(result.Id);
            }

            _history.Add(result);
            _sweep.Tuner.Report(result);
            var monitor = _sweep.Monitor;
            switch (result.Status)
            {
                case TrialStatus.Skipped:
                    monitor?.OnTrialSkipped(result);
                    break;
                case TrialStatus.Failed:
                    monitor?.OnTrialFailed(result);
                    break;
                default:
                    monitor?.OnTrialCompleted(result);
                    break;
            }

            if (result.Status == TrialStatus.Completed && double.IsFinite(_objective.Evaluate(result))
                && (_best is null || _objective.Evaluate(result) < _objective.Evaluate(_best)))
            {
                _best = result;
                monitor?.OnBestChanged(result);
            }

            monitor?.OnProgress(new SweepProgress
            {
                Started = _started,
                Running = running,
                Completed = _history.Count(t => t.Status == TrialStatus.Completed),
                Pruned = _history.Count(t => t.Status == TrialStatus.Pruned),
                Failed = _history.Count(t => t.Status == TrialStatus.Failed),
                Skipped = _history.Count(t => t.Status == TrialStatus.Skipped),
                Cancelled = _history.Count(t => t.Status == TrialStatus.Cancelled),
                MaxTrials = _options.MaxTrials,
                TotalEpochs = _history.Sum(t => (long)t.EpochsRun),
                Elapsed = Elapsed,
                Best = _best,
            });
        }

        /// <summary>Runs one trial to its end and turns whatever happened into a result; never throws.</summary>
        private async Task<SweepTrialResult> RunTrialAsync(TrialStartInfo info, CancellationToken sweepToken)
        {
            using var trialStop = CancellationTokenSource.CreateLinkedTokenSource(sweepToken);
            var context = new TrialContext(info.Id, info.Parameters, info.Seed, info.Threads, info.Device, _options.MaxEpochs,
                _options.EarlyStoppingPatience, _options.EarlyStoppingMinDelta,
                (ctx, epoch, loss) => OnEpoch(ctx, epoch, loss, info.RepeatOf is null, trialStop, sweepToken), trialStop.Token);
            long start = _clock.GetTimestamp();
            TrialOutcome? outcome = null;
            Exception? error = null;
            try
            {
                var options = _sweep.Space.Materialize(info.Parameters);

                // A dedicated thread: real runners train synchronously before their first await.
                outcome = await Task.Factory.StartNew(
                        () => _sweep.Runner.RunAsync(options, context, trialStop.Token),
                        CancellationToken.None,
                        TaskCreationOptions.LongRunning,
                        TaskScheduler.Default)
                    .Unwrap().ConfigureAwait(false);
            }
#pragma warning disable CA1031 // A trial's failure, whatever it is (OOM included), is recorded and the sweep goes on.
            catch (Exception e)
#pragma warning restore CA1031
            {
                error = e;
            }

            var duration = _clock.GetElapsedTime(start);
            var losses = context.EpochLosses;
            int epochs = outcome?.EpochsRun ?? context.LastEpoch;
            double loss = double.IsFinite(context.BestLoss) ? context.BestLoss : double.NaN;
            var metrics = outcome?.Metrics ?? new Dictionary<string, double>();
            double metric = MetricOf(loss, metrics);

            TrialStatus status;
            string? message = null;
            if (context.IsPruned)
            {
                status = TrialStatus.Pruned;
                message = $"pruned after epoch {context.LastEpoch}";
            }
            else if (sweepToken.IsCancellationRequested && (error is not null || (epochs < _options.MaxEpochs && !context.StoppedEarly)))
            {
                status = TrialStatus.Cancelled;
                message = _timedOut ? "time budget spent" : "sweep cancelled";
            }
            else if (error is not null)
            {
                status = TrialStatus.Failed;
                message = $"{error.GetType().Name}: {error.Message}";
            }
            else if (double.IsNaN(loss))
            {
                status = TrialStatus.Failed;
                message = "the runner reported no validation loss";
            }
            else if (double.IsNaN(metric) && !IsLossMetric)
            {
                status = TrialStatus.Failed;
                message = $"the runner did not report the metric '{_options.Metric}'";
            }
            else
            {
                status = TrialStatus.Completed;
                message = outcome?.Message;
            }

            return new SweepTrialResult
            {
                Id = info.Id,
                Parameters = info.Parameters,
                Status = status,
                ValidationLoss = loss,
                BestEpoch = context.BestEpoch,
                LastValidationLoss = losses.Count > 0 ? losses[^1] : double.NaN,
                StoppedEarly = context.StoppedEarly && status == TrialStatus.Completed,
                RepeatOf = info.RepeatOf,
                MetricValue = metric,
                EpochsRun = epochs,
                EpochLosses = losses,
                Metrics = metrics,
                Duration = duration,
                Seed = info.Seed,
                Device = info.Device,
                Threads = info.Threads,
                Message = message,
            };
        }

        private bool IsLossMetric =>
            string.Equals(_options.Metric, SweepOptions.ValidationLossMetric, StringComparison.OrdinalIgnoreCase)
            || string.Equals(_options.Metric, SweepOptions.PerplexityMetric, StringComparison.OrdinalIgnoreCase);

        private double MetricOf(double loss, IReadOnlyDictionary<string, double> metrics)
        {
            if (metrics.TryGetValue(_options.Metric, out double value))
            {
                return value;
            }

            if (string.Equals(_options.Metric, SweepOptions.ValidationLossMetric, StringComparison.OrdinalIgnoreCase))
            {
                return loss;
            }

            return string.Equals(_options.Metric, SweepOptions.PerplexityMetric, StringComparison.OrdinalIgnoreCase)
                ? Math.Exp(loss)
                : double.NaN;
        }

        /// <summary>The epoch checkpoint: runs on the trial's thread; says whether the trial goes on. The pruner
        /// judges the trial's best loss so far (repeats are never pruned: they measure a configuration's spread).</summary>
        private bool OnEpoch(TrialContext context, int epoch, double loss, bool prunable, CancellationTokenSource trialStop, CancellationToken sweepToken)
        {
            if (sweepToken.IsCancellationRequested)
            {
                return false;
            }

            if (BudgetSpent)
            {
                _timedOut = true;
                if (_stop is { } stop)
                {
                    TryCancel(stop);
                }

                return false;
            }

            double best = double.IsFinite(context.BestLoss) ? context.BestLoss : loss;
            if (_store is not null)
            {
                // Recorded for the other workers' rung decisions (and as the trial's heartbeat).
                _store.ReportEpoch(_study!, context.TrialId, epoch, best, _worker);
                if (_sweep.Pruner is AshaPruner asha)
                {
                    // ASHA across workers: a rung holds what every trial of the study recorded at its epoch.
                    if (prunable && epoch < _options.MaxEpochs && asha.Rungs.Contains(epoch)
                        && AshaPruner.Prunes(best, _store.EpochValues(_study!, epoch), asha.ReductionFactor))
                    {
                        context.IsPruned = true;
                        TryCancel(trialStop);
                        return false;
                    }

                    return true;
                }
            }

            if (prunable && epoch < _options.MaxEpochs && _sweep.Pruner.ShouldPrune(context.TrialId, epoch, best))
            {
                context.IsPruned = true;
                TryCancel(trialStop);
                return false;
            }

            return true;
        }
    }
}
