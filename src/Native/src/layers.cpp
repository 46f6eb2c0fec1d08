// layers.cpp - the building blocks shared by both models, bottom-up: parameter declaration and PyTorch's
// default initialisers, sinusoidal positions, then nn.TransformerEncoderLayer and nn.TransformerDecoderLayer
// (batch-first, Post-LN or Pre-LN) on top of the op layer.
#include <cmath>

#include "engine.h"

namespace mlt {

// ---------------------------------------------------------------- declaration

LinearP declare_linear(ParamStore& s, const std::string& name, int64_t out, int64_t in) {
  return LinearP{s.add(name + ".weight", {out, in}), s.add(name + ".bias", {out})};
}

NormP declare_norm(ParamStore& s, const std::string& name, int64_t E) {
  return NormP{s.add(name + ".weight", {E}), s.add(name + ".bias", {E})};
}

AttentionP declare_attention(ParamStore& s, const std::string& name, int64_t E) {
  AttentionP a;
  a.in_w = s.add(name + ".in_proj_weight", {3 * E, E});
  a.in_b = s.add(name + ".in_proj_bias", {3 * E});
  a.out_w = s.add(name + ".out_proj.weight", {E, E});
  a.out_b = s.add(name + ".out_proj.bias", {E});
  return a;
}

// ---------------------------------------------------------------- initialisation (PyTorch defaults)

void Init::linear(const LinearP& l) {
  // nn.Linear: kaiming_uniform_(a = sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the bias uses the same bound.
  at::Tensor w = store[l.w], b = store[l.b];
  const double bound = 1.0 / std::sqrt(static_cast<double>(w.size(1)));
  w.uniform_(-bound, bound, gen);
  b.uniform_(-bound, bound, gen);
}

void Init::attention(const AttentionP& a) {
  // nn.MultiheadAttention: xavier_uniform_ on in_proj_weight (fan_in E, fan_out 3E), zero biases,
  // out_proj.weight as an nn.Linear.
  at::Tensor in_w = store[a.in_w];
  const double bound = std::sqrt(6.0 / static_cast<double>(in_w.size(0) + in_w.size(1)));
  in_w.uniform_(-bound, bound, gen);
  store[a.in_b].zero_();
  at::Tensor out_w = store[a.out_w];
  const double ob = 1.0 / std::sqrt(static_cast<double>(out_w.size(1)));
  out_w.uniform_(-ob, ob, gen);
  store[a.out_b].zero_();
}

void Init::norm(const NormP& n) {
  store[n.w].fill_(1.0);
  store[n.b].zero_();
}

void Init::embedding(int w) { store[w].normal_(0.0, 1.0, gen); }

at::Tensor sinusoidal_positions(int64_t max_len, int64_t E) {
  // Computed in float32 with the same op order as the usual PyTorch recipe.
  at::Tensor pe = at::zeros({max_len, E});                                                // (max_len, E)
  at::Tensor pos = at::arange(max_len, at::kLong).unsqueeze(1);                          // (max_len, 1)
  at::Tensor div = at::exp(at::arange(0, E, 2, at::kLong).to(at::kFloat) *
                           static_cast<float>(-std::log(10000.0) / static_cast<double>(E)));  // (ceil(E/2),)
  at::Tensor angle = pos * div;                                                           // (max_len, ceil(E/2))
  pe.slice(1, 0, E, 2).copy_(at::sin(angle));
  if (E > 1) pe.slice(1, 1, E, 2).copy_(at::cos(angle).narrow(1, 0, E / 2));
  return pe;
}

// ---------------------------------------------------------------- feed-forward

namespace {
/// linear2(dropout(activation(linear1(x)))): (B, T, E) -> (B, T, F) -> (B, T, E)
at::Tensor feed_forward(const ParamStore& s, const ModelConfig& c, const LinearP& l1, const LinearP& l2,
                        const at::Tensor& x, Step& st) {
  at::Tensor h = ops::activation(ops::linear(x, s[l1.w], s[l1.b], st), c.act);  // (B, T, F)
  return ops::linear(ops::dropout(h, st), s[l2.w], s[l2.b], st);                 // (B, T, E)
}

/// One residual sublayer around f, as PyTorch wires it: norm(x + dropout(f(x))) (post-LN), or
/// x + dropout(f(norm(x))) (pre-LN, norm_first). Every block's forward and cached step are made of these.
template <class F>
at::Tensor residual(const ParamStore& s, const ModelConfig& c, const NormP& n, const at::Tensor& x, F&& f, Step& st) {
  if (!c.norm_first) return ops::add_dropout_norm(x, f(x), s[n.w], s[n.b], c.eps, st);  // (B, T, E)
  return ops::add_dropout(x, f(ops::layer_norm(x, s[n.w], s[n.b], c.eps)), st);           // (B, T, E)
}

/// nn.TransformerEncoderLayer around its self-attention (full, or cached for a step).
template <class A>
at::Tensor encoder_layer(const EncoderBlock& b, const ParamStore& s, const ModelConfig& c, const at::Tensor& x,
                         A&& attend, Step& st) {
  auto ff = [&](const at::Tensor& in) { return feed_forward(s, c, b.linear1, b.linear2, in, st); };
  at::Tensor h = residual(s, c, b.norm1, x, attend, st);  // (B, T, E)
  return residual(s, c, b.norm2, h, ff, st);               // (B, T, E)
}

/// nn.TransformerDecoderLayer around its self- and cross-attention (full, or cached for a step).
template <class A, class X>
at::Tensor decoder_layer(const DecoderBlock& b, const ParamStore& s, const ModelConfig& c, const at::Tensor& y,
                         A&& self, X&& cross, Step& st) {
  auto ff = [&](const at::Tensor& in) { return feed_forward(s, c, b.linear1, b.linear2, in, st); };
  at::Tensor h1 = residual(s, c, b.norm1, y, self, st);    // (B, T, E)
  at::Tensor h2 = residual(s, c, b.norm2, h1, cross, st);  // (B, T, E)
  return residual(s, c, b.norm3, h2, ff, st);              // (B, T, E)
}
}  // namespace

// ---------------------------------------------------------------- encoder block

void EncoderBlock::declare(ParamStore& s, const std::string& prefix, const ModelConfig& c) {
  self_attn = declare_attention(s, prefix + ".self_attn", c.E);
  linear1 = declare_linear(s, prefix + ".linear1", c.F, c.E);
  linear2 = declare_linear(s, prefix + ".linear2", c.E, c.F);
  norm1 = declare_norm(s, prefix + ".norm1", c.E);
  norm2 = declare_norm(s, prefix + ".norm2", c.E);
}

void EncoderBlock::init(Init& in) const {
  in.attention(self_attn);
  in.linear(linear1);
  in.linear(linear2);
  in.norm(norm1);
  in.norm(norm2);
}

at::Tensor EncoderBlock::forward(const ParamStore& s, const ModelConfig& c, const at::Tensor& x,
                                 const AttnMask& mask, Step& st, at::Tensor* probs) const {
  const AttentionP& a = self_attn;
  auto attend = [&](const at::Tensor& in) {
    return ops::self_attention(in, s[a.in_w], s[a.in_b], s[a.out_w], s[a.out_b], c.H, mask, st, probs);
  };
  return encoder_layer(*this, s, c, x, attend, st);  // (B, T, E)
}

at::Tensor EncoderBlock::step(const ParamStore& s, const ModelConfig& c, const at::Tensor& x, ops::KVCache& kv,
                              const AttnMask& mask, Step& st) const {
  const AttentionP& a = self_attn;
  auto attend = [&](const at::Tensor& in) {
    return ops::self_attention_cached(in, s[a.in_w], s[a.in_b], s[a.out_w], s[a.out_b], c.H, kv, mask, st);
  };
  return encoder_layer(*this, s, c, x, attend, st);  // (1, n, E)
}

// ---------------------------------------------------------------- decoder block

void DecoderBlock::declare(ParamStore& s, const std::string& prefix, const ModelConfig& c) {
  self_attn = declare_attention(s, prefix + ".self_attn", c.E);
  cross_attn = declare_attention(s, prefix + ".multihead_attn", c.E);
  linear1 = declare_linear(s, prefix + ".linear1", c.F, c.E);
  linear2 = declare_linear(s, prefix + ".linear2", c.E, c.F);
  norm1 = declare_norm(s, prefix + ".norm1", c.E);
  norm2 = declare_norm(s, prefix + ".norm2", c.E);
  norm3 = declare_norm(s, prefix + ".norm3", c.E);
}

void DecoderBlock::init(Init& in) const {
  in.attention(self_attn);
  in.attention(cross_attn);
  in.linear(linear1);
  in.linear(linear2);
  in.norm(norm1);
  in.norm(norm2);
  in.norm(norm3);
}

at::Tensor DecoderBlock::forward(const ParamStore& s, const ModelConfig& c, const at::Tensor& y,
                                 const at::Tensor& mem, const AttnMask& self_mask, const AttnMask& cross_mask,
                                 Step& st, at::Tensor* self_probs, at::Tensor* cross_probs) const {
  const AttentionP& a = self_attn;
  const AttentionP& x = cross_attn;
  auto self = [&](const at::Tensor& in) {
    return ops::self_attention(in, s[a.in_w], s[a.in_b], s[a.out_w], s[a.out_b], c.H, self_mask, st, self_probs);
  };
  auto cross = [&](const at::Tensor& in) {
    return ops::cross_attention(in, mem, s[x.in_w], s[x.in_b], s[x.out_w], s[x.out_b], c.H, cross_mask, st,
                                cross_probs);
  };
  return decoder_layer(*this, s, c, y, self, cross, st);  // (B, T, E)
}

at::Tensor DecoderBlock::step(const ParamStore& s, const ModelConfig& c, const at::Tensor& y, ops::KVCache& self_kv,
                              const AttnMask& self_mask, const ops::KVCache& mem, const AttnMask& cross_mask,
                              Step& st) const {
  const AttentionP& a = self_attn;
  const AttentionP& x = cross_attn;
  auto self = [&](const at::Tensor& in) {
    return ops::self_attention_cached(in, s[a.in_w], s[a.in_b], s[a.out_w], s[a.out_b], c.H, self_kv, self_mask, st);
  };
  auto cross = [&](const at::Tensor& in) {
    return ops::cross_attention_cached(in, mem, s[x.in_w], s[x.in_b], s[x.out_w], s[x.out_b], c.H, cross_mask, st);
  };
  return decoder_layer(*this, s, c, y, self, cross, st);  // (1, n, E)
}

}  // namespace mlt
