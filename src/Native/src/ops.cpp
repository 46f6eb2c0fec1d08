// ops.cpp - the op layer under the transformer blocks: stock libtorch implementations (any device, the CUDA
// path) and small fused CPU kernels with hand-written backward passes (attention; residual + dropout +
// LayerNorm; dropout), plus the flat-buffer Adam/AdamW step. Both paths compute the same math.
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine.h"

namespace mlt {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Hot loops are compiled twice on x86-64 GCC: for AVX2 CPUs and for the baseline x86-64, picked at load.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define MLT_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MLT_SIMD_CLONES
#endif

// ---------------------------------------------------------------- dropout masks

/// Smallest share of an elementwise loop worth a thread of its own.
constexpr int64_t kElementGrain = 1 << 15;

inline uint64_t mix64(uint64_t z) {  // splitmix64 finaliser
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// Dropout multipliers: m[i] = 1 / (1 - p) with probability 1 - p, else 0, from a counter-based 32-bit hash
/// (lowbias32) of (stream, i). Stored as floats so that applying them is a plain vectorised multiply.
MLT_SIMD_CLONES void fill_drop(float* __restrict m, int64_t first, int64_t n, float p, uint64_t stream) {
  const double t = std::floor(static_cast<double>(p) * 4294967296.0);
  const uint32_t thr = static_cast<uint32_t>(std::min(t, 4294967295.0));
  const float scale = 1.0f / (1.0f - p);
  const uint64_t k64 = mix64(stream);
  const uint32_t k1 = static_cast<uint32_t>(k64), k2 = static_cast<uint32_t>(k64 >> 32);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    uint32_t x = static_cast<uint32_t>(first + i) * 0x9E3779B1u + k1;
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x = (x ^ k2) * 0x846CA68Bu;
    x ^= x >> 16;
    m[i] = x >= thr ? scale : 0.f;
  }
}

at::Tensor drop_mask(const at::Tensor& like, float p, uint64_t stream) {
  at::Tensor m = at::empty(like.sizes());
  float* d = m.data_ptr<float>();
  at::parallel_for(0, m.numel(), kElementGrain, [&](int64_t i0, int64_t i1) { fill_drop(d + i0, i0, i1 - i0, p, stream); });
  return m;
}

// ---------------------------------------------------------------- fused attention kernel

/// Strided view of queries, keys and values: q[b, t, h*D + d] = q + b*q_bs + t*q_ts + h*D + d.
struct AttnView {
  int64_t B, T, S, H, D;
  const float* q; int64_t q_bs, q_ts;
  const float* k; int64_t k_bs, k_ts;
  const float* v; int64_t v_bs, v_ts;
  const uint8_t* key_pad;  // (B, S)
  bool causal;
};

/// Dot product and axpy over a head; DC > 0 fixes the length at compile time (fully unrolled vectors).
template <int DC>
inline __attribute__((always_inline)) float dot_h(const float* __restrict a, const float* __restrict b, int64_t D) {
  const int64_t n = DC > 0 ? DC : D;
  float s = 0.f;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}
template <int DC>
inline __attribute__((always_inline)) void axpy_h(float w, const float* __restrict x, float* __restrict y,
                                                  int64_t D) {
  const int64_t n = DC > 0 ? DC : D;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] += w * x[i];
}

/// One query row of attention weights, in place: pr[s] holds the raw score q.k_s for the visible keys s < send (anything
/// for padded ones); it becomes softmax(score * scale) over the visible keys and 0 elsewhere. False when no key is
/// visible (the row is then all 0).
inline __attribute__((always_inline)) bool softmax_row(float* pr, int64_t send, int64_t S, const uint8_t* kp,
                                                       float scale) {
  const float ninf = -std::numeric_limits<float>::infinity();
  float mx = ninf;
  for (int64_t s = 0; s < send; ++s) {
    pr[s] = kp[s] ? ninf : pr[s] * scale;
    mx = std::max(mx, pr[s]);
  }
  if (mx == ninf) {
    for (int64_t s = 0; s < S; ++s) pr[s] = 0.f;
    return false;
  }
  float sum = 0.f;
  for (int64_t s = 0; s < send; ++s) {
    pr[s] = std::exp(pr[s] - mx);  // exp(-inf) = 0 for padded keys
    sum += pr[s];
  }
  const float inv = 1.0f / sum;
  for (int64_t s = 0; s < send; ++s) pr[s] *= inv;
  for (int64_t s = send; s < S; ++s) pr[s] = 0.f;
  return true;
}

/// out (B, T, E) = (drop * softmax(q k^T / sqrt(D) + mask)) v per head; P (B, H, T, S) before dropout.
/// Rows with no visible key give P = 0 and out = 0.
template <int DC>
inline __attribute__((always_inline)) void attn_forward_body(const AttnView& a, int64_t bh0, int64_t bh1, float* out,
                                                             float* P, const float* drop) {
  const int64_t T = a.T, S = a.S, H = a.H, D = DC > 0 ? DC : a.D, E = H * D;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  for (int64_t bh = bh0; bh < bh1; ++bh) {  // the (batch, head) pairs of this thread
    const int64_t b = bh / H, h = bh % H;
    const uint8_t* kp = a.key_pad + b * S;
    for (int64_t t = 0; t < T; ++t) {
      const float* qr = a.q + b * a.q_bs + t * a.q_ts + h * D;
      float* pr = P + ((b * H + h) * T + t) * S;
      float* orow = out + (b * T + t) * E + h * D;
      const int64_t send = a.causal ? std::min(t + 1, S) : S;
      for (int64_t s = 0; s < send; ++s)
        if (!kp[s]) pr[s] = dot_h<DC>(qr, a.k + b * a.k_bs + s * a.k_ts + h * D, D);
      for (int64_t d = 0; d < D; ++d) orow[d] = 0.f;
      if (!softmax_row(pr, send, S, kp, scale)) continue;
      const float* dr = drop ? drop + ((b * H + h) * T + t) * S : nullptr;
      for (int64_t s = 0; s < send; ++s) {
        const float w = dr ? pr[s] * dr[s] : pr[s];
        if (w != 0.f) axpy_h<DC>(w, a.v + b * a.v_bs + s * a.v_ts + h * D, orow, D);
      }
    }
  }
}

