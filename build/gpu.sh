#!/usr/bin/env bash
# GPU check: builds the native engine against a CUDA machine's PyTorch, runs the parity checks and the benchmark
# on CUDA, and trains/scores through the .NET command line (a self-contained publish, since such machines often
# have no .NET). Two steps:
#   build/gpu.sh publish   on a machine WITH the .NET SDK: self-contained CLI into artifacts/publish
#   build/gpu.sh run       on the CUDA machine (python3 with a CUDA torch, cmake, g++): everything else
# Output: the parity table, the CUDA benchmark JSON and the CLI's train/evaluate JSON, also under $OUT (or
# artifacts/gpu) as gpu-report.txt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
PUBLISH="$ROOT/artifacts/publish"

case "${1:-}" in
  publish)
    dotnet publish "$ROOT/src/Cli" -c Release -r linux-x64 --self-contained -p:PublishSingleFile=false -o "$PUBLISH" -nologo -v q
    echo "published to $PUBLISH (carry artifacts/publish to the CUDA machine)"
    ;;
  run)
    REPORT_DIR=${OUT:-$ROOT/artifacts/gpu}
    mkdir -p "$REPORT_DIR"
    exec > >(tee "$REPORT_DIR/gpu-report.txt") 2>&1
    PY=${MLT_PYTHON:-python3}
    "$PY" -c 'import torch; assert torch.cuda.is_available(), "no CUDA device visible to torch"; print("torch", torch.__version__, "CUDA", torch.version.cuda, torch.cuda.get_device_name(0))'
    TORCH_PREFIX=$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)')
    NATIVE="$ROOT/artifacts/native-cuda"
    echo "== native build against $TORCH_PREFIX"
    cmake -S "$ROOT/src/Native" -B "$NATIVE" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" >/dev/null
    cmake --build "$NATIVE" -j "$(nproc)" >/dev/null
    export MLT_NATIVE_LIBRARY="$NATIVE/libmlt.so" MLT_PYTHON="$PY"

    echo "== parity with PyTorch on cuda:0 (logits/attention 1e-5, gradients 1e-4)"
    # A parity failure fails the script, after the remaining checks have run (their output helps diagnose it).
    parity_status=0
    "$PY" "$ROOT/src/Native/tests/parity.py" --device cuda:0 || parity_status=$?

    echo "== benchmark on cuda:0 (seconds per epoch, engine vs PyTorch eager, same run)"
    "$PY" "$ROOT/bench/native/compare.py" --bench "$NATIVE/mlt_bench" --device cuda:0 --rounds 3 --epochs 5
    echo "== benchmark on the CPU of the same machine"
    "$PY" "$ROOT/bench/native/compare.py" --bench "$NATIVE/mlt_bench" --device cpu --rounds 3 --epochs 5

    if [ -x "$PUBLISH/mlnet-transformer" ]; then
      CLI="$PUBLISH/mlnet-transformer"
      echo "== .NET CLI: doctor, train on cuda:0, evaluate/score on the CPU"
      "$CLI" doctor
      "$CLI" train --data "$ROOT/data/names.txt" --device cuda:0 --layers 2 --heads 4 --dim 64 --ff 128 --dropout 0.1 \
        --epochs 20 --seed 42 --out "$REPORT_DIR/names-cuda.zip" --json --quiet > "$REPORT_DIR/train-cuda.json"
      "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("cuda train: device", d["device"], "s/epoch", round(d["secondsPerEpoch"],4), "final valid", round(d["finalValidationLoss"],4))' "$REPORT_DIR/train-cuda.json"
      "$CLI" train --data "$ROOT/data/names.txt" --device cpu --layers 2 --heads 4 --dim 64 --ff 128 --dropout 0.1 \
        --epochs 20 --seed 42 --out "$REPORT_DIR/names-cpu.zip" --json --quiet > "$REPORT_DIR/train-cpu.json"
      "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("cpu train:  device", d["device"], "s/epoch", round(d["secondsPerEpoch"],4), "final valid", round(d["finalValidationLoss"],4))' "$REPORT_DIR/train-cpu.json"
      "$CLI" evaluate --model "$REPORT_DIR/names-cuda.zip" --data "$ROOT/data/names.txt"
      "$CLI" score --model "$REPORT_DIR/names-cuda.zip" --text flyca --top 3
    else
      echo "== no self-contained CLI at $PUBLISH: run 'build/gpu.sh publish' on a machine with .NET and carry it"
    fi
    if [ "$parity_status" -ne 0 ]; then
      echo "== PARITY FAILED (parity.py exited with $parity_status): see its FAIL lines above" >&2
      exit "$parity_status"
    fi
    ;;
  *) echo "usage: build/gpu.sh publish|run" >&2; exit 2 ;;
esac
