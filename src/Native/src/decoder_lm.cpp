// decoder_lm.cpp - decoder-only language model: token embedding + fixed sinusoidal positions, a stack of
// nn.TransformerEncoderLayer blocks under a causal mask (GPT-style), an optional final LayerNorm (Pre-LN),
// and the lm_head projection to the vocabulary. Shapes: B batch, T sequence length, E d_model, V vocabulary.
#include "engine.h"

namespace mlt {
namespace {

class DecoderLM final : public Model {
 public:
  DecoderLM(const ModelConfig& c, const at::Device& device) : Model(c, device) {
    tok_emb_ = store.add("tok_emb.weight", {c.V, c.E});
    blocks_.resize(static_cast<size_t>(c.L));
    for (int64_t i = 0; i < c.L; ++i) blocks_[i].declare(store, cat("layers.", i), c);
    if (c.norm_first) norm_ = declare_norm(store, "norm", c.E);
    lm_head_ = declare_linear(store, "lm_head", c.V, c.E);
    finish_construction();
  }

  at::Tensor forward(const Batch& batch, Step& st, Probes* probes) override {
    const int64_t T = batch.T;
    at::Tensor x = at::embedding(store[tok_emb_], batch.tokens) + pe.narrow(0, 0, T);  // (B, T, E)
    for (size_t i = 0; i < blocks_.size(); ++i) {
      at::Tensor probs;
      const bool want = probes && probes->self;
      x = blocks_[i].forward(store, cfg, x, batch.self_mask, st, want ? &probs : nullptr);  // (B, T, E)
      if (want) probes->self_attn.push_back(probs);                                        // (B, H, T, T)
    }
    if (cfg.norm_first) x = ops::layer_norm(x, store[norm_.w], store[norm_.b], cfg.eps);
    return ops::linear(x, store[lm_head_.w], store[lm_head_.b], st);  // (B, T, V)
  }

 protected:
  void encode_source(DecodeState&, const Batch&, Step&) override {}

  at::Tensor decode_step(DecodeState& ds, const at::Tensor& tokens, const AttnMask& self_mask, const AttnMask&,
                         Step& st) override {
    at::Tensor x = at::embedding(store[tok_emb_], tokens) + pe.narrow(0, self_mask.offset, tokens.size(1));  // (1, n, E)
    for (size_t i = 0; i < blocks_.size(); ++i) x = blocks_[i].step(store, cfg, x, ds.self[i], self_mask, st);
    if (cfg.norm_first) x = ops::layer_norm(x, store[norm_.w], store[norm_.b], cfg.eps);
    return ops::linear(x, store[lm_head_.w], store[lm_head_.b], st);  // (1, n, V)
  }

  void init_parameters(Init& in) override {
    in.embedding(tok_emb_);
    for (const auto& b : blocks_) b.init(in);
    if (cfg.norm_first) in.norm(norm_);
    in.linear(lm_head_);
  }

 private:
  int tok_emb_ = -1;                 // (V, E)
  std::vector<EncoderBlock> blocks_; // L causal self-attention blocks
  NormP norm_;                       // final LayerNorm (Pre-LN only)
  LinearP lm_head_;                  // (V, E) + (V,)
};

}  // namespace

std::unique_ptr<Model> make_decoder_lm(const ModelConfig& cfg, const at::Device& device) {
  return std::make_unique<DecoderLM>(cfg, device);
}

}  // namespace mlt
