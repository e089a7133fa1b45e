#!/usr/bin/env python3
"""The reference of tests/survival.rs: lifelines' KaplanMeierFitter (with its
95% exponential-Greenwood bands) and log-rank tests on IBM Telco, tenure
until churn by contract. lifelines 0.27 needs pandas < 2:
  python3 -m venv /tmp/lt && /tmp/lt/bin/pip install "numpy<2" "pandas==1.5.3" "scipy<1.13" "lifelines<0.28"
  /tmp/lt/bin/python bench/survival_lifelines.py
"""
import pandas as pd, numpy as np, os
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test, logrank_test
df = pd.read_csv(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'fixtures', 'telco_contract.csv'))
df['E'] = (df['Churn'] == 'Yes').astype(int)
for g, d in df.groupby('Contract'):
    k = KaplanMeierFitter().fit(d['tenure'], d['E'])
    sf = k.survival_function_.iloc[:, 0]
    ci = k.confidence_interval_
    print(g, len(d), int(d['E'].sum()), 'median', k.median_survival_time_)
    for t in [0, 1, 2, 12, 24, 36, 48, 60, 72]:
        if t in sf.index:
            print('  ', t, repr(sf.loc[t]), repr(ci.loc[t].iloc[0]), repr(ci.loc[t].iloc[1]))
r = multivariate_logrank_test(df['tenure'], df['Contract'], df['E'])
print('logrank', repr(r.test_statistic), r.degrees_of_freedom, repr(r.p_value))
a = df[df.Contract == 'Month-to-month']; b = df[df.Contract == 'One year']
r2 = logrank_test(a['tenure'], b['tenure'], a['E'], b['E'])
print('logrank2', repr(r2.test_statistic), repr(r2.p_value))
