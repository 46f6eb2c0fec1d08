#!/usr/bin/env bash
# Build driver for MLNet.Transformer: installs what is missing (idempotently), builds the native
# engine with CMake, then the .NET solution, and runs the requested job.
#   ./build.sh demo     train -> save -> evaluate on held-out names -> reload -> score -> generate -> export ONNX,
#                       then 2 data-parallel workers against 1 process with twice the batch
#   ./build.sh test     every test (native parity against PyTorch included)
#   ./build.sh build    native library and .NET solution only
#   ./build.sh native   native library only
#   ./build.sh packaged-example  pack, then build examples/Packaged from the packages and run it (train in one process,
#                       score and evaluate in another with the scoring package only)
#   ./build.sh pack     NuGet packages into artifacts/packages: MLNet.Transformer (scoring), MLNet.Transformer.Core,
#                       MLNet.Transformer.Training (trainers + linux-x64 engine), MLNet.Transformer.AutoML and the
#                       mlnet-transformer tool (MLNet.Transformer.Cli), with symbols (.snupkg)
#   ./build.sh bench    engine vs PyTorch-eager benchmark (seconds per epoch and ratio; args go to compare.py)
#   ./build.sh bench-sweep  ASHA-pruned sweep vs the plain grid: total epochs and best validation loss
#   ./build.sh bench-sweep-target [SEED...]  issue 13's target: the default sweep on the reference 80/20 split of
#                           data/names.txt in a 10-minute budget, its saved ensemble evaluated on the test part
#   ./build.sh bench-scale  engine vs PyTorch fp32 / bf16 autocast at 1 and 2 threads, seed to large models (issue 18)
#   ./build.sh bench-scoring  scoring throughput: ONNX Runtime vs the engine's forward vs PyTorch eager (args: --rounds N)
#   ./build.sh bench-corpus [--max-steps S]  corpus training on Debian's fortunes: engine vs bench/corpus_reference.py
#   ./build.sh bench-generate  characters/s of `generate` with the key/value cache vs --no-cache, 256 characters of context,
#                           then the same on the engine (IncrementalDecoder vs a full forward per character)
#   ./build.sh bench-distributed  characters/s of 1 process vs 2 data-parallel ranks, all-reduce time per step
#   ./build.sh bench-playground [--rounds N] [--screenshot PNG]  the playground over the demo model in headless chromium:
#                           first prediction after load and time per keystroke, beside onnxruntime-node (run demo first)
#   ./build.sh bench-sweep-store  one 24-trial study by 1 process vs 2 workers on a SQLite store; 1 vs 2 on PostgreSQL
# Environment: TORCH_PREFIX   CMake prefix of another libtorch (e.g. a CUDA PyTorch's cmake_prefix_path)
#              CONFIGURATION  Release (default) or Debug
#              MLT_SKIP_APT=1 never call apt-get (packages must already be present)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$(pwd)
CONFIGURATION=${CONFIGURATION:-Release}
NATIVE_DIR="$ROOT/artifacts/native"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# Small models are fastest single-threaded in OpenBLAS; callers can override.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

log() { printf '\033[1m[build]\033[0m %s\n' "$*" >&2; }

# apt_ensure PKG...: installs the packages that are not installed yet.
apt_ensure() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "${MLT_SKIP_APT:-0}" = 1 ]; then log "missing packages ${missing[*]} and MLT_SKIP_APT=1"; exit 1; fi
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  log "installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_dotnet() {
  # libicu: .NET globalization (the tokenizer's NFC is string.Normalize over ICU).
  apt_ensure libicu72
  command -v dotnet >/dev/null || { log "the .NET SDK (see global.json) is required: https://dot.net"; exit 1; }
}

# The engine: Debian's libtorch unless TORCH_PREFIX points at another one.
deps_native() {
  if [ -z "${TORCH_PREFIX:-}" ]; then apt_ensure libtorch-dev libgloo-dev libopenblas0-pthread cmake g++ make; fi
}

# The PyTorch reference used by parity tests and benchmarks: the interpreter that can import torch.
find_python() {
  local py
  for py in ${MLT_PYTHON:-} $(type -ap python3 2>/dev/null) /usr/bin/python3; do
    [ -x "$py" ] && "$py" -c 'import torch' 2>/dev/null && { echo "$py"; return 0; }
  done
  return 1
}
deps_python() {
  find_python >/dev/null || apt_ensure python3-torch python3-numpy
  MLT_PYTHON=$(find_python) || { log "no python3 with torch found"; exit 1; }
  export MLT_PYTHON
  # The onnx package validates exported files (onnx.checker) and reads them into PyTorch in the tests.
  "$MLT_PYTHON" -c 'import onnx' 2>/dev/null || apt_ensure python3-onnx
}

