// A native transformer model (libmlt) seen from .NET: create, train one step at a time, evaluate, run a
// forward pass with attention weights, and read or write its state by PyTorch state-dict name.
// Every buffer is checked here before the native call; the engine checks again.

using MLNet.Transformer.Interop;

namespace MLNet.Transformer.Engine;

/// <summary>
/// A decoder-only or encoder-decoder transformer held by the native engine. Dispose it to free the native
/// memory (a finalizer frees it otherwise).
/// </summary>
/// <remarks>
/// <para>Threads: the read-only members (<see cref="Forward"/>, <see cref="EvaluateLoss(TokenBatch)"/>,
/// <see cref="ReadState"/>, <see cref="ExportState"/>) may be called from several threads at once; they use no
/// random generator and write nothing in the model (mlt.h, "Threads"). The members that change the model
/// (<see cref="TrainStep(TokenBatch, float)"/>, <see cref="WriteState"/>, <see cref="ImportState"/>,
/// <see cref="SetOptimizer"/>, <see cref="SetSeed"/>) need exclusive use: do not run them while any other member
/// runs on the same instance. Different instances are independent.</para>
/// <para>Shapes: B = batch size, T = decoder length, S = source length, V = vocabulary, L = decoder layers,
/// L_enc = encoder layers, H = heads.</para>
/// </remarks>
public sealed class TransformerModel : IDisposable
{
    private const int NameBufferLength = 512;
    private Precision _precision = Precision.Float32;
    private int? _threads;

    private readonly ModelHandle _handle;
    private readonly Dictionary<string, TensorInfo> _stateByName;

    private TransformerModel(ModelHandle handle, TransformerModelConfig config, string device)
    {
        _handle = handle;
        Config = config;
        Device = device;
        var state = ReadStateInfo(handle);
        StateInfo = state.AsReadOnly();
        _stateByName = state.ToDictionary(t => t.Name, StringComparer.Ordinal);
        long count;
        unsafe
        {
            NativeStatus.Check(NativeMethods.mlt_model_num_parameters(&count, handle));
        }

        ParameterCount = count;
        SetOptimizer(new OptimizerSettings());
    }

    /// <summary>The architecture this model was created with.</summary>
    public TransformerModelConfig Config { get; }

    /// <summary>The resolved device the model lives on (<c>cpu</c> or <c>cuda:N</c>).</summary>
    public string Device { get; }

    /// <summary>Number of trainable scalars.</summary>
    public long ParameterCount { get; }

    /// <summary>Every state tensor, in the engine's order, with its PyTorch state-dict name and shape.</summary>
    public IReadOnlyList<TensorInfo> StateInfo { get; }

    /// <summary>The native handle, for interop tests that call the C ABI directly.</summary>
    internal ModelHandle Handle => _handle;

    /// <summary>The optimiser settings in effect (PyTorch's Adam defaults until <see cref="SetOptimizer"/>).</summary>
    public OptimizerSettings Optimizer { get; private set; } = new();

    /// <summary>Creates a model with freshly initialised weights.</summary>
    /// <param name="config">Architecture; validated first.</param>
    /// <param name="device"><c>cpu</c>, <c>cuda</c>, <c>cuda:N</c> or <c>auto</c> (see <see cref="EngineRuntime.ResolveDevice"/>).</param>
    /// <returns>The model; dispose it.</returns>
    /// <exception cref="TransformerArgumentException">A configuration option is invalid.</exception>
    /// <exception cref="DeviceUnavailableException">The device does not exist here.</exception>
    /// <exception cref="NativeLibraryNotFoundException">libmlt could not be loaded.</exception>
    public static TransformerModel Create(TransformerModelConfig config, string device = "cpu")
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var resolved = EngineRuntime.ResolveDevice(device);
        var native = config.ToNative();
        var status = NativeMethods.mlt_model_create(out var handle, in native, resolved);
        if (status != NativeMethods.StatusOk)
        {
            var error = NativeStatus.CreateException(status, NativeMethods.LastError());
            handle.Dispose();
            throw error;
        }

