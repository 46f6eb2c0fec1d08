#!/usr/bin/env python3
# compare.py - the scaling benchmark (./build.sh bench-scale): the engine against PyTorch eager at realistic sizes,
# alternated in each round on the same rows of running text (Debian's fortunes, cut into fixed-length rows).
# Sizes: medium L4 H4 d128 ff512 on 62-character rows, large L6 H8 d256 ff1024 on 126-character rows (both decoder-only,
# Post-LN, ReLU, dropout 0.1, batch 32, Adam 1e-3); the seed MiniFormer and FullTransformer come from bench/native.
# Rivals: PyTorch fp32 and bf16 autocast at 1 and 2 threads. The engine: fp32 and bf16 at 1 and 2 threads.
# For each configuration: seconds per epoch (training + validation), characters per second, achieved GF/s and its
# fraction of the matmul peak measured in the same run (torch.mm, [2048,512]x[512,512]), validation losses, and the
# load average. Prints one JSON line per size and a Markdown table.
# Usage: python3 bench/scale/compare.py [--sizes seed,medium,large] [--rounds 3] [--epochs 2] [--rows N] [--bench PATH]
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORTUNES = Path("/usr/share/games/fortunes")
SIZES = {  # name: (layers, heads, dim, ff, row characters, rows)
    "medium": (4, 4, 128, 512, 62, 2267),
    "large": (6, 8, 256, 1024, 126, 640),
}


def python_with_torch():
    for py in [os.environ.get("MLT_PYTHON"), sys.executable, "/usr/bin/python3"]:
        if py and subprocess.run([py, "-c", "import torch"], capture_output=True).returncode == 0:
            return py
    raise SystemExit("no python3 with torch found (set MLT_PYTHON)")


def corpus():
    """Every fortune file's text, % separators dropped, whitespace collapsed, printable ASCII only."""
    parts = []
    for f in sorted(FORTUNES.iterdir()):
        if f.is_file() and "." not in f.name:
            text = f.read_text(encoding="utf-8", errors="ignore")
            parts.append("\n".join(line for line in text.splitlines() if line.strip() != "%"))
    text = re.sub(r"\s+", " ", " ".join(parts))
    return "".join(c for c in text if 32 <= ord(c) < 127)


def rows_file(out_dir, width, count, text):
    path = out_dir / f"rows-{width}x{count}.txt"
    path.write_text("\n".join(text[i * width:(i + 1) * width] for i in range(count)) + "\n")
    return path


def run(cmd, env):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def load_average():
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


PEAK = """
import sys, time, torch
threads, dtype = int(sys.argv[1]), getattr(torch, sys.argv[2])
torch.set_num_threads(threads)
a, b = torch.randn(2048, 512).to(dtype), torch.randn(512, 512).to(dtype)
for _ in range(5): a @ b
best = 0.0
for _ in range(5):
    t = time.perf_counter()
    for _ in range(20): a @ b
    best = max(best, 2 * 2048 * 512 * 512 * 20 / (time.perf_counter() - t) / 1e9)
print(best)
"""


# oneDNN's own sgemm (what the engine calls for float32) on the same shape, through libtorch's libdnnl.
PEAK_ONEDNN = """
import ctypes, sys, time, torch
lib = ctypes.CDLL("libdnnl.so.2")
f = lib.dnnl_sgemm
f.argtypes = [ctypes.c_char, ctypes.c_char] + [ctypes.c_int64] * 3 + [ctypes.c_float, ctypes.c_void_p, ctypes.c_int64,
              ctypes.c_void_p, ctypes.c_int64, ctypes.c_float, ctypes.c_void_p, ctypes.c_int64]
a, b, c = torch.randn(2048, 512), torch.randn(512, 512), torch.empty(2048, 512)
run = lambda: f(b"N", b"N", 2048, 512, 512, 1.0, a.data_ptr(), 512, b.data_ptr(), 512, 0.0, c.data_ptr(), 512)
for _ in range(5): run()
best = 0.0
for _ in range(5):
    t = time.perf_counter()
    for _ in range(20): run()
    best = max(best, 2 * 2048 * 512 * 512 * 20 / (time.perf_counter() - t) / 1e9)
print(best)
"""


