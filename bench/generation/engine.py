"""Characters per second of greedy generation on the engine: its key/value cache (mlt_decoder_feed, one position per
call) against a full forward over the whole prefix per character (mlt_model_forward), on the model of run.sh (4 layers,
4 heads, d 128, F 512, 117 characters, 256 positions; freshly initialised weights: the cost does not depend on them),
one thread. Alternates the two over --rounds rounds, checks that both pick the same characters, and prints medians,
ranges, their ratio and the load average."""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "Native", "tests"))
import mlt_ctypes as M  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--chars", type=int, default=256)
    a = ap.parse_args()
    lib = M.load()
    cfg = M.Config(kind=0, vocab_size=117, src_vocab_size=0, d_model=128, n_heads=4, n_layers=4, n_encoder_layers=0,
                   d_ff=512, max_len=a.chars, pad_id=0, activation=0, norm_first=0, causal_encoder=0, causal_cross=0,
                   dropout=0.0, layer_norm_eps=1e-5, seed=1)
    model = M.Model(lib, cfg)
    model.set_threads(1)

    def cached():
        dec = model.decoder()
        out, logits = [1], dec.feed([1])
        while len(out) < a.chars:
            out.append(int(np.argmax(logits[-1])))
            if len(out) < a.chars:
                logits = dec.feed([out[-1]])
        dec.close()
        return out

    def full():
        out = [1]
        while len(out) < a.chars:
            logits = model.forward(np.array([out]), attn=False)[0]
            out.append(int(np.argmax(logits[0, -1])))
        return out

    print(f"load average before: {' '.join(open('/proc/loadavg').read().split()[:3])}")
    rate = {"cache": [], "no-cache": []}
    for _ in range(a.rounds):
        texts = {}
        for mode, run in (("cache", cached), ("no-cache", full)):
            start = time.perf_counter()
            texts[mode] = run()
            rate[mode].append((a.chars - 1) / (time.perf_counter() - start))
        if texts["cache"] != texts["no-cache"]:
            sys.exit("the engine's cached and full generations picked different characters")
    print(f"load average after: {' '.join(open('/proc/loadavg').read().split()[:3])}")
    for mode, v in rate.items():
        print(f"engine {mode:9} characters/s: median {statistics.median(v):,.0f} (range {min(v):,.0f}-{max(v):,.0f}) "
              f"over {a.rounds} runs of {a.chars - 1} characters")
    print(f"engine cache / no cache: {statistics.median(rate['cache']) / statistics.median(rate['no-cache']):.1f}x "
          "(same characters in every round)")


if __name__ == "__main__":
    main()
