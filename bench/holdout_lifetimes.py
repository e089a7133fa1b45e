#!/usr/bin/env python3
"""The reference of tests/clv.rs cdnow_holdout_equals_lifetimes: lifetimes'
calibration_and_holdout_data + BetaGeoFitter on the CDNOW sample (39 weeks
of calibration, 39 of holdout). lifetimes 0.11.3 needs pandas < 2:
  python3 -m venv /tmp/lt && /tmp/lt/bin/pip install "numpy<2" "pandas==1.5.3" "scipy<1.13" lifetimes
  /tmp/lt/bin/python bench/holdout_lifetimes.py
"""
import pandas as pd, numpy as np, warnings
warnings.filterwarnings("ignore")
from lifetimes.utils import calibration_and_holdout_data
from lifetimes import BetaGeoFitter
import os
tx = pd.read_csv(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'fixtures', 'cdnow_sample.csv'), dtype={'customer_id': str})
tx['date'] = pd.to_datetime(tx['date'].astype(str), format='%Y%m%d')
s = calibration_and_holdout_data(tx, 'customer_id', 'date', calibration_period_end='1997-09-30',
        observation_period_end='1998-06-30', freq='D', freq_multiplier=7)
print(len(s))
print(s.describe().to_string())
bgf = BetaGeoFitter().fit(s['frequency_cal'], s['recency_cal'], s['T_cal'])
print(bgf.params_.to_dict())
s['pred'] = bgf.conditional_expected_number_of_purchases_up_to_time(s['duration_holdout'], s['frequency_cal'], s['recency_cal'], s['T_cal'])
s['f'] = s['frequency_cal'].clip(upper=7)
g = s.groupby('f').agg(n=('pred','size'), actual=('frequency_holdout','mean'), pred=('pred','mean'))
pd.set_option('display.precision', 8)
print(g.to_string())
print('total actual', s['frequency_holdout'].sum(), 'pred', repr(s['pred'].sum()))
print('MAE', repr((s['pred']-s['frequency_holdout']).abs().mean()), 'RMSE', repr(np.sqrt(((s['pred']-s['frequency_holdout'])**2).mean())))
print(s['duration_holdout'].unique()[:3])
# Period transactions: customers by repeat purchases in calibration, actual
# and expected (sum over customers of P(X(T_i) = x)).
act = s['frequency_cal'].clip(upper=7).value_counts().sort_index()
exp = [sum(bgf.probability_of_n_purchases_up_to_time(t, x) for t in s['T_cal']) for x in range(7)]
print('period actual', act.to_dict())
print('period expected', [repr(v) for v in exp], '7+', repr(len(s) - sum(exp)))
