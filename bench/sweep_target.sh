#!/usr/bin/env bash
# The sweep target of issue 13: split data/names.txt as the PyTorch reference does (Python's random.seed(42),
# random.shuffle, first 80% train), sweep the training part with the default search space for 9 minutes (the refits
# of the top 3 configurations, averaged into one model, and start-up fill the 10), evaluate the saved model on the test
# part and print its log-loss (and each ensemble member's alone).
#   bench/sweep_target.sh [SEED...]      (default seed 42; one sweep per seed, one after the other)
# Environment: MLT_CLI (default: the Release build's mlnet-transformer.dll), PYTHON (default /usr/bin/python3),
#              BUDGET (sweep seconds, default 540), OUT (default artifacts/sweep-target).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
BUDGET=${BUDGET:-540}
OUT=${OUT:-$ROOT/artifacts/sweep-target}
CLI=${MLT_CLI:-$ROOT/src/Cli/bin/Release/net10.0/mlnet-transformer.dll}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
export MLT_NATIVE_LIBRARY=${MLT_NATIVE_LIBRARY:-$ROOT/artifacts/native/libmlt.so}
mkdir -p "$OUT"
"$PYTHON" - "$ROOT/data/names.txt" "$OUT" <<'PY'
import random, sys
names = [line.strip() for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
random.seed(42)
random.shuffle(names)
split = int(len(names) * 0.8)
for part, rows in (("train", names[:split]), ("test", names[split:])):
    with open(f"{sys.argv[2]}/{part}.txt", "w", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")
print(f"split: {split} train, {len(names) - split} test names", file=sys.stderr)
PY
seeds=("$@"); [ ${#seeds[@]} -eq 0 ] && seeds=(42)
for seed in "${seeds[@]}"; do
  echo "seed $seed: load before: $(uptime | sed 's/.*load average: //')"
  start=$(date +%s)
  # A fresh sweep each time: the study the sweep keeps beside --out would otherwise resume (and find its budget spent).
  rm -f "$OUT/best-$seed.study.db" "$OUT/best-$seed.study.db-wal" "$OUT/best-$seed.study.db-shm"
  dotnet "$CLI" sweep --data "$OUT/train.txt" --time-budget "$BUDGET" --seed "$seed" --quiet \
    --out "$OUT/best-$seed.zip" --report "$OUT/sweep-$seed.csv" --report-json "$OUT/sweep-$seed.json" > "$OUT/sweep-$seed.txt"
  end=$(date +%s)
  tail -n 2 "$OUT/sweep-$seed.txt"
  test_line=$(dotnet "$CLI" evaluate --model "$OUT/best-$seed.zip" --data "$OUT/test.txt")
  echo "seed $seed: sweep + refit $((end - start)) s, load after: $(uptime | sed 's/.*load average: //')"
  echo "seed $seed: TEST $test_line"
done
