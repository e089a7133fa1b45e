#!/usr/bin/env python3
"""scikit-learn's LogisticRegression (lbfgs, C=1 = crmtop's --l2 1) on the
same 1,000,000 x 20 data as `cargo bench --bench churn_fit`, which writes it
to target/bench-data/fit_1m_20.bin. Prints the median of 5 fits, and the
coefficients, to compare with crmtop's IRLS fit on the same data.

usage: cargo bench --bench churn_fit && python3 bench/fit_sklearn.py
"""
import os
import statistics
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

N, D = 1_000_000, 20
path = os.path.join(os.path.dirname(__file__), "..", "target", "bench-data", "fit_1m_20.bin")
raw = open(path, "rb").read()
X = np.frombuffer(raw[: N * D * 8], dtype="<f8").reshape(N, D)
y = np.frombuffer(raw[N * D * 8 :], dtype=np.uint8).astype(int)
df = pd.DataFrame(X, columns=[f"x{j}" for j in range(D)])

times = []
for _ in range(5):
    t = time.perf_counter()
    m = LogisticRegression(C=1.0, solver="lbfgs", max_iter=1000, tol=1e-6).fit(df.values, y)
    times.append(time.perf_counter() - t)
print(f"scikit-learn lbfgs fit, 1M x 20: median {statistics.median(times):.3f} s "
      f"(min {min(times):.3f}, max {max(times):.3f}), {m.n_iter_[0]} iterations")
print("intercept", round(float(m.intercept_[0]), 6))
print("coef", np.round(m.coef_[0], 6).tolist())
