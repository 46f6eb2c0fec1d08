/* mlt.h - the model-level C ABI of MLNet.Transformer's native engine (libmlt).
 * Plain C types only. Every function returns an mlt_status (0 = success) except
 * mlt_model_free, mlt_last_error and mlt_abi_version, which cannot fail.
 * Argument order follows llm.c: outputs first, then inputs, then sizes; every input buffer comes with its
 * length in elements, checked against the sizes before it is read.
 *
 * Threads. Models share no mutable state: calls on different models may run concurrently (the global
 * settings mlt_set_num_threads, mlt_manual_seed and mlt_set_deterministic apply to all of them). On one
 * model, the read-only calls mlt_model_forward, mlt_model_eval_loss, mlt_model_num_parameters,
 * mlt_model_state_count, mlt_model_state_info and mlt_model_state_read may run concurrently with each
 * other (evaluation uses no random generator and writes nothing in the model). The other calls on a model
 * (train_step, set_optimizer, set_seed, state_write, free) mutate it and need exclusive access: running one
 * while any other call runs on the same model gives undefined results. mlt_last_error is per thread.
 *
 * Kernels. On the CPU the engine uses its own fused kernels for attention, residual + dropout + LayerNorm,
 * dropout and cross-entropy. Setting the environment variable MLT_FUSED=0 before a model is created makes
 * that model use libtorch's stock kernels instead (the path CUDA always takes): the same math, for
 * comparing speed and results (./build.sh bench, src/Native/tests/parity.py). Read once per model. */
#ifndef MLT_H
#define MLT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define MLT_API __declspec(dllexport)
#else
#define MLT_API __attribute__((visibility("default")))
#endif

/* Bumped whenever a signature or struct layout below changes; the C# side refuses a mismatch. */
#define MLT_ABI_VERSION 6

typedef int32_t mlt_status;
enum {
    MLT_OK = 0,
    MLT_ERR_ARGUMENT = 1,   /* bad configuration, id out of range, wrong buffer size, unknown name */
    MLT_ERR_DEVICE = 2,     /* device absent or unusable (e.g. cuda requested without CUDA) */
    MLT_ERR_TORCH = 3,      /* libtorch raised c10::Error */
    MLT_ERR_OUT_OF_MEMORY = 4,
    MLT_ERR_UNKNOWN = 5,    /* any other exception, catch (...) included */
    MLT_ERR_NON_FINITE = 6, /* training step rejected: non-finite loss or gradient norm; model left unchanged */
    MLT_ERR_DISTRIBUTED = 7 /* rendezvous or collective failed: peer gone, timeout, address unusable */
};

typedef struct mlt_model mlt_model; /* opaque */
typedef struct mlt_group mlt_group; /* opaque: a process group for data-parallel training */
typedef struct mlt_decoder mlt_decoder; /* opaque: incremental decoding of one sequence with a key/value cache */

enum { MLT_KIND_DECODER = 0, MLT_KIND_ENCODER_DECODER = 1 };
enum { MLT_ACT_RELU = 0, MLT_ACT_GELU = 1 };
enum { MLT_OPTIM_ADAM = 0, MLT_OPTIM_ADAMW = 1 };
enum { MLT_READ_VALUE = 0, MLT_READ_GRAD = 1 };
enum { MLT_PRECISION_FLOAT32 = 0, MLT_PRECISION_BFLOAT16 = 1 };
#define MLT_AUTO_THREADS_MIN_FLOP 2e9
enum { MLT_MOMENT_EXP_AVG = 0, MLT_MOMENT_EXP_AVG_SQ = 1 };

