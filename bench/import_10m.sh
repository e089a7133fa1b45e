#!/usr/bin/env bash
# Import throughput on a 10,000,000-row orders file (targets: >= 500,000
# rows/s on SQLite, issue 12; >= 300,000 with COPY on PostgreSQL, issue 16).
# KEYS=scattered gives the orders ids in no order (as ids from a hash or
# UUIDs are), which costs a page of the key index per row. With PG set to a
# server's URL (a database this user may create databases from, e.g.
# `eval "$(.ci/pg start)"; PG=$CRMTOP_TEST_PG`), each run also imports the
# same file into a new database there, and the two are printed side by side.
# usage: [PG=URL] [KEYS=scattered] bench/import_10m.sh [ROWS] ; RUNS=3 by default. Needs python3 (and psql for PG).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-10000000}
RUNS=${RUNS:-3}
OUT=${OUT:-bench/out}
PG=${PG:-}
mkdir -p "$OUT"
cargo build --release -q
KEYS=${KEYS:-}
if [ "$KEYS" = scattered ]; then
    CSV="$OUT/orders_${ROWS}_scattered.csv"
    [ -f "$CSV" ] || python3 bench/gen_orders.py "$ROWS" $((ROWS / 10)) "$CSV" --scattered-ids
else
    CSV="$OUT/orders_${ROWS}.csv"
    [ -f "$CSV" ] || python3 bench/gen_orders.py "$ROWS" $((ROWS / 10)) "$CSV"
fi
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
times=(); pg_times=()
for i in $(seq "$RUNS"); do
    rm -f "$OUT/import.db" "$OUT/import.db-wal" "$OUT/import.db-shm" "$OUT/import.db-journal"
    # Let the previous run's writes reach the disk first.
    sync; sleep 3
    start=$(date +%s.%N)
    CRMTOP_PROGRESS=1 target/release/crmtop import --db "$OUT/import.db" orders "$CSV" > "$OUT/import_run$i.log" 2>&1
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc)
    times+=("$t")
    line="run $i: SQLite $t s, $(echo "$ROWS / $t" | bc) rows/s"
    if [ -n "$PG" ]; then
        db="crmtop_import_bench"
        psql -q "$PG" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
        url="${PG%/*}/$db"
        sync; sleep 3
        start=$(date +%s.%N)
        CRMTOP_PROGRESS=1 target/release/crmtop --db "$url" import orders "$CSV" > "$OUT/import_pg_run$i.log" 2>&1
        end=$(date +%s.%N)
        p=$(echo "$end - $start" | bc)
        pg_times+=("$p")
        psql -q "$PG" -c "DROP DATABASE $db" >/dev/null 2>&1
        line="$line; PostgreSQL (COPY) $p s, $(echo "$ROWS / $p" | bc) rows/s"
    fi
    echo "$line"
done
m=$(printf '%s\n' "${times[@]}" | median)
echo "SQLite median: $m s for $ROWS rows = $(echo "$ROWS / $m" | bc) rows/s"
if [ -n "$PG" ]; then
    p=$(printf '%s\n' "${pg_times[@]}" | median)
    echo "PostgreSQL median: $p s = $(echo "$ROWS / $p" | bc) rows/s; PostgreSQL/SQLite throughput $(echo "scale=2; $m / $p" | bc)"
fi
