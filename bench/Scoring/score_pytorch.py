#!/usr/bin/env python3
"""PyTorch-eager inference baseline for the scoring benchmark (bench/Scoring).

Builds the exported decoder-only model from an ONNX file's initializers (nn.Embedding, nn.TransformerEncoderLayer
batch_first, nn.Linear; load_state_dict strict), then times next-token probabilities over every row of ids in
rows.json at the given batch sizes, in eval mode under torch.inference_mode() (PyTorch's own inference path).
Prints JSON: {"batch": {"1": seconds, "64": seconds}, "checksum": ...}.

Usage: score_pytorch.py MODEL.onnx ROWS.json BATCH [BATCH ...]
"""

import json
import math
import sys
import time

import onnx
import torch
import torch.nn as nn
from onnx import numpy_helper


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
        pe = torch.zeros(cfg["maxLength"], e)
        position = torch.arange(0, cfg["maxLength"]).unsqueeze(1)
        div = torch.exp(torch.arange(0, e, 2) * (-math.log(10000.0) / e))
        pe[:, 0::2] = torch.sin(position * div)
        pe[:, 1::2] = torch.cos(position * div)[:, : e // 2]
        self.register_buffer("pe", pe, persistent=False)
        self.pad = cfg["padId"]

    def next_token(self, tokens, lengths):
        t = tokens.shape[1]
        mask = torch.triu(torch.full((t, t), float("-inf")), diagonal=1)
        kpm = tokens == self.pad
        x = self.tok_emb(tokens) + self.pe[:t]
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=kpm)
        if self.norm is not None:
            x = self.norm(x)
        last = x[torch.arange(x.shape[0]), lengths - 1]  # (N, E)
        return torch.softmax(self.lm_head(last), dim=-1)


def main():
    torch.set_num_threads(1)
    proto = onnx.load(sys.argv[1])
    cfg = json.loads({p.key: p.value for p in proto.metadata_props}["mlnet_transformer.config"])
    inits = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in proto.graph.initializer}
    model = DecoderLM(cfg)
    model.load_state_dict({k: inits[k] for k in model.state_dict().keys()}, strict=True)
    model.eval()
    with open(sys.argv[2]) as f:
        rows = json.load(f)
    result, checksum = {}, 0.0
    for batch in (int(b) for b in sys.argv[3:]):
        start = time.perf_counter()
        with torch.inference_mode():
            for i in range(0, len(rows), batch):
                chunk = rows[i:i + batch]
                width = max(len(r) for r in chunk)
                tokens = torch.full((len(chunk), width), cfg["padId"], dtype=torch.long)
                for j, r in enumerate(chunk):
                    tokens[j, :len(r)] = torch.tensor(r)
                probs = model.next_token(tokens, torch.tensor([len(r) for r in chunk]))
                checksum += float(probs[:, 0].sum())
        result[str(batch)] = time.perf_counter() - start
    print(json.dumps({"batch": result, "checksum": checksum}))


if __name__ == "__main__":
    main()