/// Backward of attn_forward. dq/dk/dv share the strides of q/k/v and are accumulated into (pre-zeroed).
template <int DC>
inline __attribute__((always_inline)) void attn_backward_body(const AttnView& a, int64_t bh0, int64_t bh1,
                                                              const float* dout, const float* P, const float* drop,
                                                              float* dq, float* dk, float* dv) {
  const int64_t T = a.T, S = a.S, H = a.H, D = DC > 0 ? DC : a.D, E = H * D;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  float dp[512];
  std::vector<float> dp_big;
  float* dpp = dp;
  if (S > 512) {
    dp_big.resize(static_cast<size_t>(S));
    dpp = dp_big.data();
  }
  for (int64_t bh = bh0; bh < bh1; ++bh) {  // a (batch, head) pair touches only its own rows of dq, dk, dv
    const int64_t b = bh / H, h = bh % H;
    for (int64_t t = 0; t < T; ++t) {
      const float* go = dout + (b * T + t) * E + h * D;
      const float* pr = P + ((b * H + h) * T + t) * S;
      const float* dr = drop ? drop + ((b * H + h) * T + t) * S : nullptr;
      const int64_t send = a.causal ? std::min(t + 1, S) : S;
      float dsum = 0.f;
      for (int64_t s = 0; s < send; ++s) {
        const float pw = pr[s];
        const float ks = dr ? dr[s] : 1.f;
        if (pw == 0.f || ks == 0.f) {
          dpp[s] = 0.f;
          continue;
        }
        const int64_t vo = b * a.v_bs + s * a.v_ts + h * D;
        dpp[s] = dot_h<DC>(go, a.v + vo, D) * ks;
        axpy_h<DC>(pw * ks, go, dv + vo, D);
        dsum += pw * dpp[s];
      }
      const int64_t qo = b * a.q_bs + t * a.q_ts + h * D;
      const float* qr = a.q + qo;
      float* dqr = dq + qo;
      for (int64_t s = 0; s < send; ++s) {
        const float pw = pr[s];
        if (pw == 0.f) continue;
        const float ds = pw * (dpp[s] - dsum) * scale;
        const int64_t ko = b * a.k_bs + s * a.k_ts + h * D;
        axpy_h<DC>(ds, a.k + ko, dqr, D);
        axpy_h<DC>(ds, qr, dk + ko, D);
      }
    }
  }
}

MLT_SIMD_CLONES void attn_forward_range(const AttnView& a, int64_t bh0, int64_t bh1, float* out, float* P,
                                        const float* drop) {
  switch (a.D) {
    case 8: return attn_forward_body<8>(a, bh0, bh1, out, P, drop);
    case 16: return attn_forward_body<16>(a, bh0, bh1, out, P, drop);
    case 32: return attn_forward_body<32>(a, bh0, bh1, out, P, drop);
    case 64: return attn_forward_body<64>(a, bh0, bh1, out, P, drop);
    default: return attn_forward_body<0>(a, bh0, bh1, out, P, drop);
  }
}

MLT_SIMD_CLONES void attn_backward_range(const AttnView& a, int64_t bh0, int64_t bh1, const float* dout,
                                         const float* P, const float* drop, float* dq, float* dk, float* dv) {
  switch (a.D) {
    case 8: return attn_backward_body<8>(a, bh0, bh1, dout, P, drop, dq, dk, dv);
    case 16: return attn_backward_body<16>(a, bh0, bh1, dout, P, drop, dq, dk, dv);
    case 32: return attn_backward_body<32>(a, bh0, bh1, dout, P, drop, dq, dk, dv);
    case 64: return attn_backward_body<64>(a, bh0, bh1, dout, P, drop, dq, dk, dv);
    default: return attn_backward_body<0>(a, bh0, bh1, dout, P, drop, dq, dk, dv);
  }
}

// The same attention with its four products per (batch, head) pair as matrix products through oneDNN: worth it once
// a head's score matrix is large (the full T x S product also computes the masked half; the loops above skip it).
constexpr int64_t kAttnGemmMinWork = 1 << 15;  // T * S * D

bool attn_by_gemm(const AttnView& a) { return gemm::available() && a.T * a.S * a.D >= kAttnGemmMinWork; }

/// Every row of a head's (T, S) raw scores through softmax_row (the loop kernel's own row softmax).
MLT_SIMD_CLONES void softmax_rows(const AttnView& a, int64_t b, float* Ph) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(a.D));
  for (int64_t t = 0; t < a.T; ++t) softmax_row(Ph + t * a.S, a.causal ? std::min(t + 1, a.S) : a.S, a.S, a.key_pad + b * a.S, scale);
}

void attn_forward_gemm(const AttnView& a, int64_t bh0, int64_t bh1, float* out, float* P, const float* drop) {
  const int64_t T = a.T, S = a.S, H = a.H, D = a.D, E = H * D;
  std::vector<float> pd(drop ? static_cast<size_t>(T * S) : 0);  // dropped probabilities of one head
  for (int64_t bh = bh0; bh < bh1; ++bh) {
    const int64_t b = bh / H, h = bh % H;
    const float* Qh = a.q + b * a.q_bs + h * D;  // (T, D), row stride q_ts
    const float* Kh = a.k + b * a.k_bs + h * D;  // (S, D), row stride k_ts
    const float* Vh = a.v + b * a.v_bs + h * D;  // (S, D), row stride v_ts
    float* Ph = P + bh * T * S;                  // (T, S)
    gemm::sgemm(false, true, T, S, D, Qh, a.q_ts, Kh, a.k_ts, 0.f, Ph, S);  // scores
    softmax_rows(a, b, Ph);
    const float* Pd = Ph;
    if (drop) {
      const float* dr = drop + bh * T * S;
      for (int64_t i = 0; i < T * S; ++i) pd[i] = Ph[i] * dr[i];
      Pd = pd.data();
    }
    gemm::sgemm(false, false, T, D, S, Pd, S, Vh, a.v_ts, 0.f, out + b * T * E + h * D, E);  // (T, D)
  }
}

