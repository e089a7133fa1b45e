#!/usr/bin/env python3
"""Soak: 8 agent processes working the feedback queue, a retrain loop
(train + clv) and an import loop (new orders and feedback, and re-imports
of the same files) on one database, for 10 minutes. Then crmtop doctor
checks integrity and replays the audit log against every item.

Reports operations done by kind, outcomes by exit code, errors (anything a
user would see as a failure: exit 1, a panic, "database is locked"),
integrity and whether the audit log replays to the final state.

usage: bench/soak.py [--minutes 10] [--agents 8] [--customers 5000] [--bin target/release/crmtop]
"""
import argparse
import collections
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--minutes", type=float, default=10)
ap.add_argument("--agents", type=int, default=8)
ap.add_argument("--customers", type=int, default=5000)
ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "crmtop"))
args = ap.parse_args()

work = tempfile.mkdtemp(prefix="crmtop-soak-")
db = os.path.join(work, "soak.db")
env = dict(os.environ, CRMTOP_CONFIG="/nonexistent", NO_COLOR="1")
env.pop("CRMTOP_PROGRESS", None)

lock = threading.Lock()
ops = collections.Counter()        # (what, exit code) -> count
errors = []                        # (what, code, stderr)
samples = {}                       # (what, code) -> a message seen
EXPECTED = {0, 2, 3, 4, 5}         # ok, refused transition, rows rejected, held by another, queue empty


def run(what, *argv, agent=None):
    cmd = [args.bin, "--db", db]
    if agent:
        cmd += ["--agent", agent]
    p = subprocess.run(cmd + list(argv), capture_output=True, text=True, env=env)
    bad = (
        p.returncode not in EXPECTED
        or "locked" in p.stderr
        or "panicked" in p.stderr
        or "busy" in p.stderr.lower()
    )
    with lock:
        ops[(what, p.returncode)] += 1
        if p.returncode != 0 and (what, p.returncode) not in samples:
            samples[(what, p.returncode)] = p.stderr.strip().splitlines()[-1:] or [""]
        if bad:
            errors.append((what, p.returncode, p.stderr.strip()[:300]))
    return p


def must(*argv):
    p = subprocess.run([args.bin, "--db", db] + list(argv), capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"setup failed: {argv}: {p.stderr}")
    return p


deadline = 0.0


def agent_loop(n):
    name = f"agent{n}"
    rnd = random.Random(n)
    while time.time() < deadline:
        p = run("feedback next", "feedback", "next", "--json", agent=name)
        if p.returncode == 5:
            time.sleep(0.2)
            continue
        item = None
        if p.returncode == 0:
            try:
                item = json.loads(p.stdout)
            except ValueError:
                item = None
        fid = None
        if isinstance(item, dict):
            fid = item.get("id") or (item.get("item") or {}).get("id")
        r = rnd.random()
        if fid:
            if r < 0.45:
                run("resolve", "feedback", "resolve", fid, "--note", f"done by {name}", agent=name)
            elif r < 0.6:
                run("pending", "feedback", "pending", fid, agent=name)
            elif r < 0.7:
                run("escalate", "feedback", "escalate", fid, "--reason", "needs a lead", agent=name)
            elif r < 0.85:
                other = f"agent{rnd.randrange(args.agents)}"
                run("assign", "feedback", "assign", fid, "--to", other, "--new-agent", agent=name)
            else:
                run("release", "feedback", "release", fid, agent=name)
        # Look at the queue, and sometimes grab an item someone may hold.
        q = run("feedback list", "feedback", "list", "--json", "--limit", "20", agent=name)
        if q.returncode == 0 and rnd.random() < 0.3:
            try:
                items = json.loads(q.stdout)["items"]
            except (ValueError, KeyError, TypeError):
                items = []
            if items:
                pick = rnd.choice(items)["id"]
                act = rnd.choice(["claim", "pending", "reopen"])
                run(act, "feedback", act, pick, agent=name)


def retrain_loop():
    while time.time() < deadline:
        run("train", "train", agent="trainer")
        run("clv", "clv", agent="trainer")


def import_loop():
    k = 0
    while time.time() < deadline:
        k += 1
        orders = os.path.join(work, f"orders_{k}.csv")
        with open(orders, "w") as f:
            f.write("id,customer_id,timestamp,amount\n")
            for i in range(500):
                f.write(f"S{k}-{i},C{random.randrange(args.customers) + 1:06d},2026-06-{1 + i % 28:02d},{10 + i % 90}.50\n")
        fb = os.path.join(work, f"feedback_{k}.csv")
        with open(fb, "w") as f:
            f.write("id,customer_id,created_at,kind,text\n")
            for i in range(40):
                kind = ["complaint", "question", "other", "praise"][i % 4]
                f.write(f"SF{k}-{i},C{random.randrange(args.customers) + 1:06d},2026-06-29T10:00:00Z,{kind},soak item {k}-{i}\n")
        run("import orders", "import", "orders", orders, agent="importer")
        run("import feedback", "import", "feedback", fb, agent="importer")
        # Re-imports change nothing.
        run("re-import orders", "import", "orders", orders, agent="importer")
        run("re-import feedback", "import", "feedback", fb, agent="importer")
        time.sleep(1)


print(f"soak: {args.agents} agents, a retrain loop and an import loop for {args.minutes} min on {db}")
t0 = time.time()
must("demo", "--customers", str(args.customers), "--seed", "11", "--as-of", "2026-06-30")
must("train")
must("clv")
print(f"setup: demo of {args.customers} customers, first model and fit in {time.time() - t0:.1f} s")
open_before = json.loads(must("info", "--json").stdout)["feedback_open"]

deadline = time.time() + args.minutes * 60
threads = [threading.Thread(target=agent_loop, args=(n,)) for n in range(args.agents)]
threads += [threading.Thread(target=retrain_loop), threading.Thread(target=import_loop)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.time() - deadline + args.minutes * 60

doc = subprocess.run([args.bin, "--db", db, "doctor", "--json"], capture_output=True, text=True, env=env)
report = json.loads(doc.stdout)
checks = {f["check"]: f for f in report["findings"]}
info = json.loads(must("info", "--json").stdout)

total = sum(ops.values())
print(f"\nran {elapsed:.0f} s: {total} operations")
by_what = collections.defaultdict(dict)
for (what, code), n in sorted(ops.items()):
    by_what[what][code] = n
for what, codes in sorted(by_what.items()):
    detail = ", ".join(f"exit {c}: {n}" for c, n in sorted(codes.items()))
    print(f"  {what:<20} {sum(codes.values()):>7}   ({detail})")
    for c in sorted(codes):
        if c != 0:
            print(f"  {'':<20}          exit {c}, e.g.: {samples[(what, c)][0][:150]}")
print(f"errors reaching a user (exit 1/130, panic, 'locked'/'busy'): {len(errors)}")
for e in errors[:10]:
    print("   ", e)
print(f"open feedback: {open_before} before, {info['feedback_open']} after; models {info['churn_models']}, CLV fits {info['clv_fits']}, audit entries {info['audit_entries']}")
print(f"integrity: {checks['integrity']['message']}")
print(f"audit replay: {checks['audit replay']['severity']}: {checks['audit replay']['message']}")
print(f"doctor: {'healthy' if report['healthy'] else 'problems: ' + '; '.join(f['check'] + ': ' + f['message'] for f in report['findings'] if f['severity'] != 'ok')}")
sys.exit(0 if not errors and checks["integrity"]["severity"] == "ok" and checks["audit replay"]["severity"] == "ok" else 1)
