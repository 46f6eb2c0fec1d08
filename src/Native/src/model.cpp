// model.cpp - what both models share: configuration validation, the flat parameter store, batch
// construction (id checks, trimming, masks), and the training / evaluation steps with the flat-buffer
// optimiser. The architectures themselves live in decoder_lm.cpp and encoder_decoder.cpp.
#include <ATen/CPUGeneratorImpl.h>

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>

#include "distributed.h"
#include "engine.h"

namespace mlt {

// ---------------------------------------------------------------- configuration

ModelConfig ModelConfig::from(const mlt_config& c) {
  ModelConfig m;
  if (c.kind != MLT_KIND_DECODER && c.kind != MLT_KIND_ENCODER_DECODER)
    fail_arg("kind must be MLT_KIND_DECODER (0) or MLT_KIND_ENCODER_DECODER (1) (got ", c.kind, ")");
  m.kind = c.kind;
  if (c.vocab_size < 2) fail_arg("vocab_size must be >= 2 (got ", c.vocab_size, ")");
  m.V = c.vocab_size;
  if (m.encoder_decoder()) {
    if (c.src_vocab_size != 0 && c.src_vocab_size < 2)
      fail_arg("src_vocab_size must be 0 (same as vocab_size) or >= 2 (got ", c.src_vocab_size, ")");
    m.V_src = c.src_vocab_size == 0 ? m.V : c.src_vocab_size;
  }
  if (c.d_model < 1) fail_arg("d_model must be >= 1 (got ", c.d_model, ")");
  if (c.n_heads < 1) fail_arg("n_heads must be >= 1 (got ", c.n_heads, ")");
  if (c.d_model % c.n_heads != 0) fail_arg("n_heads (", c.n_heads, ") must divide d_model (", c.d_model, ")");
  m.E = c.d_model;
  m.H = c.n_heads;
  m.D = m.E / m.H;
  if (c.n_layers < 1) fail_arg("n_layers must be >= 1 (got ", c.n_layers, ")");
  m.L = c.n_layers;
  if (m.encoder_decoder()) {
    if (c.n_encoder_layers < 1) fail_arg("n_encoder_layers must be >= 1 (got ", c.n_encoder_layers, ")");
    m.L_enc = c.n_encoder_layers;
  }
  if (c.d_ff < 1) fail_arg("d_ff must be >= 1 (got ", c.d_ff, ")");
  m.F = c.d_ff;
  if (c.max_len < 1) fail_arg("max_len must be >= 1 (got ", c.max_len, ")");
  m.max_len = c.max_len;
  if (c.pad_id < 0 || c.pad_id >= c.vocab_size)
    fail_arg("pad_id (", c.pad_id, ") must lie in [0, vocab_size) = [0, ", c.vocab_size, ")");
  if (m.encoder_decoder() && c.pad_id >= m.V_src)
    fail_arg("pad_id (", c.pad_id, ") must lie in [0, src_vocab_size) = [0, ", m.V_src, ")");
  m.pad = c.pad_id;
  if (c.activation != MLT_ACT_RELU && c.activation != MLT_ACT_GELU)
    fail_arg("activation must be MLT_ACT_RELU (0) or MLT_ACT_GELU (1) (got ", c.activation, ")");
  m.act = c.activation;
  if (c.norm_first != 0 && c.norm_first != 1) fail_arg("norm_first must be 0 or 1 (got ", c.norm_first, ")");
  m.norm_first = c.norm_first == 1;
  if (c.causal_encoder != 0 && c.causal_encoder != 1)
    fail_arg("causal_encoder must be 0 or 1 (got ", c.causal_encoder, ")");
  if (c.causal_cross != 0 && c.causal_cross != 1) fail_arg("causal_cross must be 0 or 1 (got ", c.causal_cross, ")");
  m.causal_encoder = c.causal_encoder == 1;
  m.causal_cross = c.causal_cross == 1;
  if (!(c.dropout >= 0.f && c.dropout < 1.f)) fail_arg("dropout must lie in [0, 1) (got ", c.dropout, ")");
  m.p = c.dropout;
  if (!(c.layer_norm_eps > 0.f) || !std::isfinite(c.layer_norm_eps))
    fail_arg("layer_norm_eps must be a positive finite number (got ", c.layer_norm_eps, ")");
  m.eps = c.layer_norm_eps;
  m.seed = c.seed;
  return m;
}

// ---------------------------------------------------------------- parameter store

int ParamStore::add(const std::string& name, std::vector<int64_t> shape) {
  Entry e;
  e.name = name;
  e.numel = 1;
  for (int64_t d : shape) e.numel *= d;
  e.shape = std::move(shape);
  e.offset = total_;
  total_ += e.numel;
  by_name_[name] = static_cast<int>(entries_.size());
  entries_.push_back(std::move(e));
  return static_cast<int>(entries_.size()) - 1;
}

void ParamStore::allocate() {
  flat = at::zeros({total_});
  make_views(false);
}

void ParamStore::place(const at::Device& device) {
  flat = flat.to(device).contiguous();
  flat_grad = at::zeros_like(flat);
  make_views(true);
}

void ParamStore::make_views(bool leaves) {
  at::NoGradGuard no_grad;
  for (auto& e : entries_) {
    at::Tensor v = flat.narrow(0, e.offset, e.numel).view(e.shape);
    if (leaves) {
      v = v.detach().requires_grad_(true);
      v.mutable_grad() = flat_grad.narrow(0, e.offset, e.numel).view(e.shape);
    }
    e.value = v;
  }
}

int ParamStore::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? -1 : it->second;
}

