#!/usr/bin/env bash
# `crmtop train` on the same customers in a SQLite file and on a PostgreSQL
# server, side by side (issue 16's target: the server within 1.5x of the
# file). FILE is a crmtop file (e.g. the 1,000,000-customer demo:
# `crmtop demo --customers 1000000 --db FILE`); URL a database holding the
# same data (`crmtop migrate --from FILE --to URL`). Runs alternate, RUNS
# times each (3 by default); medians, peak memory and the ratio are printed.
# usage: bench/train_pg.sh FILE URL
set -euo pipefail
cd "$(dirname "$0")/.."
FILE=${1:?usage: bench/train_pg.sh FILE URL}
URL=${2:?usage: bench/train_pg.sh FILE URL}
RUNS=${RUNS:-3}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
cargo build --release -q
BIN=target/release/crmtop
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
f=(); p=()
for i in $(seq "$RUNS"); do
    for side in file server; do
        db=$FILE; [ "$side" = server ] && db=$URL
        sync; sleep 3
        CRMTOP_PROGRESS=1 /usr/bin/time -f "%e %M" -o "$OUT/time.txt" \
            "$BIN" --db "$db" train > /dev/null 2> "$OUT/train_pg_${side}_run$i.log"
        read -r w m < "$OUT/time.txt"
        if [ "$side" = file ]; then f+=("$w"); else p+=("$w"); fi
        echo "run $i $side: $w s, peak $((m / 1024)) MB"
    done
done
mf=$(printf '%s\n' "${f[@]}" | median); mp=$(printf '%s\n' "${p[@]}" | median)
echo "train: SQLite median $mf s, PostgreSQL median $mp s, ratio $(python3 -c "print(f'{$mp/$mf:.2f}')") (target <= 1.5)"
echo "phases of the last server run:"; cat "$OUT/train_pg_server_run$RUNS.log"
