// encoder_decoder.cpp - encoder-decoder transformer (Vaswani et al. 2017, batch-first): separate source and
// target embeddings + fixed sinusoidal positions, an nn.TransformerEncoderLayer stack over the source, an
// nn.TransformerDecoderLayer stack over the target with cross-attention to the memory, final LayerNorms per
// stack when Pre-LN, and lm_head. Shapes: B batch, S source length, T target length, E d_model, V vocabulary.
#include "engine.h"

namespace mlt {
namespace {

class EncoderDecoder final : public Model {
 public:
  EncoderDecoder(const ModelConfig& c, const at::Device& device) : Model(c, device) {
    src_emb_ = store.add("src_emb.weight", {c.V_src, c.E});
    tgt_emb_ = store.add("tgt_emb.weight", {c.V, c.E});
    encoder_.resize(static_cast<size_t>(c.L_enc));
    for (int64_t i = 0; i < c.L_enc; ++i) encoder_[i].declare(store, cat("encoder.layers.", i), c);
    if (c.norm_first) enc_norm_ = declare_norm(store, "encoder.norm", c.E);
    decoder_.resize(static_cast<size_t>(c.L));
    for (int64_t i = 0; i < c.L; ++i) decoder_[i].declare(store, cat("decoder.layers.", i), c);
    if (c.norm_first) dec_norm_ = declare_norm(store, "decoder.norm", c.E);
    lm_head_ = declare_linear(store, "lm_head", c.V, c.E);
    finish_construction();
  }

  at::Tensor forward(const Batch& batch, Step& st, Probes* probes) override {
    at::Tensor mem = encode(batch, st, probes);  // (B, S, E)
    at::Tensor y = at::embedding(store[tgt_emb_], batch.tokens) + pe.narrow(0, 0, batch.T);  // (B, T, E)
    for (const auto& blk : decoder_) {
      at::Tensor sp, cp;
      const bool ws = probes && probes->self, wc = probes && probes->cross;
      y = blk.forward(store, cfg, y, mem, batch.self_mask, batch.cross_mask, st, ws ? &sp : nullptr,
                      wc ? &cp : nullptr);                                                  // (B, T, E)
      if (ws) probes->self_attn.push_back(sp);                                             // (B, H, T, T)
      if (wc) probes->cross_attn.push_back(cp);                                            // (B, H, T, S)
    }
    if (cfg.norm_first) y = ops::layer_norm(y, store[dec_norm_.w], store[dec_norm_.b], cfg.eps);
    return ops::linear(y, store[lm_head_.w], store[lm_head_.b], st);  // (B, T, V)
  }

 protected:
  void encode_source(DecodeState& ds, const Batch& source, Step& st) override {
    at::Tensor mem = encode(source, st, nullptr);  // (1, S, E)
    for (const auto& blk : decoder_) {
      const AttentionP& x = blk.cross_attn;
      ds.memory.push_back(ops::project_memory(mem, store[x.in_w], store[x.in_b], cfg.H, st));  // (H, S, D) each
    }
    ds.memory_pad = source.cross_mask.key_pad;  // (1, S)
  }

  at::Tensor decode_step(DecodeState& ds, const at::Tensor& tokens, const AttnMask& self_mask,
                         const AttnMask& cross_mask, Step& st) override {
    at::Tensor y = at::embedding(store[tgt_emb_], tokens) + pe.narrow(0, self_mask.offset, tokens.size(1));  // (1, n, E)
    for (size_t i = 0; i < decoder_.size(); ++i)
      y = decoder_[i].step(store, cfg, y, ds.self[i], self_mask, ds.memory[i], cross_mask, st);
    if (cfg.norm_first) y = ops::layer_norm(y, store[dec_norm_.w], store[dec_norm_.b], cfg.eps);
    return ops::linear(y, store[lm_head_.w], store[lm_head_.b], st);  // (1, n, V)
  }

  void init_parameters(Init& in) override {
    in.embedding(src_emb_);
    in.embedding(tgt_emb_);
    for (const auto& b : encoder_) b.init(in);
    if (cfg.norm_first) in.norm(enc_norm_);
    for (const auto& b : decoder_) b.init(in);
    if (cfg.norm_first) in.norm(dec_norm_);
    in.linear(lm_head_);
  }

 private:
  /// The encoder stack over batch.src: (B, S, E), collecting its attention into probes.
  at::Tensor encode(const Batch& batch, Step& st, Probes* probes) {
    at::Tensor mem = at::embedding(store[src_emb_], batch.src) + pe.narrow(0, 0, batch.S);  // (B, S, E)
    for (const auto& blk : encoder_) {
      at::Tensor probs;
      const bool want = probes && probes->enc;
      mem = blk.forward(store, cfg, mem, batch.enc_mask, st, want ? &probs : nullptr);      // (B, S, E)
      if (want) probes->enc_attn.push_back(probs);                                         // (B, H, S, S)
    }
    if (cfg.norm_first) mem = ops::layer_norm(mem, store[enc_norm_.w], store[enc_norm_.b], cfg.eps);
    return mem;
  }

  int src_emb_ = -1;                   // (V_src, E)
  int tgt_emb_ = -1;                   // (V, E)
  std::vector<EncoderBlock> encoder_;  // L_enc bidirectional (or causal) blocks
  NormP enc_norm_;                     // encoder.norm (Pre-LN only)
  std::vector<DecoderBlock> decoder_;  // L blocks: causal self-attention + cross-attention
  NormP dec_norm_;                     // decoder.norm (Pre-LN only)
  LinearP lm_head_;                    // (V, E) + (V,)
};

}  // namespace

std::unique_ptr<Model> make_encoder_decoder(const ModelConfig& cfg, const at::Device& device) {
  return std::make_unique<EncoderDecoder>(cfg, device);
}

}  // namespace mlt
