// engine.h - internal declarations shared by libmlt's translation units: errors, the validated model
// configuration, the flat parameter store, batches and masks, the op layer and the Model base class.
// Nothing here crosses the C ABI (include/mlt.h is the only public surface).
#pragma once

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cstdint>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "mlt.h"

namespace mlt {

class Group;  // distributed.h

// ---------------------------------------------------------------- errors

/// Bad argument from the caller (configuration, ids, buffer sizes, names) -> MLT_ERR_ARGUMENT.
struct ArgumentError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};
/// Device absent or unusable -> MLT_ERR_DEVICE.
struct DeviceError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
/// A training step met a non-finite loss or gradient norm and changed nothing -> MLT_ERR_NON_FINITE.
struct NonFiniteError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <class... A>
std::string cat(const A&... parts) {
  std::ostringstream s;
  (s << ... << parts);
  return s.str();
}
template <class... A>
[[noreturn]] void fail_arg(const A&... parts) {
  throw ArgumentError(cat(parts...));
}

// ---------------------------------------------------------------- configuration

/// mlt_config after validation, with derived sizes. Short names follow the header: V, V_src, E, H, L, L_enc, F.
struct ModelConfig {
  int kind = MLT_KIND_DECODER;  // MLT_KIND_*
  int64_t V = 0;                // target vocabulary (PAD included)
  int64_t V_src = 0;            // source vocabulary (encoder-decoder), resolved from 0 to V
  int64_t E = 0;                // d_model
  int64_t H = 0;                // heads
  int64_t D = 0;                // head size E / H
  int64_t L = 0;                // decoder blocks
  int64_t L_enc = 0;            // encoder blocks (encoder-decoder only, else 0)
  int64_t F = 0;                // feed-forward width
  int64_t max_len = 0;          // longest T or S
  int64_t pad = 0;              // pad id: key padding and ignored targets
  int act = MLT_ACT_RELU;       // MLT_ACT_*
  bool norm_first = false;      // Pre-LN (and a final norm per stack)
  bool causal_encoder = false;  // encoder self-attention is causal
  bool causal_cross = false;    // decoder position t sees memory positions <= t only
  float p = 0.f;                // dropout probability
  double eps = 1e-5;            // LayerNorm epsilon
  uint64_t seed = 0;            // initialisation seed

  /// Validates a C configuration; throws ArgumentError naming the offending field.
  static ModelConfig from(const mlt_config& c);
  bool encoder_decoder() const { return kind == MLT_KIND_ENCODER_DECODER; }
};

// ---------------------------------------------------------------- parameters

/// Every trainable tensor is a view into one flat buffer, and its .grad() a view into one flat gradient
/// buffer, so the optimiser, clipping and zeroing are whole-buffer operations.
class ParamStore {
 public:
  struct Entry {
    std::string name;            // PyTorch state-dict name
    std::vector<int64_t> shape;  // PyTorch shape
    int64_t offset = 0;          // first element in the flat buffer
    int64_t numel = 0;
    at::Tensor value;            // leaf view into flat (requires grad); grad() is a view into flat_grad
  };

  /// Declares a parameter; returns its handle. Only before allocate().
  int add(const std::string& name, std::vector<int64_t> shape);
  /// Allocates the flat buffers on the CPU (values are then initialised in place).
  void allocate();
  /// Moves the buffers to the device and turns the views into grad-requiring leaves with preset grads.
  void place(const at::Device& device);
  const at::Tensor& operator[](int handle) const { return entries_[handle].value; }
  int find(const std::string& name) const;  // -1 when unknown
  const std::vector<Entry>& entries() const { return entries_; }
  int64_t numel() const { return total_; }
  at::Tensor flat, flat_grad;  // (P,)

 private:
  void make_views(bool leaves);
  std::vector<Entry> entries_;
  std::unordered_map<std::string, int> by_name_;
  int64_t total_ = 0;
};

// ---------------------------------------------------------------- randomness

