#!/usr/bin/env bash
# Demo generation time for 1,000,000 customers (target: <= 60 s).
# usage: bench/demo_1m.sh [CUSTOMERS] ; RUNS=3 by default.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
RUNS=${RUNS:-3}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
cargo build --release -q
times=()
for i in $(seq "$RUNS"); do
    rm -f "$OUT/demo.db" "$OUT/demo.db-wal" "$OUT/demo.db-shm" "$OUT/demo.db-journal"
    sync; sleep 3
    start=$(date +%s.%N)
    target/release/crmtop demo --db "$OUT/demo.db" --customers "$N" --seed 1 --as-of 2026-06-30
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc)
    times+=("$t")
    echo "run $i: $t s"
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "median: $median s for $N customers"
