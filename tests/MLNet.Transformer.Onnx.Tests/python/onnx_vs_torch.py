"""Direct PyTorch check of an exported decoder-only model.

Reads model.onnx from WORKDIR with the onnx package alone, loads its initializers into a PyTorch model built from
nn.Embedding, nn.TransformerEncoderLayer (batch_first) and nn.Linear with load_state_dict(strict=True) (so the
initializer names and shapes are PyTorch's), and runs tokens.json through it. Writes out.{json,bin}:
probabilities (N, T, V) and attention (N, L, H, T, T). Train mode with dropout 0 (python3-torch 1.13's eval fast
path cuts padded outputs).

Usage: onnx_vs_torch.py WORKDIR
"""

import json
import math
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import numpy_helper


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


class DecoderLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        e, v = cfg["modelDim"], cfg["vocabSize"]
        self.tok_emb = nn.Embedding(v, e)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(e, cfg["heads"], dim_feedforward=cfg["feedForwardDim"], dropout=0.0,
                                       activation=cfg["activation"], layer_norm_eps=cfg["layerNormEps"],
                                       batch_first=True, norm_first=cfg["normFirst"])
            for _ in range(cfg["layers"]))
        self.norm = nn.LayerNorm(e, eps=cfg["layerNormEps"]) if cfg["normFirst"] else None
        self.lm_head = nn.Linear(e, v)


def main():
    workdir = sys.argv[1]
    model_proto = onnx.load(os.path.join(workdir, "model.onnx"))
    meta = {p.key: p.value for p in model_proto.metadata_props}
    cfg = json.loads(meta["mlnet_transformer.config"])
    assert cfg["kind"] == "decoder", cfg["kind"]
    inits = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model_proto.graph.initializer}
    model = DecoderLM(cfg)
    names = set(model.state_dict().keys())
    model.load_state_dict({k: inits[k] for k in names}, strict=True)
    model.train()

    with open(os.path.join(workdir, "tokens.json")) as f:
        case = json.load(f)
    n, t = case["N"], case["T"]
    tokens = torch.tensor(case["tokens"], dtype=torch.long).reshape(n, t)
    e = cfg["modelDim"]
    pe = torch.zeros(cfg["maxLength"], e)
    position = torch.arange(0, cfg["maxLength"]).unsqueeze(1)
    div = torch.exp(torch.arange(0, e, 2) * (-math.log(10000.0) / e))
    pe[:, 0::2] = torch.sin(position * div)
    pe[:, 1::2] = torch.cos(position * div)[:, : e // 2]

    mask = torch.triu(torch.full((t, t), float("-inf")), diagonal=1)
    kpm = tokens == cfg["padId"]
    attention = []
    with torch.no_grad():
        x = model.tok_emb(tokens) + pe[:t]
        for layer in model.layers:
            q = layer.norm1(x) if cfg["normFirst"] else x
            _, w = layer.self_attn(q, q, q, attn_mask=mask, key_padding_mask=kpm, need_weights=True,
                                   average_attn_weights=False)
            attention.append(w)  # (N, H, T, T)
            x = layer(x, src_mask=mask, src_key_padding_mask=kpm)
        if model.norm is not None:
            x = model.norm(x)
        probs = torch.softmax(model.lm_head(x), dim=-1)
    write_bundle(workdir, "out", {"probabilities": probs, "attention": torch.stack(attention, dim=1)})


if __name__ == "__main__":
    main()
