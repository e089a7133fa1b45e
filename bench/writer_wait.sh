#!/usr/bin/env bash
# How long another writer (an agent's claim, a note) waits while a retrain
# runs: a probe opens its own connection and, every 50 ms, takes the write
# lock (BEGIN IMMEDIATE; COMMIT) and records how long that took. Run on a
# copy of DB with the OS cache dropped first (as after a reboot: the oldest
# kept version's scores, pruned by the retrain, are then cold), for each
# crmtop binary given.
# usage: bench/writer_wait.sh DB BINARY [BINARY...]   (as root: drops caches)
set -euo pipefail
DB=$1; shift
WORK=${WORK:-/tmp/writer_wait}
mkdir -p "$WORK"
for BIN in "$@"; do
    for run in 1 2 3; do
        cp "$DB" "$WORK/db"; rm -f "$WORK/db-wal" "$WORK/db-shm"
        sync; echo 3 > /proc/sys/vm/drop_caches; sleep 2
        python3 - "$WORK/db" > "$WORK/probe.txt" <<'PY' &
import sqlite3, sys, time, os
c = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
waits = []
stop = sys.argv[1] + ".stop"
while not os.path.exists(stop):
    t = time.perf_counter()
    c.execute("BEGIN IMMEDIATE"); c.execute("COMMIT")
    waits.append(time.perf_counter() - t)
    time.sleep(0.05)
waits.sort()
print(f"{len(waits)} {waits[len(waits) // 2] * 1000:.1f} {waits[-1] * 1000:.1f} {sum(w > 1 for w in waits)}")
PY
        probe=$!
        sleep 1
        CRMTOP_PROGRESS=1 /usr/bin/time -f "%e" -o "$WORK/time.txt" "$BIN" train --db "$WORK/db" > /dev/null 2> "$WORK/train.log"
        touch "$WORK/db.stop"; wait $probe; rm -f "$WORK/db.stop"
        read -r n med max over < "$WORK/probe.txt"
        prune=$(grep "removing old" "$WORK/train.log" | sed 's/.*done in //')
        echo "$(basename "$BIN") run $run: train $(cat "$WORK/time.txt") s (old versions removed in ${prune:-?}); another writer's wait: median ${med} ms, max ${max} ms, ${over} of ${n} over 1 s"
    done
done