        try
        {
            return new TransformerModel(handle, config, resolved);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Sets the optimiser used by later training steps (its moment estimates are kept by the engine).</summary>
    /// <param name="settings">Optimiser settings; validated first.</param>
    /// <exception cref="TransformerArgumentException">A setting is invalid.</exception>
    public void SetOptimizer(OptimizerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ThrowIfDisposed();
        settings.Validate();
        var native = settings.ToNative();
        NativeStatus.Check(NativeMethods.mlt_model_set_optimizer(_handle, in native));
        Optimizer = settings;
    }

    /// <summary>The arithmetic of training steps, evaluations and forwards (<see cref="Engine.Precision.Float32"/> when created).</summary>
    /// <exception cref="TransformerArgumentException">Set to <see cref="Engine.Precision.Auto"/>: resolve it with <see cref="EngineRuntime.ResolvePrecision"/> first.</exception>
    public Precision Precision
    {
        get => _precision;
        set
        {
            ThrowIfDisposed();
            if (value is not (Precision.Float32 or Precision.BFloat16))
            {
                throw TransformerArgumentException.ForOption(
                    $"Precision must be Float32 or BFloat16 on a model, not {value} (resolve Auto with EngineRuntime.ResolvePrecision).", "precision");
            }

            NativeStatus.Check(NativeMethods.mlt_model_set_precision(_handle, (int)value));
            _precision = value;
        }
    }

    /// <summary>
    /// CPU threads of this model's compute calls, on whichever thread makes them, so that models trained side by side
    /// split the cores; null (the default) lets the engine choose: the process-wide <see cref="EngineRuntime.NumThreads"/>
    /// when it was set, else every core for steps large enough to gain from them and one thread for small ones.
    /// </summary>
    /// <exception cref="TransformerArgumentException">Set to less than 1.</exception>
    public int? Threads
    {
        get => _threads;
        set
        {
            ThrowIfDisposed();
            if (value is < 1)
            {
                throw TransformerArgumentException.ForOption($"Threads must be at least 1 (or null for automatic), not {value}.", "threads");
            }

            NativeStatus.Check(NativeMethods.mlt_model_set_threads(_handle, value ?? 0));
            _threads = value;
        }
    }

    /// <summary>Seeds this model's dropout generator (independent of the global one).</summary>
    /// <param name="seed">The seed.</param>
    public void SetSeed(ulong seed)
    {
        ThrowIfDisposed();
        NativeStatus.Check(NativeMethods.mlt_model_set_seed(_handle, seed));
    }

    /// <summary>
    /// One optimisation step: forward in training mode (dropout on), mean cross-entropy over non-pad targets,
    /// backward, optional clipping, optimiser step.
    /// </summary>
    /// <param name="batch">Tokens and targets (and source for encoder-decoder models).</param>
    /// <param name="learningRate">Learning rate of this step; finite and non-negative.</param>
    /// <returns>The batch loss before the step and the total gradient norm before clipping.</returns>
    /// <exception cref="TransformerArgumentException">A buffer size or token id is invalid, or every target is padding.</exception>
    /// <exception cref="TrainingDivergedException">
    /// The loss or the gradient norm is not finite; the step was refused and the model is unchanged.
    /// </exception>
    public TrainStepResult TrainStep(TokenBatch batch, float learningRate)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var loss = TrainStep(
            batch.Tokens.Span, batch.Targets.Span, batch.Source.Span,
            batch.BatchSize, batch.TargetLength, batch.SourceLength, learningRate, out var gradNorm);
        return new TrainStepResult(loss, gradNorm);
    }

