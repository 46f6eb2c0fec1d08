#!/usr/bin/env bash
# GPU check: builds the native engine against a CUDA machine's PyTorch, runs the parity checks and the benchmark
# on CUDA, and trains/scores through the .NET command line (a self-contained publish, since such machines often
# have no .NET). Two steps:
#   build/gpu.sh publish   on a machine WITH the .NET SDK: self-contained CLI into artifacts/publish
#   build/gpu.sh run       on the CUDA machine (python3 with a CUDA torch, cmake, g++): everything else
# With 2 or more GPUs it also trains data-parallel over NCCL (train --nproc-per-node N) against one GPU with N times
# the batch, and fails if their validation losses differ by more than 1e-4.
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
    # NCCL: PyTorch wheels keep nccl.h in the nvidia-nccl package; point CMake at it when it is there.
    NCCL_INCLUDE_DIR=$("$PY" -c 'import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], "include"))' 2>/dev/null || true)
    export NCCL_INCLUDE_DIR
    cmake -S "$ROOT/src/Native" -B "$NATIVE" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" | grep -E "^-- mlt:" || true
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

      # Data parallel over NCCL: N GPUs with batch 8 each must reach the validation loss of one GPU with batch 8N.
      NGPU=$("$PY" -c 'import torch; print(torch.cuda.device_count())')
      if [ "$NGPU" -ge 2 ]; then
        echo "== data parallel: $NGPU ranks over NCCL (batch 8 each) vs 1 GPU (batch $((8 * NGPU)))"
        DP=(--data "$ROOT/data/names.txt" --layers 2 --heads 4 --dim 64 --ff 128 --epochs 5 --seed 42 --json --quiet)
        "$CLI" train "${DP[@]}" --device cuda:0 --batch-size $((8 * NGPU)) --out "$REPORT_DIR/dp-1.zip" > "$REPORT_DIR/dp-1.json"
        "$CLI" train "${DP[@]}" --device cuda --batch-size 8 --nproc-per-node "$NGPU" --out "$REPORT_DIR/dp-n.zip" > "$REPORT_DIR/dp-n.json"
        "$PY" - "$REPORT_DIR/dp-1.json" "$REPORT_DIR/dp-n.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
diff = abs(a["finalValidationLoss"] - b["finalValidationLoss"])
print(f"1 GPU: valid {a['finalValidationLoss']:.6f}, {a['secondsPerEpoch']:.3f} s/epoch; "
      f"{b['worldSize']} ranks: valid {b['finalValidationLoss']:.6f}, {b['secondsPerEpoch']:.3f} s/epoch, "
      f"all-reduce {b['allReduceMillisecondsPerStep']:.3f} ms/step; |diff| {diff:.2e}")
sys.exit(0 if diff <= 1e-4 else 1)
PY
      else
        echo "== data parallel over NCCL: pending (this machine has $NGPU GPU; NCCL needs one GPU per rank)"
      fi
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