deps_browser() { apt_ensure chromium fonts-dejavu-core; }

# The playground's JavaScript (package.json, package-lock.json): onnxruntime-web, copied into the CLI's output and
# from there into every site; with `deps_web dev`, also onnxruntime-node and playwright-core for the tests and the
# benchmark. npm ci only when the lock changed or the dev packages are wanted and missing.
deps_web() {
  local want=${1:-prod} have=""
  command -v npm >/dev/null || apt_ensure nodejs npm
  cmp -s "$ROOT/package-lock.json" "$ROOT/node_modules/.mlt-package-lock.json" && have=$(cat "$ROOT/node_modules/.mlt-mode" 2>/dev/null || true)
  if [ "$have" = dev ] || [ "$have" = "$want" ]; then return 0; fi
  log "npm ci ($want: onnxruntime-web$([ "$want" = dev ] && echo ', onnxruntime-node, playwright-core'))"
  (cd "$ROOT" && npm ci --no-audit --no-fund --ignore-scripts $([ "$want" = dev ] || echo --omit=dev) >/dev/null)
  cp "$ROOT/package-lock.json" "$ROOT/node_modules/.mlt-package-lock.json"
  echo "$want" > "$ROOT/node_modules/.mlt-mode"
}

build_native() {
  deps_native
  local args=(-S "$ROOT/src/Native" -B "$NATIVE_DIR" -DCMAKE_BUILD_TYPE=Release)
  [ -n "${TORCH_PREFIX:-}" ] && args+=("-DCMAKE_PREFIX_PATH=$TORCH_PREFIX")
  log "native: cmake ${args[*]}"
  cmake "${args[@]}" >/dev/null
  cmake --build "$NATIVE_DIR" -j "$(nproc)" >/dev/null
  export MLT_NATIVE_LIBRARY="$NATIVE_DIR/libmlt.so"
}

build_dotnet() {
  ensure_dotnet
  log "dotnet build ($CONFIGURATION)"
  dotnet build "$ROOT/MLNet.Transformer.sln" -c "$CONFIGURATION" -nologo -v q -clp:NoSummary
}

# pack_all: deterministic (CI) builds of the packable projects, packed into artifacts/packages.
pack_all() {
  rm -rf "$ROOT/artifacts/packages"
  # SourceLink needs a hosted repository URL: a clone of a local folder (as CI's is) has only a file path, so its
  # packages carry no source links and no repository URL rather than failing the pack.
  local link=()
  case "$(git -C "$ROOT" remote get-url origin 2>/dev/null || true)" in
    https://*|http://*|git@*|ssh://*) ;;
    *) link=(-p:EnableSourceLink=false -p:EnableSourceControlManagerQueries=false -p:PublishRepositoryUrl=false) ;;
  esac
  local p
  for p in Core Transforms Estimators AutoML Cli; do
    log "dotnet pack src/$p"
    # The tool is linux-x64 (its engine is): only that runtime's ONNX Runtime and SkiaSharp assets go in.
    local rid=(); [ "$p" = Cli ] && rid=(-p:RuntimeIdentifier=linux-x64 -p:SelfContained=false)
    dotnet pack "$ROOT/src/$p" -c "$CONFIGURATION" -nologo -v q -clp:NoSummary -o "$ROOT/artifacts/packages" -p:ContinuousIntegrationBuild=true "${link[@]}" "${rid[@]}" || return 1
  done
}

# packaged_example: examples/Packaged built from artifacts/packages (not the projects), run as two processes: train and
# save, then load, score and evaluate with the scoring package alone (no libmlt or libtorch mapped). Fails on a mismatch.
packaged_example() {
  local ex="$ROOT/examples/Packaged" out="$ROOT/artifacts/packaged-example"
  rm -rf "$out/packages"/mlnet.transformer* "$ex"/*/bin "$ex"/*/obj
  mkdir -p "$out"
  log "packaged example: restore from artifacts/packages, build"
  dotnet build "$ex/Train" -c Release -nologo -v q -clp:NoSummary "$@" || return 1
  dotnet build "$ex/Score" -c Release -nologo -v q -clp:NoSummary "$@" || return 1
  log "packaged example: train and save (MLNet.Transformer.Training)"
  env -u MLT_NATIVE_LIBRARY dotnet "$ex/Train/bin/Release/net10.0/Train.dll" "$ROOT/data/names.txt" "$out/names.zip" > "$out/train.json" || return 1
  cat "$out/train.json"
  log "packaged example: load, score, evaluate in another process (MLNet.Transformer only)"
  env -u MLT_NATIVE_LIBRARY dotnet "$ex/Score/bin/Release/net10.0/Score.dll" "$ROOT/data/names.txt" "$out/names.zip" "$out/train.json"
}

