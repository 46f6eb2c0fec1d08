"""Data-parallel training throughput: 1 process against 2 ranks (`train --nproc-per-node 2`) on this machine,
same global batch, alternated round by round. Reports characters per second (median and range of rounds), the
2-rank/1-process ratio per round, the all-reduce time per step, and the load average. Not a test.

    python3 bench/distributed/compare.py --cli "dotnet path/to/mlnet-transformer.dll" --data data/names.txt
"""
import argparse
import ctypes
import json
import os
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time

MODELS = {
    # the seed's MiniFormer size, and a larger model (about 10x the parameters)
    "seed": ["--layers", "1", "--heads", "1", "--dim", "32", "--ff", "32"],
    "large": ["--layers", "2", "--heads", "4", "--dim", "64", "--ff", "256"],
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train(cli, data, model, ranks, threads, global_batch, epochs, folder):
    args = shlex.split(cli) + ["train", "--data", data, *MODELS[model], "--epochs", str(epochs), "--seed", "3",
                               "--batch-size", str(global_batch // ranks), "--threads", str(threads),
                               "--validation-fraction", "0.1", "--json", "--quiet", "--out", os.path.join(folder, "m.zip")]
    if ranks > 1:
        args += ["--nproc-per-node", str(ranks), "--master-port", str(free_port())]
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), GLOO_SOCKET_IFNAME="lo")
    out = subprocess.run(args, check=True, capture_output=True, text=True, env=env).stdout
    d = json.loads(out)
    epochs_after_first = d["epochs"][1:] or d["epochs"]  # the first epoch pays for warm-up
    cps = statistics.median(e["charactersPerSecond"] for e in epochs_after_first)
    return {"cps": cps, "allreduce_ms": d.get("allReduceMillisecondsPerStep"), "steps": d["steps"],
            "params": d["parameters"], "valid": d["finalValidationLoss"]}


def allreduce_worker(lib_path, rank, port, nbytes, repeats):
    """One rank of the pure all-reduce measurement: join, barrier, then time `repeats` all-reduces of nbytes."""
    lib = ctypes.CDLL(lib_path)
    lib.mlt_last_error.restype = ctypes.c_char_p
    group = ctypes.c_void_p()
    if lib.mlt_group_create(ctypes.byref(group), b"127.0.0.1", port, rank, 2, 30000, b"gloo"):
        raise SystemExit(lib.mlt_last_error().decode())
    n = max(1, nbytes // 8)
    values = (ctypes.c_double * n)()
    times = []
    for _ in range(repeats):
        lib.mlt_group_barrier(group)
        t = time.perf_counter()
        if lib.mlt_group_allreduce_sum(values, n, group):
            raise SystemExit(lib.mlt_last_error().decode())
        times.append(time.perf_counter() - t)
    lib.mlt_group_free(group)
    if rank == 0:
        print(json.dumps({"median_ms": 1e3 * statistics.median(times), "min_ms": 1e3 * min(times)}))


def pure_allreduce(lib_path, nbytes, repeats=200):
    """Both ranks ready (a barrier before each): the communication cost alone, without waiting for a slower rank."""
    port = free_port()
    cmd = [sys.executable, __file__, "--allreduce-worker", lib_path, str(port), str(nbytes), str(repeats)]
    env = dict(os.environ, GLOO_SOCKET_IFNAME="lo")
    peer = subprocess.Popen(cmd + ["1"], env=env, stdout=subprocess.DEVNULL)
    out = subprocess.run(cmd + ["0"], check=True, capture_output=True, text=True, env=env).stdout
    peer.wait()
    return json.loads(out)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--allreduce-worker":
        lib, port, nbytes, repeats, rank = sys.argv[2], *map(int, sys.argv[3:7])
        allreduce_worker(lib, rank, port, nbytes, repeats)
        return
    p = argparse.ArgumentParser()
    p.add_argument("--cli", required=True, help="command that runs the CLI, e.g. 'dotnet .../mlnet-transformer.dll'")
    p.add_argument("--data", required=True)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--global-batch", type=int, default=32)
    p.add_argument("--models", default="seed,large")
    p.add_argument("--lib", default=os.environ.get("MLT_NATIVE_LIBRARY", "artifacts/native/libmlt.so"))
    a = p.parse_args()

    configs = [("1 process, 1 thread", 1, 1), ("1 process, 2 threads", 1, 2), ("2 ranks x 1 thread", 2, 1)]
    print(f"load average before: {os.getloadavg()}  cores: {os.cpu_count()}  global batch {a.global_batch}, "
          f"{a.epochs} epochs, {a.rounds} rounds (alternated)")
    with tempfile.TemporaryDirectory() as folder:
        for model in a.models.split(","):
            runs = {name: [] for name, _, _ in configs}
            for _ in range(a.rounds):
                for name, ranks, threads in configs:
                    runs[name].append(train(a.cli, a.data, model, ranks, threads, a.global_batch, a.epochs, folder))
            base = runs[configs[0][0]]
            print(f"\n== {model} model: {base[0]['params']:,} parameters, {base[0]['steps']} steps, "
                  f"{4 * base[0]['params']:,} gradient bytes all-reduced per step")
            print(f"{'configuration':24} {'chars/s median':>15} {'range':>19} {'x vs 1x1 (median, range)':>28} {'all-reduce ms/step':>19} {'valid':>8}")
            for name, _, _ in configs:
                r = runs[name]
                cps = [x["cps"] for x in r]
                ratios = [x["cps"] / b["cps"] for x, b in zip(r, base)]
                ar = [x["allreduce_ms"] for x in r if x["allreduce_ms"] is not None]
                ar_text = f"{statistics.median(ar):.3f} ({min(ar):.3f}-{max(ar):.3f})" if ar else "-"
                print(f"{name:24} {statistics.median(cps):15,.0f} {min(cps):9,.0f}-{max(cps):9,.0f} "
                      f"{statistics.median(ratios):12.2f} ({min(ratios):.2f}-{max(ratios):.2f}) {ar_text:>27} {r[-1]['valid']:8.4f}")
            pure = pure_allreduce(a.lib, 4 * base[0]["params"])
            print(f"{'':24} pure all-reduce of {4 * base[0]['params']:,} bytes (ranks ready): median "
                  f"{pure['median_ms']:.3f} ms, min {pure['min_ms']:.3f} ms")
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
