// Source-generated P/Invoke declarations for every export of the native engine's C ABI
// (src/Native/include/mlt.h, MLT_ABI_VERSION), plus the blittable mirrors of its two structs.
// Raw and unchecked: managed callers go through MLNet.Transformer.Engine, which validates first.

using System.Runtime.InteropServices;

namespace MLNet.Transformer.Interop;

/// <summary>Blittable mirror of <c>mlt_config</c> (72 bytes: 14 int32, 2 float, 1 uint64 at offset 64).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeConfig
{
    /// <summary>MLT_KIND_*.</summary>
    public int Kind;

    /// <summary>V: target (decoder) vocabulary, PAD included.</summary>
    public int VocabSize;

    /// <summary>V_src: encoder vocabulary (encoder-decoder only; 0 = same as V).</summary>
    public int SourceVocabSize;

    /// <summary>E.</summary>
    public int DModel;

    /// <summary>H, divides E.</summary>
    public int NHeads;

    /// <summary>L: decoder blocks.</summary>
    public int NLayers;

    /// <summary>L_enc: encoder blocks (encoder-decoder only).</summary>
    public int NEncoderLayers;

    /// <summary>Feed-forward width.</summary>
    public int DFf;

    /// <summary>Longest T or S covered by the sinusoidal table.</summary>
    public int MaxLen;

    /// <summary>Token id masked as key padding and ignored by the loss.</summary>
    public int PadId;

    /// <summary>MLT_ACT_*.</summary>
    public int Activation;

    /// <summary>0 = Post-LN, 1 = Pre-LN.</summary>
    public int NormFirst;

    /// <summary>Encoder self-attention is causal (encoder-decoder only).</summary>
    public int CausalEncoder;

    /// <summary>Decoder position t attends memory positions &lt;= t only (encoder-decoder only).</summary>
    public int CausalCross;

    /// <summary>Dropout probability.</summary>
    public float Dropout;

    /// <summary>LayerNorm epsilon.</summary>
    public float LayerNormEps;

    /// <summary>Initialisation seed.</summary>
    public ulong Seed;
}

/// <summary>Blittable mirror of <c>mlt_optim_config</c> (24 bytes: 1 int32, 5 float).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeOptimizerConfig
{
    /// <summary>MLT_OPTIM_*.</summary>
    public int Kind;

    /// <summary>Adam beta1.</summary>
    public float Beta1;

    /// <summary>Adam beta2.</summary>
    public float Beta2;

    /// <summary>Adam epsilon.</summary>
    public float Eps;

    /// <summary>L2 (Adam) or decoupled (AdamW) weight decay.</summary>
    public float WeightDecay;

    /// <summary>&lt;= 0: no clipping; else the total gradient L2 norm is clipped to this.</summary>
    public float ClipGradNorm;
}

/// <summary>The exports of <c>libmlt</c>, one to one with mlt.h. Outputs first, then inputs, then sizes.</summary>
internal static unsafe partial class NativeMethods
{
    /// <summary>The <c>MLT_ABI_VERSION</c> this assembly was written against.</summary>
    internal const int AbiVersion = 6;

    /// <summary>mlt_status: success.</summary>
    internal const int StatusOk = 0;

    /// <summary>mlt_status: bad configuration, id out of range, wrong buffer size, unknown name.</summary>
    internal const int StatusArgument = 1;

    /// <summary>mlt_status: device absent or unusable.</summary>
    internal const int StatusDevice = 2;

    /// <summary>mlt_status: libtorch raised c10::Error.</summary>
    internal const int StatusTorch = 3;

    /// <summary>mlt_status: out of memory.</summary>
    internal const int StatusOutOfMemory = 4;

    /// <summary>mlt_status: any other exception.</summary>
    internal const int StatusUnknown = 5;

    /// <summary>mlt_status: a training step met a non-finite loss or gradient norm and changed nothing.</summary>
    internal const int StatusNonFinite = 6;

    /// <summary>mlt_status: a rendezvous or collective failed (peer gone, timeout, address unusable).</summary>
    internal const int StatusDistributed = 7;

    /// <summary>MLT_READ_VALUE.</summary>
    internal const int ReadValue = 0;

    /// <summary>MLT_READ_GRAD.</summary>
    internal const int ReadGradient = 1;

    /// <summary>Room for dimensions in <see cref="mlt_model_state_info"/>'s shape buffer.</summary>
    internal const int MaxDims = 8;

    private const string Lib = NativeLibraryLoader.LibraryName;

    // Registers the resolver before the first P/Invoke binds (an explicit static constructor runs before any
    // static method of the type is called).
#pragma warning disable CA1810 // the constructor registers a resolver; it initialises no field
    static NativeMethods() => NativeLibraryLoader.RegisterResolver();
#pragma warning restore CA1810

    // ---- errors and runtime ----

    [LibraryImport(Lib)]
    internal static partial int mlt_abi_version();

    /// <summary>Thread-local message of the last failed call; owned by the engine, never freed here.</summary>
    [LibraryImport(Lib)]
    internal static partial byte* mlt_last_error();

    [LibraryImport(Lib)]
    internal static partial int mlt_torch_version(byte* buf, int bufLen);

    [LibraryImport(Lib)]
    internal static partial int mlt_cuda_device_count(int* count);

    [LibraryImport(Lib)]
    internal static partial int mlt_cuda_device_name(byte* buf, int bufLen, int index);

