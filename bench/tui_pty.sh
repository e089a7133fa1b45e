#!/usr/bin/env bash
# The TUI measured through a real pseudo-terminal on the 1,000,000-customer
# demo database (created at target/bench-data/demo_1m.db when missing, with a
# trained model and a CLV fit; or CRMTOP_BENCH_DB=PATH): first frame,
# key-to-frame latency (p50/p99) for scrolling, paging, sorting, filtering
# and switching screens, bytes per one-row scroll, resident memory, and keys
# while a retrain runs. ROUNDS=N presses per key (default 200).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench tui_pty
