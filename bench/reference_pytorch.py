#!/usr/bin/env python3
# reference_pytorch.py - PyTorch-eager baseline for the engine benchmark: the seed spec's two models
# (MiniFormer: one causal single-head block; FullTransformer: 2+2 encoder-decoder, dropout 0.1, fed (x, x)),
# trained on data/names.txt (80/20 split, batch 16, Adam 1e-3). Prints seconds per training epoch and the
# loss curves as JSON. The split and epoch shuffles use the same splitmix64 Fisher-Yates as bench/native.
# Usage: python3 bench/reference_pytorch.py --model mini|full [--epochs N] [--seed S] [--threads 1]
import argparse
import json
import math
import statistics
import time
from pathlib import Path

import torch
import torch.nn as nn

MASK64 = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)


def permutation(n, seed):
    idx, rng = list(range(n)), SplitMix64(seed)
    for i in range(n - 1, 0, -1):
        j = rng.next() % (i + 1)
        idx[i], idx[j] = idx[j], idx[i]
    return idx


def load_names(path):
    names = [w.strip() for w in Path(path).read_text().splitlines() if w.strip()]
    chars = sorted(set("".join(names)))
    stoi = {c: i + 3 for i, c in enumerate(chars)}  # 0 PAD, 1 BOS, 2 EOS
    width = max(len(w) for w in names) + 2
    rows = [[1] + [stoi[c] for c in w] + [2] + [0] * (width - len(w) - 2) for w in names]
    data = torch.tensor(rows, dtype=torch.long)
    order = permutation(len(rows), 42)
    split = int(len(rows) * 0.8)
    train, test = data[order[:split]], data[order[split:]]
    return train, test, 3 + len(chars), width


def sinusoid(max_len, E):
    pe = torch.zeros(max_len, E)
    pos = torch.arange(0, max_len).unsqueeze(1)
    div = torch.exp(torch.arange(0, E, 2) * (-math.log(10000.0) / E))
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe


class MiniFormer(nn.Module):
    """One single-head causal self-attention block with separate q/k/v projections, Post-LN (8,349 params)."""

    def __init__(self, V, E=32, max_len=16):
        super().__init__()
        self.E = E
        self.embed = nn.Embedding(V, E)
        self.register_buffer("pe", sinusoid(max_len, E))
        self.q, self.k, self.v, self.o = (nn.Linear(E, E) for _ in range(4))
        self.ffn = nn.Sequential(nn.Linear(E, E), nn.ReLU(), nn.Linear(E, E))
        self.ln1, self.ln2 = nn.LayerNorm(E), nn.LayerNorm(E)
        self.head = nn.Linear(E, V)

    def forward(self, x):
        T = x.size(1)
        h = self.embed(x) + self.pe[:T]
        scores = self.q(h) @ self.k(h).transpose(-2, -1) / math.sqrt(self.E)            # (B, T, T)
        future = torch.triu(torch.ones(T, T, dtype=torch.bool, device=x.device), diagonal=1)
        att = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
        h1 = self.ln1(h + self.o(att @ self.v(h)))
        return self.head(self.ln2(h1 + self.ffn(h1)))


class FullTransformer(nn.Module):
    """2+2 encoder-decoder from nn.Transformer*Layer, separate embeddings, dropout 0.1 (173,021 params)."""

    def __init__(self, V, E=64, H=4, L=2, F=128, max_len=16):
        super().__init__()
        self.src_emb, self.tgt_emb = nn.Embedding(V, E), nn.Embedding(V, E)
        self.register_buffer("pe", sinusoid(max_len, E))
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, F, batch_first=True), L,
                                             enable_nested_tensor=False)
        self.layers = nn.ModuleList([nn.TransformerDecoderLayer(E, H, F, batch_first=True) for _ in range(L)])
        self.head = nn.Linear(E, V)

    def forward(self, src, tgt, pad=0):
        S, T = src.size(1), tgt.size(1)
        spad, tpad = src == pad, tgt == pad
        mem = self.encoder(self.src_emb(src) + self.pe[:S], src_key_padding_mask=spad)
        y = self.tgt_emb(tgt) + self.pe[:T]
        causal = torch.triu(torch.full((T, T), float("-inf"), device=tgt.device), diagonal=1)
        for layer in self.layers:
            y = layer(y, mem, tgt_mask=causal, tgt_key_padding_mask=tpad, memory_key_padding_mask=spad)
        return self.head(y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / "data/names.txt"))
    ap.add_argument("--model", choices=["mini", "full"], default="mini")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    dev = torch.device(a.device)
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == "cuda" else (lambda: None)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    train, test, V, width = load_names(a.data)
    train, test = train.to(dev), test.to(dev)
    xs, ys = train[:, :-1], train[:, 1:]
    model = (MiniFormer(V, 32, width) if a.model == "mini" else FullTransformer(V, max_len=width)).to(dev)
    run = (lambda x: model(x)) if a.model == "mini" else (lambda x: model(x, x))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossfn = nn.CrossEntropyLoss(ignore_index=0)
    times, train_curve, test_curve = [], [], []
    for epoch in range(a.epochs):
        order = torch.tensor(permutation(len(xs), 1000 * a.seed + epoch), device=dev)
        model.train()
        total, n = 0.0, 0
        t0 = time.perf_counter()
        for i in range(0, len(order), 16):
            idx = order[i:i + 16]
            x, y = xs[idx], ys[idx]
            opt.zero_grad()
            loss = lossfn(run(x).reshape(-1, V), y.reshape(-1))
            loss.backward()
            opt.step()
            total += loss.item()
            n += 1
        sync()
        times.append(time.perf_counter() - t0)
        train_curve.append(total / n)
        model.eval()
        with torch.no_grad():
            x, y = test[:, :-1], test[:, 1:]
            s = nn.CrossEntropyLoss(ignore_index=0, reduction="sum")(run(x).reshape(-1, V), y.reshape(-1)).item()
            test_curve.append(s / int((y != 0).sum()))
    print(json.dumps({"engine": "pytorch-eager", "torch": torch.__version__, "model": a.model, "device": a.device,
                      "params": sum(p.numel() for p in model.parameters()), "epochs": a.epochs,
                      "sec_per_epoch_median": statistics.median(times), "sec_per_epoch": times,
                      "train_loss": train_curve, "test_nll": test_curve}))


if __name__ == "__main__":
    main()
