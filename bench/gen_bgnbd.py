#!/usr/bin/env python3
"""Transactions of N customers drawn from BG/NBD (CDNOW-like parameters:
r 0.24, alpha 4.4 weeks, a 0.79, b 2.43) over a 78-week window, first
purchases spread over the first 12 weeks; spend per transaction from
Gamma-Gamma (p 6.25, q 3.74, gamma 15.44). Deterministic for a seed.

usage: bench/gen_bgnbd.py N OUT.csv [SEED]
"""
import sys

import numpy as np

n = int(sys.argv[1])
out = sys.argv[2]
rng = np.random.default_rng(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
start = np.datetime64("1997-01-01")
weeks = 78.0
lam = rng.gamma(0.2426, 1 / 4.4136, n)  # purchases per week
p = rng.beta(0.7929, 2.4259, n)
nu = rng.gamma(3.7442, 1 / 15.4435, n)  # Gamma-Gamma: spend scale per customer
first = rng.uniform(0, 12, n)
cust, week = [np.arange(n)], [first]
t = first.copy()
alive = np.ones(n, dtype=bool)
while alive.any():
    idx = np.nonzero(alive)[0]
    t[idx] += rng.exponential(1 / np.maximum(lam[idx], 1e-9))
    ok = t[idx] < weeks
    idx = idx[ok]
    cust.append(idx)
    week.append(t[idx])
    alive[:] = False
    alive[idx] = rng.random(len(idx)) >= p[idx]
cust = np.concatenate(cust)
week = np.concatenate(week)
amount = np.round(rng.gamma(6.2496, 1 / nu[cust]), 2) + 0.01
day = start + (week * 7).astype("timedelta64[D]")
order = np.lexsort((day, cust))
with open(out, "w") as f:
    f.write("customer_id,date,amount\n")
    for c, d, a in zip(cust[order], day[order].astype(str), amount[order]):
        f.write(f"S{c:07d},{d},{a:.2f}\n")
print(f"{len(cust):,} transactions of {n:,} customers -> {out}")
