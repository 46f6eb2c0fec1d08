"""PyTorch-eager reference of the decoder-only next-character model, for the quality-bar test.

Embedding + fixed sinusoidal positions + N nn.TransformerEncoderLayer blocks (batch_first, causal float mask,
key padding from PAD) + a linear head; Adam; cross-entropy ignoring PAD. Reads config.json, train.txt and
valid.txt from the workspace folder (argv[1]) and writes result.json with the per-epoch validation loss
(mean over every validation token, EOS included).
"""
import json
import math
import random
import sys

import torch
import torch.nn as nn

ws = sys.argv[1]
cfg = json.load(open(f"{ws}/config.json"))
torch.manual_seed(cfg["seed"])
random.seed(cfg["seed"])
torch.set_num_threads(1)
vocab = cfg["vocabulary"]
index = {t: i for i, t in enumerate(vocab)}
PAD, BOS, EOS = index["<PAD>"], index["<BOS>"], index["<EOS>"]


def encode(path):
    return [[BOS] + [index[c] for c in w] + [EOS] for w in open(path).read().split("\n") if w]


train, valid = encode(f"{ws}/train.txt"), encode(f"{ws}/valid.txt")
E, H, L, F, V = cfg["dim"], cfg["heads"], cfg["layers"], cfg["ff"], len(vocab)


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok_emb = nn.Embedding(V, E)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(E, H, F, dropout=0.0, batch_first=True) for _ in range(L))
        self.lm_head = nn.Linear(E, V)
        pos = torch.arange(64).unsqueeze(1)
        div = torch.exp(torch.arange(0, E, 2) * (-math.log(10000.0) / E))
        pe = torch.zeros(64, E)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, x):  # x: (B, T)
        T = x.size(1)
        h = self.tok_emb(x) + self.pe[:T]
        causal = torch.triu(torch.full((T, T), float("-inf")), diagonal=1)
        for layer in self.layers:
            h = layer(h, src_mask=causal, src_key_padding_mask=(x == PAD))
        return self.lm_head(h)  # (B, T, V)


def batch(rows):
    T = max(len(r) for r in rows) - 1
    x = torch.full((len(rows), T), PAD, dtype=torch.long)
    y = torch.full((len(rows), T), PAD, dtype=torch.long)
    for i, r in enumerate(rows):
        x[i, : len(r) - 1] = torch.tensor(r[:-1])
        y[i, : len(r) - 1] = torch.tensor(r[1:])
    return x, y


model = Decoder()
opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
loss_fn = nn.CrossEntropyLoss(ignore_index=PAD)
sum_fn = nn.CrossEntropyLoss(ignore_index=PAD, reduction="sum")
curve = []
for epoch in range(cfg["epochs"]):
    model.train()
    order = list(range(len(train)))
    random.shuffle(order)
    for s in range(0, len(order), cfg["batch"]):
        x, y = batch([train[i] for i in order[s: s + cfg["batch"]]])
        opt.zero_grad()
        loss_fn(model(x).reshape(-1, V), y.reshape(-1)).backward()
        opt.step()
    # Train mode with dropout 0 is the same function as eval and avoids 1.13's nested-tensor fast path.
    with torch.no_grad():
        total, count = 0.0, 0
        for s in range(0, len(valid), 64):
            x, y = batch(valid[s: s + 64])
            total += sum_fn(model(x).reshape(-1, V), y.reshape(-1)).item()
            count += int((y != PAD).sum())
        curve.append(total / count)
json.dump({"validation": curve, "parameters": sum(p.numel() for p in model.parameters())}, open(f"{ws}/result.json", "w"))