/// Counter-based dropout masks: element i of stream s is kept when hash(s, i) >= p * 2^32.
/// Cheap (one multiply-xorshift hash per two elements) and reproducible from the model seed.
struct DropoutRng {
  uint64_t key = 0;      // seeded by mlt_model_set_seed
  uint64_t counter = 0;  // streams drawn so far
  uint64_t next_stream() { return key ^ (0x9E3779B97F4A7C15ull * ++counter); }
};

// ---------------------------------------------------------------- batches and masks

/// Which keys a query may attend: key s is visible to query t when !key_pad[b, s] and (!causal or s <= offset + t).
struct AttnMask {
  int64_t B = 0, T = 0, S = 0;
  at::Tensor key_pad;   // (B, S) uint8 on the CPU, 1 = padded key (fused kernels)
  bool causal = false;
  int64_t offset = 0;   // position of query 0 among the keys (incremental decoding; 0 for a whole sequence)
  at::Tensor additive;  // (B, 1, T, S) float 0 / -inf on the model device (stock path)
  at::Tensor dead;      // (B, 1, T, 1) bool, rows with no visible key (stock path; undefined when none)
};

/// The mask over key_pad (B, S) for T queries starting at key position offset; stock builds the additive form
/// (on device) for libtorch's kernels.
AttnMask make_mask(const at::Tensor& key_pad, int64_t T, bool causal, bool stock, const at::Device& device,
                   int64_t offset = 0);

/// One batch on the model's device, trimmed of trailing all-padding columns when requested.
struct Batch {
  int64_t B = 0, T = 0, S = 0;  // batch, target length, source length (0 for decoder-only)
  at::Tensor tokens;            // (B, T) int64
  at::Tensor targets;           // (B, T) int64, undefined for forward
  at::Tensor src;               // (B, S) int64, encoder-decoder only
  int64_t n_targets = 0;        // targets != pad
  AttnMask self_mask;           // decoder self-attention (causal + target padding)
  AttnMask enc_mask;            // encoder self-attention
  AttnMask cross_mask;          // decoder -> memory
};

// ---------------------------------------------------------------- op layer

/// Per-call execution settings threaded through the layers.
struct Step {
  bool train = false;              // dropout active
  bool fused = false;              // use the fused CPU kernels (CPU float only)
  bool bf16 = false;               // matmuls (and stock attention) in bfloat16, everything else in float32
  float p = 0.f;                   // dropout probability
  DropoutRng* rng = nullptr;       // masks of the fused path
  at::Generator* gen = nullptr;    // masks of the stock path
  bool dropping() const { return train && p > 0.f; }
};

/// Row-major C (M, N) = op(A) op(B) + beta * C with op = transpose when t*, through oneDNN (gemm.cpp).
namespace gemm {
bool available();  // oneDNN's entry points were found (libtorch loads libdnnl); MLT_ONEDNN=0 turns them off
void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
           float beta, float* C, int64_t ldc);
/// bfloat16 A and B, float32 accumulation and C.
void bf16gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const c10::BFloat16* A, int64_t lda,
              const c10::BFloat16* B, int64_t ldb, float beta, float* C, int64_t ldc);
}  // namespace gemm

namespace ops {
/// x W^T + b as nn.Linear; under bfloat16 the inputs are rounded to bfloat16, the product accumulates in float32
/// and the result is float32 again (what torch.autocast does for linear, minus the bfloat16 output).
at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, const Step& st);
/// Multi-head self-attention with a packed projection, as nn.MultiheadAttention (batch-first).
/// x (B, T, E) -> (B, T, E); probs (B, H, T, T) when requested (before dropout).
at::Tensor self_attention(const at::Tensor& x, const at::Tensor& in_w, const at::Tensor& in_b,
                          const at::Tensor& out_w, const at::Tensor& out_b, int64_t H, const AttnMask& mask,
                          Step& st, at::Tensor* probs);
