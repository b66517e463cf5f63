#!/usr/bin/env bash
# The device run of 2026-12-04 (session 2): binaries built at 0e580b4 with
# CGO_ENABLED=0 on the 2-CPU machine and carried over. Each step has its
# own timeout and writes straight into $OUT, so a step cut short keeps
# what it finished.
set -u
B=$(cd "$(dirname "$0")" && pwd)
cd "$OUT"
step() { local t=$1; shift; echo "== $(date -u +%T) $*" >>steps.log; timeout "$t" "$@"; echo "   rc=$?" >>steps.log; }
{ uname -a; nproc; grep -m1 "model name" /proc/cpuinfo; free -g | head -2; cat /sys/devices/system/cpu/cpu0/cache/index3/size 2>/dev/null; uptime; } >machine.txt 2>&1
step 170 "$B/xabench" bench -suite scaling -cpu 1,2,4,8,12,16 -count 6 -q -o scaling >scaling-table.txt 2>scaling.stderr
step 50 "$B/rcu.test" -test.run '^$' -test.bench 'ReadLock|RBMutexRLock|RWMutexRLock' -test.cpu 1,2,4,8,16 -test.benchtime 100ms -test.count 6 >rcu-gotest.txt 2>&1
step 75 "$B/xabench" bench -suite rcu >rcu-suite.txt 2>rcu-suite.stderr
step 90 "$B/xabench" bench -suite iterate >iterate.txt 2>iterate.stderr
step 60 "$B/xabench" bench -suite mix -filter '^Write/' -cpu 1,16 -count 3 -q -o mix-writers >mix-writers-table.txt 2>mix-writers.stderr
step 30 "$B/folio.test" -test.run '^$' -test.bench 'AllocFree' -test.cpu 1,2,4,8,16 -test.benchtime 100ms -test.count 3 >folio-gotest.txt 2>&1
echo "== $(date -u +%T) done" >>steps.log