cli() { dotnet "$ROOT/src/Cli/bin/$CONFIGURATION/net10.0/mlnet-transformer.dll" "$@"; }

verb=${1:-build}; shift || true
case "$verb" in
  native) build_native ;;
  build) build_native; deps_web; build_dotnet ;;
  pack)
    build_native; deps_web; ensure_dotnet
    pack_all
    ;;
  packaged-example)
    # Packs, then builds and runs examples/Packaged against the packages (extra args go to its dotnet build, e.g.
    # -p:MicrosoftMLVersion=5.0.1 for an older ML.NET).
    build_native; deps_web; ensure_dotnet
    pack_all
    packaged_example "$@"
    ;;
  test)
    # PostgreSQL: the sweep's study-store tests start their own server (initdb/pg_ctl), never the system service.
    build_native; deps_python; deps_browser; deps_web dev; apt_ensure postgresql; build_dotnet
    log "dotnet test"
    mkdir -p "$ROOT/artifacts"
    status=0
    dotnet test "$ROOT/MLNet.Transformer.sln" -c "$CONFIGURATION" --no-build -nologo "$@" 2>&1 | tee "$ROOT/artifacts/test.log" || status=$?
    # The packages as a user gets them: pack, then build and run examples/Packaged against artifacts/packages.
    { pack_all && packaged_example; } || { log "packaged example FAILED"; status=1; }
    # One closing line for every project together: "N passed, N failed, N skipped".
    awk '/^(Passed|Failed)!/ { for (i = 1; i <= NF; i++) { gsub(",", "", $(i+1)); if ($i == "Passed:") p += $(i+1); if ($i == "Failed:") f += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
         END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$ROOT/artifacts/test.log"
    exit "$status"
    ;;
  demo)
    build_native; deps_web; build_dotnet
    out="$ROOT/artifacts/demo"; mkdir -p "$out"
    # Every fifth name is held out for the quality figure; training sees the rest (and keeps 20% of it for validation
    # and early stopping), so the evaluation below is over names the model never saw.
    awk 'NR % 5 != 0' "$ROOT/data/names.txt" > "$out/train.txt"
    awk 'NR % 5 == 0' "$ROOT/data/names.txt" > "$out/held-out.txt"
    log "demo: train on 4/5 of data/names.txt ($(wc -l < "$out/train.txt") names), hold out the other fifth"
    cli train --data "$out/train.txt" --model decoder --layers 2 --heads 4 --dim 64 --ff 128 --dropout 0.1 --patience 8 \
      --epochs 60 --seed 42 --validation-fraction 0.2 --out "$out/names.zip" --plot "$out/loss.svg"
    log "demo: evaluate on the $(wc -l < "$out/held-out.txt") held-out names"
    cli evaluate --model "$out/names.zip" --data "$out/held-out.txt"
    cli info --model "$out/names.zip"
    cli score --model "$out/names.zip" --text flyca --top 5
    cli generate --model "$out/names.zip" --count 8 --temperature 0.8 --seed 7
    cli attention --model "$out/names.zip" --text flycatcher --out "$out/attention.html"
    cli export-onnx --model "$out/names.zip" --out "$out/names.onnx"
    cli playground --model "$out/names.zip" --out "$out/playground"
    log "demo: data parallel, 2 workers x batch 8 (train --nproc-per-node 2) against 1 process x batch 16, 5 epochs"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cli train --data "$out/train.txt" --epochs 5 --batch-size 16 --seed 42 --json --quiet --out "$out/dp-1.zip" > "$out/dp-1.json"
    cli train --data "$out/train.txt" --epochs 5 --batch-size 8 --nproc-per-node 2 --master-port "$port" --seed 42 --json --quiet \
      --out "$out/dp-2.zip" > "$out/dp-2.json"
    python3 - "$out/dp-1.json" "$out/dp-2.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for name, d in (("1 process, batch 16", a), (f"{b['worldSize']} workers, batch 8 each", b)):
    extra = f", all-reduce {d['allReduceMillisecondsPerStep']:.2f} ms/step" if d.get("allReduceMillisecondsPerStep") else ""
    print(f"{name:26} validation loss {d['finalValidationLoss']:.6f}  ({d['steps']} steps, {d['trainingSeconds']:.1f} s{extra})")
