#!/usr/bin/env bash
# `crmtop clv` end to end against lifetimes' pipeline (read the transactions,
# summary_data_from_transaction_data, BG/NBD + Gamma-Gamma fits, CLV of every
# customer) on the same transactions of N customers drawn from BG/NBD
# (bench/gen_bgnbd.py; target: crmtop >= 25 x faster at 1,000,000).
# crmtop reads its database (the import is not timed: it is done once, when
# the data arrives); lifetimes reads the CSV (its data lives in files).
# usage: bench/clv_1m.sh [N] ; RUNS=3 by default. Needs python3 with lifetimes.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
RUNS=${RUNS:-3}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
source bench/lib.sh
cargo build --release -q
CSV="$OUT/bgnbd_$N.csv"
DB="$OUT/bgnbd_$N.db"
[ -f "$CSV" ] || python3 bench/gen_bgnbd.py "$N" "$CSV"
AS_OF=1998-06-30
if [ ! -f "$DB" ]; then
    target/release/crmtop import --db "$DB" orders "$CSV" > /dev/null
    target/release/crmtop doctor --db "$DB" --fix > /dev/null || true
fi
ours=(); theirs=(); rss=()
for i in $(seq "$RUNS"); do
    sync; sleep 3
    CRMTOP_PROGRESS=1 /usr/bin/time -f "%e %M" -o "$OUT/time.txt" \
        target/release/crmtop clv --db "$DB" --as-of "$AS_OF" > "$OUT/clv_run$i.out" 2> "$OUT/clv_run$i.log"
    read -r w m < "$OUT/time.txt"
    ours+=("$w"); rss+=("$m")
    echo "crmtop clv run $i: $w s, peak RSS $((m / 1024)) MB"
    sync; sleep 3
    python3 bench/clv_lifetimes_pipeline.py "$CSV" "$AS_OF" > "$OUT/lifetimes_run$i.out"
    t=$(awk '/^total/ {print $2}' "$OUT/lifetimes_run$i.out")
    theirs+=("$t")
    echo "lifetimes run $i: $t s ($(head -1 "$OUT/lifetimes_run$i.out"))"
done
mo=$(printf '%s\n' "${ours[@]}" | median)
mt=$(printf '%s\n' "${theirs[@]}" | median)
echo "clv at $N customers: crmtop median $mo s (peak RSS $(( $(printf '%s\n' "${rss[@]}" | median) / 1024 )) MB), lifetimes median $mt s, ratio $(python3 -c "print(f'{$mt/$mo:.1f}')") x (target >= 25)"
