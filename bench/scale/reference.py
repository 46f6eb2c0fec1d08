#!/usr/bin/env python3
# reference.py - PyTorch-eager rival of the scaling benchmark: the engine's decoder-only model (token embedding +
# sinusoidal positions, nn.TransformerEncoderLayer blocks under a causal mask, lm_head) trained on fixed-length rows
# of text with the data handling of bench/native/bench_train.cpp (same row parsing, 80/20 split and epoch shuffles).
# --precision bf16 runs forward and loss under torch.autocast("cpu", dtype=torch.bfloat16), backward outside it.
# Prints one JSON line: seconds per epoch (training, and training + validation), losses, parameters.
# Usage: reference.py --data ROWS [--layers 4 --heads 4 --dim 128 --ff 512 --dropout 0.1 --batch 32]
#                     [--epochs 2] [--seed 1] [--threads 1] [--precision fp32|bf16]
import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from reference_pytorch import permutation, sinusoid  # noqa: E402  (the seed benchmark's shuffles and positions)


def load_rows(path):
    """Rows as bench_train.cpp reads them: trailing spaces and CR cut, empty lines skipped, ids 0 PAD 1 BOS 2 EOS."""
    rows = [line.rstrip(" \r") for line in Path(path).read_text(encoding="latin-1").split("\n")]
    rows = [r for r in rows if r]
    chars = sorted(set("".join(rows)))
    stoi = {c: i + 3 for i, c in enumerate(chars)}
    width = max(len(r) for r in rows) + 2
    data = torch.tensor([[1] + [stoi[c] for c in r] + [2] + [0] * (width - len(r) - 2) for r in rows], dtype=torch.long)
    order = permutation(len(rows), 42)
    split = int(len(rows) * 0.8)
    return data[order[:split]], data[order[split:]], 3 + len(chars), width


class Decoder(nn.Module):
    """The engine's decoder-only model: causal nn.TransformerEncoderLayer blocks, Post-LN, ReLU."""

    def __init__(self, V, E, H, L, F, p, max_len):
        super().__init__()
        self.tok_emb = nn.Embedding(V, E)
        self.register_buffer("pe", sinusoid(max_len, E))
        self.layers = nn.ModuleList([nn.TransformerEncoderLayer(E, H, F, p, batch_first=True) for _ in range(L)])
        self.lm_head = nn.Linear(E, V)

    def forward(self, x):
        T = x.size(1)
        h = self.tok_emb(x) + self.pe[:T]  # (B, T, E)
        mask = torch.triu(torch.full((T, T), float("-inf")), diagonal=1)
        pad = x == 0
        for layer in self.layers:
            h = layer(h, src_mask=mask, src_key_padding_mask=pad)
        return self.lm_head(h)  # (B, T, V)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--ff", type=int, default=512)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    train, test, V, width = load_rows(a.data)
    xs, ys = train[:, :-1], train[:, 1:]
    model = Decoder(V, a.dim, a.heads, a.layers, a.ff, a.dropout, width)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossfn = nn.CrossEntropyLoss(ignore_index=0)
    bf16 = a.precision == "bf16"
    times, epoch_times, train_curve, test_curve = [], [], [], []
    for epoch in range(a.epochs):
        order = torch.tensor(permutation(len(xs), 1000 * a.seed + epoch))
        model.train()
        total, n = 0.0, 0
        t0 = time.perf_counter()
        for i in range(0, len(order), a.batch):
            idx = order[i:i + a.batch]
            x, y = xs[idx], ys[idx]
            opt.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = lossfn(model(x).reshape(-1, V).float(), y.reshape(-1))
            loss.backward()
            opt.step()
            total += loss.item()
            n += 1
        times.append(time.perf_counter() - t0)
        train_curve.append(total / n)
        model.eval()
        s, c = 0.0, 0
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            for i in range(0, len(test), 256):
                x, y = test[i:i + 256, :-1], test[i:i + 256, 1:]
                s += nn.CrossEntropyLoss(ignore_index=0, reduction="sum")(model(x).reshape(-1, V).float(), y.reshape(-1)).item()
                c += int((y != 0).sum())
        test_curve.append(s / c)
        epoch_times.append(time.perf_counter() - t0)
    print(json.dumps({"engine": "pytorch-eager", "torch": torch.__version__, "precision": a.precision,
                      "threads": a.threads, "params": sum(p.numel() for p in model.parameters()), "epochs": a.epochs,
                      "sec_per_epoch_median": statistics.median(times), "sec_per_epoch": times,
                      "sec_per_epoch_with_validation": epoch_times, "train_loss": train_curve,
                      "test_nll": test_curve}))


if __name__ == "__main__":
    main()