// ---------------------------------------------------------------- model lifecycle

namespace {
uint64_t scramble(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
}  // namespace

Model::Model(const ModelConfig& c, const at::Device& dev) : cfg(c), device(dev) {
  optim_.kind = MLT_OPTIM_ADAM;
  optim_.beta1 = 0.9f;
  optim_.beta2 = 0.999f;
  optim_.eps = 1e-8f;
  optim_.weight_decay = 0.f;
  optim_.clip_grad_norm = 0.f;
}

void Model::finish_construction() {
  store.allocate();
  {
    at::NoGradGuard no_grad;
    Init in{store, at::detail::createCPUGenerator(cfg.seed)};
    init_parameters(in);
  }
  store.place(device);
  pe = sinusoidal_positions(cfg.max_len, cfg.E).to(device);  // (max_len, E)
  adam_m_ = at::zeros_like(store.flat);
  adam_v_ = at::zeros_like(store.flat);
  // MLT_FUSED=0 selects libtorch's stock kernels on the CPU too (mlt.h, "Kernels"): for comparisons.
  const char* env = std::getenv("MLT_FUSED");
  fused = device.is_cpu() && !(env && std::strcmp(env, "0") == 0);
  gen_ = device.is_cpu() ? at::detail::createCPUGenerator(cfg.seed)
                         : at::globalContext().defaultGenerator(device).clone();
  set_seed(cfg.seed);
}

void Model::set_seed(uint64_t seed) {
  rng_.key = scramble(seed);
  rng_.counter = 0;
  std::lock_guard<std::mutex> lock(gen_.mutex());
  gen_.set_current_seed(seed);
}

void Model::set_optimizer(const mlt_optim_config& o) {
  if (o.kind != MLT_OPTIM_ADAM && o.kind != MLT_OPTIM_ADAMW)
    fail_arg("optim.kind must be MLT_OPTIM_ADAM (0) or MLT_OPTIM_ADAMW (1) (got ", o.kind, ")");
  if (!(o.beta1 >= 0.f && o.beta1 < 1.f)) fail_arg("optim.beta1 must lie in [0, 1) (got ", o.beta1, ")");
  if (!(o.beta2 >= 0.f && o.beta2 < 1.f)) fail_arg("optim.beta2 must lie in [0, 1) (got ", o.beta2, ")");
  if (!(o.eps >= 0.f) || !std::isfinite(o.eps)) fail_arg("optim.eps must be >= 0 (got ", o.eps, ")");
  if (!(o.weight_decay >= 0.f) || !std::isfinite(o.weight_decay))
    fail_arg("optim.weight_decay must be >= 0 (got ", o.weight_decay, ")");
  if (!std::isfinite(o.clip_grad_norm)) fail_arg("optim.clip_grad_norm must be finite (got ", o.clip_grad_norm, ")");
  optim_ = o;  // moments and step count carry over, as when editing a PyTorch param_group
}

void Model::set_precision(int precision) {
  if (precision != MLT_PRECISION_FLOAT32 && precision != MLT_PRECISION_BFLOAT16)
    fail_arg("precision must be MLT_PRECISION_FLOAT32 (0) or MLT_PRECISION_BFLOAT16 (1) (got ", precision, ")");
  precision_ = precision;
}

int Model::threads_for(const Batch& batch, int process_threads) const {
  if (threads > 0) return threads;
  if (process_threads > 0) return process_threads;
  // The cores this process may run on, capped by OMP_NUM_THREADS when set (the data-parallel launcher gives each
  // of its workers a share that way).
  static const int cores = [] {
    cpu_set_t set;
    int n = sched_getaffinity(0, sizeof set, &set) == 0 ? std::max(1, CPU_COUNT(&set)) : 1;
    if (const char* env = std::getenv("OMP_NUM_THREADS")) {
      const int cap = std::atoi(env);
      if (cap >= 1) n = std::min(n, cap);
    }
    return n;
  }();
  const double tokens = static_cast<double>(batch.B) * static_cast<double>(batch.T + batch.S);
  return 6.0 * static_cast<double>(store.numel()) * tokens >= MLT_AUTO_THREADS_MIN_FLOP ? cores : 1;
}

Step Model::make_step(bool train) {
  Step st;
  st.train = train;
  st.fused = fused;
  st.bf16 = precision_ == MLT_PRECISION_BFLOAT16;
  st.p = cfg.p;
  st.rng = &rng_;
  st.gen = &gen_;
  return st;
}

// ---------------------------------------------------------------- batches

namespace {

void check_ids(const char* what, const int64_t* ids, int64_t B, int64_t T, int64_t V) {
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      const int64_t id = ids[b * T + t];
      if (id < 0 || id >= V) fail_arg(what, " id ", id, " at [", b, ", ", t, "] is out of range [0, ", V, ")");
    }
}

/// Index one past the last column holding a non-pad id in any of the arrays (at least 1).
int64_t used_columns(int64_t B, int64_t T, int64_t pad, const int64_t* a, const int64_t* b) {
  for (int64_t t = T; t > 1; --t)
    for (int64_t r = 0; r < B; ++r)
      if (a[r * T + t - 1] != pad || (b && b[r * T + t - 1] != pad)) return t;
  return 1;
}

/// (B, T) -> (B, Tk) int64 copy of the first Tk columns.
at::Tensor take_columns(const int64_t* ids, int64_t B, int64_t T, int64_t Tk) {
  at::Tensor out = at::empty({B, Tk}, at::kLong);
  int64_t* o = out.data_ptr<int64_t>();
  for (int64_t b = 0; b < B; ++b) std::memcpy(o + b * Tk, ids + b * T, sizeof(int64_t) * Tk);
  return out;
}

at::Tensor pad_flags(const at::Tensor& ids, int64_t pad) {
  at::Tensor flags = at::empty(ids.sizes(), at::kByte);  // (B, S), 1 = padding
  const int64_t* id = ids.data_ptr<int64_t>();
  uint8_t* f = flags.data_ptr<uint8_t>();
  for (int64_t i = 0, n = ids.numel(); i < n; ++i) f[i] = id[i] == pad;
  return flags;
}

/// Fills the stock-path additive mask (B, 1, T, S) and the dead-row flags for a key-padding + causal mask.
void build_additive(AttnMask& m, const at::Device& device) {
  const int64_t B = m.B, T = m.T, S = m.S;
  at::Tensor add = at::zeros({B, 1, T, S});   // (B, 1, T, S)
  at::Tensor dead = at::zeros({B, 1, T, 1}, at::kBool);
  float* a = add.data_ptr<float>();
  bool* d = dead.data_ptr<bool>();
  const uint8_t* kp = m.key_pad.data_ptr<uint8_t>();
  const float ninf = -std::numeric_limits<float>::infinity();
  bool any_dead = false;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      bool alive = false;
      for (int64_t s = 0; s < S; ++s) {
        const bool visible = !kp[b * S + s] && (!m.causal || s <= m.offset + t);
        a[(b * T + t) * S + s] = visible ? 0.f : ninf;
        alive = alive || visible;
      }
      d[b * T + t] = !alive;
      any_dead = any_dead || !alive;
      // A row with no visible key gets a finite (all-zero) mask: its softmax is then finite, masked to 0 by `dead`
      // in the forward, and its backward is 0 instead of the NaN an all -inf row would give (0 x NaN).
      if (!alive) std::fill(a + (b * T + t) * S, a + (b * T + t + 1) * S, 0.f);
    }
  m.additive = add.to(device);
  if (any_dead) m.dead = dead.to(device);
}

}  // namespace

