#!/usr/bin/env python3
"""Compare crmtop's unpenalised logistic fit with statsmodels' Logit on the
numeric columns of the IBM Telco file, and crmtop's 5-fold CV AUC with
scikit-learn's LogisticRegression on one-hot features.

usage: bench/telco_statsmodels.py TELCO_CSV [CRMTOP_BINARY]
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
import statsmodels.api as sm
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.preprocessing import StandardScaler
from sklearn.pipeline import make_pipeline

csv = sys.argv[1]
binary = sys.argv[2] if len(sys.argv) > 2 else "target/release/crmtop"
df = pd.read_csv(csv)
df["TotalCharges"] = pd.to_numeric(df["TotalCharges"], errors="coerce")
y = (df["Churn"] == "Yes").astype(int)

# --- statsmodels on the numeric columns (TotalCharges' 11 blanks: mean-imputed, as crmtop does)
num = ["SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges"]
X = df[num].copy()
X["TotalCharges"] = X["TotalCharges"].fillna(X["TotalCharges"].mean())
res = sm.Logit(y, sm.add_constant(X)).fit(disp=0)
print("statsmodels Logit on", ", ".join(num))
print(res.summary2().tables[1][["Coef.", "Std.Err.", "z"]])

with tempfile.TemporaryDirectory() as d:
    sub = os.path.join(d, "numeric.csv")
    out = df[["customerID", "Churn"] + num].copy()
    out.to_csv(sub, index=False)
    db = os.path.join(d, "t.db")
    subprocess.run([binary, "import", "--db", db, "customers", sub], check=True, capture_output=True)
    r = subprocess.run([binary, "train", "--db", db, "--l2", "0", "--holdout", "0", "--json"],
                       check=True, capture_output=True, text=True)
    rep = json.loads(r.stdout)
raw = {c["feature"]: c for c in rep["coefficients_raw"]}
names = {"const": "(intercept)"}
worst = 0.0
print("\nfeature            statsmodels z      crmtop z   relative diff")
for k in ["const"] + num:
    ours = raw[names.get(k, k)]["z"]
    theirs = res.tvalues[k]
    rel = abs(ours - theirs) / abs(theirs)
    worst = max(worst, rel)
    print(f"{k:<16} {theirs:>14.6f} {ours:>13.6f} {rel:>14.2e}")
print(f"largest relative difference of z: {worst:.2e} (target < 1e-3)")

# --- scikit-learn CV AUC on one-hot features (the peer of `crmtop train --cv 5`)
cat = [c for c in df.columns if c not in num + ["customerID", "Churn"]]
Xo = pd.get_dummies(df[cat], drop_first=True).astype(float)
Xo = pd.concat([X, Xo], axis=1)
clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
aucs = cross_val_score(clf, Xo, y, cv=StratifiedKFold(5, shuffle=True, random_state=0), scoring="roc_auc")
print(f"\nscikit-learn LogisticRegression one-hot, 5-fold CV AUC: {aucs.mean():.4f} ± {aucs.std():.4f}")