void attn_backward_gemm(const AttnView& a, int64_t bh0, int64_t bh1, const float* dout, const float* P,
                        const float* drop, float* dq, float* dk, float* dv) {
  const int64_t T = a.T, S = a.S, H = a.H, D = a.D, E = H * D;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  std::vector<float> g(static_cast<size_t>(T * S)), pd(drop ? static_cast<size_t>(T * S) : 0);
  for (int64_t bh = bh0; bh < bh1; ++bh) {
    const int64_t b = bh / H, h = bh % H;
    const int64_t qo = b * a.q_bs + h * D, ko = b * a.k_bs + h * D, vo = b * a.v_bs + h * D;
    const float* dOh = dout + b * T * E + h * D;  // (T, D), row stride E
    const float* Ph = P + bh * T * S;             // (T, S)
    const float* dr = drop ? drop + bh * T * S : nullptr;
    const float* Pd = Ph;
    if (dr) {
      for (int64_t i = 0; i < T * S; ++i) pd[i] = Ph[i] * dr[i];
      Pd = pd.data();
    }
    gemm::sgemm(false, true, T, S, D, dOh, E, a.v + vo, a.v_ts, 0.f, g.data(), S);  // d(dropped P)
    gemm::sgemm(true, false, S, D, T, Pd, S, dOh, E, 1.f, dv + vo, a.v_ts);         // dV += Pd^T dO
    for (int64_t t = 0; t < T; ++t) {  // dS = P * (dP - sum(P * dP)) * scale, dP = d(dropped P) * drop
      float* gr = g.data() + t * S;
      const float* pr = Ph + t * S;
      const float* mr = dr ? dr + t * S : nullptr;
      float dsum = 0.f;
      for (int64_t s = 0; s < S; ++s) {
        if (mr) gr[s] *= mr[s];
        dsum += pr[s] * gr[s];
      }
      for (int64_t s = 0; s < S; ++s) gr[s] = pr[s] * (gr[s] - dsum) * scale;
    }
    gemm::sgemm(false, false, T, D, S, g.data(), S, a.k + ko, a.k_ts, 1.f, dq + qo, a.q_ts);  // dQ += dS K
    gemm::sgemm(true, false, S, D, T, g.data(), S, a.q + qo, a.q_ts, 1.f, dk + ko, a.k_ts);   // dK += dS^T Q
  }
}

/// Splits the (batch, head) pairs over the intra-op threads.
void attn_forward(const AttnView& a, float* out, float* P, const float* drop) {
  const bool by_gemm = attn_by_gemm(a);
  at::parallel_for(0, a.B * a.H, 1, [&](int64_t b0, int64_t b1) {
    if (by_gemm)
      attn_forward_gemm(a, b0, b1, out, P, drop);
    else
      attn_forward_range(a, b0, b1, out, P, drop);
  });
}

void attn_backward(const AttnView& a, const float* dout, const float* P, const float* drop, float* dq, float* dk,
                   float* dv) {
  const bool by_gemm = attn_by_gemm(a);
  at::parallel_for(0, a.B * a.H, 1, [&](int64_t b0, int64_t b1) {
    if (by_gemm)
      attn_backward_gemm(a, b0, b1, dout, P, drop, dq, dk, dv);
    else
      attn_backward_range(a, b0, b1, dout, P, drop, dq, dk, dv);
  });
}

/// Views for self-attention over a packed (B, T, 3E) tensor.
AttnView self_view(const at::Tensor& qkv, const at::Tensor& key_pad, int64_t H, bool causal) {
  const int64_t B = qkv.size(0), T = qkv.size(1), E = qkv.size(2) / 3;
  const float* base = qkv.data_ptr<float>();
  return AttnView{B, T, T, H, E / H, base, T * 3 * E, 3 * E, base + E, T * 3 * E, 3 * E,
                  base + 2 * E, T * 3 * E, 3 * E, key_pad.data_ptr<uint8_t>(), causal};
}

/// Views for cross-attention: q (B, T, E), kv packed (B, S, 2E).
AttnView cross_view(const at::Tensor& q, const at::Tensor& kv, const at::Tensor& key_pad, int64_t H,
                    bool causal) {
  const int64_t B = q.size(0), T = q.size(1), E = q.size(2), S = kv.size(1);
  const float* kb = kv.data_ptr<float>();
  return AttnView{B, T, S, H, E / H, q.data_ptr<float>(), T * E, E, kb, S * 2 * E, 2 * E,
                  kb + E, S * 2 * E, 2 * E, key_pad.data_ptr<uint8_t>(), causal};
}

const float* ptr_or_null(const at::Tensor& t) { return t.defined() ? t.data_ptr<float>() : nullptr; }

/// Rows of width w per thread share: at least kElementGrain elements.
int64_t row_grain(int64_t w) { return std::max<int64_t>(1, kElementGrain / std::max<int64_t>(1, w)); }

/// Fixed chunks for reductions (one partial result each): as many as threads, each at least grain items.
int64_t chunk_count(int64_t n, int64_t grain) {
  return std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), n / std::max<int64_t>(1, grain)));
}

struct AttnResult {
  at::Tensor out, P, drop;
};

AttnResult run_attn(const AttnView& a, float p, uint64_t stream) {
  AttnResult r;
  r.out = at::empty({a.B, a.T, a.H * a.D});           // (B, T, E)
  r.P = at::empty({a.B, a.H, a.T, a.S});              // (B, H, T, S)
  if (p > 0.f) r.drop = drop_mask(r.P, p, stream);    // (B, H, T, S)
  attn_forward(a, r.out.data_ptr<float>(), r.P.data_ptr<float>(), ptr_or_null(r.drop));
  return r;
}