/* Architecture. Blittable: the C# mirror is MLNet.Transformer.Interop.NativeConfig. */
typedef struct mlt_config {
    int32_t kind;              /* MLT_KIND_* */
    int32_t vocab_size;        /* V: target (decoder) vocabulary, PAD included */
    int32_t src_vocab_size;    /* V_src: encoder vocabulary (encoder-decoder only; 0 = same as vocab_size) */
    int32_t d_model;           /* E */
    int32_t n_heads;           /* H, must divide E */
    int32_t n_layers;          /* L: decoder blocks (decoder-only: the blocks) */
    int32_t n_encoder_layers;  /* L_enc: encoder blocks (encoder-decoder only) */
    int32_t d_ff;              /* feed-forward width */
    int32_t max_len;           /* longest sequence (T and S) the sinusoidal table covers */
    int32_t pad_id;            /* token id masked as key padding and ignored by the loss */
    int32_t activation;        /* MLT_ACT_* */
    int32_t norm_first;        /* 0 = Post-LN (PyTorch default), 1 = Pre-LN with a final LayerNorm per stack */
    int32_t causal_encoder;    /* encoder-decoder: encoder self-attention is causal */
    int32_t causal_cross;      /* encoder-decoder: decoder position t may attend memory positions <= t only */
    float dropout;             /* p, placed as in nn.TransformerEncoderLayer / nn.TransformerDecoderLayer */
    float layer_norm_eps;      /* 1e-5 in PyTorch */
    uint64_t seed;             /* initialisation seed: every layer initialised independently */
} mlt_config;

/* Optimiser and step settings, changeable between steps. */
typedef struct mlt_optim_config {
    int32_t kind;              /* MLT_OPTIM_* */
    float beta1, beta2, eps;   /* 0.9, 0.999, 1e-8 in PyTorch */
    float weight_decay;        /* Adam: L2 added to the gradient; AdamW: decoupled */
    float clip_grad_norm;      /* <= 0: no clipping; else total L2 norm clipped as clip_grad_norm_ */
} mlt_optim_config;

/* ---- errors and runtime ---- */
MLT_API int32_t mlt_abi_version(void);
/* Message of the last failed call on this thread; valid until the next call on this thread. Never NULL. */
MLT_API const char* mlt_last_error(void);
/* Writes NUL-terminated libtorch version (e.g. "1.13.1") into buf. */
MLT_API mlt_status mlt_torch_version(char* buf, int32_t buf_len);
MLT_API mlt_status mlt_cuda_device_count(int32_t* count); /* 0 when CUDA is not available */
/* MLT_ERR_DEVICE when the name cannot be read (libmlt built without the CUDA runtime headers). */
MLT_API mlt_status mlt_cuda_device_name(char* buf, int32_t buf_len, int32_t index);
MLT_API mlt_status mlt_get_num_threads(int32_t* n);
/* Process-wide intra-op threads (OpenMP: the fused kernels, libtorch's ops and oneDNN's matmuls). OpenBLAS keeps one
 * thread while oneDNN serves the matmuls (two pools would fight over the same cores); without oneDNN it gets n too.
 * A model's own setting (mlt_model_set_threads) takes precedence. */
MLT_API mlt_status mlt_set_num_threads(int32_t n);
MLT_API mlt_status mlt_manual_seed(uint64_t seed);         /* global generators (CPU and CUDA) */
MLT_API mlt_status mlt_set_deterministic(int32_t on);     /* torch deterministic algorithms */

/* ---- model lifecycle ---- */
/* device: "cpu" or "cuda" or "cuda:N". */
MLT_API mlt_status mlt_model_create(mlt_model** out, const mlt_config* config, const char* device);
MLT_API void mlt_model_free(mlt_model* model);
MLT_API mlt_status mlt_model_num_parameters(int64_t* count, const mlt_model* model); /* trainable scalars */
MLT_API mlt_status mlt_model_set_optimizer(mlt_model* model, const mlt_optim_config* optim);
/* Dropout generator of this model (training steps), seeded independently of the global one. */
MLT_API mlt_status mlt_model_set_seed(mlt_model* model, uint64_t seed);
/* Compute precision of train_step, eval_loss and forward (MLT_PRECISION_*; a new model computes in float32).
 * Under MLT_PRECISION_BFLOAT16 every matmul (projections, feed-forward, lm_head; attention on the stock path)
 * rounds its inputs to bfloat16 and accumulates in float32, as torch.autocast(dtype=torch.bfloat16) does; the
 * weights, gradients, optimiser moments, the loss, softmax and LayerNorm statistics stay float32. */
