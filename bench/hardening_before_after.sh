#!/bin/bash
# Issue 15, before and after: runs one scenario per class of the hardening
# issue against a crmtop binary and prints what happened (exit codes, md5 of
# the database, peak memory, reject file size). Run it with an older and a
# newer binary and compare: bench/hardening_before_after.sh BINARY LABEL

B=$1; L=$2; F="$(cd "$(dirname "$0")/.." && pwd)/tests/fixtures"
D=${TMPDIR:-/tmp}/crmtop-hardening-$L; rm -rf $D; mkdir -p $D; cd $D
$B demo --db d.db --customers 200 >/dev/null 2>&1
echo "== 1 reject-file = db (dry run)"; md5sum d.db | cut -c1-8; $B import orders $F/orders_bad.csv --db d.db --reject-file ./d.db --dry-run >/dev/null 2>&1; echo "exit $?"; md5sum d.db | cut -c1-8; $B info --db d.db 2>&1 | head -2
$B demo --db d.db --customers 200 --force >/dev/null 2>&1
echo "== 2 hostile feedback show / info"
printf 'id,customer_id,created_at,kind,text\nX1,C000001,2025-06-01,complaint,"hi \033]0;PWNED\007 \033[2J \302\233 there"\n' > h.csv
$B import feedback h.csv --db d.db >/dev/null 2>&1
$B feedback show X1 --db d.db 2>&1 | grep -a "hi" | od -c | grep -c '033'
echo "== 3 mask: notes attribute"
printf 'id,name,notes\nC000001,Ada Lovelace,call Ada Lovelace on +44 20 7946 0958\n' > m.csv; $B import customers m.csv --db d.db >/dev/null 2>&1
$B export customers --db d.db --mask-pii 2>&1 | grep -c "Lovelace"
echo "== 4 memory, 200 MB without a line end"
python3 -c "
f=open('big.csv','wb'); f.write(b'customer_id,date,amount\n'); f.write(b'x'*200_000_000)"
/usr/bin/time -f "%M KB peak" $B import orders big.csv --db d.db 2>&1 | tail -1; ls -la big.rejects.csv 2>/dev/null | awk '{print $5" bytes reject file"}'
echo "== 5 FIFO with a late writer"
mkfifo ff; (sleep 1; timeout 5 dd if=$F/orders_only.csv of=ff status=none) & timeout -s KILL 10 $B import orders ff --db d.db >/dev/null 2>&1; echo "exit $? (137 = hung, killed)"; sleep 5
echo "== 7 kill -9 during train, then doctor"
$B train --db d.db >/dev/null 2>&1 &  sleep 0.3; kill -9 $! 2>/dev/null; wait 2>/dev/null
CRMTOP_TEST_STALL_AT=fit CRMTOP_PROGRESS=1 $B train --db d.db >/dev/null 2>&1 & P=$!; sleep 2; kill -9 $P; wait 2>/dev/null
$B info --db d.db >/dev/null; $B doctor --db d.db >/dev/null 2>&1; echo "doctor exit $?"
echo "== 10 info on a zero-byte file / dry-run into a missing db"
: > z.db; $B info --db z.db >/dev/null 2>&1; echo "exit $?"; ls z.db* | tr '\n' ' '; echo; stat -c %s z.db
$B import orders $F/orders_only.csv --db missing.db --dry-run >/dev/null 2>&1; ls missing.db 2>/dev/null || echo "missing.db not created"
echo "== 11 year-9999 date / --config missing"
printf 'customer_id,date,amount\nC000001,9999-01-01,5\n' > fut.csv; $B import orders fut.csv --db d.db 2>&1 | head -1
$B --config /nonexistent.toml info --db d.db >/dev/null 2>&1; echo "config missing exit $?"
