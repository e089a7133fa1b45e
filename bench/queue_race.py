#!/usr/bin/env python3
"""The queue race, side by side on SQLite and PostgreSQL: N agent
processes (default 32) each loop `crmtop feedback next` (claim the top
unclaimed item) then `crmtop feedback resolve` on it, until the queue is
empty, on 2,000 new items. Then:

- every item claimed exactly once (each agent's claims, from the JSON of
  `feedback next`, are disjoint and cover every item) and resolved;
- no update lost: `crmtop doctor` replays the audit log to every item's
  final state;
- no error reached a user: every exit code is 0 (done) or 5 (queue empty),
  and nothing else was printed on stderr;
- claims per second (claim + resolve cycles, whole processes, wall clock).

usage: bench/queue_race.py --pg postgres://USER@HOST/DB [--agents 32] [--items 2000]
       [--bin target/release/crmtop]
The PostgreSQL database must exist and be empty (bench/queue_race.sh
starts a throwaway server and makes one).
"""
import argparse
import collections
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--pg", required=True)
ap.add_argument("--agents", type=int, default=32)
ap.add_argument("--items", type=int, default=2000)
ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "crmtop"))
args = ap.parse_args()

work = tempfile.mkdtemp(prefix="crmtop-race-")
env = dict(os.environ, CRMTOP_CONFIG="/nonexistent", NO_COLOR="1")
env.pop("CRMTOP_PROGRESS", None)


def crmtop(db, *argv, agent=None, check=True):
    cmd = [args.bin, "--db", db] + (["--agent", agent] if agent else []) + list(argv)
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if check and p.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()}")
    return p


# One SQLite file with 200 customers and the items, all new and unassigned.
seed = os.path.join(work, "seed.db")
cust = os.path.join(work, "customers.csv")
fb = os.path.join(work, "feedback.csv")
with open(cust, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["id", "name"])
    for i in range(200):
        w.writerow([f"C{i}", f"Customer {i}"])
with open(fb, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["id", "customer_id", "created_at", "channel", "kind", "score", "text"])
    kinds = ["complaint", "question", "other"]
    for i in range(args.items):
        w.writerow([f"R{i:05d}", f"C{i % 200}", f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
                    "email", kinds[i % 3], "", f"item {i}: the app fails"])
crmtop(seed, "import", "customers", cust)
crmtop(seed, "import", "feedback", fb)


def race(db):
    claims = collections.defaultdict(list)
    codes = collections.Counter()
    errors = []
    lock = threading.Lock()

    def agent(name):
        while True:
            p = crmtop(db, "feedback", "next", "--json", agent=name, check=False)
            with lock:
                codes[("next", p.returncode)] += 1
                if p.stderr.strip() and p.returncode not in (5,):
                    errors.append(("next", p.returncode, p.stderr.strip()[:300]))
            if p.returncode == 5:
                return
            if p.returncode != 0:
                with lock:
                    errors.append(("next", p.returncode, p.stderr.strip()[:300]))
                continue
            item = json.loads(p.stdout)
            with lock:
                claims[name].append(item["id"])
            r = crmtop(db, "feedback", "resolve", item["id"], "--note", "done", agent=name, check=False)
            with lock:
                codes[("resolve", r.returncode)] += 1
                if r.returncode != 0 or r.stderr.strip():
                    errors.append(("resolve", r.returncode, r.stderr.strip()[:300]))

    threads = [threading.Thread(target=agent, args=(f"agent{i:02d}",)) for i in range(args.agents)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.time() - t0
    every = [i for c in claims.values() for i in c]
    dup = len(every) - len(set(every))
    doc = crmtop(db, "doctor", "--json", check=False)
    report = json.loads(doc.stdout) if doc.stdout.strip() else {"healthy": False, "findings": []}
    audit = next((f["message"] for f in report["findings"] if "audit" in f["check"]), "?")
    left = json.loads(crmtop(db, "feedback", "list", "--json").stdout)["total"]
    return {
        "claims": len(every),
        "distinct": len(set(every)),
        "claimed twice": dup,
        "open after": left,
        "seconds": secs,
        "claims/s": len(every) / secs,
        "codes": dict((f"{k[0]} {k[1]}", v) for k, v in codes.items()),
        "errors": errors[:5],
        "n errors": len(errors),
        "doctor healthy": report.get("healthy"),
        "audit": audit,
    }


results = {}
sqlite_db = os.path.join(work, "race.db")
subprocess.run(["cp", seed, sqlite_db], check=True)
results["SQLite"] = race(sqlite_db)
m = subprocess.run([args.bin, "migrate", "--from", seed, "--to", args.pg], capture_output=True, text=True, env=env)
if m.returncode != 0:
    sys.exit(f"migrate: {m.stderr.strip()}")
results["PostgreSQL"] = race(args.pg)

print(f"{args.agents} agents, {args.items} items (claim + resolve per item, one process per command)")
print(f"{'':24} {'SQLite':>14} {'PostgreSQL':>14}")
for key in ["claims", "distinct", "claimed twice", "open after", "n errors", "doctor healthy", "seconds", "claims/s"]:
    a, b = results["SQLite"][key], results["PostgreSQL"][key]
    fmt = (lambda v: f"{v:.2f}") if isinstance(a, float) else str
    print(f"{key:24} {fmt(a):>14} {fmt(b):>14}")
print(f"{'ratio (PG / SQLite claims/s)':24} {results['PostgreSQL']['claims/s'] / results['SQLite']['claims/s']:.2f}")
for name, r in results.items():
    print(f"{name}: exit codes {r['codes']}; audit: {r['audit']}")
    for e in r["errors"]:
        print(f"  error: {e}")
ok = all(r["claims"] == args.items and r["claimed twice"] == 0 and r["n errors"] == 0
         and r["doctor healthy"] and r["open after"] == 0 for r in results.values())
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
