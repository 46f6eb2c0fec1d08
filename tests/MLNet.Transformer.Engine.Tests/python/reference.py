"""PyTorch reference for the engine parity tests (tests/MLNet.Transformer.Engine.Tests/ParityTests.cs).

Builds the engine's architecture from nn.Embedding + nn.TransformerEncoderLayer / nn.TransformerDecoderLayer
(batch_first, float -inf masks), loads the weights the C# side exported from the native model, and writes:
logits, per-layer per-head attention, the loss, gradients after loss.backward() and the weights after one
optimiser step. Runs in train mode with dropout 0: python3-torch 1.13's eval fast path truncates padded
outputs. Each block is computed explicitly from the layer's own modules (to capture attention weights) and
checked against the layer's own forward.

case.json's "precision" picks the arithmetic: "fp32" (the default), "bf16" (the engine's bfloat16 semantics
written out: every linear rounds its input and weight to bfloat16 and its incoming gradient too, and accumulates
and returns float32; attention scores, softmax, LayerNorm and the loss stay float32), or "autocast" (PyTorch's own
torch.autocast("cpu", dtype=torch.bfloat16), which also rounds matmul outputs and attention to bfloat16).

Usage: reference.py WORKDIR   (reads case.json, state_in.{json,bin} and optionally grad_native.{json,bin};
                              writes out.{json,bin} and result.json)
Tensor bundles: NAME.json = {"count": n, "tensors": [{"name", "shape", "offset"}]}, NAME.bin = float32 LE.
"""

import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# Explicit forward vs the layer's own forward: same ops, so only reduction-order noise is allowed.
LAYER_CHECK_TOLERANCE = 1e-5


class Bf16Linear(torch.autograd.Function):
    """y = bf16(x) bf16(W)^T + b accumulated in float32; dx = bf16(dy) bf16(W), dW = bf16(dy)^T bf16(x), db = sum dy.

    bfloat16 x bfloat16 products are exact in float32, so float32 matmuls of rounded operands are what oneDNN's
    bf16 gemm computes, up to the order of the float32 additions."""

    @staticmethod
    def forward(ctx, x, w, b):
        xb, wb = x.to(torch.bfloat16).float(), w.to(torch.bfloat16).float()
        ctx.save_for_backward(xb, wb)
        y = xb @ wb.t()
        return y if b is None else y + b

    @staticmethod
    def backward(ctx, dy):
        xb, wb = ctx.saved_tensors
        dyb = dy.to(torch.bfloat16).float()
        dx = dyb @ wb
        dw = dyb.reshape(-1, wb.shape[0]).t() @ xb.reshape(-1, wb.shape[1])
        return dx, dw, dy.reshape(-1, wb.shape[0]).sum(0)


def bf16_linear(x, w, b=None):
    return Bf16Linear.apply(x, w, b)


def read_bundle(workdir, name):
    with open(os.path.join(workdir, name + ".json")) as f:
        manifest = json.load(f)
    flat = np.fromfile(os.path.join(workdir, name + ".bin"), dtype="<f4")
    result = {}
    for t in manifest["tensors"]:
        count = int(np.prod(t["shape"])) if t["shape"] else 1
        data = flat[t["offset"]:t["offset"] + count].reshape(t["shape"])
        result[t["name"]] = torch.from_numpy(data.copy())
    return result


def write_bundle(workdir, name, tensors):
    entries, offset = [], 0
    with open(os.path.join(workdir, name + ".bin"), "wb") as f:
        for key, value in tensors.items():
            array = value.detach().to(torch.float32).contiguous().numpy().astype("<f4")
            entries.append({"name": key, "shape": list(array.shape), "offset": offset})
            f.write(array.tobytes())
            offset += array.size
    with open(os.path.join(workdir, name + ".json"), "w") as f:
        json.dump({"count": offset, "tensors": entries}, f)