/// Cross-attention: queries from x (B, T, E), keys and values from mem (B, S, E); probs (B, H, T, S).
at::Tensor cross_attention(const at::Tensor& x, const at::Tensor& mem, const at::Tensor& in_w,
                           const at::Tensor& in_b, const at::Tensor& out_w, const at::Tensor& out_b, int64_t H,
                           const AttnMask& mask, Step& st, at::Tensor* probs);
/// Post-LN residual: LayerNorm(x + dropout(sub)).
at::Tensor add_dropout_norm(const at::Tensor& x, const at::Tensor& sub, const at::Tensor& g, const at::Tensor& b,
                            double eps, Step& st);
/// Pre-LN residual: x + dropout(sub).
at::Tensor add_dropout(const at::Tensor& x, const at::Tensor& sub, Step& st);
at::Tensor dropout(const at::Tensor& x, Step& st);
at::Tensor layer_norm(const at::Tensor& x, const at::Tensor& g, const at::Tensor& b, double eps);
/// Mean cross-entropy of logits (N, V) over targets (N,) != ignore (as nn.CrossEntropyLoss(ignore_index)).
at::Tensor cross_entropy_mean(const at::Tensor& logits, const at::Tensor& targets, int64_t ignore, Step& st);
/// Summed cross-entropy over targets != ignore, accumulated in double (no autograd).
double cross_entropy_sum(const at::Tensor& logits, const at::Tensor& targets, int64_t ignore, Step& st);
at::Tensor activation(const at::Tensor& x, int act);
/// Keys and values of one attention module for incremental decoding of one sequence, (H, capacity, D) each.
struct KVCache {
  at::Tensor k, v;
};
/// Self-attention of queries x (1, n, E) at positions [P, P + n), P = mask.offset: writes their keys and values into
/// kv at those positions, then attends over positions [0, P + n) as mask (1, n, P + n) allows. Same arithmetic as
/// self_attention's stock path; no dropout.
at::Tensor self_attention_cached(const at::Tensor& x, const at::Tensor& in_w, const at::Tensor& in_b,
                                 const at::Tensor& out_w, const at::Tensor& out_b, int64_t H, KVCache& kv,
                                 const AttnMask& mask, Step& st);
/// The memory's keys and values for cross_attention_cached: mem (1, S, E) -> (H, S, D) each.
KVCache project_memory(const at::Tensor& mem, const at::Tensor& in_w, const at::Tensor& in_b, int64_t H, Step& st);
/// Cross-attention of queries x (1, n, E) over a projected memory, as mask (1, n, S) allows.
at::Tensor cross_attention_cached(const at::Tensor& x, const KVCache& mem, const at::Tensor& in_w,
                                  const at::Tensor& in_b, const at::Tensor& out_w, const at::Tensor& out_b, int64_t H,
                                  const AttnMask& mask, Step& st);
/// Flat-buffer Adam / AdamW step (PyTorch's single-tensor math).
void adam_step(at::Tensor& param, const at::Tensor& grad, at::Tensor& m, at::Tensor& v, int64_t step,
               const mlt_optim_config& o, double lr);
}  // namespace ops

// ---------------------------------------------------------------- layers (layers.cpp)

struct LinearP { int w = -1, b = -1; };
struct NormP { int w = -1, b = -1; };
struct AttentionP { int in_w = -1, in_b = -1, out_w = -1, out_b = -1; };

/// Declares and initialises the parameters of the building blocks (PyTorch default initialisers).
struct Init {
  ParamStore& store;
  at::Generator gen;  // CPU generator seeded by config.seed
  void linear(const LinearP& l);
  void attention(const AttentionP& a);
  void norm(const NormP& n);
  void embedding(int w);
};
LinearP declare_linear(ParamStore& s, const std::string& name, int64_t out, int64_t in);
NormP declare_norm(ParamStore& s, const std::string& name, int64_t E);
AttentionP declare_attention(ParamStore& s, const std::string& name, int64_t E);