struct SelfAttnFn : torch::autograd::Function<SelfAttnFn> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& qkv, const at::Tensor& key_pad, int64_t H,
                               bool causal, double p, int64_t stream) {
    at::Tensor qc = qkv.contiguous();
    AttnResult r = run_attn(self_view(qc, key_pad, H, causal), static_cast<float>(p), static_cast<uint64_t>(stream));
    ctx->save_for_backward({qc, key_pad, r.P, r.drop});
    ctx->saved_data["H"] = H;
    ctx->saved_data["causal"] = causal;
    ctx->mark_non_differentiable({r.P});
    return {r.out, r.P};
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor& qkv = saved[0];
    AttnView a = self_view(qkv, saved[1], ctx->saved_data["H"].toInt(), ctx->saved_data["causal"].toBool());
    at::Tensor dout = grads[0].contiguous();
    at::Tensor dqkv = at::zeros_like(qkv);  // (B, T, 3E)
    float* g = dqkv.data_ptr<float>();
    const int64_t E = a.H * a.D;
    attn_backward(a, dout.data_ptr<float>(), saved[2].data_ptr<float>(), ptr_or_null(saved[3]), g, g + E, g + 2 * E);
    return {dqkv, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

struct CrossAttnFn : torch::autograd::Function<CrossAttnFn> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& q, const at::Tensor& kv,
                               const at::Tensor& key_pad, int64_t H, bool causal, double p, int64_t stream) {
    at::Tensor qc = q.contiguous(), kvc = kv.contiguous();
    AttnResult r = run_attn(cross_view(qc, kvc, key_pad, H, causal), static_cast<float>(p),
                            static_cast<uint64_t>(stream));
    ctx->save_for_backward({qc, kvc, key_pad, r.P, r.drop});
    ctx->saved_data["H"] = H;
    ctx->saved_data["causal"] = causal;
    ctx->mark_non_differentiable({r.P});
    return {r.out, r.P};
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    AttnView a = cross_view(saved[0], saved[1], saved[2], ctx->saved_data["H"].toInt(),
                            ctx->saved_data["causal"].toBool());
    at::Tensor dout = grads[0].contiguous();
    at::Tensor dq = at::zeros_like(saved[0]);   // (B, T, E)
    at::Tensor dkv = at::zeros_like(saved[1]);  // (B, S, 2E)
    const int64_t E = a.H * a.D;
    attn_backward(a, dout.data_ptr<float>(), saved[3].data_ptr<float>(), ptr_or_null(saved[4]), dq.data_ptr<float>(),
                  dkv.data_ptr<float>(), dkv.data_ptr<float>() + E);
    return {dq, dkv, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// ---------------------------------------------------------------- fused residual + dropout + LayerNorm

/// r = x + drop * sub; y = (r - mean) * rstd * g + b per row of E. Saves xhat and rstd for backward.
MLT_SIMD_CLONES void add_norm_forward(int64_t N, int64_t E, const float* __restrict x, const float* __restrict sub,
                                      const float* __restrict drop, const float* __restrict g,
                                      const float* __restrict bta, float eps, float* __restrict y,
                                      float* __restrict xhat, float* __restrict rstd) {
  const float invE = 1.0f / static_cast<float>(E);
  for (int64_t n = 0; n < N; ++n) {
    const float* xr = x + n * E;
    const float* sr = sub + n * E;
    float* xh = xhat + n * E;  // holds r until normalised
    float sum = 0.f;
    if (drop) {
      const float* dr = drop + n * E;
#pragma omp simd reduction(+ : sum)
      for (int64_t e = 0; e < E; ++e) {
        xh[e] = xr[e] + sr[e] * dr[e];
        sum += xh[e];
      }
    } else {
#pragma omp simd reduction(+ : sum)
      for (int64_t e = 0; e < E; ++e) {
        xh[e] = xr[e] + sr[e];
        sum += xh[e];
      }
    }
    const float mean = sum * invE;
    float var = 0.f;
#pragma omp simd reduction(+ : var)
    for (int64_t e = 0; e < E; ++e) {
      const float c = xh[e] - mean;
      var += c * c;
    }
    const float rs = 1.0f / std::sqrt(var * invE + eps);
    rstd[n] = rs;
    float* yr = y + n * E;
#pragma omp simd
    for (int64_t e = 0; e < E; ++e) {
      xh[e] = (xh[e] - mean) * rs;
      yr[e] = xh[e] * g[e] + bta[e];
    }
  }
}

/// Backward of add_norm_forward: dx = d(r), dsub = drop * d(r); dg, db accumulated.
MLT_SIMD_CLONES void add_norm_backward(int64_t N, int64_t E, const float* __restrict xhat,
                                       const float* __restrict rstd, const float* __restrict g,
                                       const float* __restrict drop, const float* __restrict dy,
                                       float* __restrict dx, float* __restrict dsub, float* __restrict dg,
                                       float* __restrict db) {
  const float invE = 1.0f / static_cast<float>(E);
  for (int64_t n = 0; n < N; ++n) {
    const float* xr = xhat + n * E;
    const float* yr = dy + n * E;
    float a = 0.f, c = 0.f;
#pragma omp simd reduction(+ : a, c)
    for (int64_t e = 0; e < E; ++e) {
      const float dxh = yr[e] * g[e];
      a += dxh;
      c += dxh * xr[e];
      dg[e] += yr[e] * xr[e];
      db[e] += yr[e];
    }
    a *= invE;
    c *= invE;
    const float rs = rstd[n];
    float* gx = dx + n * E;
    float* gs = dsub + n * E;
    if (drop) {
      const float* dr = drop + n * E;
#pragma omp simd
      for (int64_t e = 0; e < E; ++e) {
        gx[e] = rs * (yr[e] * g[e] - a - xr[e] * c);
        gs[e] = gx[e] * dr[e];
      }
    } else {
#pragma omp simd
      for (int64_t e = 0; e < E; ++e) {
        gx[e] = rs * (yr[e] * g[e] - a - xr[e] * c);
        gs[e] = gx[e];
      }
    }
  }
}

struct AddNormFn : torch::autograd::Function<AddNormFn> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& sub,
                               const at::Tensor& g, const at::Tensor& b, double eps, double p, int64_t stream) {
    const int64_t E = x.size(-1), N = x.numel() / E;
    at::Tensor xc = x.contiguous(), sc = sub.contiguous();
    at::Tensor y = at::empty_like(xc), xhat = at::empty_like(xc), rstd = at::empty({N});
    at::Tensor drop;
    if (p > 0.0) drop = drop_mask(xc, static_cast<float>(p), static_cast<uint64_t>(stream));
    const float *xp = xc.data_ptr<float>(), *sp = sc.data_ptr<float>(), *dp = ptr_or_null(drop);
    const float *gp = g.data_ptr<float>(), *bp = b.data_ptr<float>();
    float *yp = y.data_ptr<float>(), *hp = xhat.data_ptr<float>(), *rp = rstd.data_ptr<float>();
    at::parallel_for(0, N, row_grain(E), [&](int64_t n0, int64_t n1) {
      const int64_t o = n0 * E;
      add_norm_forward(n1 - n0, E, xp + o, sp + o, dp ? dp + o : nullptr, gp, bp, static_cast<float>(eps), yp + o,
                       hp + o, rp + n0);
    });
    ctx->save_for_backward({xhat, rstd, g, drop});
    return {y};
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor& xhat = saved[0];
    const int64_t E = xhat.size(-1), N = xhat.numel() / E;
    at::Tensor dy = grads[0].contiguous();
    at::Tensor dx = at::empty_like(xhat), dsub = at::empty_like(xhat);
    // Each chunk of rows sums its own dg, db (chunk c: partial[c] = [dg (E), db (E)]); the chunks are added after.
    const int64_t chunks = chunk_count(N, row_grain(E));
    at::Tensor partial = at::zeros({chunks, 2, E});
    const float *hp = xhat.data_ptr<float>(), *rp = saved[1].data_ptr<float>(), *gp = saved[2].data_ptr<float>();
    const float *mp = ptr_or_null(saved[3]), *yp = dy.data_ptr<float>();
    float *dxp = dx.data_ptr<float>(), *dsp = dsub.data_ptr<float>(), *pp = partial.data_ptr<float>();
    at::parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t n0 = N * c / chunks, n1 = N * (c + 1) / chunks, o = n0 * E;
        add_norm_backward(n1 - n0, E, hp + o, rp + n0, gp, mp ? mp + o : nullptr, yp + o, dxp + o, dsp + o,
                          pp + c * 2 * E, pp + c * 2 * E + E);
      }
    });
    at::Tensor sums = partial.sum(0);  // (2, E)
    return {dx, dsub, sums[0], sums[1], at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// ---------------------------------------------------------------- fused dropout (and residual + dropout)

MLT_SIMD_CLONES void drop_kernel(int64_t n, const float* __restrict x, const float* __restrict s,
                                 const float* __restrict m, float* __restrict o) {
  if (x) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) o[i] = x[i] + s[i] * m[i];
  } else {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) o[i] = s[i] * m[i];
  }
}

