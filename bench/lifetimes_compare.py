#!/usr/bin/env python3
"""lifetimes' BetaGeoFitter and GammaGammaFitter on the same summaries as
`cargo bench --bench clv_fit` (target/bench-data/clv_1m.csv), at 100,000 and
1,000,000 customers; and on CDNOW, where both should give FHL's estimates.

usage: cargo bench --bench clv_fit && python3 bench/lifetimes_compare.py [CDNOW_SUMMARY_CSV]
"""
import os
import sys
import time
import warnings

import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter

warnings.filterwarnings("ignore")
here = os.path.dirname(__file__)
df = pd.read_csv(os.path.join(here, "..", "target", "bench-data", "clv_1m.csv"))

for n in (100_000, 1_000_000):
    d = df.iloc[:n]
    t = time.perf_counter()
    bgf = BetaGeoFitter().fit(d["frequency"], d["recency"], d["T"])
    t_bg = time.perf_counter() - t
    rep = d[(d["frequency"] > 0) & (d["monetary_value"] > 0)]
    t = time.perf_counter()
    ggf = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    t_gg = time.perf_counter() - t
    p = bgf.params_
    print(f"lifetimes, {n:>9,} customers: BG/NBD {t_bg:6.2f} s (r {p['r']:.4f} alpha {p['alpha']:.4f} "
          f"a {p['a']:.4f} b {p['b']:.4f}), Gamma-Gamma {t_gg:6.2f} s")

if len(sys.argv) > 1:
    s = pd.read_csv(sys.argv[1])
    bgf = BetaGeoFitter().fit(s["x"], s["t_x"], s["T"])
    print("lifetimes on CDNOW (2-decimal summary):", bgf.params_.round(4).to_dict(),
          "LL", round(bgf._negative_log_likelihood_ * -len(s), 2) if hasattr(bgf, "_negative_log_likelihood_") else "")
    rep = s[s["x"] > 0]
    ggf = GammaGammaFitter().fit(rep["x"], rep["zbar"])
    print("lifetimes Gamma-Gamma on CDNOW:", ggf.params_.round(4).to_dict())