/// nn.TransformerEncoderLayer (batch-first): self-attention + feed-forward, Post-LN or Pre-LN.
struct EncoderBlock {
  AttentionP self_attn;
  LinearP linear1, linear2;
  NormP norm1, norm2;
  void declare(ParamStore& s, const std::string& prefix, const ModelConfig& c);
  void init(Init& in) const;
  /// x (B, T, E) -> (B, T, E); probs (B, H, T, T) when requested.
  at::Tensor forward(const ParamStore& s, const ModelConfig& c, const at::Tensor& x, const AttnMask& mask,
                     Step& st, at::Tensor* probs) const;
  /// Incremental causal forward of x (1, n, E) at positions [mask.offset, mask.offset + n) against the cache.
  at::Tensor step(const ParamStore& s, const ModelConfig& c, const at::Tensor& x, ops::KVCache& kv,
                  const AttnMask& mask, Step& st) const;
};

/// nn.TransformerDecoderLayer (batch-first): causal self-attention, cross-attention, feed-forward.
struct DecoderBlock {
  AttentionP self_attn, cross_attn;
  LinearP linear1, linear2;
  NormP norm1, norm2, norm3;
  void declare(ParamStore& s, const std::string& prefix, const ModelConfig& c);
  void init(Init& in) const;
  /// y (B, T, E), mem (B, S, E) -> (B, T, E).
  at::Tensor forward(const ParamStore& s, const ModelConfig& c, const at::Tensor& y, const at::Tensor& mem,
                     const AttnMask& self_mask, const AttnMask& cross_mask, Step& st, at::Tensor* self_probs,
                     at::Tensor* cross_probs) const;
  /// Incremental forward of y (1, n, E) at positions [self_mask.offset, + n) against the self-attention cache and
  /// the memory.
  at::Tensor step(const ParamStore& s, const ModelConfig& c, const at::Tensor& y, ops::KVCache& self_kv,
                  const AttnMask& self_mask, const ops::KVCache& mem, const AttnMask& cross_mask, Step& st) const;
};

/// Fixed sinusoidal table (max_len, E): pe[pos, 2i] = sin(pos * 10000^(-2i/E)), pe[pos, 2i+1] = cos(...).
at::Tensor sinusoidal_positions(int64_t max_len, int64_t E);

// ---------------------------------------------------------------- models

/// Attention probabilities gathered by an evaluation forward, one (B, H, T|S, T|S) tensor per layer.
struct Probes {
  bool self = false, enc = false, cross = false;  // which to collect
  std::vector<at::Tensor> self_attn, enc_attn, cross_attn;
};

/// Incremental decoding of one sequence (mlt_decoder): every layer's keys and values of the positions fed so far,
/// and for encoder-decoder models the source's projected memory per decoder layer.
struct DecodeState {
  int64_t length = 0;                // positions fed
  std::vector<ops::KVCache> self;    // one per decoder layer, (H, max_len, D)
  at::Tensor key_pad;                // (1, max_len) uint8 on the CPU: fed tokens equal to pad_id
  std::vector<ops::KVCache> memory;  // encoder-decoder: one per decoder layer, (H, S, D)
  at::Tensor memory_pad;             // encoder-decoder: (1, S) uint8 on the CPU, the source's key padding
};

/// Shared lifecycle of both models: parameters, optimiser state, dropout generators, steps.
class Model {
 public:
  Model(const ModelConfig& cfg, const at::Device& device);
  virtual ~Model() = default;

  /// Logits (B, T, V) of a batch.
  virtual at::Tensor forward(const Batch& batch, Step& st, Probes* probes) = 0;