/// y = (x if given) + drop * sub
at::Tensor apply_drop(const at::Tensor* x, const at::Tensor& sub, const at::Tensor& drop) {
  at::Tensor sc = sub.contiguous();
  at::Tensor y = at::empty_like(sc);
  at::Tensor xc = x ? x->contiguous() : at::Tensor();
  const float* xp = x ? xc.data_ptr<float>() : nullptr;
  const float *sp = sc.data_ptr<float>(), *mp = drop.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  at::parallel_for(0, sc.numel(), kElementGrain, [&](int64_t i0, int64_t i1) {
    drop_kernel(i1 - i0, xp ? xp + i0 : nullptr, sp + i0, mp + i0, yp + i0);
  });
  return y;
}

struct DropoutFn : torch::autograd::Function<DropoutFn> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& x, double p, int64_t stream) {
    at::Tensor drop = drop_mask(x, static_cast<float>(p), static_cast<uint64_t>(stream));
    ctx->save_for_backward({drop});
    return {apply_drop(nullptr, x, drop)};
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    return {apply_drop(nullptr, grads[0], saved[0]), at::Tensor(), at::Tensor()};
  }
};

struct AddDropoutFn : torch::autograd::Function<AddDropoutFn> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& sub, double p,
                               int64_t stream) {
    at::Tensor drop = drop_mask(sub, static_cast<float>(p), static_cast<uint64_t>(stream));
    ctx->save_for_backward({drop});
    return {apply_drop(&x, sub, drop)};
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    return {grads[0], apply_drop(nullptr, grads[0], saved[0]), at::Tensor(), at::Tensor()};
  }
};

// ---------------------------------------------------------------- fused cross-entropy

/// Summed -log softmax(x)[target] over rows whose target != ignore; lse[n] = logsumexp of row n.
MLT_SIMD_CLONES double ce_forward(int64_t N, int64_t V, const float* __restrict x, const int64_t* __restrict tgt,
                                  int64_t ignore, float* __restrict lse, int64_t* count) {
  double total = 0.0;
  int64_t c = 0;
  for (int64_t n = 0; n < N; ++n) {
    const float* xr = x + n * V;
    if (tgt[n] == ignore) {
      lse[n] = 0.f;
      continue;
    }
    float mx = xr[0];
    for (int64_t v = 1; v < V; ++v) mx = std::max(mx, xr[v]);
    float sum = 0.f;
    for (int64_t v = 0; v < V; ++v) sum += std::exp(xr[v] - mx);
    lse[n] = mx + std::log(sum);
    total += static_cast<double>(lse[n] - xr[tgt[n]]);
    ++c;
  }
  *count = c;
  return total;
}

/// d/dx of (scale * summed loss): (softmax(x) - onehot(target)) * scale on counted rows, 0 elsewhere.
MLT_SIMD_CLONES void ce_backward(int64_t N, int64_t V, const float* __restrict x, const int64_t* __restrict tgt,
                                 int64_t ignore, const float* __restrict lse, float scale, float* __restrict dx) {
  for (int64_t n = 0; n < N; ++n) {
    float* dr = dx + n * V;
    if (tgt[n] == ignore) {
      for (int64_t v = 0; v < V; ++v) dr[v] = 0.f;
      continue;
    }
    const float* xr = x + n * V;
    const float l = lse[n];
    for (int64_t v = 0; v < V; ++v) dr[v] = std::exp(xr[v] - l) * scale;
    dr[tgt[n]] -= scale;
  }
}

/// ce_forward over chunks of rows on the intra-op threads; the chunks' sums are added in chunk order.
double ce_forward_parallel(const at::Tensor& x, const at::Tensor& t, int64_t ignore, at::Tensor& lse, int64_t* count) {
  const int64_t N = x.size(0), V = x.size(1);
  const int64_t chunks = chunk_count(N, row_grain(V));
  std::vector<double> totals(static_cast<size_t>(chunks), 0.0);
  std::vector<int64_t> counts(static_cast<size_t>(chunks), 0);
  const float* xp = x.data_ptr<float>();
  const int64_t* tp = t.data_ptr<int64_t>();
  float* lp = lse.data_ptr<float>();
  at::parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t n0 = N * c / chunks, n1 = N * (c + 1) / chunks;
      totals[c] = ce_forward(n1 - n0, V, xp + n0 * V, tp + n0, ignore, lp + n0, &counts[c]);
    }
  });
  double total = 0.0;
  *count = 0;
  for (int64_t c = 0; c < chunks; ++c) {
    total += totals[c];
    *count += counts[c];
  }
  return total;
}