diff = abs(a["finalValidationLoss"] - b["finalValidationLoss"])
print(f"difference {diff:.1e}")
sys.exit(0 if diff <= 1e-5 else 1)
PY
    log "demo artifacts in artifacts/demo (ML.NET model zip, names.onnx, loss.svg, attention.html, playground/)"
    ;;
  bench)
    # Engine vs PyTorch eager on the seed's two models, alternated in one run; extra args go to compare.py
    # (e.g. --rounds 5 --epochs 5 --device cuda:0).
    build_native; deps_python
    "$MLT_PYTHON" "$ROOT/bench/native/compare.py" --bench "$NATIVE_DIR/mlt_bench" "$@"
    ;;
  bench-scale)
    # Seed, medium and large models on rows of Debian's fortunes (installed here), alternated in each round; args go to
    # bench/scale/compare.py (e.g. --sizes medium --rounds 3 --epochs 2).
    build_native; deps_python; apt_ensure fortunes
    "$MLT_PYTHON" "$ROOT/bench/scale/compare.py" --bench "$NATIVE_DIR/mlt_bench" "$@" | tee "$ROOT/artifacts/bench-scale.log"
    ;;
  bench-scoring)
    # Next-character scoring over data/names.txt at batch 1 and 64: ONNX Runtime (lean and full exports), the
    # engine's batched forward and PyTorch eager inference, alternated in each round; extra args go to the program.
    build_native; deps_python; build_dotnet
    dotnet "$ROOT/bench/Scoring/bin/$CONFIGURATION/net10.0/mlt-bench-scoring.dll" --data "$ROOT/data/names.txt" "$@"
    ;;
  bench-generate)
    build_native; deps_python; build_dotnet; apt_ensure fortunes
    "$ROOT/bench/generation/run.sh" "$ROOT/artifacts/bench-generate" dotnet "$ROOT/src/Cli/bin/$CONFIGURATION/net10.0/mlnet-transformer.dll"
    MLT_NATIVE_LIBRARY="$NATIVE_DIR/libmlt.so" "$MLT_PYTHON" "$ROOT/bench/generation/engine.py"
    ;;
  bench-corpus)
    # Issue 21's target: corpus training on Debian's fortunes ('%' separators stripped, 90/10 split by position),
    # 4 layers, 4 heads, d 128, context 128; the engine against bench/corpus_reference.py with the same data, windows
    # and steps. Args: --max-steps S (default 2000) --eval-every K (200) --batch-size B (32).
    build_native; deps_python; build_dotnet; apt_ensure fortunes
    out="$ROOT/artifacts/bench-corpus"; mkdir -p "$out"
    steps=2000; every=200; batch=32
    while [ $# -gt 0 ]; do
      case "$1" in
        --max-steps) steps=$2; shift 2 ;; --eval-every) every=$2; shift 2 ;; --batch-size) batch=$2; shift 2 ;;
        *) log "bench-corpus: unknown argument $1"; exit 2 ;;
      esac
    done
    find /usr/share/games/fortunes -maxdepth 1 -type f ! -name '*.dat' ! -name '*.u8' | LC_ALL=C sort | xargs cat | grep -v '^%$' > "$out/fortunes.txt"
    common=(--context-length 128 --max-steps "$steps" --eval-every "$every" --batch-size "$batch" --layers 4 --heads 4
            --dim 128 --ff 512 --lr 1e-3 --seed 42 --validation-fraction 0.1)
    log "bench-corpus: $(wc -c < "$out/fortunes.txt") bytes of fortunes, $steps steps of $batch x 128 characters"
    cli train --corpus "$out/fortunes.txt" "${common[@]}" --dropout 0 --precision fp32 --device cpu --threads 1 --out "$out/fortunes.zip" \
      --json --quiet > "$out/engine.json"
    "$MLT_PYTHON" "$ROOT/bench/corpus_reference.py" --corpus "$out/fortunes.txt" "${common[@]}" --json "$out/reference.json" > /dev/null
    python3 - "$out/engine.json" "$out/reference.json" <<'PY'