AttnMask make_mask(const at::Tensor& key_pad, int64_t T, bool causal, bool stock, const at::Device& device,
                   int64_t offset) {
  AttnMask m;
  m.B = key_pad.size(0);
  m.T = T;
  m.S = key_pad.size(1);
  m.key_pad = key_pad;
  m.causal = causal;
  m.offset = offset;
  if (stock) build_additive(m, device);
  return m;
}

Batch Model::make_batch(const int64_t* tokens, int64_t tokens_len, const int64_t* targets, int64_t targets_len,
                        const int64_t* src, int64_t src_len, int32_t B, int32_t T, int32_t S, bool trim) const {
  if (!tokens) fail_arg("tokens must not be NULL");
  if (B < 1) fail_arg("B (batch size) must be >= 1 (got ", B, ")");
  if (T < 1) fail_arg("T (sequence length) must be >= 1 (got ", T, ")");
  if (T > cfg.max_len) fail_arg("T (", T, ") exceeds max_len (", cfg.max_len, ")");
  const int64_t BT = static_cast<int64_t>(B) * T;
  if (tokens_len != BT) fail_arg("tokens_len is ", tokens_len, ", expected B*T = ", B, "*", T, " = ", BT);
  if (targets && targets_len != BT)
    fail_arg("targets_len is ", targets_len, ", expected B*T = ", B, "*", T, " = ", BT);
  if (cfg.encoder_decoder()) {
    if (!src) fail_arg("src_tokens must not be NULL for an encoder-decoder model");
    if (S < 1) fail_arg("S (source length) must be >= 1 (got ", S, ")");
    if (S > cfg.max_len) fail_arg("S (", S, ") exceeds max_len (", cfg.max_len, ")");
    const int64_t BS = static_cast<int64_t>(B) * S;
    if (src_len != BS) fail_arg("src_len is ", src_len, ", expected B*S = ", B, "*", S, " = ", BS);
  } else if (src || S != 0 || src_len != 0) {
    fail_arg("src_tokens must be NULL and S and src_len must be 0 for a decoder-only model (got S = ", S,
             ", src_len = ", src_len, ")");
  }
  check_ids("token", tokens, B, T, cfg.V);
  if (targets) check_ids("target", targets, B, T, cfg.V);
  if (src) check_ids("source token", src, B, S, cfg.V_src);

  Batch batch;
  batch.B = B;
  batch.T = trim ? used_columns(B, T, cfg.pad, tokens, targets) : T;
  batch.S = src ? (trim ? used_columns(B, S, cfg.pad, src, nullptr) : S) : 0;
  at::Tensor tok = take_columns(tokens, B, T, batch.T);  // (B, T')
  batch.tokens = tok.to(device);
  if (targets) {
    at::Tensor tg = take_columns(targets, B, T, batch.T);  // (B, T')
    const int64_t* tp = tg.data_ptr<int64_t>();
    for (int64_t i = 0, n = tg.numel(); i < n; ++i) batch.n_targets += tp[i] != cfg.pad;
    batch.targets = tg.to(device);
  }
  const bool stock = !fused;
  batch.self_mask = make_mask(pad_flags(tok, cfg.pad), batch.T, true, stock, device);
  if (src) {
    at::Tensor sr = take_columns(src, B, S, batch.S);  // (B, S')
    batch.src = sr.to(device);
    at::Tensor kp = pad_flags(sr, cfg.pad);
    batch.enc_mask = make_mask(kp, batch.S, cfg.causal_encoder, stock, device);
    batch.cross_mask = make_mask(kp, batch.T, cfg.causal_cross, stock, device);
  }
  return batch;
}