  /// Validates raw inputs (buffer lengths in elements, sizes, ids) and builds a batch on the device.
  /// targets may be NULL (forward). trim drops trailing all-padding columns.
  Batch make_batch(const int64_t* tokens, int64_t tokens_len, const int64_t* targets, int64_t targets_len,
                   const int64_t* src, int64_t src_len, int32_t B, int32_t T, int32_t S, bool trim) const;
  /// One optimiser step; throws NonFiniteError (after writing loss and grad_norm) and changes neither the
  /// weights nor the optimiser state when the loss or the gradient norm is not finite.
  void train_step(float* loss, float* grad_norm, const Batch& batch, float lr);
  void eval_loss(double* loss_sum, int64_t* count, const Batch& batch);
  /// Inference-mode logits (B, T, V), collecting attention probabilities into probes.
  at::Tensor infer(const Batch& batch, Probes* probes);
  /// Starts incremental decoding; source is a (1, S) batch for encoder-decoder models (encoded here, once).
  DecodeState begin_decode(const Batch* source);
  /// Feeds tokens (1, n) at positions [length, length + n) and returns their logits (1, n, V).
  at::Tensor decode(DecodeState& state, const at::Tensor& tokens);
  void set_seed(uint64_t seed);
  void set_optimizer(const mlt_optim_config& o);
  /// MLT_PRECISION_*: the precision of training steps and evaluations (weights and optimiser stay float32).
  void set_precision(int precision);
  int precision() const { return precision_; }
  /// Intra-op threads for compute calls; 0 = automatic (mlt.h, mlt_model_set_threads).
  int threads = 0;
  /// The thread count a step over this batch runs with; process_threads > 0 is the process-wide setting.
  int threads_for(const Batch& batch, int process_threads) const;
  /// Data-parallel training: train_step all-reduces the token-weighted loss and the gradients over group in
  /// flat buckets of at most bucket_numel floats. Null detaches (single-process training).
  void set_group(std::shared_ptr<Group> group, int64_t bucket_numel);
  const std::shared_ptr<Group>& group() const { return group_; }
  /// Copies root's parameters into every rank's model (as DDP does at construction).
  void broadcast_parameters(int root);

  /// Training state for checkpoints (training_state.cpp). Adam moment which = 0 (exp_avg) or 1 (exp_avg_sq),
  /// the flat (P,) buffer laid out as the store.
  at::Tensor& adam_moment(int which);
  int64_t adam_steps() const;
  void set_adam_steps(int64_t step);
  /// The dropout generators' state (fused counter stream and stock-path generator) as opaque bytes.
  std::vector<uint8_t> rng_state();
  void set_rng_state(const uint8_t* data, int64_t len);

  ModelConfig cfg;
  at::Device device;
  ParamStore store;
  bool fused = false;  // fused CPU kernels (CPU device, unless the environment has MLT_FUSED=0 at creation)

 protected:
  /// Called by subclasses once their parameters are declared: allocates, initialises, places.
  void finish_construction();
  virtual void init_parameters(Init& in) = 0;
  /// The architecture's halves of begin_decode / decode (inference mode, no dropout).
  virtual void encode_source(DecodeState& state, const Batch& source, Step& st) = 0;
  /// tokens (1, n) at positions [self_mask.offset, + n); cross_mask is empty for decoder-only models.
  virtual at::Tensor decode_step(DecodeState& state, const at::Tensor& tokens, const AttnMask& self_mask,
                                 const AttnMask& cross_mask, Step& st) = 0;
  Step make_step(bool train);
  /// All-reduces the token-weighted loss and gradients over group_; returns the union batch's mean loss.
  float reduce_gradients(float local_mean, int64_t local_count);
  at::Tensor pe;  // (max_len, E) on the device

 private:
  mlt_optim_config optim_{};
  int precision_ = MLT_PRECISION_FLOAT32;
  at::Tensor adam_m_, adam_v_;
  int64_t adam_step_ = 0;
  DropoutRng rng_;
  at::Generator gen_;  // stock-path dropout generator on the model device
  std::shared_ptr<Group> group_;
  int64_t bucket_numel_ = 0;
};

std::unique_ptr<Model> make_decoder_lm(const ModelConfig& cfg, const at::Device& device);
std::unique_ptr<Model> make_encoder_decoder(const ModelConfig& cfg, const at::Device& device);

}  // namespace mlt
