#!/usr/bin/env python3
"""How soon another agent's change shows in an open UI, on SQLite and on
PostgreSQL side by side. A UI (tmux, 120x30) shows the feedback queue as
agent `viewer`; another agent gives the item at the top of the queue to a
new holder (`crmtop feedback assign`, as a team lead does); the time from
the command's end until the UI's screen shows the new holder is measured,
20 times (median, max).

usage: bench/cross_agent.py --pg URL_OF_AN_EMPTY_DATABASE [--rounds 20] [--bin target/release/crmtop]
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("--pg", required=True)
ap.add_argument("--rounds", type=int, default=20)
ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "crmtop"))
args = ap.parse_args()
env = dict(os.environ, CRMTOP_CONFIG="/nonexistent", NO_COLOR="1")
work = tempfile.mkdtemp(prefix="crmtop-xagent-")
db = os.path.join(work, "demo.db")
subprocess.run([args.bin, "--db", db, "demo", "--customers", "3000"], check=True, capture_output=True, env=env)
m = subprocess.run([args.bin, "migrate", "--from", db, "--to", args.pg], capture_output=True, text=True, env=env)
if m.returncode != 0:
    sys.exit(m.stderr)


def measure(target, name):
    sess = f"xagent{os.getpid()}{name}"
    subprocess.run(["tmux", "kill-session", "-t", sess], capture_output=True)
    subprocess.run(["tmux", "new", "-d", "-s", sess, "-x", "120", "-y", "30",
                    f"CRMTOP_CONFIG=/nonexistent {args.bin} --db '{target}' --agent viewer; echo EXIT $?; sleep 600"], check=True)
    time.sleep(1.5)
    if name == "SQLite":
        subprocess.run(["tmux", "send-keys", "-t", sess, "5"], check=True)
        time.sleep(1.0)
    out = []
    for i in range(args.rounds):
        items = json.loads(subprocess.run([args.bin, "--db", target, "feedback", "list",
                                           "--limit", "1", "--json"], capture_output=True, text=True, env=env).stdout)["items"]
        fid = items[0]["id"]
        agent = f"ag{i:02d}"
        subprocess.run([args.bin, "--db", target, "--agent", "lead", "feedback", "assign", fid,
                        "--to", agent, "--new-agent"], check=True, capture_output=True, env=env)
        t0 = time.time()
        while time.time() - t0 < 30:
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", sess], capture_output=True, text=True).stdout
            if any(fid in l and agent in l for l in screen.splitlines()):
                break
            time.sleep(0.01)
        else:
            print(f"{name}: {fid} held by {agent} not seen; the screen:\n{screen}", file=sys.stderr)
            break
        out.append(time.time() - t0)
    subprocess.run(["tmux", "kill-session", "-t", sess], capture_output=True)
    return out


res = {"SQLite": measure(db, "SQLite"), "PostgreSQL": measure(args.pg, "PostgreSQL")}
print(f"another agent's claim visible in an open UI ({args.rounds} rounds, seconds)")
print(f"{'':12} {'median':>8} {'max':>8}")
for k, v in res.items():
    print(f"{k:12} {statistics.median(v):8.3f} {max(v):8.3f}")