    /// <summary>One optimisation step on raw buffers; see <see cref="TrainStep(TokenBatch, float)"/>.</summary>
    /// <param name="tokens">(B, T) decoder input ids.</param>
    /// <param name="targets">(B, T) next-token targets; pad_id is ignored by the loss.</param>
    /// <param name="source">(B, S) source ids (encoder-decoder), else empty.</param>
    /// <param name="batch">B.</param>
    /// <param name="targetLength">T.</param>
    /// <param name="sourceLength">S (0 for decoder-only models).</param>
    /// <param name="learningRate">Learning rate; finite and non-negative.</param>
    /// <param name="gradNorm">Total gradient L2 norm before clipping.</param>
    /// <returns>Mean loss of the batch before the step.</returns>
    /// <exception cref="TransformerArgumentException">A buffer size or token id is invalid, or every target is padding.</exception>
    /// <exception cref="TrainingDivergedException">
    /// The loss or the gradient norm is not finite; the step was refused and the model is unchanged.
    /// </exception>
    public float TrainStep(
        ReadOnlySpan<long> tokens, ReadOnlySpan<long> targets, ReadOnlySpan<long> source,
        int batch, int targetLength, int sourceLength, float learningRate, out float gradNorm)
    {
        ThrowIfDisposed();
        if (!(learningRate >= 0f) || float.IsInfinity(learningRate))
        {
            throw new TransformerArgumentException($"The learning rate must be finite and non-negative, got {learningRate}.", nameof(learningRate));
        }

        // In a group, a rank may hold none of a step's targets; the step fails only when no rank holds any.
        CheckInputs(tokens, targets, source, batch, targetLength, sourceLength, targetsRequired: true, allPadAllowed: Group is not null);
        float loss = float.NaN, norm = float.NaN;
        int status;
        unsafe
        {
            fixed (long* pTokens = tokens)
            fixed (long* pTargets = targets)
            fixed (long* pSource = source)
            {
                status = NativeMethods.mlt_model_train_step(
                    &loss, &norm, _handle, pTokens, tokens.Length, pTargets, targets.Length, pSource, source.Length,
                    batch, targetLength, sourceLength, learningRate);
            }
        }

        if (status == NativeMethods.StatusNonFinite)
        {
            throw new TrainingDivergedException(NativeMethods.LastError(), loss, norm, learningRate);
        }

        NativeStatus.Check(status);
        gradNorm = norm;
        return loss;
    }

    /// <summary>Summed cross-entropy over the non-pad targets and their count (inference mode, no dropout).</summary>
    /// <param name="batch">Tokens and targets (and source for encoder-decoder models).</param>
    /// <returns>The summed loss and the number of non-pad targets.</returns>
    /// <exception cref="TransformerArgumentException">A buffer size or token id is invalid, or every target is padding.</exception>
    public (double Sum, long Count) EvaluateLoss(TokenBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return EvaluateLoss(
            batch.Tokens.Span, batch.Targets.Span, batch.Source.Span, batch.BatchSize, batch.TargetLength, batch.SourceLength);
    }

    /// <summary>Summed cross-entropy on raw buffers; see <see cref="EvaluateLoss(TokenBatch)"/>.</summary>
    /// <param name="tokens">(B, T) decoder input ids.</param>
    /// <param name="targets">(B, T) next-token targets.</param>
    /// <param name="source">(B, S) source ids (encoder-decoder), else empty.</param>
    /// <param name="batch">B.</param>
    /// <param name="targetLength">T.</param>
    /// <param name="sourceLength">S.</param>
    /// <returns>The summed loss and the number of non-pad targets.</returns>
    public (double Sum, long Count) EvaluateLoss(
        ReadOnlySpan<long> tokens, ReadOnlySpan<long> targets, ReadOnlySpan<long> source,
        int batch, int targetLength, int sourceLength)
    {
        ThrowIfDisposed();
        CheckInputs(tokens, targets, source, batch, targetLength, sourceLength, targetsRequired: true);
        double sum;
        long count;
        unsafe
        {
            fixed (long* pTokens = tokens)
            fixed (long* pTargets = targets)
            fixed (long* pSource = source)
            {
                NativeStatus.Check(NativeMethods.mlt_model_eval_loss(
                    &sum, &count, _handle, pTokens, tokens.Length, pTargets, targets.Length, pSource, source.Length,
                    batch, targetLength, sourceLength));
            }
        }

        return (sum, count);
    }