MLT_API mlt_status mlt_model_set_precision(mlt_model* model, int32_t precision);
/* Intra-op threads of this model's compute calls, on whichever thread makes them (so parallel models can split
 * the cores). 0 (a new model's setting) = automatic: the process-wide count when mlt_set_num_threads was called,
 * else every core the process may run on (at most OMP_NUM_THREADS when that is set) for a step of at least
 * MLT_AUTO_THREADS_MIN_FLOP estimated operations
 * (6 x parameters x tokens) and one thread below (small steps lose more to synchronisation than they gain). */
MLT_API mlt_status mlt_model_set_threads(mlt_model* model, int32_t threads);
MLT_API mlt_status mlt_model_get_threads(int32_t* threads, const mlt_model* model);
/* supported = 1 when device ("cpu", "cuda", "cuda:N") computes bfloat16 matmuls natively: a CPU with AVX512_BF16
 * or AMX-BF16, a CUDA device of compute capability 8.0 or later. 0 otherwise (bfloat16 still works, slowly). */
MLT_API mlt_status mlt_bf16_native(int32_t* supported, const char* device);
/* Writes what serves the CPU matmuls of the fused path: "oneDNN" (libtorch's libdnnl, threaded by OpenMP) or
 * "libtorch" (at::linear: OpenBLAS or MKL; also with MLT_ONEDNN=0 in the environment). */
MLT_API mlt_status mlt_cpu_matmul_backend(char* buf, int32_t buf_len);

/* ---- compute ----
 * tokens:     (B, T) int64 decoder input (decoder-only: the sequence); tokens_len must be B*T
 * src_tokens: (B, S) int64 encoder input, encoder-decoder only (NULL, src_len 0 and S 0 for decoder-only);
 *             src_len must be B*S
 * targets:    (B, T) int64 next-token targets; pad_id ignored by the loss; targets_len must be B*T
 * Key-padding masks are derived from tokens == pad_id. Ids must lie in [0, V). A query row whose keys are
 * all padding (an all-pad row) attends to nothing: its attention weights are 0 and its logits are finite. */

/* One optimisation step: zero grads, forward (training mode, dropout on), mean cross-entropy over
 * non-pad targets, backward, optional clipping, optimiser step with learning rate lr.
 * loss: mean loss of this batch (before the step); grad_norm: total norm before clipping (may be NULL).
 * Targets that are all pad_id: MLT_ERR_ARGUMENT (the mean loss is undefined).
 * A non-finite loss or gradient norm returns MLT_ERR_NON_FINITE after writing both to the outputs: the
 * weights, the optimiser moments and its step count are left as they were (no update, no clipping), the
 * gradients of this batch stay readable (MLT_READ_GRAD) for diagnosis; only the dropout stream advanced. */
MLT_API mlt_status mlt_model_train_step(float* loss, float* grad_norm, mlt_model* model,
                                        const int64_t* tokens, int64_t tokens_len,
                                        const int64_t* targets, int64_t targets_len,
                                        const int64_t* src_tokens, int64_t src_len,
                                        int32_t B, int32_t T, int32_t S, float lr);

/* Evaluation (inference mode, no dropout): summed cross-entropy over non-pad targets and their count.
 * Targets that are all pad_id: MLT_ERR_ARGUMENT, as in training. */
MLT_API mlt_status mlt_model_eval_loss(double* loss_sum, int64_t* count, mlt_model* model,
                                       const int64_t* tokens, int64_t tokens_len,
                                       const int64_t* targets, int64_t targets_len,
                                       const int64_t* src_tokens, int64_t src_len,
                                       int32_t B, int32_t T, int32_t S);