import json, math, sys
e, r = (json.load(open(p)) for p in sys.argv[1:3])
ev, rv = e["finalValidationLoss"], r["final_validation_loss"]
print(f"engine   validation {ev:.4f} nats = {ev / math.log(2):.4f} bits/char  ({e['secondsPerStep']:.3f} s/step)")
print(f"PyTorch  validation {rv:.4f} nats = {rv / math.log(2):.4f} bits/char  ({r['seconds_per_step']:.3f} s/step)")
print(f"difference {abs(ev - rv):.4f} nats (target <= 0.03); vocabulary {e['vocabularySize']} / {r['vocabulary']}")
sys.exit(0 if abs(ev - rv) <= 0.03 and e["vocabularySize"] == r["vocabulary"] else 1)
PY
    ;;
  bench-distributed)
    # 1 process (1 and 2 threads) vs `train --nproc-per-node 2` over loopback Gloo, alternated; extra args go to compare.py.
    build_native; build_dotnet
    python3 "$ROOT/bench/distributed/compare.py" --cli "dotnet $ROOT/src/Cli/bin/$CONFIGURATION/net10.0/mlnet-transformer.dll" \
      --data "$ROOT/data/names.txt" "$@"
    ;;
  bench-playground)
    build_native; deps_browser; deps_web dev; build_dotnet
    model="$ROOT/artifacts/demo/names.zip"
    [ -f "$model" ] || { log "no demo model at $model: run ./build.sh demo first"; exit 1; }
    cli playground --model "$model" --out "$ROOT/artifacts/bench-playground" >/dev/null
    node "$ROOT/bench/playground/bench.mjs" "$ROOT/artifacts/bench-playground" "$@"
    ;;
  bench-sweep)
    # ASHA pruning vs the plain grid on data/names.txt (heads {1,2,4} x layers {1,2,3}, 18 epochs): total epochs and best.
    build_native; build_dotnet
    out="$ROOT/artifacts/bench-sweep"; mkdir -p "$out"
    for pruner in none asha; do
      cli sweep --data "$ROOT/data/names.txt" --heads 1,2,4 --layers 1,2,3 --dim 32 --ff 64 --lr 0.003 --epochs 18 \
        --dropout 0 --weight-decay 0 --norm post --activation relu --warmup 0 --schedule constant --batch-size 16 \
        --patience 0 --repeat-top 0 --prune-after 1 \
        --tuner grid --pruner "$pruner" --seed 11 --json --quiet --report "$out/$pruner.csv" > "$out/$pruner.json"
    done
    python3 - "$out" <<'PY'
import json, sys
grid, asha = (json.load(open(f"{sys.argv[1]}/{p}.json")) for p in ("none", "asha"))
print(f"grid: {grid['totalEpochs']} epochs, best {grid['best']} {grid['bestValidationLoss']:.4f}")
print(f"ASHA: {asha['totalEpochs']} epochs, best {asha['best']} {asha['bestValidationLoss']:.4f}")
print(f"epoch ratio ASHA/grid: {asha['totalEpochs'] / grid['totalEpochs']:.2f}; best-loss gap {asha['bestValidationLoss'] - grid['bestValidationLoss']:+.4f}")
PY
    ;;
  bench-sweep-target)
    # Issue 13: the default `sweep` on the training part of data/names.txt split as the PyTorch reference splits it,
    # 9 minutes of sweep (the top 3 refits and start-up fill the 10), the saved ensemble evaluated on the test part; one run per seed.
    build_native; build_dotnet
    MLT_CLI="$ROOT/src/Cli/bin/$CONFIGURATION/net10.0/mlnet-transformer.dll" "$ROOT/bench/sweep_target.sh" "$@"
    ;;
  bench-sweep-store)
    # Issue 23: 2 sweep workers sharing a study store vs 1 process (SQLite), and 1 vs 2 "machines" on PostgreSQL.
    build_native; apt_ensure postgresql; build_dotnet
    MLT_CLI="$ROOT/src/Cli/bin/$CONFIGURATION/net10.0/mlnet-transformer.dll" "$ROOT/bench/sweep_store/run.sh" "$@"
    ;;
  *) echo "usage: ./build.sh demo|test|build|native|bench|bench-scale|bench-scoring|bench-sweep|bench-sweep-target|bench-sweep-store|bench-distributed|bench-playground|bench-corpus|pack|packaged-example" >&2; exit 2 ;;
esac