/// Mean cross-entropy over non-ignored targets of logits (N, V): one node instead of log_softmax + nll_loss.
struct CrossEntropyFn : torch::autograd::Function<CrossEntropyFn> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& logits, const at::Tensor& targets,
                               int64_t ignore) {
    at::Tensor x = logits.contiguous(), t = targets.contiguous();
    at::Tensor lse = at::empty({x.size(0)});
    int64_t count = 0;
    const double total = ce_forward_parallel(x, t, ignore, lse, &count);
    ctx->save_for_backward({x, t, lse});
    ctx->saved_data["ignore"] = ignore;
    ctx->saved_data["count"] = count;
    return {at::scalar_tensor(total / static_cast<double>(count), at::kFloat)};
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const int64_t N = x.size(0), V = x.size(1);
    const float scale = grads[0].item<float>() / static_cast<float>(ctx->saved_data["count"].toInt());
    at::Tensor dx = at::empty_like(x);
    const float *xp = x.data_ptr<float>(), *lp = saved[2].data_ptr<float>();
    const int64_t* tp = saved[1].data_ptr<int64_t>();
    const int64_t ignore = ctx->saved_data["ignore"].toInt();
    float* dp = dx.data_ptr<float>();
    at::parallel_for(0, N, row_grain(V), [&](int64_t n0, int64_t n1) {
      ce_backward(n1 - n0, V, xp + n0 * V, tp + n0, ignore, lp + n0, scale, dp + n0 * V);
    });
    return {dx, at::Tensor(), at::Tensor()};
  }
};

// ---------------------------------------------------------------- linear through oneDNN

/// y (N, O) = x (N, K) W^T + b with W (O, K). Under bfloat16, x and W are rounded to bfloat16 once and kept so for
/// backward; every product accumulates in float32 and writes float32 (dx and dW are not rounded).
at::Tensor linear_forward(const at::Tensor& x2, const at::Tensor& w, const at::Tensor& b, bool bf16) {
  const int64_t N = x2.size(0), K = x2.size(1), O = w.size(0);
  at::Tensor y = at::empty({N, O});
  y.copy_(b.expand({N, O}));  // bias first, then accumulate the product (beta = 1)
  if (bf16)
    gemm::bf16gemm(false, true, N, O, K, x2.data_ptr<c10::BFloat16>(), K, w.data_ptr<c10::BFloat16>(), K, 1.f,
                   y.data_ptr<float>(), O);
  else
    gemm::sgemm(false, true, N, O, K, x2.data_ptr<float>(), K, w.data_ptr<float>(), K, 1.f, y.data_ptr<float>(), O);
  return y;  // (N, O)
}

/// The operands of linear_forward: x as (N, K) and W (O, K), contiguous, rounded to bfloat16 when asked.
std::pair<at::Tensor, at::Tensor> linear_operands(const at::Tensor& x, const at::Tensor& w, bool bf16) {
  at::Tensor x2 = x.reshape({-1, x.size(-1)});  // (N, K)
  if (bf16) return {x2.to(at::kBFloat16).contiguous(), w.to(at::kBFloat16).contiguous()};
  return {x2.contiguous(), w.contiguous()};
}

/// (..., K) -> (..., O): the shape of x with its last size replaced by W's rows.
std::vector<int64_t> linear_shape(const at::Tensor& x, const at::Tensor& w) {
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = w.size(0);
  return shape;
}

struct LinearFn : torch::autograd::Function<LinearFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w, const at::Tensor& b,
                            bool bf16) {
    auto [x2, wc] = linear_operands(x, w, bf16);    // (N, K), (O, K)
    at::Tensor y = linear_forward(x2, wc, b, bf16);  // (N, O)
    ctx->save_for_backward({x2, wc});
    ctx->saved_data["bf16"] = bf16;
    return y.view(linear_shape(x, w));  // (..., O)
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor& x2 = saved[0];  // (N, K)
    const at::Tensor& w = saved[1];   // (O, K)
    const bool bf16 = ctx->saved_data["bf16"].toBool();
    const int64_t N = x2.size(0), K = x2.size(1), O = w.size(0);
    at::Tensor dy = grads[0].reshape({N, O}).contiguous();  // (N, O)
    at::Tensor dyb = bf16 ? dy.to(at::kBFloat16) : dy;
    at::Tensor dx, dw = at::empty({O, K});
    if (ctx->needs_input_grad(0)) dx = at::empty({N, K});
    if (bf16) {
      const auto* g = dyb.data_ptr<c10::BFloat16>();
      if (dx.defined())
        gemm::bf16gemm(false, false, N, K, O, g, O, w.data_ptr<c10::BFloat16>(), K, 0.f, dx.data_ptr<float>(), K);
      gemm::bf16gemm(true, false, O, K, N, g, O, x2.data_ptr<c10::BFloat16>(), K, 0.f, dw.data_ptr<float>(), K);
    } else {
      const float* g = dy.data_ptr<float>();
      if (dx.defined()) gemm::sgemm(false, false, N, K, O, g, O, w.data_ptr<float>(), K, 0.f, dx.data_ptr<float>(), K);
      gemm::sgemm(true, false, O, K, N, g, O, x2.data_ptr<float>(), K, 0.f, dw.data_ptr<float>(), K);
    }
    at::Tensor db = dy.sum(0);  // (O,)
    if (dx.defined()) {
      std::vector<int64_t> shape = grads[0].sizes().vec();
      shape.back() = K;
      dx = dx.view(shape);
    }
    return {dx, dw, db, at::Tensor()};
  }
};

// ---------------------------------------------------------------- stock attention