    /// <summary>An evaluation forward pass (no dropout) returning the requested outputs.</summary>
    /// <param name="batch">Tokens (and source for encoder-decoder models); targets are not used.</param>
    /// <param name="outputs">Which outputs to compute.</param>
    /// <returns>The requested outputs; the others are null.</returns>
    /// <exception cref="TransformerArgumentException">
    /// A buffer size or token id is invalid, or encoder/cross attention was requested from a decoder-only model.
    /// </exception>
    public ForwardResult Forward(TokenBatch batch, ForwardOutputs outputs = ForwardOutputs.Logits)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ThrowIfDisposed();
        var encoderDecoder = Config.Kind == ModelKind.EncoderDecoder;
        if (!encoderDecoder && (outputs & (ForwardOutputs.EncoderAttention | ForwardOutputs.CrossAttention)) != 0)
        {
            if (outputs == ForwardOutputs.All)
            {
                outputs = ForwardOutputs.Logits | ForwardOutputs.SelfAttention;
            }
            else
            {
                throw new TransformerArgumentException(
                    "Encoder and cross attention exist only in encoder-decoder models; this model is decoder-only.", nameof(outputs));
            }
        }

        var tokens = batch.Tokens.Span;
        var source = batch.Source.Span;
        int b = batch.BatchSize, t = batch.TargetLength, s = batch.SourceLength;
        CheckInputs(tokens, ReadOnlySpan<long>.Empty, source, b, t, s, targetsRequired: false);
        if (batch.HasTargets)
        {
            CheckIds(batch.Targets.Span, Config.VocabSize, "targets", "VocabSize");
        }

        long h = Config.Heads, l = Config.Layers, lEnc = Config.EncoderLayers;
        var logits = Allocate(outputs, ForwardOutputs.Logits, b, t, Config.VocabSize);      // (B, T, V)
        var self = Allocate(outputs, ForwardOutputs.SelfAttention, l, b, h, t, t);           // (L, B, H, T, T)
        var enc = Allocate(outputs, ForwardOutputs.EncoderAttention, lEnc, b, h, s, s);      // (L_enc, B, H, S, S)
        var cross = Allocate(outputs, ForwardOutputs.CrossAttention, l, b, h, t, s);         // (L, B, H, T, S)
        unsafe
        {
            fixed (long* pTokens = tokens)
            fixed (long* pSource = source)
            fixed (float* pLogits = logits.Data)
            fixed (float* pSelf = self.Data)
            fixed (float* pEnc = enc.Data)
            fixed (float* pCross = cross.Data)
            {
                NativeStatus.Check(NativeMethods.mlt_model_forward(
                    pLogits, logits.Length, pSelf, self.Length, pEnc, enc.Length, pCross, cross.Length,
                    _handle, pTokens, tokens.Length, pSource, source.Length, b, t, s));
            }
        }

