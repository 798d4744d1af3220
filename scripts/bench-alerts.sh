#!/usr/bin/env bash
# Benchmark (not a test), issue 15: how fast pgdr's monitoring alerts on the faults the drills
# inject, and what monitoring costs in memory, on a lab of its own.
#
#   scripts/bench-alerts.sh [RELEASE] [RUNS]      RELEASE: trixie (default) or bookworm; RUNS: 5
#
# 1. `pgdr lab up`, bootstrap without monitoring, the lab's memory (PSS of every process of the
#    lab's hosts); then the monitor service added to the HAProxy host, bootstrap again (the
#    monitoring stage: Prometheus, Alertmanager, exporters), the memory again, and the PSS of the
#    monitoring daemons by process name.
# 2. `pgdr drill --repeat RUNS` of --kill-primary, --kill-etcd-member and --kill-haproxy, each
#    report's time_to_alert_ms (fault -> the first expected alert firing, Alertmanager's
#    startsAt) and rto_ms; median and max of each, and how many runs had every expected alert.
#    A repeat waits out an expected alert still firing from the run before (the 2-minute
#    PatroniLeaderChanged), so kill-primary takes about 2.5 min a run.
# Goals: every fault alerted within 15 s (max), monitoring under 300 MiB more memory.
# BENCH_KEEP=DIR keeps every JSON report and log. Needs root; its lab is taken down on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
PGDR=${PGDR:-./build/cmd/pgdr}
RELEASE=${1:-trixie}
RUNS=${2:-5}
dir=$(mktemp -d /tmp/pgdr-bench-alerts.XXXXXX)
trap '"$PGDR" lab down --dir "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

# PSS in KiB of the lab's processes, all of them or those whose name matches $1 (a regex).
lab_pss_kb() {
    local total=0 pid kb comm
    for pid in $(find /sys/fs/cgroup/systemd/pgdr-lab -name cgroup.procs -exec cat {} + 2>/dev/null); do
        if [[ -n ${1:-} ]]; then
            comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
            [[ $comm =~ $1 ]] || continue
        fi
        kb=$(awk '/^Pss:/ { s += $2 } END { print s + 0 }' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
        total=$((total + kb))
    done
    echo "$total"
}

wait_healthy() {
    for _ in $(seq 60); do "$PGDR" -i "$inv" status >/dev/null 2>&1 && return 0; sleep 2; done
    echo "bench-alerts: the cluster is not healthy after bootstrap" >&2
    return 1
}

"$PGDR" lab up --dir "$dir" --release "$RELEASE" >/dev/null
inv=$dir/inventory.yaml
echo "== bootstrap without monitoring" >&2
"$PGDR" -i "$inv" bootstrap >"$dir/bootstrap.plain.log" 2>&1
wait_healthy
sleep 10
pss_plain=$(lab_pss_kb)

# The monitor service beside HAProxy (the issue's layout for the lab).
python3 - "$inv" <<'PY'
import sys, yaml
path = sys.argv[1]
inv = yaml.safe_load(open(path))
host = next(h for h in inv["hosts"] if "haproxy" in h["services"])
if "monitor" not in host["services"]:
    host["services"].append("monitor")
yaml.safe_dump(inv, open(path, "w"), sort_keys=False)
PY
echo "== bootstrap with monitoring" >&2
"$PGDR" -i "$inv" bootstrap >"$dir/bootstrap.monitor.log" 2>&1
wait_healthy
sleep 30  # a few scrapes and rule evaluations, Prometheus' head block warmed up
pss_monitor=$(lab_pss_kb)
pss_prometheus=$(lab_pss_kb '^prometheus$')
pss_alertmanager=$(lab_pss_kb '^prometheus-alert|^alertmanager')
pss_exporters=$(lab_pss_kb 'exporter')
"$PGDR" -i "$inv" alerts >"$dir/alerts.before.txt" 2>&1 || true

# "median max n/runs" of FIELD over the runs of a --repeat JSON report on stdin.
figures() {
    python3 -c '
import json, statistics, sys
field = sys.argv[1]
try:
    doc = json.load(sys.stdin)
except ValueError:
    print("- - 0/0"); sys.exit(0)
runs = doc.get("runs", [doc])
vals = [r[field] for r in runs if r.get(field) is not None]
fired = sum(1 for r in runs
            if any(c["name"] == "alerts_fired" and c["passed"] for c in r.get("checks", [])))
if vals:
    print("%.0f %.0f %d/%d" % (statistics.median(vals), max(vals), fired, len(runs)))
else:
    print("- - %d/%d" % (fired, len(runs)))
' "$1"
}

declare -A row
for fault in kill-primary kill-etcd-member kill-haproxy; do
    echo "== $RUNS x $fault" >&2
    "$PGDR" -i "$inv" --output json drill "--$fault" --repeat "$RUNS" --max-time-to-alert 15s \
        >"$dir/$fault.json" 2>"$dir/$fault.log" || true
    read -r a_med a_max a_ok < <(figures time_to_alert_ms <"$dir/$fault.json")
    read -r r_med r_max _ < <(figures rto_ms <"$dir/$fault.json")
    row[$fault]="$a_med $a_max $a_ok $r_med $r_max"
done
if [[ -n ${BENCH_KEEP:-} ]]; then mkdir -p "$BENCH_KEEP" && cp "$dir"/*.json "$dir"/*.log "$dir"/*.txt "$BENCH_KEEP"/; fi

printf '\nrelease %s, %s runs each, ms from the fault (goal: every alert within 15000)\n' \
    "$RELEASE" "$RUNS"
printf '%-18s %14s %14s %12s | %10s %10s\n' fault alert-median alert-max all-fired \
    rto-median rto-max
for fault in kill-primary kill-etcd-member kill-haproxy; do
    read -r a_med a_max a_ok r_med r_max <<<"${row[$fault]}"
    printf '%-18s %14s %14s %12s | %10s %10s\n' "$fault" "$a_med" "$a_max" "$a_ok" "$r_med" "$r_max"
done
printf '\nlab memory (PSS): %d MiB without monitoring, %d MiB with (+%d MiB; goal < +300 MiB)\n' \
    $((pss_plain / 1024)) $((pss_monitor / 1024)) $(((pss_monitor - pss_plain) / 1024))
printf 'prometheus %d MiB, alertmanager %d MiB, exporters %d MiB\n' $((pss_prometheus / 1024)) \
    $((pss_alertmanager / 1024)) $((pss_exporters / 1024))
