#!/bin/bash
# PI_BENCH_AT_SETTLED hook for bench/support/memory-probe.mjs: names the stage, signals the hub,
# waits for the probe, and prints the load, the hub's RSS and its store files' sizes.
D=${PROBE_DIR:?PROBE_DIR is not set}
cp "/proc/$HUB_PID/smaps_rollup" "$D/$PI_BENCH_STAGE-$HUB_PID.smaps_rollup" 2>/dev/null
echo "$PI_BENCH_STAGE" > "$D/stage"
rm -f "$D/$PI_BENCH_STAGE.done"
kill -USR2 "$HUB_PID"
for _ in $(seq 1 600); do [ -f "$D/$PI_BENCH_STAGE.done" ] && break; sleep 0.2; done
echo "[memory] $PI_BENCH_STAGE: pid $HUB_PID, load $(cut -d' ' -f1-3 /proc/loadavg), $(grep VmRSS "/proc/$HUB_PID/status" | tr -s ' \t' ' ')"
for f in /proc/"$HUB_PID"/fd/*; do
  t=$(readlink "$f")
  case "$t" in *.db | *.db-wal) echo "[memory] $(stat -c '%s B %n' "$t")" ;; esac
done