/// q (B, H, T, D), k, v (B, H, S, D) -> (B, T, E); probs (B, H, T, S) before dropout. Under bfloat16 both
/// matmuls take bfloat16 operands; the scores, the mask and the softmax are float32.
at::Tensor stock_attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const AttnMask& mask,
                        Step& st, at::Tensor* probs) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
  auto mm = [&](const at::Tensor& a, const at::Tensor& b) {
    return st.bf16 ? at::matmul(a.to(at::kBFloat16), b.to(at::kBFloat16)).to(at::kFloat) : at::matmul(a, b);
  };
  at::Tensor scores = mm(q * (1.0 / std::sqrt(static_cast<double>(D))), k.transpose(-2, -1));  // (B, H, T, S)
  scores = scores + mask.additive;
  at::Tensor P = at::softmax(scores, -1);  // (B, H, T, S)
  if (mask.dead.defined()) P = P.masked_fill(mask.dead, 0.0);
  if (probs) *probs = P.detach();
  at::Tensor Pd = ops::dropout(P, st);
  return mm(Pd, v).transpose(1, 2).reshape({B, T, H * D});  // (B, H, T, D) -> (B, T, E)
}

/// PyTorch's Adam / AdamW element update; decay multiplies the parameter first (AdamW), l2 adds to the gradient.
MLT_SIMD_CLONES void adam_kernel(int64_t n, float* __restrict p, const float* __restrict grad, float* __restrict m,
                                 float* __restrict v, float b1, float b2, float omb1, float omb2, float decay,
                                 float l2, float step_size, float bc2_sqrt, float eps) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float pi = p[i] * decay;
    const float g = grad[i] + l2 * pi;
    m[i] = m[i] * b1 + g * omb1;
    v[i] = v[i] * b2 + omb2 * g * g;
    p[i] = pi - step_size * (m[i] / (std::sqrt(v[i]) / bc2_sqrt + eps));
  }
}

bool use_fused(const Step& st, const at::Tensor& x) { return st.fused && x.is_cpu() && x.scalar_type() == at::kFloat; }

int64_t stream_of(Step& st) { return static_cast<int64_t>(st.rng->next_stream()); }

}  // namespace

namespace ops {

at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, const Step& st) {
  if (use_fused(st, x) && gemm::available()) {
    if (at::GradMode::is_enabled()) return LinearFn::apply(x, w, b, st.bf16);
    auto [x2, wc] = linear_operands(x, w, st.bf16);
    return linear_forward(x2, wc, b, st.bf16).view(linear_shape(x, w));
  }
  if (!st.bf16) return at::linear(x, w, b);
  return at::linear(x.to(at::kBFloat16), w.to(at::kBFloat16), b.to(at::kBFloat16)).to(at::kFloat);
}

at::Tensor self_attention(const at::Tensor& x, const at::Tensor& in_w, const at::Tensor& in_b,
                          const at::Tensor& out_w, const at::Tensor& out_b, int64_t H, const AttnMask& mask,
                          Step& st, at::Tensor* probs) {
  const int64_t B = x.size(0), T = x.size(1), E = x.size(2), D = E / H;
  at::Tensor qkv = linear(x, in_w, in_b, st);  // (B, T, 3E)
  at::Tensor ctx;
  if (use_fused(st, x)) {
    const double p = st.dropping() ? st.p : 0.0;
    const int64_t stream = p > 0.0 ? stream_of(st) : 0;
    if (at::GradMode::is_enabled()) {
      auto r = SelfAttnFn::apply(qkv, mask.key_pad, H, mask.causal, p, stream);
      ctx = r[0];
      if (probs) *probs = r[1];
    } else {
      AttnResult r = run_attn(self_view(qkv.contiguous(), mask.key_pad, H, mask.causal), (float)p, stream);
      ctx = r.out;
      if (probs) *probs = r.P;
    }
  } else {
    at::Tensor qkv5 = qkv.view({B, T, 3, H, D}).permute({2, 0, 3, 1, 4});  // (3, B, H, T, D)
    ctx = stock_attend(qkv5[0], qkv5[1], qkv5[2], mask, st, probs);
  }
  return linear(ctx, out_w, out_b, st);  // (B, T, E)
}

at::Tensor cross_attention(const at::Tensor& x, const at::Tensor& mem, const at::Tensor& in_w,
                           const at::Tensor& in_b, const at::Tensor& out_w, const at::Tensor& out_b, int64_t H,
                           const AttnMask& mask, Step& st, at::Tensor* probs) {
  const int64_t B = x.size(0), T = x.size(1), E = x.size(2), S = mem.size(1), D = E / H;
  at::Tensor q = linear(x, in_w.narrow(0, 0, E), in_b.narrow(0, 0, E), st);              // (B, T, E)
  at::Tensor kv = linear(mem, in_w.narrow(0, E, 2 * E), in_b.narrow(0, E, 2 * E), st);   // (B, S, 2E)
  at::Tensor ctx;
  if (use_fused(st, x)) {
    const double p = st.dropping() ? st.p : 0.0;
    const int64_t stream = p > 0.0 ? stream_of(st) : 0;
    if (at::GradMode::is_enabled()) {
      auto r = CrossAttnFn::apply(q, kv, mask.key_pad, H, mask.causal, p, stream);
      ctx = r[0];
      if (probs) *probs = r[1];
    } else {
      AttnResult r = run_attn(cross_view(q.contiguous(), kv.contiguous(), mask.key_pad, H, mask.causal), (float)p,
                              stream);
      ctx = r.out;
      if (probs) *probs = r.P;
    }
  } else {
    at::Tensor qh = q.view({B, T, H, D}).transpose(1, 2);                          // (B, H, T, D)
    at::Tensor kv5 = kv.view({B, S, 2, H, D}).permute({2, 0, 3, 1, 4});            // (2, B, H, S, D)
    ctx = stock_attend(qh, kv5[0], kv5[1], mask, st, probs);
  }
  return linear(ctx, out_w, out_b, st);  // (B, T, E)
}

