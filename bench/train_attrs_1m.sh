#!/usr/bin/env bash
# Issue 12's side-by-side: 1,000,000 customers x 20 numeric attributes with
# an explicit churn label, as one CSV (22 columns: id, 20 attributes,
# churned). Measured in one script, RUNS times each, medians printed:
#   crmtop import customers FILE          rows/s
#   crmtop train                          wall, peak RSS, phases (CRMTOP_PROGRESS=1)
#   pandas read_csv + StandardScaler + LogisticRegression(C=1) + predict_proba
# and the ratio python/crmtop for train (>= 1 means crmtop is at least as fast).
# Needs: python3 with numpy, pandas, scikit-learn (pip install ...).
# usage: bench/train_attrs_1m.sh ; RUNS=3 by default; N=1000000.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
N=${N:-1000000}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
cargo build --release -q
BIN=target/release/crmtop
CSV="$OUT/attrs_${N}.csv"
if [ ! -f "$CSV" ]; then
    python3 - "$CSV" "$N" <<'PY'
import sys
import numpy as np
path, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(7)
X = rng.normal(size=(n, 20)) * rng.uniform(0.5, 30, size=20) + rng.uniform(-5, 50, size=20)
beta = rng.normal(scale=0.8, size=20)
z = ((X - X.mean(0)) / X.std(0)) @ beta * 0.4 - 0.3
y = (rng.uniform(size=n) < 1 / (1 + np.exp(-z))).astype(int)
with open(path, "w") as f:
    f.write("id," + ",".join(f"x{j:02d}" for j in range(20)) + ",churned\n")
    for i in range(0, n, 100_000):
        block = X[i:i + 100_000]
        lines = []
        for k, row in enumerate(block):
            lines.append(f"C{i + k:07d}," + ",".join(f"{v:.4f}" for v in row) + f",{y[i + k]}")
        f.write("\n".join(lines) + "\n")
PY
fi
source bench/lib.sh
DB="$OUT/attrs_run.db"
imp=(); trn=(); rss=(); py=()
for i in $(seq "$RUNS"); do
    rm -f "$DB" "$DB-wal" "$DB-shm"
    sync; sleep 3
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$BIN" import --db "$DB" customers "$CSV" > /dev/null
    read -r w _ < "$OUT/time.txt"; imp+=("$w")
    sync; sleep 3
    CRMTOP_PROGRESS=1 /usr/bin/time -f "%e %M" -o "$OUT/time.txt" \
        "$BIN" train --db "$DB" > /dev/null 2> "$OUT/train_attrs_run$i.log"
    read -r w m < "$OUT/time.txt"; trn+=("$w"); rss+=("$m")
    sync; sleep 3
    p=$(python3 - "$CSV" <<'PY'
import sys, time
t = time.perf_counter()
import pandas as pd
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
df = pd.read_csv(sys.argv[1])
X = StandardScaler().fit_transform(df.drop(columns=["id", "churned"]).values)
y = df["churned"].values
m = LogisticRegression(C=1.0, max_iter=1000).fit(X, y)
p = m.predict_proba(X)[:, 1]
print(f"{time.perf_counter() - t:.3f}")
PY
)
    py+=("$p")
    echo "run $i: import ${imp[-1]} s, train ${trn[-1]} s (peak $((m / 1024)) MB), pandas+scikit-learn $p s"
done
mi=$(printf '%s\n' "${imp[@]}" | median); mt=$(printf '%s\n' "${trn[@]}" | median)
mp=$(printf '%s\n' "${py[@]}" | median); mr=$(printf '%s\n' "${rss[@]}" | median)
echo "import customers: median $mi s = $(python3 -c "print(f'{$N/$mi:,.0f}')") rows/s (target >= 300,000)"
echo "train: crmtop median $mt s (peak RSS $((mr / 1024)) MB), pandas+scikit-learn median $mp s, ratio $(python3 -c "print(f'{$mp/$mt:.2f}')") (target >= 1)"
echo "phases of the last train run:"; cat "$OUT/train_attrs_run$RUNS.log"
rm -f "$DB" "$DB-wal" "$DB-shm"
