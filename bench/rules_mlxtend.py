#!/usr/bin/env python3
"""Reference outputs of mlxtend's fpgrowth + association_rules.

The Rust market-basket implementation is tested against these numbers.

Run (needs mlxtend, pandas, numpy; not needed by the Rust build or CI):
    python3 -m venv /tmp/mx && /tmp/mx/bin/pip install mlxtend pandas
    /tmp/mx/bin/python bench/rules_mlxtend.py > bench/out/rules_mlxtend.txt

It also (re)writes tests/fixtures/baskets.csv deterministically (numpy
RandomState(1)); pass --no-write to only print.

mlxtend definitions (frequent_patterns/fpcommon.py, association_rules.py):
  support(X)        = #baskets containing every item of X / #baskets
                      (fraction of transactions = rows of the one-hot frame);
                      itemset kept iff support >= min_support
                      (fpgrowth prunes by count >= ceil(min_support * N)).
  support(A->C)     = support(A u C)
  confidence(A->C)  = support(A u C) / support(A)
  lift(A->C)        = confidence(A->C) / support(C)
  Rules: for every frequent itemset I with |I| >= 2 and every non-empty proper
  subset A of I, the rule A -> I\\A is kept iff metric >= min_threshold.
  max_len caps the size of I (antecedent + consequent together).
"""

import datetime as _dt
import os
import sys

import numpy as np
import pandas as pd

import mlxtend
from mlxtend.frequent_patterns import association_rules, fpgrowth
from mlxtend.preprocessing import TransactionEncoder

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BASKETS_CSV = os.path.join(ROOT, "tests", "fixtures", "baskets.csv")

# mlxtend's own fixture (docs of fpgrowth/association_rules; same one-hot
# matrix as mlxtend/frequent_patterns/tests/test_fpbase.py and
# test_association_rules.py).  'Onion' appears twice in the last basket; the
# encoder collapses it.
DATASET = [
    ["Milk", "Onion", "Nutmeg", "Kidney Beans", "Eggs", "Yogurt"],
    ["Dill", "Onion", "Nutmeg", "Kidney Beans", "Eggs", "Yogurt"],
    ["Milk", "Apple", "Kidney Beans", "Eggs"],
    ["Milk", "Unicorn", "Corn", "Kidney Beans", "Yogurt"],
    ["Corn", "Onion", "Onion", "Kidney Beans", "Ice cream", "Eggs"],
]

# Column order of the one-hot matrix in mlxtend's tests; expected tables
# there use these column indices.
TEST_COLS = [
    "Apple", "Corn", "Dill", "Eggs", "Ice cream", "Kidney Beans", "Milk",
    "Nutmeg", "Onion", "Unicorn", "Yogurt",
]

# test_fpbase.py FPTestEx1All.test_default: fpalgo(df) with default
# min_support=0.5 -> (support, column indices)
EXPECTED_ITEMSETS_TEST = [
    (0.8, [3]), (1.0, [5]), (0.6, [6]), (0.6, [8]), (0.6, [10]),
    (0.8, [3, 5]), (0.6, [3, 8]), (0.6, [5, 6]), (0.6, [5, 8]),
    (0.6, [5, 10]), (0.6, [3, 5, 8]),
]

# test_association_rules.py test_default: apriori(df, min_support=0.6) then
# association_rules(freq, len(df)) with default metric confidence,
# min_threshold=0.8; values rounded to 3 decimals in the test.
# (antecedents, consequents, ant. support, cons. support, support, conf, lift)
EXPECTED_RULES_TEST = [
    ((8,), (5,), 0.6, 1.0, 0.6, 1.0, 1.0),
    ((6,), (5,), 0.6, 1.0, 0.6, 1.0, 1.0),
    ((8, 3), (5,), 0.6, 1.0, 0.6, 1.0, 1.0),
    ((8, 5), (3,), 0.6, 0.8, 0.6, 1.0, 1.25),
    ((8,), (3, 5), 0.6, 0.8, 0.6, 1.0, 1.25),
    ((3,), (5,), 0.8, 1.0, 0.8, 1.0, 1.0),
    ((5,), (3,), 1.0, 0.8, 0.8, 0.8, 1.0),
    ((10,), (5,), 0.6, 1.0, 0.6, 1.0, 1.0),
    ((8,), (3,), 0.6, 0.8, 0.6, 1.0, 1.25),
]


def g(x):
    return format(float(x), ".10g")


def names(s):
    return ",".join(sorted(s))


def onehot(baskets):
    te = TransactionEncoder()
    arr = te.fit(baskets).transform(baskets)
    return pd.DataFrame(arr, columns=te.columns_)


def itemset_lines(freq):
    rows = sorted(
        ((len(s), sorted(s), sup) for s, sup in zip(freq["itemsets"], freq["support"])),
        key=lambda r: (r[0], r[1]),
    )
    return ["%s | %s" % (",".join(items), g(sup)) for _, items, sup in rows]


def rule_lines(rules):
    rows = sorted(
        (
            sorted(a), sorted(c), s, conf, lift
        )
        for a, c, s, conf, lift in zip(
            rules["antecedents"], rules["consequents"], rules["support"],
            rules["confidence"], rules["lift"],
        )
    )
    return [
        "%s | %s | %s | %s | %s"
        % (",".join(a), ",".join(c), g(s), g(conf), g(lift))
        for a, c, s, conf, lift in rows
    ]


