#!/usr/bin/env bash
# End-to-end `crmtop train` and `crmtop clv` on a 1,000,000-customer demo
# database (targets: <= 15 s and <= 1.5 GB peak each). Every run starts from
# a copy of the same fresh demo database (a first training, as a user's), so
# runs are comparable; wall time and peak resident memory come from
# /usr/bin/time, the phases from CRMTOP_PROGRESS=1.
# usage: bench/train_clv_1m.sh ; RUNS=3 by default.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
cargo build --release -q
BASE="$OUT/demo_1m_base.db"
if [ ! -f "$BASE" ]; then
    target/release/crmtop demo --db "$BASE" --customers 1000000 --seed 1 --as-of 2026-06-30
fi
RUN="$OUT/train_run.db"
source bench/lib.sh
for cmd in train clv; do
    walls=(); rss=()
    for i in $(seq "$RUNS"); do
        rm -f "$RUN" "$RUN-wal" "$RUN-shm"
        cp "$BASE" "$RUN"
        # clv is measured on a database that has its first model, as in use.
        if [ "$cmd" = clv ]; then target/release/crmtop train --db "$RUN" > /dev/null; fi
        sync; sleep 3
        CRMTOP_PROGRESS=1 /usr/bin/time -f "%e %M" -o "$OUT/time.txt" \
            target/release/crmtop "$cmd" --db "$RUN" > /dev/null 2> "$OUT/${cmd}_run$i.log"
        read -r w m < "$OUT/time.txt"
        walls+=("$w"); rss+=("$m")
        echo "$cmd run $i: $w s, peak RSS $((m / 1024)) MB"
    done
    echo "$cmd median: $(printf '%s\n' "${walls[@]}" | median) s, peak RSS median $(( $(printf '%s\n' "${rss[@]}" | median) / 1024 )) MB"
done
rm -f "$RUN" "$RUN-wal" "$RUN-shm"