def peak(py, threads, dtype, onednn=False):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    code = PEAK_ONEDNN if onednn else PEAK
    return float(subprocess.run([py, "-c", code, str(threads), dtype], capture_output=True, text=True, env=env, check=True).stdout)


def flop_per_token(L, E, F, V, T):
    """Training FLOP per token, Kaplan et al. (2020): 3 x forward, forward = 2 x matmul weights + attention (2 x 2 L T E)."""
    weights = L * (4 * E * E + 2 * E * F) + E * V
    return 3 * (2 * weights + 4 * L * T * E)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="seed,medium,large")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--bench", default=str(ROOT / "artifacts/native/mlt_bench"))
    ap.add_argument("--out", default=str(ROOT / "artifacts/bench-scale"))
    ap.add_argument("--rows", type=int, help="rows per size instead of the defaults (a quick smoke run)")
    a = ap.parse_args()
    py = python_with_torch()
    out_dir = Path(a.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    # The peak of each precision and thread count: the faster of torch.mm (OpenBLAS for fp32, oneDNN for bf16) and
    # oneDNN's sgemm for fp32 (the engine's matmul), so that neither side's fraction is flattered by a slow BLAS.
    peaks = {f"{d}-{t}t": peak(py, t, "float32" if d == "fp32" else "bfloat16") for d in ("fp32", "bf16") for t in (1, 2)}
    for t in (1, 2):
        peaks[f"fp32-{t}t-torch.mm"] = peaks[f"fp32-{t}t"]
        peaks[f"fp32-{t}t-onednn"] = peak(py, t, "float32", onednn=True)
        peaks[f"fp32-{t}t"] = max(peaks[f"fp32-{t}t"], peaks[f"fp32-{t}t-onednn"])
    print(json.dumps({"matmul_peak_gflops": peaks, "load_average": load_average()}), flush=True)
    sizes = a.sizes.split(",")
    if "seed" in sizes:
        # The seed models: bench/native/compare.py, one thread each, as in ./build.sh bench.
        seed = subprocess.run([py, str(ROOT / "bench/native/compare.py"), "--bench", a.bench, "--rounds", str(a.rounds)],
                              capture_output=True, text=True, check=True).stdout
        print(seed, end="", flush=True)
    text = corpus() if any(s in SIZES for s in sizes) else ""
    report = {}
    for size in (s for s in sizes if s in SIZES):
        L, H, E, F, width, count = SIZES[size]
        count = a.rows or count
        data = rows_file(out_dir, width, count, text)
        common = ["--data", str(data), "--layers", str(L), "--heads", str(H), "--dim", str(E), "--ff", str(F),
                  "--dropout", "0.1", "--batch", "32", "--epochs", str(a.epochs)]
        configs = {}
        for prec in ("fp32", "bf16"):
            for t in (1, 2):
                # PyTorch: torch threads t; OpenBLAS t as well (what a user gets from OPENBLAS_NUM_THREADS=t).
                configs[f"pytorch {prec} {t}t"] = ([py, str(ROOT / "bench/scale/reference.py"), *common, "--threads", str(t),
                                                    "--precision", prec], {"OPENBLAS_NUM_THREADS": str(t)})
                configs[f"engine {prec} {t}t"] = ([a.bench, "--model", "decoder", *common, "--threads", str(t),
                                                   "--precision", prec], {})
        configs["pytorch fp32 2t (OpenBLAS 2, torch 1)"] = ([py, str(ROOT / "bench/scale/reference.py"), *common, "--threads", "1",
                                                            "--precision", "fp32"], {"OPENBLAS_NUM_THREADS": "2"})
        results = {k: [] for k in configs}
        loads = []
        for r in range(a.rounds):
            for name, (cmd, extra) in configs.items():
                env = dict(os.environ, **extra)
                loads.append(load_average()[0])
                results[name].append(run(cmd + ["--seed", str(r + 1)], env))
        rows = []
        for name, runs in results.items():
            epochs = [s for res in runs for s in res["sec_per_epoch_with_validation"]]
            sec = statistics.median(epochs)
            prec, t = name.split()[1], int(name.split()[2][0])
            tokens = 0.8 * count * (width + 1)  # training targets per epoch (BOS..EOS, rows of equal length)
            valid_tokens = 0.2 * count * (width + 1)
            flop = flop_per_token(L, E, F, 100, width + 1) * tokens + flop_per_token(L, E, F, 100, width + 1) / 3 * valid_tokens
            gflops = flop / sec / 1e9
            rows.append({"config": name, "sec_per_epoch_median": round(sec, 3), "range": [round(min(epochs), 3), round(max(epochs), 3)],
                         "chars_per_sec": round(tokens / statistics.median([s for res in runs for s in res["sec_per_epoch"]])),
                         "gflops": round(gflops, 1), "fraction_of_peak": round(gflops / peaks[f"{prec}-{t}t"], 3),
                         "fraction_of_bf16_peak_2t": round(gflops / peaks["bf16-2t"], 3),
                         "fraction_of_best_peak_2t": round(gflops / max(peaks["bf16-2t"], peaks["fp32-2t"]), 3),
                         "validation_loss": [round(statistics.mean(res["test_nll"][e] for res in runs), 4) for e in range(a.epochs)],
                         "params": runs[0]["params"]})
        best_torch = min((r for r in rows if r["config"].startswith("pytorch")), key=lambda r: r["sec_per_epoch_median"])
        best_engine = min((r for r in rows if r["config"].startswith("engine")), key=lambda r: r["sec_per_epoch_median"])
        fp32_torch = next(r for r in rows if r["config"] == "pytorch fp32 1t")
        report[size] = {"rows": rows, "best_pytorch": best_torch["config"], "best_engine": best_engine["config"],
                        "speedup_vs_best_pytorch": round(best_torch["sec_per_epoch_median"] / best_engine["sec_per_epoch_median"], 3),
                        "loss_gap_vs_pytorch_fp32": round(best_engine["validation_loss"][-1] - fp32_torch["validation_loss"][-1], 4),
                        "load_average_median": statistics.median(loads), "load_average_range": [min(loads), max(loads)]}
        print(json.dumps({size: report[size]}), flush=True)
        print(f"\n{size}: L{L} H{H} d{E} ff{F}, {width}-character rows, {count} rows, batch 32, {a.epochs} epochs x {a.rounds} rounds, "
              f"load average {statistics.median(loads):.2f} ({min(loads):.2f}-{max(loads):.2f})")
        print("| configuration | s/epoch (median, range) | chars/s | GF/s | of its peak | of bf16 2t peak | of best 2t peak | validation loss |")
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['config']} | {r['sec_per_epoch_median']:.2f} ({r['range'][0]:.2f}-{r['range'][1]:.2f}) | {r['chars_per_sec']:,} | "
                  f"{r['gflops']:.0f} | {r['fraction_of_peak']:.0%} | {r['fraction_of_bf16_peak_2t']:.0%} | {r['fraction_of_best_peak_2t']:.0%} | "
                  f"{r['validation_loss'][-1]:.4f} |")
        print(f"best engine ({best_engine['config']}) vs best PyTorch ({best_torch['config']}): {report[size]['speedup_vs_best_pytorch']:.2f}x; "
              f"validation loss gap vs PyTorch fp32 1t {report[size]['loss_gap_vs_pytorch_fp32']:+.4f}", flush=True)


if __name__ == "__main__":
    main()