// ---------------------------------------------------------------- steps

void Model::train_step(float* loss_out, float* grad_norm, const Batch& batch, float lr) {
  if (!std::isfinite(lr) || lr < 0.f) fail_arg("lr must be a finite number >= 0 (got ", lr, ")");
  // One process: a batch without targets has no mean loss. In a group, a rank may hold none of a step's
  // targets (the last batch of an epoch); it contributes zero to the sums.
  if (batch.n_targets == 0 && !group_)
    fail_arg("targets hold no id other than pad_id (", cfg.pad, "): the mean loss is undefined");
  store.flat_grad.zero_();
  float loss_value = 0.f;
  if (batch.n_targets > 0) {
    Step st = make_step(true);
    at::Tensor logits = forward(batch, st, nullptr);  // (B, T, V)
    at::Tensor loss = ops::cross_entropy_mean(logits.reshape({-1, cfg.V}), batch.targets.reshape({-1}), cfg.pad, st);
    loss.backward();
    loss_value = loss.item<float>();
  }
  if (group_) loss_value = reduce_gradients(loss_value, batch.n_targets);
  const float norm = store.flat_grad.norm().item<float>();  // total L2 norm, before clipping
  if (loss_out) *loss_out = loss_value;
  if (grad_norm) *grad_norm = norm;
  // NaN fails every comparison, so clipping cannot catch it: refuse the step before Adam sees it. In a group
  // the loss and the gradients are the reduced ones, equal on every rank, so every rank refuses together.
  if (!std::isfinite(loss_value) || !std::isfinite(norm))
    throw NonFiniteError(cat("training step ", adam_step_ + 1, " rejected: loss ", loss_value, ", gradient norm ",
                             norm, " (lr ", lr, "); weights and optimiser state are unchanged"));
  if (optim_.clip_grad_norm > 0.f) {
    const float coef = optim_.clip_grad_norm / (norm + 1e-6f);  // as torch.nn.utils.clip_grad_norm_
    if (coef < 1.f) store.flat_grad.mul_(coef);
  }
  at::NoGradGuard no_grad;
  ++adam_step_;
  ops::adam_step(store.flat, store.flat_grad, adam_m_, adam_v_, adam_step_, optim_, lr);
}