/* Evaluation forward. Each output may be NULL (not computed); its length (floats) must match exactly:
 * logits     (B, T, V)
 * self_attn  (L, B, H, T, T)      decoder self-attention, per layer and head
 * enc_attn   (L_enc, B, H, S, S)  encoder self-attention (encoder-decoder only)
 * cross_attn (L, B, H, T, S)      decoder cross-attention (encoder-decoder only) */
MLT_API mlt_status mlt_model_forward(float* logits, int64_t logits_len,
                                     float* self_attn, int64_t self_attn_len,
                                     float* enc_attn, int64_t enc_attn_len,
                                     float* cross_attn, int64_t cross_attn_len,
                                     mlt_model* model,
                                     const int64_t* tokens, int64_t tokens_len,
                                     const int64_t* src_tokens, int64_t src_len,
                                     int32_t B, int32_t T, int32_t S);

/* ---- data-parallel training (c10d: TCPStore rendezvous, Gloo on the CPU, NCCL on CUDA builds) ----
 * Every rank creates a group with the same master address, port and world size and its own rank; rank 0 serves
 * the rendezvous store on master_port. Each call waits at most timeout_ms (connecting, waiting for the world to
 * fill, every collective); a peer that dies makes the others' next collective fail with MLT_ERR_DISTRIBUTED.
 * Gloo binds the interface named by GLOO_SOCKET_IFNAME when set, the loopback address when master_addr is
 * 127.0.0.1 or localhost, and this host's address otherwise. backend: "gloo", or "nccl" (CUDA builds with NCCL;
 * MLT_ERR_DEVICE otherwise). Collectives are called by every rank in the same order.
 * master_addr "file://PATH" (ranks of one machine): the rendezvous is a file every rank opens (c10d's FileStore, torch's
 * file:// init method) instead of rank 0's TCP server, so nothing listens on the network; Gloo binds the loopback
 * address; master_port is only checked and named in messages. PATH must be new for each run (a file left by an
 * earlier run would mix its keys in); the last rank to leave deletes it. */
MLT_API mlt_status mlt_group_create(mlt_group** out, const char* master_addr, int32_t master_port, int32_t rank,
                                    int32_t world_size, int32_t timeout_ms, const char* backend);
/* Leaves the group and closes its sockets once no model holds it (mlt_model_set_group keeps a reference). */
MLT_API void mlt_group_free(mlt_group* group);
/* Sums values[0..len) over the ranks, in place (float64). */
MLT_API mlt_status mlt_group_allreduce_sum(double* values, int32_t len, mlt_group* group);
MLT_API mlt_status mlt_group_barrier(mlt_group* group);
/* Totals since creation: wall seconds inside all-reduce calls (waiting included), bytes contributed, calls. */
MLT_API mlt_status mlt_group_stats(double* allreduce_seconds, int64_t* allreduce_bytes, int64_t* allreduce_calls,
                                   const mlt_group* group);
/* Attaches the model to a group (NULL detaches). Then mlt_model_train_step is a data-parallel step: after
 * backward the local gradient is scaled by this rank's share of the step's non-pad targets and summed over the
 * ranks in flat buckets of at most bucket_bytes (float32 gradients), before clipping and the optimiser; the loss
 * written is the mean over every rank's targets. N ranks with batches b_1..b_N thus step exactly as one process
 * with their union (dropout aside). A rank whose targets are all pad_id contributes zero (the step fails only
 * when every rank's are). Every rank must call train_step the same number of times. */
MLT_API mlt_status mlt_model_set_group(mlt_model* model, mlt_group* group, int64_t bucket_bytes);
/* Copies root's parameters into every rank's model (call on every rank, as DDP does at construction). */
MLT_API mlt_status mlt_model_broadcast_parameters(mlt_model* model, int32_t root);

