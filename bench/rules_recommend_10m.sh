#!/usr/bin/env bash
# Rules and recommendations at scale (target: <= 10 s each end to end,
# <= 1.5 GB): 10,000,000 order rows of 1,000,000 customers over 1,000
# products with co-purchase structure (bench/gen_baskets.py).
# usage: bench/rules_recommend_10m.sh [ROWS] [CUSTOMERS] ; RUNS=3 by default.
# The peer (mlxtend) cannot one-hot millions of baskets in memory; its
# equality with crmtop is tested on its own fixture (tests/, bench/rules_mlxtend.py).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-10000000}
CUST=${2:-1000000}
RUNS=${RUNS:-3}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
cargo build --release -q
CSV="$OUT/baskets_${ROWS}.csv"
DB="$OUT/baskets_${ROWS}.db"
[ -f "$CSV" ] || python3 bench/gen_baskets.py "$ROWS" "$CUST" 1000 "$CSV"
if [ ! -f "$DB" ]; then
    target/release/crmtop import --db "$DB" orders "$CSV" > "$OUT/baskets_import.log" 2>&1
fi
sync; sleep 3
run() { # label, command...
    local label=$1; shift
    local times=() mems=()
    for i in $(seq "$RUNS"); do
        sync; sleep 2
        /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$@" > "$OUT/$label.out"
        read -r t m < "$OUT/time.txt"
        times+=("$t"); mems+=("$m")
        echo "$label run $i: $t s, $((m / 1024)) MB"
    done
    local median
    median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    local peak
    peak=$(printf '%s\n' "${mems[@]}" | sort -n | tail -1)
    echo "$label median: $median s, peak $((peak / 1024)) MB"
}
run rules target/release/crmtop --db "$DB" rules --json --limit 0
run recommend target/release/crmtop --db "$DB" recommend --json --limit 100
echo "rules found: $(grep -o '"lift"' "$OUT/rules.out" | wc -l)"
python3 -c 'import json,sys; print("evaluation:", json.load(open(sys.argv[1]))["evaluation"])' "$OUT/recommend.out"