// Token-weighted data parallelism. Rank r holds n_r targets and the gradient g_r of its mean loss. The union
// batch's mean loss is sum_r n_r * loss_r / N with N = sum_r n_r, so its gradient is sum_r (n_r / N) g_r: scale
// locally, then sum over ranks. Returns the union's mean loss.
float Model::reduce_gradients(float local_mean, int64_t local_count) {
  at::Tensor counts = at::empty({2}, at::TensorOptions().dtype(at::kDouble));  // (loss sum, target count)
  counts[0] = static_cast<double>(local_mean) * static_cast<double>(local_count);
  counts[1] = static_cast<double>(local_count);
  if (group_->uses_cuda()) counts = counts.to(device);
  {
    std::vector<at::Tensor> one{counts};
    group_->allreduce_sum(one);
  }
  const at::Tensor host = counts.cpu();
  const double sum = host[0].item<double>(), total = host[1].item<double>();
  if (total == 0)
    fail_arg("no rank holds a target other than pad_id (", cfg.pad, ") in this step: the mean loss is undefined");
  at::NoGradGuard no_grad;
  if (local_count > 0) store.flat_grad.mul_(static_cast<double>(local_count) / total);
  std::vector<at::Tensor> buckets;  // views of flat_grad, each at most bucket_numel_ floats
  for (int64_t start = 0, n = store.flat_grad.numel(); start < n; start += bucket_numel_)
    buckets.push_back(store.flat_grad.narrow(0, start, std::min(bucket_numel_, n - start)));
  group_->allreduce_sum(buckets);
  return static_cast<float>(sum / total);
}

