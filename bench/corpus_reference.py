"""PyTorch reference for corpus training (./build.sh bench-corpus): the same decoder-only model, data, windows,
schedule and steps as `mlnet-transformer train --corpus`, for comparing validation losses.

Data: the file's lines (split as .NET's File.ReadLines does: \\r\\n, \\r or \\n; a final line break ends the last
line) NFC-normalised and joined by "\\n"; the vocabulary is <PAD> <BOS> <EOS> <UNK> then every character by code point
(CharacterVocabulary.FromCounts with frequency 1); the last --validation-fraction of the stream (banker's rounding,
as Math.Round) is the validation tail. Windows: the start of window b of step s is SplitMix64 draw s*B + b, seeded by
--seed, modulo (train length - T), exactly as CorpusWindows.Batch; each window's first input is <BOS> in place of its
first character (the fitted model reads <BOS> then text). Validation: the tail cut into consecutive windows of T (the
last one shorter), <BOS> first likewise, every tail character but the first a target once. The model is reference.py's
(nn.TransformerEncoderLayer blocks, causal float mask, fixed sinusoids, dropout 0); PyTorch's own initialisation.

Usage: corpus_reference.py --corpus FILE [--context-length 128 --batch-size 32 --max-steps 2000 --eval-every 200
       --layers 4 --heads 4 --dim 128 --ff 512 --lr 1e-3 --seed 42 --validation-fraction 0.1] [--json OUT]
"""

import argparse
import json
import math
import os
import re
import sys
import time
import unicodedata

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "MLNet.Transformer.Engine.Tests", "python"))
import reference  # noqa: E402

MASK64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


BOS = 1  # the vocabulary's <BOS> id


def draw(seed, n):
    """SplitMix64 output for counter n (CorpusWindows.Draw)."""
    z = (seed + (n + 1) * GAMMA) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def read_stream(path, separator="\n"):
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        text = f.read()
    lines = re.split(r"\r\n|\r|\n", text)
    if lines and lines[-1] == "":
        lines.pop()
    joined = separator.join(unicodedata.normalize("NFC", line) for line in lines)
    chars = sorted(set(joined))
    vocab = ["<PAD>", "<BOS>", "<EOS>", "<UNK>"] + chars
    index = {c: i + 4 for i, c in enumerate(chars)}
    return torch.tensor([index[c] for c in joined], dtype=torch.long), vocab


def learning_rate(a, step, total):
    if a.warmup > 0 and step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    progress = min(max((step - a.warmup) / max(1, total - a.warmup), 0.0), 1.0)
    factor = {"constant": 1.0, "linear": 1 - (1 - a.min_lr_fraction) * progress,
              "cosine": a.min_lr_fraction + (1 - a.min_lr_fraction) * 0.5 * (1 + math.cos(math.pi * progress))}[a.schedule]
    return a.lr * factor


def logits_of(model, cfg, pe, causal, tokens):
    T = tokens.shape[1]
    x = model.tok_emb(tokens) + pe[:T]  # (B, T, E)
    for layer in model.layers:
        x = layer(x, src_mask=causal[:T, :T])
    if model.norm is not None:
        x = model.norm(x)
    return model.lm_head(x)  # (B, T, V)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--corpus", required=True)
    p.add_argument("--context-length", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-steps", type=int, default=2000)
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--ff", type=int, default=512)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=0)
    p.add_argument("--schedule", default="constant", choices=["constant", "linear", "cosine"])
    p.add_argument("--min-lr-fraction", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--validation-fraction", type=float, default=0.1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json")
    a = p.parse_args()

    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    stream, vocab = read_stream(a.corpus)
    n = len(stream)
    train_len = n - round(n * a.validation_fraction)
    T, B = a.context_length, a.batch_size
    cfg = {"kind": "decoder", "vocab_size": len(vocab), "d_model": a.dim, "n_heads": a.heads, "n_layers": a.layers,
           "d_ff": a.ff, "max_len": T, "pad_id": 0, "activation": "relu", "norm_first": False, "eps": 1e-5}
    model = reference.build(cfg)
    model.train()  # dropout is 0 in reference.py's layers
    pe = reference.sinusoids(T, a.dim)
    causal = reference.causal(T, T)
    optimizer = torch.optim.Adam(model.parameters(), lr=a.lr)

    # Validation windows of the tail.
    tail_targets = n - train_len - 1
    starts = [train_len + k * T for k in range((tail_targets + T - 1) // T)]
    val_x = torch.zeros(len(starts), T, dtype=torch.long)
    val_y = torch.zeros(len(starts), T, dtype=torch.long)
    for r, i in enumerate(starts):
        m = min(T, n - 1 - i)
        val_x[r, :m] = stream[i:i + m]
        val_x[r, 0] = BOS
        val_y[r, :m] = stream[i + 1:i + 1 + m]

    def evaluate():
        total, count = 0.0, 0
        with torch.no_grad():
            for r in range(0, len(starts), 64):
                logits = logits_of(model, cfg, pe, causal, val_x[r:r + 64])
                y = val_y[r:r + 64].reshape(-1)
                total += F.cross_entropy(logits.reshape(-1, cfg["vocab_size"]), y, ignore_index=0, reduction="sum").item()
                count += int((y != 0).sum().item())
        return total / count

    seed = a.seed & 0xFFFFFFFF
    positions = train_len - T
    offsets = torch.arange(T)
    evaluations, loss_sum, steps_since = [], 0.0, 0
    clock = time.perf_counter()
    for step in range(a.max_steps):
        ix = torch.tensor([draw(seed, step * B + b) % positions for b in range(B)])
        x = stream[ix[:, None] + offsets]      # (B, T)
        x[:, 0] = BOS
        y = stream[ix[:, None] + offsets + 1]  # (B, T)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(a, step, a.max_steps)
        logits = logits_of(model, cfg, pe, causal, x)
        loss = F.cross_entropy(logits.reshape(-1, cfg["vocab_size"]), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss_sum += loss.item()
        steps_since += 1
        if (step + 1) % a.eval_every == 0 or step + 1 == a.max_steps:
            val = evaluate()
            evaluations.append({"step": step + 1, "train_loss": loss_sum / steps_since, "validation_loss": val,
                                "validation_bits_per_character": val / math.log(2)})
            print(f"step {step + 1}: train {loss_sum / steps_since:.4f}, validation {val:.4f} nats "
                  f"({val / math.log(2):.4f} bits/char)", file=sys.stderr, flush=True)
            loss_sum, steps_since = 0.0, 0
    seconds = time.perf_counter() - clock
    result = {"torch": torch.__version__, "characters": n, "train_characters": train_len, "vocabulary": len(vocab),
              "parameters": sum(p.numel() for p in model.parameters()), "steps": a.max_steps,
              "seconds": seconds, "seconds_per_step": seconds / a.max_steps, "evaluations": evaluations,
              "final_validation_loss": evaluations[-1]["validation_loss"]}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