    [LibraryImport(Lib)]
    internal static partial int mlt_get_num_threads(int* n);

    [LibraryImport(Lib)]
    internal static partial int mlt_set_num_threads(int n);

    [LibraryImport(Lib)]
    internal static partial int mlt_manual_seed(ulong seed);

    [LibraryImport(Lib)]
    internal static partial int mlt_set_deterministic(int on);

    // ---- model lifecycle ----

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int mlt_model_create(out ModelHandle model, in NativeConfig config, string device);

    [LibraryImport(Lib)]
    internal static partial void mlt_model_free(nint model);

    [LibraryImport(Lib)]
    internal static partial int mlt_model_num_parameters(long* count, ModelHandle model);

    [LibraryImport(Lib)]
    internal static partial int mlt_model_set_optimizer(ModelHandle model, in NativeOptimizerConfig optim);

    [LibraryImport(Lib)]
    internal static partial int mlt_model_set_seed(ModelHandle model, ulong seed);

    [LibraryImport(Lib)]
    internal static partial int mlt_model_set_precision(ModelHandle model, int precision);

    [LibraryImport(Lib)]
    internal static partial int mlt_model_set_threads(ModelHandle model, int threads);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int mlt_bf16_native(int* supported, string device);

    [LibraryImport(Lib)]
    internal static partial int mlt_cpu_matmul_backend(byte* buf, int bufLen);

    // ---- compute ----

    [LibraryImport(Lib)]
    internal static partial int mlt_model_train_step(
        float* loss, float* gradNorm, ModelHandle model,
        long* tokens, long tokensLen, long* targets, long targetsLen, long* srcTokens, long srcLen,
        int b, int t, int s, float lr);

    [LibraryImport(Lib)]
    internal static partial int mlt_model_eval_loss(
        double* lossSum, long* count, ModelHandle model,
        long* tokens, long tokensLen, long* targets, long targetsLen, long* srcTokens, long srcLen,
        int b, int t, int s);

    [LibraryImport(Lib)]
    internal static partial int mlt_model_forward(
        float* logits, long logitsLen,
        float* selfAttn, long selfAttnLen,
        float* encAttn, long encAttnLen,
        float* crossAttn, long crossAttnLen,
        ModelHandle model,
        long* tokens, long tokensLen, long* srcTokens, long srcLen,
        int b, int t, int s);

    // ---- incremental decoding ----

    [LibraryImport(Lib)]
    internal static partial int mlt_decoder_create(out DecoderHandle decoder, ModelHandle model, long* srcTokens, int s);

    [LibraryImport(Lib)]
    internal static partial void mlt_decoder_free(nint decoder);

    [LibraryImport(Lib)]
    internal static partial int mlt_decoder_feed(float* logits, long logitsLen, DecoderHandle decoder, long* tokens, int n);

    [LibraryImport(Lib)]
    internal static partial int mlt_decoder_length(int* length, DecoderHandle decoder);

    // ---- data-parallel training ----

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int mlt_group_create(
        out GroupHandle group, string masterAddr, int masterPort, int rank, int worldSize, int timeoutMs, string backend);

    [LibraryImport(Lib)]
    internal static partial void mlt_group_free(nint group);

    [LibraryImport(Lib)]
    internal static partial int mlt_group_allreduce_sum(double* values, int len, GroupHandle group);

    [LibraryImport(Lib)]
    internal static partial int mlt_group_barrier(GroupHandle group);

    [LibraryImport(Lib)]
    internal static partial int mlt_group_stats(double* allreduceSeconds, long* allreduceBytes, long* allreduceCalls, GroupHandle group);

    [LibraryImport(Lib)]
    internal static partial int mlt_model_set_group(ModelHandle model, nint group, long bucketBytes);

    [LibraryImport(Lib)]
    internal static partial int mlt_model_broadcast_parameters(ModelHandle model, int root);

    // ---- state ----

    [LibraryImport(Lib)]
    internal static partial int mlt_model_state_count(int* count, ModelHandle model);

    [LibraryImport(Lib)]
    internal static partial int mlt_model_state_info(
        byte* name, int nameLen, long* shape, int* ndim, ModelHandle model, int index);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int mlt_model_state_read(float* output, ModelHandle model, string name, int which, long len);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int mlt_model_state_write(ModelHandle model, string name, float* data, long len);

    // ---- training state, for checkpoints ----

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int mlt_model_optimizer_read(float* output, ModelHandle model, string name, int which, long len);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int mlt_model_optimizer_write(ModelHandle model, string name, int which, float* data, long len);

    [LibraryImport(Lib)]
    internal static partial int mlt_model_optimizer_get_step(long* step, ModelHandle model);

    [LibraryImport(Lib)]
    internal static partial int mlt_model_optimizer_set_step(ModelHandle model, long step);

    [LibraryImport(Lib)]
    internal static partial int mlt_model_rng_state_size(long* len, ModelHandle model);

    [LibraryImport(Lib)]
    internal static partial int mlt_model_rng_state_read(byte* output, long len, ModelHandle model);

    [LibraryImport(Lib)]
    internal static partial int mlt_model_rng_state_write(ModelHandle model, byte* data, long len);

    /// <summary>The last error of this thread as a managed string (empty when the engine reported none).</summary>
    internal static string LastError() => Marshal.PtrToStringUTF8((nint)mlt_last_error()) ?? string.Empty;
}