void Model::set_group(std::shared_ptr<Group> group, int64_t bucket_numel) {
  if (group && bucket_numel < 1) fail_arg("bucket size must hold at least one float (got ", bucket_numel, ")");
  if (group && group->uses_cuda() != device.is_cuda())
    fail_arg("the group's backend (", group->where(), ") does not match the model's device (", device.str(), ")");
  group_ = std::move(group);
  bucket_numel_ = bucket_numel;
}

void Model::broadcast_parameters(int root) {
  if (!group_) fail_arg("the model has no process group (mlt_model_set_group)");
  at::NoGradGuard no_grad;
  group_->broadcast(store.flat, root);
}

void Model::eval_loss(double* loss_sum, int64_t* count, const Batch& batch) {
  if (batch.n_targets == 0)
    fail_arg("targets hold no id other than pad_id (", cfg.pad, "): there is no loss to evaluate");
  c10::InferenceMode guard;
  Step st = make_step(false);
  at::Tensor logits = forward(batch, st, nullptr);  // (B, T, V)
  *loss_sum = ops::cross_entropy_sum(logits.reshape({-1, cfg.V}), batch.targets.reshape({-1}), cfg.pad, st);
  *count = batch.n_targets;
}

at::Tensor Model::infer(const Batch& batch, Probes* probes) {
  c10::InferenceMode guard;
  Step st = make_step(false);
  return forward(batch, st, probes);
}

DecodeState Model::begin_decode(const Batch* source) {
  if (cfg.encoder_decoder() != (source != nullptr))
    fail_arg(cfg.encoder_decoder() ? "an encoder-decoder model decodes against a source: pass its ids"
                                   : "a decoder-only model takes no source");
  c10::InferenceMode guard;
  Step st = make_step(false);
  DecodeState ds;
  const auto opts = at::TensorOptions().dtype(at::kFloat).device(device);
  for (int64_t i = 0; i < cfg.L; ++i)
    ds.self.push_back(ops::KVCache{at::zeros({cfg.H, cfg.max_len, cfg.D}, opts), at::zeros({cfg.H, cfg.max_len, cfg.D}, opts)});
  ds.key_pad = at::zeros({1, cfg.max_len}, at::kByte);
  if (source) encode_source(ds, *source, st);
  return ds;
}

at::Tensor Model::decode(DecodeState& ds, const at::Tensor& tokens) {
  const int64_t P = ds.length, n = tokens.size(1);
  if (n < 1) fail_arg("feed at least one token");
  if (P + n > cfg.max_len)
    fail_arg("the decoder holds ", P, " positions and was given ", n, " more: max_len is ", cfg.max_len);
  if (tokens.min().item<int64_t>() < 0 || tokens.max().item<int64_t>() >= cfg.V)
    fail_arg("token ids must lie in [0, vocab_size) = [0, ", cfg.V, ")");
  c10::InferenceMode guard;
  Step st = make_step(false);
  ds.key_pad.narrow(1, P, n).copy_(tokens == cfg.pad);
  // One mask per call, shared by every layer: the n new queries against the P + n keys (and the memory).
  const AttnMask self_mask = make_mask(ds.key_pad.narrow(1, 0, P + n), n, true, true, device, P);
  const AttnMask cross_mask =
      cfg.encoder_decoder() ? make_mask(ds.memory_pad, n, cfg.causal_cross, true, device, P) : AttnMask{};
  at::Tensor logits = decode_step(ds, tokens.to(device), self_mask, cross_mask, st);
  ds.length += n;
  return logits;
}

}  // namespace mlt