def run(df, min_support, min_conf, max_len=None, label="", max_rule_lines=None):
    freq = fpgrowth(df, min_support=min_support, use_colnames=True, max_len=max_len)
    rules = association_rules(
        freq, num_itemsets=len(df), metric="confidence", min_threshold=min_conf
    )
    print("## %s: fpgrowth(min_support=%s, max_len=%s) + association_rules("
          "metric='confidence', min_threshold=%s); N=%d baskets"
          % (label, min_support, max_len, min_conf, len(df)))
    il = itemset_lines(freq)
    print("# frequent itemsets: %d  (itemset | support)" % len(il))
    for line in il:
        print(line)
    rl = rule_lines(rules)
    print("# rules: %d  (antecedents | consequents | support | confidence | lift)"
          % len(rl))
    shown = rl if max_rule_lines is None else rl[:max_rule_lines]
    for line in shown:
        print(line)
    if len(shown) < len(rl):
        print("# ... %d more rules not shown (total %d)" % (len(rl) - len(shown), len(rl)))
    print()
    return freq, rules


def print_test_expectations():
    print("## mlxtend test expectations (column indices mapped to names)")
    print("# test_fpbase.py FPTestEx1All.test_default (min_support=0.5 default):")
    for sup, idx in sorted(EXPECTED_ITEMSETS_TEST, key=lambda r: (len(r[1]), sorted(TEST_COLS[i] for i in r[1]))):
        print("%s | %s" % (names(TEST_COLS[i] for i in idx), g(sup)))
    print("# test_association_rules.py test_default (apriori min_support=0.6, "
          "confidence >= 0.8):")
    print("# antecedents | consequents | antecedent support | consequent support"
          " | support | confidence | lift")
    rows = sorted(
        (sorted(TEST_COLS[i] for i in a), sorted(TEST_COLS[i] for i in c), sa, sc, s, cf, lf)
        for a, c, sa, sc, s, cf, lf in EXPECTED_RULES_TEST
    )
    for a, c, sa, sc, s, cf, lf in rows:
        print("%s | %s | %s | %s | %s | %s | %s"
              % (",".join(a), ",".join(c), g(sa), g(sc), g(s), g(cf), g(lf)))
    print()


# ---------------------------------------------------------------- baskets
N_BASKETS = 400
PRODUCTS = ["P%02d" % k for k in range(1, 26)]


def gen_baskets(seed=1):
    """400 baskets of 1..6 distinct items over P01..P25, planted structure:
    P01 -> P02 (often together), P03 with P04 and P05."""
    rng = np.random.RandomState(seed)
    # Zipf-like background popularity
    w = 1.0 / np.arange(1, 26) ** 0.7
    w = w / w.sum()
    baskets = []
    for _ in range(N_BASKETS):
        k = int(rng.randint(1, 7))  # target size 1..6
        items = []
        if rng.rand() < 0.30:
            items.append("P01")
            if rng.rand() < 0.75:
                items.append("P02")
        if rng.rand() < 0.25:
            items.append("P03")
            if rng.rand() < 0.70:
                items.append("P04")
            if rng.rand() < 0.60:
                items.append("P05")
        # fill up to k with background draws (distinct); planted items can
        # already exceed k (at most 5 <= 6)
        while len(items) < k:
            p = PRODUCTS[int(rng.choice(25, p=w))]
            if p not in items:
                items.append(p)
        baskets.append(sorted(items))
    return baskets


def write_baskets_csv(baskets, path):
    start = _dt.date(2024, 1, 1)
    with open(path, "w", newline="") as f:
        f.write("customer_id,timestamp,amount,product\n")
        for i, items in enumerate(baskets, start=1):
            cust = "B%04d" % i
            day = (start + _dt.timedelta(days=i % 300)).isoformat()
            for p in items:
                f.write("%s,%s,10.00,%s\n" % (cust, day, p))


def read_baskets_csv(path):
    d = pd.read_csv(path, dtype=str)
    out = []
    for _, grp in d.groupby(["customer_id", "timestamp"], sort=True):
        out.append(sorted(set(grp["product"])))
    return out


def main():
    write = "--no-write" not in sys.argv[1:]
    print("# mlxtend %s, pandas %s, numpy %s, python %s"
          % (mlxtend.__version__, pd.__version__, np.__version__,
             sys.version.split()[0]))
    print("# support = fraction of baskets containing the itemset; "
          "confidence(A->C) = support(A u C)/support(A); "
          "lift(A->C) = confidence(A->C)/support(C)")
    print("# numbers printed with 10 significant digits ('%.10g')")
    print()

    df = onehot(DATASET)
    assert list(df.columns) == TEST_COLS, list(df.columns)
    print_test_expectations()
    run(df, 0.6, 0.7, None, label="A1 mlxtend fixture")
    run(df, 0.4, 0.5, 3, label="A2 mlxtend fixture")

    baskets = gen_baskets(1)
    if write:
        write_baskets_csv(baskets, BASKETS_CSV)
    # read back what the Rust tool will import, to be sure both see the same
    rb = read_baskets_csv(BASKETS_CSV)
    assert sorted(map(tuple, rb)) == sorted(map(tuple, baskets)), "CSV mismatch"
    sizes = np.bincount([len(b) for b in rb], minlength=7)[1:]
    print("# baskets.csv: %d baskets, %d rows, basket sizes 1..6: %s"
          % (len(rb), sum(len(b) for b in rb), list(map(int, sizes))))
    dfb = onehot(rb)
    print("# item supports: " + " ".join(
        "%s=%s" % (c, g(dfb[c].mean())) for c in dfb.columns))
    print()
    run(dfb, 0.05, 0.3, 3, label="B baskets.csv", max_rule_lines=150)


if __name__ == "__main__":
    main()
