#!/usr/bin/env bash
# Characters per second of `generate` with the key/value cache against --no-cache, on one model trained briefly on
# Debian's fortunes (4 layers, 4 heads, d 128, context 256: the cost without a cache grows with the context).
# Alternates the two over ROUNDS rounds and prints each run, the medians, their ratio and the load average.
# Usage: run.sh OUT_DIR CLI... (the CLI command as build.sh's `cli`); environment: MLT_BENCH_ROUNDS (3),
# MLT_BENCH_CHARS (256), MLT_BENCH_STEPS (10 training steps).
set -euo pipefail
out=$1; shift
rounds=${MLT_BENCH_ROUNDS:-3}; chars=${MLT_BENCH_CHARS:-256}; steps=${MLT_BENCH_STEPS:-10}
mkdir -p "$out"
find /usr/share/games/fortunes -maxdepth 1 -type f ! -name '*.dat' ! -name '*.u8' | LC_ALL=C sort | xargs cat | grep -v '^%$' > "$out/fortunes.txt"
"$@" train --corpus "$out/fortunes.txt" --context-length "$chars" --max-steps "$steps" --eval-every "$steps" --batch-size 8 \
  --layers 4 --heads 4 --dim 128 --ff 512 --seed 1 --device cpu --threads 1 --out "$out/model.zip" --quiet > /dev/null
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  for mode in cache no-cache; do
    flag=(); [ "$mode" = no-cache ] && flag=(--no-cache)
    "$@" generate --model "$out/model.zip" --max-chars "$chars" --count 2 --seed "$r" --temperature 0.8 "${flag[@]}" --json \
      > "$out/$mode-$r.json"
  done
  cmp -s <(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["samples"])' "$out/cache-$r.json") \
         <(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["samples"])' "$out/no-cache-$r.json") \
    || { echo "round $r: the samples differ with and without the cache" >&2; exit 1; }
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
rate = {m: [json.load(open(f"{out}/{m}-{r}.json"))["charactersPerSecond"] for r in range(1, rounds + 1)] for m in ("cache", "no-cache")}
chars = json.load(open(f"{out}/cache-1.json"))["generatedCharacters"]
for m, v in rate.items():
    print(f"{m:9} characters/s: median {statistics.median(v):,.0f} (range {min(v):,.0f}-{max(v):,.0f}) over {rounds} runs of {chars} characters")
print(f"cache / no cache: {statistics.median(rate['cache']) / statistics.median(rate['no-cache']):.1f}x (samples identical in every round)")
PY