        return new ForwardResult(logits.Tensor(), self.Tensor(), enc.Tensor(), cross.Tensor());
    }

    /// <summary>
    /// Starts incremental decoding of one sequence with a key/value cache (generation): see <see cref="IncrementalDecoder"/>.
    /// </summary>
    /// <param name="source">The source ids of an encoder-decoder model, encoded once here; empty for a decoder-only model.</param>
    /// <returns>The decoder; dispose it.</returns>
    /// <exception cref="TransformerArgumentException">
    /// A source for a decoder-only model, none (or one longer than <see cref="TransformerModelConfig.MaxLength"/>) for an
    /// encoder-decoder model, or a source id out of range.
    /// </exception>
    public IncrementalDecoder CreateDecoder(ReadOnlySpan<long> source = default)
    {
        ThrowIfDisposed();
        if (Config.Kind == ModelKind.EncoderDecoder)
        {
            if (source.IsEmpty || source.Length > Config.MaxLength)
            {
                throw new TransformerArgumentException(
                    $"An encoder-decoder model decodes against a source of 1 to {Config.MaxLength} ids (TransformerModelConfig.MaxLength); got {source.Length}.",
                    nameof(source));
            }

            CheckIds(source, Config.EffectiveSourceVocabSize, "source", "SourceVocabSize");
        }
        else if (!source.IsEmpty)
        {
            throw new TransformerArgumentException("A decoder-only model takes no source.", nameof(source));
        }

        DecoderHandle handle;
        unsafe
        {
            fixed (long* pSource = source)
            {
                NativeStatus.Check(NativeMethods.mlt_decoder_create(out handle, _handle, source.IsEmpty ? null : pSource, source.Length));
            }
        }

        return new IncrementalDecoder(handle, Config.VocabSize, Config.MaxLength);
    }

    /// <summary>Copies one state tensor (or its gradient) out of the engine.</summary>
    /// <param name="name">State-dict name, one of <see cref="StateInfo"/>.</param>
    /// <param name="gradient">True for the gradient of the last training step (zeros before the first).</param>
    /// <returns>The elements, row-major.</returns>
    /// <exception cref="TransformerArgumentException">The name is unknown.</exception>
    public float[] ReadState(string name, bool gradient = false)
    {
        var info = Lookup(name);
        var data = new float[checked((int)info.ElementCount)];
        unsafe
        {
            fixed (float* p = data)
            {
                NativeStatus.Check(NativeMethods.mlt_model_state_read(
                    p, _handle, name, gradient ? NativeMethods.ReadGradient : NativeMethods.ReadValue, data.LongLength));
            }
        }

        return data;
    }

    /// <summary>Overwrites one state tensor.</summary>
    /// <param name="name">State-dict name, one of <see cref="StateInfo"/>.</param>
    /// <param name="data">Exactly as many elements as the tensor has, row-major.</param>
    /// <exception cref="TransformerArgumentException">The name is unknown or the length is wrong.</exception>
    public void WriteState(string name, ReadOnlySpan<float> data)
    {
        var info = Lookup(name);
        if (data.Length != info.ElementCount)
        {
            throw new TransformerArgumentException(
                $"State tensor '{name}' {FormatShape(info.Shape)} holds {info.ElementCount} elements, but {data.Length} were given.", nameof(data));
        }

        unsafe
        {
            fixed (float* p = data)
            {
                NativeStatus.Check(NativeMethods.mlt_model_state_write(_handle, name, p, data.Length));
            }
        }
    }

    /// <summary>Copies every state tensor out, keyed by state-dict name, in <see cref="StateInfo"/> order.</summary>
    /// <returns>Name to (shape, row-major data).</returns>
    public IDictionary<string, (long[] Shape, float[] Data)> ExportState()
    {
        ThrowIfDisposed();
        var result = new Dictionary<string, (long[] Shape, float[] Data)>(StateInfo.Count, StringComparer.Ordinal);
        foreach (var info in StateInfo)
        {
            result.Add(info.Name, ([.. info.Shape], ReadState(info.Name)));
        }

        return result;
    }

    /// <summary>
    /// Writes a state exported by <see cref="ExportState"/> (from a model of the same architecture). Everything
    /// is checked before anything is written: every tensor of this model must be present with its exact shape,
    /// and no unknown name may appear.
    /// </summary>
    /// <param name="state">Name to (shape, row-major data).</param>
    /// <exception cref="TransformerArgumentException">A name is missing or unknown, or a shape or length differs.</exception>
    public void ImportState(IEnumerable<KeyValuePair<string, (long[] Shape, float[] Data)>> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        ThrowIfDisposed();
        var entries = state.ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, (shape, data)) in entries)
        {
            if (!_stateByName.TryGetValue(name, out var info))
            {
                throw new TransformerArgumentException($"Unknown state tensor '{name}'; this model has {StateInfo.Count} tensors, e.g. '{StateInfo[0].Name}'.", nameof(state));
            }

            if (shape is null || data is null || !shape.SequenceEqual(info.Shape) || data.LongLength != info.ElementCount)
            {
                throw new TransformerArgumentException(
                    $"State tensor '{name}' has shape {FormatShape(info.Shape)} in this model, but the given one has shape " +
                    $"{(shape is null ? "null" : FormatShape(shape))} and {data?.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"} elements.",
                    nameof(state));
            }

            if (!seen.Add(name))
            {
                throw new TransformerArgumentException($"State tensor '{name}' is given twice.", nameof(state));
            }
        }

        var missing = StateInfo.Where(i => !seen.Contains(i.Name)).Select(i => i.Name).ToList();
        if (missing.Count > 0)
        {
            throw new TransformerArgumentException(
                $"The state lacks {missing.Count} tensor(s) of this model: {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", ..." : string.Empty)}.",
                nameof(state));
        }

        foreach (var (name, (_, data)) in entries)
        {
            WriteState(name, data);
        }
    }

    /// <summary>
    /// Copies the optimiser's state out: Adam's first and second moments of every state tensor (PyTorch's
    /// <c>exp_avg</c> and <c>exp_avg_sq</c>), keyed by state-dict name in <see cref="StateInfo"/> order, and the
    /// number of steps taken. With <see cref="ExportState"/> and <see cref="ExportRandomState"/> it is everything a
    /// run needs to continue exactly.
    /// </summary>
    public OptimizerState ExportOptimizerState()
    {
        ThrowIfDisposed();
        var first = new Dictionary<string, (long[] Shape, float[] Data)>(StateInfo.Count, StringComparer.Ordinal);
        var second = new Dictionary<string, (long[] Shape, float[] Data)>(StateInfo.Count, StringComparer.Ordinal);
        foreach (var info in StateInfo)
        {
            first.Add(info.Name, ([.. info.Shape], ReadMoment(info, 0)));
            second.Add(info.Name, ([.. info.Shape], ReadMoment(info, 1)));
        }

        long step;
        unsafe
        {
            NativeStatus.Check(NativeMethods.mlt_model_optimizer_get_step(&step, _handle));
        }

        return new OptimizerState(step, first, second);
    }

    /// <summary>
    /// Restores an optimiser state from <see cref="ExportOptimizerState"/> of a model of the same architecture;
    /// every tensor is checked (names and shapes, as <see cref="ImportState"/>) before anything is written.
    /// </summary>
    /// <exception cref="TransformerArgumentException">A moment is missing, unknown or of the wrong shape, or the step is negative.</exception>
    public void ImportOptimizerState(OptimizerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        ThrowIfDisposed();
        if (state.Step < 0)
        {
            throw new TransformerArgumentException($"The optimizer step must be >= 0 (got {state.Step}).", nameof(state));
        }

        foreach (var (which, moments) in new[] { ("exp_avg", state.ExpAvg), ("exp_avg_sq", state.ExpAvgSq) })
        {
            CheckComplete(moments, which);
        }

        foreach (var (which, moments) in new[] { (0, state.ExpAvg), (1, state.ExpAvgSq) })
        {
            foreach (var (name, (_, data)) in moments)
            {
                unsafe
                {
                    fixed (float* p = data)
                    {
                        NativeStatus.Check(NativeMethods.mlt_model_optimizer_write(_handle, name, which, p, data.LongLength));
                    }
                }
            }
        }

        NativeStatus.Check(NativeMethods.mlt_model_optimizer_set_step(_handle, state.Step));
    }

    /// <summary>
    /// The model's dropout generators as opaque bytes, for <see cref="ImportRandomState"/> in a model on the same
    /// kind of device (the layout is the engine's and versioned; it is not meant to be read).
    /// </summary>
    public byte[] ExportRandomState()
    {
        ThrowIfDisposed();
        unsafe
        {
            long len;
            NativeStatus.Check(NativeMethods.mlt_model_rng_state_size(&len, _handle));
            var bytes = new byte[checked((int)len)];
            fixed (byte* p = bytes)
            {
                NativeStatus.Check(NativeMethods.mlt_model_rng_state_read(p, bytes.LongLength, _handle));
            }

            return bytes;
        }
    }

    /// <summary>Restores the dropout generators from <see cref="ExportRandomState"/>.</summary>
    /// <exception cref="TransformerArgumentException">The bytes are not an engine random state, or come from another device type.</exception>
    public void ImportRandomState(ReadOnlySpan<byte> state)
    {
        ThrowIfDisposed();
        unsafe
        {
            fixed (byte* p = state)
            {
                NativeStatus.Check(NativeMethods.mlt_model_rng_state_write(_handle, p, state.Length));
            }
        }
    }

    private float[] ReadMoment(TensorInfo info, int which)
    {
        var data = new float[checked((int)info.ElementCount)];
        unsafe
        {
            fixed (float* p = data)
            {
                NativeStatus.Check(NativeMethods.mlt_model_optimizer_read(p, _handle, info.Name, which, data.LongLength));
            }
        }

        return data;
    }

    private void CheckComplete(IReadOnlyDictionary<string, (long[] Shape, float[] Data)> tensors, string what)
    {
        foreach (var (name, (shape, data)) in tensors)
        {
            if (!_stateByName.TryGetValue(name, out var info))
            {
                throw new TransformerArgumentException($"The optimizer's {what} names an unknown state tensor '{name}'.", nameof(tensors));
            }

            if (shape is null || data is null || !shape.SequenceEqual(info.Shape) || data.LongLength != info.ElementCount)
            {
                throw new TransformerArgumentException(
                    $"The optimizer's {what} of '{name}' does not have the tensor's shape {FormatShape(info.Shape)}.", nameof(tensors));
            }
        }

        var missing = StateInfo.Where(i => !tensors.ContainsKey(i.Name)).Select(i => i.Name).ToList();
        if (missing.Count > 0)
        {
            throw new TransformerArgumentException(
                $"The optimizer's {what} lacks {missing.Count} tensor(s) of this model: {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", ..." : string.Empty)}.",
                nameof(tensors));
        }
    }

    /// <summary>
    /// Makes <see cref="TrainStep(TokenBatch, float)"/> a data-parallel step over <paramref name="group"/>: after
    /// backward, this rank's gradient is weighted by its share of the step's non-pad targets and summed over the
    /// ranks in flat buckets of <see cref="DistributedSettings.BucketBytes"/>, before clipping and the optimiser; the
    /// returned loss is the mean over every rank's targets. N ranks with batches b_1..b_N step exactly as one
    /// process with their union (dropout aside), and their weights stay equal. A rank may then pass a batch whose
    /// targets are all padding (it contributes nothing). Call it on every rank, then
    /// <see cref="BroadcastParameters"/>, as DistributedDataParallel does at construction.
    /// </summary>
    /// <param name="group">The group, or null to train alone again.</param>
    /// <exception cref="TransformerArgumentException">The group's backend does not match the model's device.</exception>
    public void JoinGroup(ProcessGroup? group)
    {
        ThrowIfDisposed();
        if (group is null)
        {
            NativeStatus.Check(NativeMethods.mlt_model_set_group(_handle, 0, 0));
            Group = null;
            return;
        }

        var added = false;
        try
        {
            group.Handle.DangerousAddRef(ref added);
            NativeStatus.Check(NativeMethods.mlt_model_set_group(_handle, group.Handle.DangerousGetHandle(), group.Settings.BucketBytes));
        }
        finally
        {
            if (added)
            {
                group.Handle.DangerousRelease();
            }
        }

        Group = group;
    }

    /// <summary>The process group set by <see cref="JoinGroup"/>, or null.</summary>
    public ProcessGroup? Group { get; private set; }

    /// <summary>Copies rank <paramref name="root"/>'s weights into every rank's model (call on every rank).</summary>
    /// <param name="root">The rank whose weights win (default 0).</param>
    /// <exception cref="DistributedTrainingException">A peer left or timed out.</exception>
    public void BroadcastParameters(int root = 0)
    {
        ThrowIfDisposed();
        NativeStatus.Check(NativeMethods.mlt_model_broadcast_parameters(_handle, root));
    }

    /// <summary>Frees the native model.</summary>
    public void Dispose() => _handle.Dispose();

    private static List<TensorInfo> ReadStateInfo(ModelHandle handle)
    {
        int count;
        unsafe
        {
            NativeStatus.Check(NativeMethods.mlt_model_state_count(&count, handle));
        }

        var result = new List<TensorInfo>(count);
        var name = new byte[NameBufferLength];
        var shape = new long[NativeMethods.MaxDims];
        for (var i = 0; i < count; i++)
        {
            int ndim;
            unsafe
            {
                fixed (byte* pName = name)
                fixed (long* pShape = shape)
                {
                    NativeStatus.Check(NativeMethods.mlt_model_state_info(pName, name.Length, pShape, &ndim, handle, i));
                }
            }

            var length = Array.IndexOf(name, (byte)0);
            if (length < 0 || ndim < 0 || ndim > NativeMethods.MaxDims)
            {
                throw new NativeEngineException($"mlt_model_state_info({i}) returned an unterminated name or {ndim} dimensions.");
            }

            result.Add(new TensorInfo(System.Text.Encoding.UTF8.GetString(name, 0, length), shape.AsSpan(0, ndim).ToArray()));
        }

        return result;
    }

    private static OutputBuffer Allocate(ForwardOutputs requested, ForwardOutputs which, params long[] shape)
    {
        if ((requested & which) == 0)
        {
            return default;
        }

        long count = 1;
        foreach (var d in shape)
        {
            count = checked(count * d);
        }

        if (count > Array.MaxLength)
        {
            throw TransformerArgumentException.ForOption(
                $"The {which} output {FormatShape(shape)} would hold {count} floats, more than one array can; use a smaller batch.", "batch");
        }

        return new OutputBuffer(new float[count], shape);
    }

    internal static void CheckIds(ReadOnlySpan<long> ids, int limit, string buffer, string option)
    {
        for (var i = 0; i < ids.Length; i++)
        {
            if ((ulong)ids[i] >= (ulong)limit)
            {
                throw new TransformerArgumentException(
                    $"{buffer}[{i}] = {ids[i]} is out of range: token ids must lie in [0, {limit}) (TransformerModelConfig.{option}).", buffer);
            }
        }
    }

    private static string FormatShape(IEnumerable<long> shape) => $"[{string.Join(", ", shape)}]";

    private void CheckInputs(
        ReadOnlySpan<long> tokens, ReadOnlySpan<long> targets, ReadOnlySpan<long> source,
        int batch, int targetLength, int sourceLength, bool targetsRequired, bool allPadAllowed = false)
    {
        TokenBatch.CheckShape(tokens.Length, targets.Length, source.Length, batch, targetLength, sourceLength, targetsRequired);
        if (targetLength > Config.MaxLength)
        {
            throw new TransformerArgumentException(
                $"The target length T = {targetLength} exceeds TransformerModelConfig.MaxLength = {Config.MaxLength}.", nameof(targetLength));
        }

        if (Config.Kind == ModelKind.Decoder)
        {
            if (sourceLength != 0)
            {
                throw new TransformerArgumentException(
                    $"A decoder-only model takes no source tokens, but the source length is {sourceLength}.", nameof(sourceLength));
            }
        }
        else
        {
            if (sourceLength < 1)
            {
                throw new TransformerArgumentException("An encoder-decoder model needs source tokens (S >= 1).", nameof(sourceLength));
            }

            if (sourceLength > Config.MaxLength)
            {
                throw new TransformerArgumentException(
                    $"The source length S = {sourceLength} exceeds TransformerModelConfig.MaxLength = {Config.MaxLength}.", nameof(sourceLength));
            }

            CheckIds(source, Config.EffectiveSourceVocabSize, "source", Config.SourceVocabSize == 0 ? "VocabSize" : "SourceVocabSize");
        }

        CheckIds(tokens, Config.VocabSize, "tokens", "VocabSize");
        CheckIds(targets, Config.VocabSize, "targets", "VocabSize");
        if (targetsRequired && !allPadAllowed && !targets.ContainsAnyExcept((long)Config.PadId))
        {
            throw new TransformerArgumentException(
                $"Every target is the pad id {Config.PadId}: the loss of this batch is undefined (nothing to predict).", nameof(targets));
        }
    }

    private TensorInfo Lookup(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        ThrowIfDisposed();
        if (!_stateByName.TryGetValue(name, out var info))
        {
            throw new TransformerArgumentException(
                $"Unknown state tensor '{name}'; see TransformerModel.StateInfo for the {StateInfo.Count} names (e.g. '{StateInfo[0].Name}').", nameof(name));
        }

        return info;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_handle.IsClosed, this);

    private readonly record struct OutputBuffer(float[]? Data, long[]? Shape)
    {
        public long Length => Data?.LongLength ?? 0;

        public FloatTensor? Tensor() => Data is null ? null : new FloatTensor(Data, Shape!);
    }
}

/// <summary>The result of one training step.</summary>
/// <param name="Loss">Mean cross-entropy of the batch over non-pad targets, before the step.</param>
/// <param name="GradNorm">Total gradient L2 norm before clipping.</param>
public readonly record struct TrainStepResult(float Loss, float GradNorm);