/* ---- state, by PyTorch state-dict name (float32, row-major) ---- */
MLT_API mlt_status mlt_model_state_count(int32_t* count, const mlt_model* model);
/* Name (NUL-terminated) and shape of the index-th state tensor; shape has room for 8 dims. */
MLT_API mlt_status mlt_model_state_info(char* name, int32_t name_len, int64_t* shape, int32_t* ndim,
                                        const mlt_model* model, int32_t index);
/* which: MLT_READ_VALUE or MLT_READ_GRAD (zeros if no gradient yet). len must equal numel. */
MLT_API mlt_status mlt_model_state_read(float* out, mlt_model* model, const char* name, int32_t which, int64_t len);
MLT_API mlt_status mlt_model_state_write(mlt_model* model, const char* name, const float* data, int64_t len);

/* ---- training state, for checkpoints (src/training_state.cpp) ----
 * Together with the state tensors above, these let a run stop and continue exactly: the optimiser's moments per
 * state tensor (PyTorch's Adam names them exp_avg and exp_avg_sq), its step count, and the model's dropout
 * generators. All of them mutate or read training state: they need the model to themselves, as train_step does. */
/* which: MLT_MOMENT_EXP_AVG or MLT_MOMENT_EXP_AVG_SQ; len must equal the tensor's numel. */
MLT_API mlt_status mlt_model_optimizer_read(float* out, mlt_model* model, const char* name, int32_t which, int64_t len);
MLT_API mlt_status mlt_model_optimizer_write(mlt_model* model, const char* name, int32_t which, const float* data,
                                             int64_t len);
/* Optimiser steps taken so far (the t of Adam's bias correction); step >= 0. */
MLT_API mlt_status mlt_model_optimizer_get_step(int64_t* step, const mlt_model* model);
MLT_API mlt_status mlt_model_optimizer_set_step(mlt_model* model, int64_t step);
/* The dropout generators' state as opaque bytes (a versioned layout private to the engine): first ask the size. */
MLT_API mlt_status mlt_model_rng_state_size(int64_t* len, mlt_model* model);
MLT_API mlt_status mlt_model_rng_state_read(uint8_t* out, int64_t len, mlt_model* model);
/* Refuses bytes of another layout or device generator with MLT_ERR_ARGUMENT. */
MLT_API mlt_status mlt_model_rng_state_write(mlt_model* model, const uint8_t* data, int64_t len);

/* ---- incremental decoding (generation) with a key/value cache ----
 * A decoder holds, for one sequence, the keys and values of every position fed so far in every decoder layer (and,
 * for encoder-decoder models, the source encoded once and its cross-attention keys and values), so feeding one more
 * token costs one position's work instead of a forward over the whole prefix. Inference mode, no dropout, the
 * model's precision. The logits equal mlt_model_forward's over the whole sequence fed so far (B = 1), position by
 * position. The decoder keeps the model alive (free both in any order) and reads its weights at each call: train the
 * model meanwhile and the cached positions keep the old weights' keys and values.
 * src: (1, S) source ids for an encoder-decoder model; NULL with S = 0 for a decoder-only model. */
MLT_API mlt_status mlt_decoder_create(mlt_decoder** out, mlt_model* model, const int64_t* src_tokens, int32_t S);
MLT_API void mlt_decoder_free(mlt_decoder* decoder);
/* Feeds n tokens at positions length .. length + n - 1 and writes their logits (n, V). length + n must not exceed
 * max_len: MLT_ERR_ARGUMENT, and nothing is fed. */
MLT_API mlt_status mlt_decoder_feed(float* logits, int64_t logits_len, mlt_decoder* decoder, const int64_t* tokens,
                                    int32_t n);
/* Positions fed so far. */
MLT_API mlt_status mlt_decoder_length(int32_t* length, const mlt_decoder* decoder);

#ifdef __cplusplus
}
#endif
#endif /* MLT_H */
