#!/usr/bin/env bash
# The queue race on SQLite and PostgreSQL side by side (bench/queue_race.py),
# against a throwaway PostgreSQL server on a local socket, unless
# CRMTOP_PG_URL names one (its database must be empty).
# usage: bench/queue_race.sh [--agents 32] [--items 2000]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${BIN:-$here/../target/release/crmtop}
[ -x "$bin" ] || (cd "$here/.." && cargo build --release)
url=${CRMTOP_PG_URL:-}
if [ -z "$url" ]; then
    eval "$("$here/../.ci/pg" start)"
    trap '"$here/../.ci/pg" stop' EXIT
    url=$CRMTOP_TEST_PG
fi
db=crmtop_race_$$
psql "$url" -qc "CREATE DATABASE $db" >/dev/null
trap 'psql "$url" -qc "DROP DATABASE IF EXISTS '$db'" >/dev/null 2>&1 || true; [ -z "${CRMTOP_PG_URL:-}" ] && "$here/../.ci/pg" stop' EXIT
race_url=$(python3 - "$url" "$db" <<'PY'
import sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
print(urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + sys.argv[2], u.query, u.fragment)))
PY
)
python3 "$here/queue_race.py" --pg "$race_url" --bin "$bin" "$@"
