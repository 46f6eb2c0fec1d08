#!/usr/bin/env python3
# compare.py - alternates bench/reference_pytorch.py and the native harness (mlt_bench) on the same machine,
# one torch thread and OPENBLAS_NUM_THREADS=1, and reports median seconds per epoch, the speed-up, and the
# final losses of both (loss curves should agree within run-to-run noise; initialisations differ).
# Usage: python3 bench/native/compare.py [--rounds 3] [--epochs 5] [--models mini,full] [--bench PATH] [--device cpu|cuda:0]
import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def python_with_torch():
    for py in [os.environ.get("MLT_PYTHON"), sys.executable, "/usr/bin/python3"]:
        if py and subprocess.run([py, "-c", "import torch"], capture_output=True).returncode == 0:
            return py
    raise SystemExit("no python3 with torch found (set MLT_PYTHON)")


def run(cmd, env):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def load_average():
    """The 1-, 5- and 15-minute load averages (the machine is shared: read the ratios against them)."""
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--models", default="mini,full")
    ap.add_argument("--bench", default=str(ROOT / "artifacts/native/mlt_bench"))
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    py = python_with_torch()
    data = str(ROOT / "data/names.txt")
    report = {}
    for model in a.models.split(","):
        times = {"pytorch": [], "native": []}
        finals = {"pytorch": [], "native": []}
        curves = {"pytorch": [], "native": []}
        ratios = []
        for r in range(a.rounds):
            seed = str(r + 1)
            ref = run([py, str(ROOT / "bench/reference_pytorch.py"), "--model", model, "--epochs", str(a.epochs),
                       "--seed", seed, "--threads", "1", "--data", data, "--device", a.device], env)
            nat = run([a.bench, "--model", model, "--epochs", str(a.epochs), "--seed", seed, "--threads", "1",
                       "--data", data, "--device", a.device], env)
            for k, res in (("pytorch", ref), ("native", nat)):
                times[k] += res["sec_per_epoch"]
                finals[k].append(res["test_nll"][-1])
                curves[k].append(res["test_nll"])
            # The round's ratio: PyTorch's median epoch over the engine's, both measured back to back.
            ratios.append(statistics.median(ref["sec_per_epoch"]) / statistics.median(nat["sec_per_epoch"]))
        med = {k: statistics.median(v) for k, v in times.items()}
        mean_curve = {k: [round(statistics.mean(c[e] for c in v), 4) for e in range(a.epochs)]
                      for k, v in curves.items()}
        report[model] = {"sec_per_epoch_median": med, "speedup": med["pytorch"] / med["native"],
                         "speedup_per_round": [round(x, 3) for x in ratios],
                         "speedup_median": round(statistics.median(ratios), 3),
                         "speedup_range": [round(min(ratios), 3), round(max(ratios), 3)],
                         "threads": {"torch": 1, "OPENBLAS_NUM_THREADS": env["OPENBLAS_NUM_THREADS"], "OMP_NUM_THREADS": env["OMP_NUM_THREADS"]},
                         "load_average": load_average(),
                         "test_nll_curve_mean": mean_curve,
                         "final_test_nll": {k: [round(x, 4) for x in v] for k, v in finals.items()}}
        print(json.dumps({model: report[model]}), flush=True)


if __name__ == "__main__":
    main()
