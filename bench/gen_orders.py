#!/usr/bin/env python3
"""Write a synthetic orders CSV for the import benchmark.

usage: gen_orders.py ROWS CUSTOMERS OUT.csv [--no-id] [--scattered-ids]
Rows are spread over two years; amounts are decimals; ids are unique: in
file order, or with --scattered-ids in no order (as ids from a hash or UUIDs
are: O then i * 2654435761 mod 2^32, a permutation of the 32-bit numbers).
"""
import random
import sys


def main():
    rows, customers, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    with_id = "--no-id" not in sys.argv
    scattered = "--scattered-ids" in sys.argv
    rnd = random.Random(1)
    cats = ["Electronics", "Books", "Home", "Sports", "Beauty", "Grocery"]
    with open(out, "w") as f:
        f.write(("id," if with_id else "") + "customer_id,timestamp,amount,quantity,product,category\n")
        buf = []
        for i in range(rows):
            c = rnd.randrange(customers)
            day = rnd.randrange(730)
            y, rest = divmod(day, 365)
            m = rest // 31 + 1
            d = rest % 28 + 1
            amount = rnd.randrange(100, 50000) / 100
            cat = cats[i % 6]
            line = f"C{c:07d},{2023 + y}-{m:02d}-{d:02d},{amount:.2f},{1 + i % 3},P{i % 500},{cat}\n"
            key = f"O{i * 2654435761 % 2**32:010d}" if scattered else f"O{i:09d}"
            buf.append((f"{key}," if with_id else "") + line)
            if len(buf) >= 100_000:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))


if __name__ == "__main__":
    main()