def sinusoids(max_len, d_model):
    """pe[p, 2i] = sin(p * exp(-2i ln(10000) / E)), pe[p, 2i+1] = cos(...) (Vaswani et al. 2017, 3.5)."""
    pe = torch.zeros(max_len, d_model)
    position = torch.arange(0, max_len).unsqueeze(1)
    div = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
    pe[:, 0::2] = torch.sin(position * div)
    pe[:, 1::2] = torch.cos(position * div)[:, : d_model // 2]
    return pe  # (max_len, E)


def causal(rows, cols):
    """Float mask, -inf where column > row: query t sees keys <= t."""
    return torch.triu(torch.full((rows, cols), float("-inf")), diagonal=1)


class Stack(nn.Module):
    """A list of blocks plus, for Pre-LN, the final LayerNorm (state names layers.{i}.*, norm.*)."""

    def __init__(self, layers, norm):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.norm = norm


def encoder_layer(cfg):
    return nn.TransformerEncoderLayer(
        cfg["d_model"], cfg["n_heads"], dim_feedforward=cfg["d_ff"], dropout=0.0,
        activation=cfg["activation"], layer_norm_eps=cfg["eps"], batch_first=True, norm_first=cfg["norm_first"])


def decoder_layer(cfg):
    return nn.TransformerDecoderLayer(
        cfg["d_model"], cfg["n_heads"], dim_feedforward=cfg["d_ff"], dropout=0.0,
        activation=cfg["activation"], layer_norm_eps=cfg["eps"], batch_first=True, norm_first=cfg["norm_first"])


def final_norm(cfg):
    return nn.LayerNorm(cfg["d_model"], eps=cfg["eps"]) if cfg["norm_first"] else None


def build(cfg):
    E, V = cfg["d_model"], cfg["vocab_size"]
    model = nn.Module()
    if cfg["kind"] == "decoder":
        model.tok_emb = nn.Embedding(V, E)
        model.layers = nn.ModuleList([encoder_layer(cfg) for _ in range(cfg["n_layers"])])
        model.norm = final_norm(cfg)
    else:
        model.src_emb = nn.Embedding(cfg["src_vocab_size"] or V, E)
        model.tgt_emb = nn.Embedding(V, E)
        model.encoder = Stack([encoder_layer(cfg) for _ in range(cfg["n_encoder_layers"])], final_norm(cfg))
        model.decoder = Stack([decoder_layer(cfg) for _ in range(cfg["n_layers"])], final_norm(cfg))
    model.lm_head = nn.Linear(E, V)
    return model


def attend(mha, q, kv, mask, kpm):
    out, weights = mha(q, kv, kv, attn_mask=mask, key_padding_mask=kpm,
                       need_weights=True, average_attn_weights=False)
    return out, weights  # (B, T, E), (B, H, T, S)


def feed_forward(layer, x):
    return layer.linear2(layer.dropout(layer.activation(layer.linear1(x))))


def run_encoder_layer(layer, x, mask, kpm):
    """nn.TransformerEncoderLayer written out, returning the per-head self-attention too."""
    if layer.norm_first:
        a, w = attend(layer.self_attn, layer.norm1(x), layer.norm1(x), mask, kpm)
        x = x + layer.dropout1(a)
        x = x + layer.dropout2(feed_forward(layer, layer.norm2(x)))
    else:
        a, w = attend(layer.self_attn, x, x, mask, kpm)
        x = layer.norm1(x + layer.dropout1(a))
        x = layer.norm2(x + layer.dropout2(feed_forward(layer, x)))
    return x, w


def run_decoder_layer(layer, x, memory, tgt_mask, mem_mask, tgt_kpm, mem_kpm):
    """nn.TransformerDecoderLayer written out, returning self- and cross-attention per head."""
    if layer.norm_first:
        h = layer.norm1(x)
        a, ws = attend(layer.self_attn, h, h, tgt_mask, tgt_kpm)
        x = x + layer.dropout1(a)
        c, wc = attend(layer.multihead_attn, layer.norm2(x), memory, mem_mask, mem_kpm)
        x = x + layer.dropout2(c)
        x = x + layer.dropout3(feed_forward(layer, layer.norm3(x)))
    else:
        a, ws = attend(layer.self_attn, x, x, tgt_mask, tgt_kpm)
        x = layer.norm1(x + layer.dropout1(a))
        c, wc = attend(layer.multihead_attn, x, memory, mem_mask, mem_kpm)
        x = layer.norm2(x + layer.dropout2(c))
        x = layer.norm3(x + layer.dropout3(feed_forward(layer, x)))
    return x, ws, wc


def check_same(explicit, own, what, report):
    diff = (explicit - own).abs().max().item()
    report.append({"layer": what, "max_abs_diff": diff})
    if not diff <= LAYER_CHECK_TOLERANCE:
        raise AssertionError(f"explicit forward of {what} differs from the layer's own forward by {diff}")


def forward(model, cfg, tokens, source, report):
    """Returns logits (B, T, V) and the attention lists; checks every block against its own forward."""
    pad = cfg["pad_id"]
    T = tokens.shape[1]
    pe = sinusoids(cfg["max_len"], cfg["d_model"])
    tgt_kpm = tokens == pad  # (B, T) True = padding key
    self_attn, enc_attn, cross_attn = [], [], []
    if cfg["kind"] == "decoder":
        x = model.tok_emb(tokens) + pe[:T]  # (B, T, E)
        mask = causal(T, T)
        for i, layer in enumerate(model.layers):
            y, w = run_encoder_layer(layer, x, mask, tgt_kpm)
            check_same(y, layer(x, src_mask=mask, src_key_padding_mask=tgt_kpm), f"layers.{i}", report)
            self_attn.append(w)
            x = y
        if model.norm is not None:
            x = model.norm(x)
    else:
        S = source.shape[1]
        src_kpm = source == pad  # (B, S)
        m = model.src_emb(source) + pe[:S]  # (B, S, E)
        enc_mask = causal(S, S) if cfg["causal_encoder"] else None
        for i, layer in enumerate(model.encoder.layers):
            y, w = run_encoder_layer(layer, m, enc_mask, src_kpm)
            check_same(y, layer(m, src_mask=enc_mask, src_key_padding_mask=src_kpm), f"encoder.layers.{i}", report)
            enc_attn.append(w)
            m = y
        if model.encoder.norm is not None:
            m = model.encoder.norm(m)
        x = model.tgt_emb(tokens) + pe[:T]  # (B, T, E)
        tgt_mask = causal(T, T)
        mem_mask = causal(T, S) if cfg["causal_cross"] else None
        for i, layer in enumerate(model.decoder.layers):
            y, ws, wc = run_decoder_layer(layer, x, m, tgt_mask, mem_mask, tgt_kpm, src_kpm)
            own = layer(x, m, tgt_mask=tgt_mask, memory_mask=mem_mask,
                        tgt_key_padding_mask=tgt_kpm, memory_key_padding_mask=src_kpm)
            check_same(y, own, f"decoder.layers.{i}", report)
            self_attn.append(ws)
            cross_attn.append(wc)
            x = y
        if model.decoder.norm is not None:
            x = model.decoder.norm(x)
    return model.lm_head(x), self_attn, enc_attn, cross_attn


def main():
    workdir = sys.argv[1]
    with open(os.path.join(workdir, "case.json")) as f:
        case = json.load(f)
    cfg = case["config"]
    torch.set_num_threads(1)
    model = build(cfg)
    state = read_bundle(workdir, "state_in")
    model.load_state_dict(state, strict=True)
    model.train()  # dropout is 0; train mode avoids 1.13's truncating eval fast path

    B, T, S = case["B"], case["T"], case["S"]
    tokens = torch.tensor(case["tokens"], dtype=torch.long).reshape(B, T)
    targets = torch.tensor(case["targets"], dtype=torch.long).reshape(B, T)
    source = torch.tensor(case["source"], dtype=torch.long).reshape(B, S) if S > 0 else None

    report = []
    precision = case.get("precision", "fp32")
    if precision == "bf16":
        F.linear = bf16_linear  # nn.Linear and nn.MultiheadAttention's projections both call F.linear
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "autocast")
    with autocast:
        logits, self_attn, enc_attn, cross_attn = forward(model, cfg, tokens, source, report if precision == "fp32" else [])
    logits = logits.float()
    V = cfg["vocab_size"]
    loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=cfg["pad_id"])
    summed = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=cfg["pad_id"], reduction="sum")
    count = int((targets != cfg["pad_id"]).sum().item())

    params = dict(model.named_parameters())
    model.zero_grad()
    loss.backward()
    grad_norm = torch.norm(torch.stack([p.grad.detach().norm(2) for p in params.values()]), 2).item()

    opt = case["optimizer"]
    betas = (opt["beta1"], opt["beta2"])
    if opt["kind"] == "adamw":
        optimizer = torch.optim.AdamW(params.values(), lr=opt["lr"], betas=betas, eps=opt["eps"], weight_decay=opt["weight_decay"])
    else:
        optimizer = torch.optim.Adam(params.values(), lr=opt["lr"], betas=betas, eps=opt["eps"], weight_decay=opt["weight_decay"])
    grads = {"grad." + k: p.grad.detach().clone() for k, p in params.items()}
    # The step is checked on the engine's own gradients (compared with ours above at a looser tolerance): the
    # key part of in_proj_bias has a gradient that is exactly zero in exact arithmetic (softmax ignores a
    # per-row constant), so both sides hold float noise there, and Adam's first step g / (|g| + eps) turns
    # noise of 1e-9 into updates of 0.1 lr. With clipping, our own gradients are used (the case sets a large
    # eps, which makes the update scale with the clipped gradient and insensitive to that noise).
    stepped_on = "torch"
    if opt["clip_grad_norm"] > 0:
        torch.nn.utils.clip_grad_norm_(list(params.values()), opt["clip_grad_norm"])
    elif os.path.exists(os.path.join(workdir, "grad_native.json")):
        native = read_bundle(workdir, "grad_native")
        for k, p in params.items():
            p.grad = native[k].reshape(p.shape).clone()
        stepped_on = "engine"
    optimizer.step()

    out = {"logits": logits}
    if self_attn:
        out["self_attn"] = torch.stack(self_attn)  # (L, B, H, T, T)
    if enc_attn:
        out["enc_attn"] = torch.stack(enc_attn)  # (L_enc, B, H, S, S)
    if cross_attn:
        out["cross_attn"] = torch.stack(cross_attn)  # (L, B, H, T, S)
    out.update(grads)
    out.update({"after." + k: p.detach() for k, p in params.items()})
    write_bundle(workdir, "out", out)
    with open(os.path.join(workdir, "result.json"), "w") as f:
        json.dump({"loss": loss.item(), "loss_sum": summed.item(), "count": count, "grad_norm": grad_norm,
                   "torch_version": torch.__version__, "layer_checks": report,
                   "step_gradients": stepped_on}, f, indent=1)


if __name__ == "__main__":
    main()
