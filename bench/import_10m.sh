#!/usr/bin/env bash
# Import throughput on a 10,000,000-row orders file (target: >= 300,000 rows/s).
# usage: bench/import_10m.sh [ROWS] ; RUNS=3 by default. Needs python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-10000000}
RUNS=${RUNS:-3}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
cargo build --release -q
CSV="$OUT/orders_${ROWS}.csv"
[ -f "$CSV" ] || python3 bench/gen_orders.py "$ROWS" $((ROWS / 10)) "$CSV"
times=()
for i in $(seq "$RUNS"); do
    rm -f "$OUT/import.db" "$OUT/import.db-wal" "$OUT/import.db-shm" "$OUT/import.db-journal"
    # Let the previous run's writes reach the disk first.
    sync; sleep 3
    start=$(date +%s.%N)
    CRMTOP_PROGRESS=1 target/release/crmtop import --db "$OUT/import.db" orders "$CSV" > "$OUT/import_run$i.log" 2>&1
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc)
    times+=("$t")
    echo "run $i: $t s, $(echo "$ROWS / $t" | bc) rows/s"
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "median: $median s for $ROWS rows = $(echo "$ROWS / $median" | bc) rows/s"
