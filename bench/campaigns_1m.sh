#!/usr/bin/env bash
# Campaign creation and report at 1,000,000 customers (targets: create
# <= 2 s, report <= 1 s). The demo database is made once (trained and
# fitted, with its two past campaigns); each run creates a campaign over
# every customer not lapsed on a copy, then reports a campaign of the same
# size whose window the data cover (started 2026-02-01).
# usage: bench/campaigns_1m.sh [CUSTOMERS] ; RUNS=3 by default.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
RUNS=${RUNS:-3}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
cargo build --release -q
BASE="$OUT/campaigns_base_$N.db"
DB="$OUT/campaigns_$N.db"
B=target/release/crmtop
if [ ! -f "$BASE" ]; then
    $B demo --db "$BASE" --customers "$N" --seed 1 --as-of 2026-06-30 > /dev/null
    $B --db "$BASE" campaign create past --action call --control 0.2 --start 2026-02-01 > /dev/null
fi
source bench/lib.sh
creates=(); reports=()
for i in $(seq "$RUNS"); do
    cp "$BASE" "$DB"; sync; sleep 3
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" $B --db "$DB" campaign create "bench$i" --action call --control 0.2 > "$OUT/create.out"
    read -r t m < "$OUT/time.txt"; creates+=("$t")
    echo "create run $i: $t s, $((m / 1024)) MB; $(head -1 "$OUT/create.out" | grep -o '[0-9]* treated, [0-9]* control')"
    sync; sleep 2
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" $B --db "$DB" campaign report past --json > "$OUT/report.json"
    read -r t m < "$OUT/time.txt"; reports+=("$t")
    echo "report run $i: $t s, $((m / 1024)) MB"
done
echo "create median: $(printf '%s\n' "${creates[@]}" | median) s (target 2 s)"
echo "report median: $(printf '%s\n' "${reports[@]}" | median) s (target 1 s)"