at::Tensor self_attention_cached(const at::Tensor& x, const at::Tensor& in_w, const at::Tensor& in_b,
                                 const at::Tensor& out_w, const at::Tensor& out_b, int64_t H, KVCache& kv,
                                 const AttnMask& mask, Step& st) {
  const int64_t n = x.size(1), E = x.size(2), D = E / H, P = mask.offset, len = P + n;
  at::Tensor qkv = linear(x, in_w, in_b, st).view({1, n, 3, H, D}).permute({2, 0, 3, 1, 4});  // (3, 1, H, n, D)
  kv.k.narrow(1, P, n).copy_(qkv[1][0]);
  kv.v.narrow(1, P, n).copy_(qkv[2][0]);
  at::Tensor ctx = stock_attend(qkv[0], kv.k.narrow(1, 0, len).unsqueeze(0), kv.v.narrow(1, 0, len).unsqueeze(0), mask,
                                st, nullptr);  // (1, n, E)
  return linear(ctx, out_w, out_b, st);      // (1, n, E)
}

KVCache project_memory(const at::Tensor& mem, const at::Tensor& in_w, const at::Tensor& in_b, int64_t H, Step& st) {
  const int64_t S = mem.size(1), E = mem.size(2), D = E / H;
  at::Tensor kv = linear(mem, in_w.narrow(0, E, 2 * E), in_b.narrow(0, E, 2 * E), st)  // (1, S, 2E)
                      .view({S, 2, H, D}).permute({1, 2, 0, 3});                         // (2, H, S, D)
  return KVCache{kv[0].contiguous(), kv[1].contiguous()};
}

at::Tensor cross_attention_cached(const at::Tensor& x, const KVCache& mem, const at::Tensor& in_w,
                                  const at::Tensor& in_b, const at::Tensor& out_w, const at::Tensor& out_b, int64_t H,
                                  const AttnMask& mask, Step& st) {
  const int64_t n = x.size(1), E = x.size(2), D = E / H;
  at::Tensor q = linear(x, in_w.narrow(0, 0, E), in_b.narrow(0, 0, E), st).view({1, n, H, D}).transpose(1, 2);
  at::Tensor ctx = stock_attend(q, mem.k.unsqueeze(0), mem.v.unsqueeze(0), mask, st, nullptr);  // (1, n, E)
  return linear(ctx, out_w, out_b, st);                                                         // (1, n, E)
}

at::Tensor add_dropout_norm(const at::Tensor& x, const at::Tensor& sub, const at::Tensor& g, const at::Tensor& b,
                            double eps, Step& st) {
  if (use_fused(st, x)) {
    const double p = st.dropping() ? st.p : 0.0;
    const int64_t stream = p > 0.0 ? stream_of(st) : 0;
    return AddNormFn::apply(x, sub, g, b, eps, p, stream)[0];
  }
  return at::layer_norm(x + dropout(sub, st), {x.size(-1)}, g, b, eps);
}

at::Tensor add_dropout(const at::Tensor& x, const at::Tensor& sub, Step& st) {
  if (!st.dropping()) return x + sub;
  if (use_fused(st, x)) return AddDropoutFn::apply(x, sub, st.p, stream_of(st))[0];
  return x + dropout(sub, st);
}

at::Tensor dropout(const at::Tensor& x, Step& st) {
  if (!st.dropping()) return x;
  if (use_fused(st, x)) return DropoutFn::apply(x, st.p, stream_of(st))[0];
  const double keep = 1.0 - st.p;
  at::Tensor m = at::empty_like(x).bernoulli_(keep, *st.gen).div_(keep);
  return x * m;
}

at::Tensor cross_entropy_mean(const at::Tensor& logits, const at::Tensor& targets, int64_t ignore, Step& st) {
  if (use_fused(st, logits)) return CrossEntropyFn::apply(logits, targets, ignore)[0];
  return at::cross_entropy_loss(logits, targets, {}, at::Reduction::Mean, ignore);
}

double cross_entropy_sum(const at::Tensor& logits, const at::Tensor& targets, int64_t ignore, Step& st) {
  if (use_fused(st, logits)) {
    at::Tensor x = logits.contiguous(), t = targets.contiguous();
    at::Tensor lse = at::empty({x.size(0)});
    int64_t count = 0;
    return ce_forward_parallel(x, t, ignore, lse, &count);
  }
  at::Tensor per = at::cross_entropy_loss(logits, targets, {}, at::Reduction::None, ignore);  // (N,), 0 if ignored
  return per.to(at::kDouble).sum().item<double>();
}

at::Tensor layer_norm(const at::Tensor& x, const at::Tensor& g, const at::Tensor& b, double eps) {
  return at::layer_norm(x, {x.size(-1)}, g, b, eps);
}

at::Tensor activation(const at::Tensor& x, int act) { return act == MLT_ACT_GELU ? at::gelu(x) : at::relu(x); }

void adam_step(at::Tensor& param, const at::Tensor& grad, at::Tensor& m, at::Tensor& v, int64_t step,
               const mlt_optim_config& o, double lr) {
  const double b1 = o.beta1, b2 = o.beta2, wd = o.weight_decay;
  const double bc1 = 1.0 - std::pow(b1, static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(b2, static_cast<double>(step));
  const double step_size = lr / bc1;
  const double bc2_sqrt = std::sqrt(bc2);
  const bool adamw = o.kind == MLT_OPTIM_ADAMW;
  if (param.is_cpu() && param.scalar_type() == at::kFloat) {
    float *pp = param.data_ptr<float>(), *mp = m.data_ptr<float>(), *vp = v.data_ptr<float>();
    const float* gp = grad.data_ptr<float>();
    at::parallel_for(0, param.numel(), kElementGrain, [&](int64_t i0, int64_t i1) {
      adam_kernel(i1 - i0, pp + i0, gp + i0, mp + i0, vp + i0, (float)b1, (float)b2, (float)(1.0 - b1),
                  (float)(1.0 - b2), adamw ? (float)(1.0 - lr * wd) : 1.f, adamw ? 0.f : (float)wd,
                  (float)step_size, (float)bc2_sqrt, o.eps);
    });
    return;
  }
  at::Tensor g = grad;
  if (adamw) {
    if (wd != 0.0) param.mul_(1.0 - lr * wd);
  } else if (wd != 0.0) {
    g = grad.add(param, wd);
  }
  m.mul_(b1).add_(g, 1.0 - b1);
  v.mul_(b2).addcmul_(g, g, 1.0 - b2);
  at::Tensor denom = (v.sqrt() / bc2_sqrt).add_(o.eps);
  param.addcdiv_(m, denom, -step_size);
}

}  // namespace ops
}  // namespace mlt
