#!/usr/bin/env python3
"""Write an orders CSV with co-purchase structure for the rules and
recommendations benchmark.

usage: gen_baskets.py ROWS CUSTOMERS PRODUCTS OUT.csv

A basket (a customer's orders on one day) starts from a product drawn by
popularity (Zipf-like), adds each of that product's three complements with
probability 0.35 and one product of the same category with probability 0.2.
Customers have a favourite category that half their baskets start in.
Deterministic (random.Random(1)).
"""
import bisect
import itertools
import random
import sys


def main():
    rows, customers, products, out = (int(sys.argv[1]), int(sys.argv[2]),
                                      int(sys.argv[3]), sys.argv[4])
    rnd = random.Random(1)
    cats = 20
    cat_of = [p % cats for p in range(products)]
    by_cat = [[p for p in range(products) if cat_of[p] == c] for c in range(cats)]
    comp = [rnd.sample(by_cat[(cat_of[p] + 1) % cats] + by_cat[cat_of[p]], 3)
            for p in range(products)]
    weights = [1.0 / (1 + p) ** 0.8 for p in range(products)]
    cum = list(itertools.accumulate(weights))
    cat_cum = []
    for c in range(cats):
        cat_cum.append(list(itertools.accumulate(weights[p] for p in by_cat[c])))
    price = [round(rnd.uniform(3, 120), 2) for _ in range(products)]
    fav = [rnd.randrange(cats) for _ in range(customers)]
    written = 0
    oid = 0
    with open(out, "w") as f:
        f.write("id,customer_id,timestamp,amount,quantity,product,category\n")
        buf = []
        while written < rows:
            c = rnd.randrange(customers)
            day = rnd.randrange(730)
            y, rest = divmod(day, 365)
            date = f"{2024 + y}-{rest // 31 + 1:02d}-{rest % 28 + 1:02d}"
            if rnd.random() < 0.5:
                fc = fav[c]
                k = bisect.bisect(cat_cum[fc], rnd.random() * cat_cum[fc][-1])
                first = by_cat[fc][min(k, len(by_cat[fc]) - 1)]
            else:
                first = bisect.bisect(cum, rnd.random() * cum[-1])
            first = min(first, products - 1)
            items = {first}
            for q in comp[first]:
                if rnd.random() < 0.35:
                    items.add(q)
            if rnd.random() < 0.2:
                items.add(rnd.choice(by_cat[cat_of[first]]))
            for p in items:
                buf.append(f"O{oid:09d},C{c:07d},{date},{price[p]:.2f},1,P{p:04d},K{cat_of[p]:02d}\n")
                oid += 1
                written += 1
            if len(buf) >= 100_000:
                f.write("".join(buf))
                buf = []
        f.write("".join(buf))


if __name__ == "__main__":
    main()
