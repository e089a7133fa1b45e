#!/usr/bin/env bash
# Two crmtop binaries side by side on a job (`train` by default, or `clv`):
# runs alternate A, B, A, B..., each after `sync` and a pause, with
# CRMTOP_PROGRESS=1 for the phases; prints every run and the medians of
# each phase and of the whole. Give B its own copy of the database when the
# binaries differ in schema (a newer one migrates the file, and an older one
# then refuses it).
# usage: bench/ab_pairs.sh BIN_A DB_A BIN_B DB_B [PAIRS] ; CMD=clv for CLV.
set -euo pipefail
A=$1; DBA=$2; B=$3; DBB=$4; N=${5:-3}
CMD=${CMD:-train}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
for i in $(seq "$N"); do
    for w in A B; do
        if [ "$w" = A ]; then bin=$A; db=$DBA; else bin=$B; db=$DBB; fi
        sync; sleep 4
        s=$(date +%s.%N)
        CRMTOP_PROGRESS=1 "$bin" "$CMD" --db "$db" > /dev/null 2> "$OUT/ab_${w}_$i.log"
        e=$(date +%s.%N)
        echo "total $(echo "$e - $s" | bc)" >> "$OUT/ab_${w}_$i.log"
    done
done
python3 - "$N" "$OUT" <<'PY'
import re, statistics, sys
n, out = int(sys.argv[1]), sys.argv[2]
def parse(f):
    d = {}
    for line in open(f):
        m = re.search(r'\] (.*) done in ([0-9.]+) s', line)
        if m:
            d[m.group(1)] = float(m.group(2))
        if line.startswith('total'):
            d['TOTAL'] = float(line.split()[1])
    return d
runs = {w: [parse(f'{out}/ab_{w}_{i}.log') for i in range(1, n + 1)] for w in 'AB'}
for k in runs['A'][0]:
    a = [r.get(k, 0) for r in runs['A']]
    b = [r.get(k, 0) for r in runs['B']]
    print(f"{k:28s} A {statistics.median(a):6.2f}  B {statistics.median(b):6.2f}   "
          f"A={'/'.join(f'{x:.2f}' for x in a)} B={'/'.join(f'{x:.2f}' for x in b)}")
PY
