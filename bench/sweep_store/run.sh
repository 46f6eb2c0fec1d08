#!/usr/bin/env bash
# Issue 23's targets, measured in one run on this machine:
#  1. the same 24-trial study (a grid, fixed epochs, no pruning, 1 thread per trial) finished by 1 sweep process and
#     by 2 worker processes sharing a SQLite study store: wall times and their ratio (target <= 0.6);
#  2. the same trials on a throwaway PostgreSQL server: 1 process against 2 processes in separate working folders,
#     whose leaderboards (trial, configuration, validation loss) must be equal.
# Environment: MLT_CLI (the built mlnet-transformer.dll), MLT_BENCH_EPOCHS (default 80: trials of about 2.4 s here; at
# 20, trials of 0.6 s, each worker's second of start-up weighs on the ratio), MLT_BENCH_ROUNDS (default 3).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out="$ROOT/artifacts/bench-sweep-store"; rm -rf "$out"; mkdir -p "$out"
epochs=${MLT_BENCH_EPOCHS:-80}
rounds=${MLT_BENCH_ROUNDS:-3}
cli() { dotnet "$MLT_CLI" "$@"; }
# A 24-point grid (heads 1,2 x layers 1,2 x learning rates 3 x batch 16,32); every trial trains $epochs epochs.
args=(--data "$ROOT/data/names.txt" --heads 1,2 --layers 1,2 --dim 32 --ff-ratio 2 --dropout 0 --lr 0.001,0.002,0.004 --weight-decay 0
  --norm pre --activation relu --warmup 0 --schedule constant --batch-size 16,32 --epochs "$epochs" --patience 0 --tuner grid
  --pruner none --repeat-top 0 --ensemble 1 --refit best-trial --threads-per-trial 1 --seed 3 --trials 24 --json --quiet)
now() { date +%s.%N; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "load average before: $(load) on $(nproc) cores"
# Alternated rounds (1 process, then 2 workers, each on a fresh store), so that a change of load hits both alike.
# Bash's `time` gives wall, user and system seconds of everything a run started: the CPU seconds show whether the
# workers do more work than one process (the store's overhead) apart from how the machine's load shares the cores.
TIMEFORMAT='%R %U %S'
for round in $(seq 1 "$rounds"); do
  one=$( { time cli sweep "${args[@]}" --storage "sqlite:///$out/one-$round.db" --study bench > "$out/one-$round.json" 2> "$out/one-$round.err"; } 2>&1 )
  two=$( { time (
    cli sweep "${args[@]}" --storage "sqlite:///$out/two-$round.db" --study bench > "$out/two-$round-a.json" 2> "$out/two-$round-a.err" &
    cli sweep "${args[@]}" --storage "sqlite:///$out/two-$round.db" --study bench > "$out/two-$round-b.json" 2> "$out/two-$round-b.err" &
    wait
  ); } 2>&1 )
  python3 - "$round" "$one" "$two" "$(load)" <<'PY'
import sys
r = sys.argv[1]
(w1, u1, s1), (w2, u2, s2) = (map(float, a.split()) for a in sys.argv[2:4])
print(f"SQLite round {r}, 24 trials: 1 process {w1:.1f} s wall ({u1 + s1:.1f} s CPU), 2 worker processes {w2:.1f} s wall "
      f"({u2 + s2:.1f} s CPU), wall ratio {w2 / w1:.2f} (target <= 0.6), CPU ratio {(u2 + s2) / (u1 + s1):.2f}; load average after: {sys.argv[4]}")
PY
done

# PostgreSQL: a throwaway server on 127.0.0.1 (as the postgres user when run as root), stopped on exit.
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "PostgreSQL is not installed: skipping its half"; exit 0; }
pg=$(mktemp -d /tmp/mlt-bench-pg.XXXXXX)
as=()
if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$pg"; as=(runuser -u postgres --); fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as[@]}" "$bin/initdb" -D "$pg/data" -A trust -U postgres --no-sync >/dev/null
"${as[@]}" "$bin/pg_ctl" -D "$pg/data" -l "$pg/log" -w -o "-p $port -k $pg -c listen_addresses=127.0.0.1" start >/dev/null
trap '"${as[@]}" "$bin/pg_ctl" -D "$pg/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$pg"' EXIT
for db in one two; do "${as[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"; done
url="postgresql://postgres@127.0.0.1:$port"
cli sweep "${args[@]}" --storage "$url/one" --study bench > "$out/pg-one.json"
mkdir -p "$out/machine-a" "$out/machine-b"
(cd "$out/machine-a" && cli sweep "${args[@]}" --storage "$url/two" --study bench > pg-two.json) &
a=$!
(cd "$out/machine-b" && cli sweep "${args[@]}" --storage "$url/two" --study bench > pg-two.json) &
b=$!
wait $a; wait $b
cli sweep --storage "$url/one" --study bench --json > "$out/pg-one-report.json"
cli sweep --storage "$url/two" --study bench --json > "$out/pg-two-report.json"
echo "load average after PostgreSQL: $(load)"
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
one, two = (json.load(open(f"{out}/pg-{n}-report.json")) for n in ("one", "two"))
rows = lambda r: [(e["id"], e["parameters"], e["validationLoss"]) for e in r["leaderboard"]]
ran = [json.load(open(f"{out}/machine-{m}/pg-two.json"))["ranHere"] for m in "ab"]
same = rows(one) == rows(two)
print(f"PostgreSQL: 1 process ranked {len(rows(one))} trials; 2 processes (separate folders) ran {len(ran[0])} + {len(ran[1])} and ranked {len(rows(two))}; "
      f"leaderboards {'identical' if same else 'DIFFERENT'} (best {rows(one)[0][1]} {rows(one)[0][2]:.6f})")
sys.exit(0 if same else 1)
PY
