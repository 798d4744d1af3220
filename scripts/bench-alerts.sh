#!/usr/bin/env bash
# Benchmark (not a test), issue 15: how fast pgdr's monitoring alerts on the faults the drills
# inject, and what monitoring costs in memory, on a lab of its own.
#
#   scripts/bench-alerts.sh [RELEASE] [RUNS]      RELEASE: trixie (default) or bookworm; RUNS: 5
#
# 1. `pgdr lab up`, bootstrap without monitoring, the lab's memory (PSS of every process of the
#    lab's hosts), and again after a restart of its etcd members (the monitoring bootstrap
#    restarts them for their metrics listener); then the monitor service added to the HAProxy
#    host, bootstrap again (the monitoring stage: Prometheus, Alertmanager, exporters), the
#    memory again, and the PSS of the monitoring daemons by process name.
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

# "name kib" for every process of the lab's hosts: its comm (spaces as _) and its PSS in KiB.
lab_pss_lines() {
    local pid comm kb
    for pid in $(find /sys/fs/cgroup/systemd/pgdr-lab -name cgroup.procs -exec cat {} + 2>/dev/null); do
        comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
        kb=$(awk '/^Pss:/ { s += $2 } END { print s + 0 }' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
        echo "${comm// /_} $kb"
    done
}

# PSS in KiB of the lab's processes, all of them or those whose name matches $1 (a regex).
lab_pss_kb() {
    lab_pss_lines | awk -v re="${1:-}" 're == "" || $1 ~ re { s += $2 } END { print s + 0 }'
}

# PSS in KiB by process name (comm) of the lab's processes: "name kib count" lines, sorted.
lab_pss_by_name() {
    lab_pss_lines |
        awk '{ kb[$1] += $2; n[$1]++ } END { for (c in kb) print c, kb[c], n[c] }' | LC_ALL=C sort -k1,1
}

wait_healthy() {
    for _ in $(seq 60); do "$PGDR" -i "$inv" status >/dev/null 2>&1 && return 0; sleep 2; done
    echo "bench-alerts: the cluster is not healthy after bootstrap" >&2
    return 1
}

"$PGDR" lab up --dir "$dir" --release "$RELEASE" --no-monitor >/dev/null
inv=$dir/inventory.yaml
echo "== bootstrap without monitoring" >&2
"$PGDR" -i "$inv" bootstrap >"$dir/bootstrap.plain.log" 2>&1
wait_healthy
sleep 10
pss_plain=$(lab_pss_kb)
lab_pss_by_name >"$dir/pss.plain.txt"
# The monitoring bootstrap restarts every etcd member (its metrics listener is new), and a
# restarted etcd holds more memory for a while (it replays its WAL): the same restart without
# monitoring gives a second baseline, of the same age as the measure with monitoring.
for h in $(grep -E 'services: \[.*etcd' "$inv" | sed -n 's/.*name: \([^,}]*\).*/\1/p'); do
    "$PGDR" -i "$inv" exec --hosts "$h" -- systemctl restart etcd >/dev/null
done
wait_healthy
sleep 30
pss_plain_restarted=$(lab_pss_kb)

# The monitor service beside HAProxy (the issue's layout for the lab).
sed -i 's/services: \[\(.*haproxy\)\]/services: [\1, monitor]/' "$inv"
grep -q 'haproxy, monitor\]' "$inv" || { echo "bench-alerts: no HAProxy host in $inv" >&2; exit 1; }
echo "== bootstrap with monitoring" >&2
"$PGDR" -i "$inv" bootstrap >"$dir/bootstrap.monitor.log" 2>&1
wait_healthy
sleep 30  # a few scrapes and rule evaluations, Prometheus' head block warmed up
monitor_line=$(grep -m1 'monitor\]' "$inv")
monitor_host=$(sed -n 's/.*name: \([^,}]*\).*/\1/p' <<<"$monitor_line")
monitor_addr=$(sed -n 's/.*address: \([^,}]*\).*/\1/p' <<<"$monitor_line")
# Series in Prometheus' head block, in all and by job (what its memory grows with).
head_series() {
    "$PGDR" -i "$inv" exec --hosts "$monitor_host" -- python3 -c '
import json, sys, urllib.parse, urllib.request
def q(expr):
    url = "http://%s:9090/api/v1/query?query=%s" % (sys.argv[1], urllib.parse.quote(expr))
    return json.load(urllib.request.urlopen(url, timeout=10))["data"]["result"]
total = q("count({__name__=~\".+\"})")[0]["value"][1]
jobs = sorted((r["metric"].get("job", "?"), r["value"][1]) for r in q("count by (job) ({__name__=~\".+\"})"))
print("head series %s (%s)" % (total, ", ".join("%s %s" % j for j in jobs)))
' "$monitor_addr" 2>/dev/null | tail -1 || echo "head series: not read"
}
pss_monitor=$(lab_pss_kb)
lab_pss_by_name >"$dir/pss.monitor.txt"
pss_prometheus=$(lab_pss_kb '^prometheus$')
# comm is cut at 15 characters: "prometheus-aler", "prometheus-node", "prometheus-post".
pss_alertmanager=$(lab_pss_kb '^prometheus-aler|^alertmanager')
pss_exporters=$(lab_pss_kb '^prometheus-(node|post)|exporter')
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

series_start=$(head_series)
declare -A row
faults="kill-primary kill-etcd-member kill-haproxy"
# BENCH_DRILLS=0: the memory figures only (then measured again after 10 minutes instead of
# after the drills).
if [[ ${BENCH_DRILLS:-1} == 0 ]]; then faults=""; sleep 600; fi
for fault in $faults; do
    echo "== $RUNS x $fault" >&2
    # No --max-time-to-alert: PatroniLeaderChanged comes with the promotion (after the lease),
    # so the objective would fail kill-primary by design; the first alert is what is timed.
    "$PGDR" -i "$inv" --output json drill "--$fault" --repeat "$RUNS" \
        >"$dir/$fault.json" 2>"$dir/$fault.log" || true
    read -r a_med a_max a_ok < <(figures time_to_alert_ms <"$dir/$fault.json")
    read -r r_med r_max _ < <(figures rto_ms <"$dir/$fault.json")
    row[$fault]="$a_med $a_max $a_ok $r_med $r_max"
done
# The same, once Prometheus' head block has held a while of samples.
pss_end=$(lab_pss_kb)
pss_prometheus_end=$(lab_pss_kb '^prometheus$')
pss_daemons_end=$(lab_pss_kb '^prometheus|^alertmanager|exporter')
series_end=$(head_series)
if [[ -n ${BENCH_KEEP:-} ]]; then mkdir -p "$BENCH_KEEP" && cp "$dir"/*.json "$dir"/*.log "$dir"/*.txt "$BENCH_KEEP"/; fi

printf '\nrelease %s, %s runs each, ms from the fault (goal: every alert within 15000)\n' \
    "$RELEASE" "$RUNS"
printf '%-18s %14s %14s %12s | %10s %10s\n' fault alert-median alert-max all-fired \
    rto-median rto-max
for fault in $faults; do
    read -r a_med a_max a_ok r_med r_max <<<"${row[$fault]}"
    printf '%-18s %14s %14s %12s | %10s %10s\n' "$fault" "$a_med" "$a_max" "$a_ok" "$r_med" "$r_max"
done
printf '\nlab memory (PSS): %d MiB without monitoring, %d MiB with (+%d MiB; goal < +300 MiB)\n' \
    $((pss_plain / 1024)) $((pss_monitor / 1024)) $(((pss_monitor - pss_plain) / 1024))
printf 'against the baseline with its etcd members restarted too (the same age): %d MiB, +%d MiB\n' \
    $((pss_plain_restarted / 1024)) $(((pss_monitor - pss_plain_restarted) / 1024))
printf 'prometheus %d MiB, alertmanager %d MiB, exporters %d MiB (the monitoring daemons: %d MiB;\n' \
    $((pss_prometheus / 1024)) $((pss_alertmanager / 1024)) $((pss_exporters / 1024)) \
    $(((pss_prometheus + pss_alertmanager + pss_exporters) / 1024))
printf 'the rest of the difference is what the cluster'"'"'s own processes grew meanwhile)\n'
# Where the difference is, by process name (the cluster's own daemons change too: etcd pays
# for rendering its metrics every scrape).
printf 'the difference by process name (MiB, processes before -> after; changes of 1 MiB or more):\n'
LC_ALL=C join -a1 -a2 -e0 -o 0,1.2,2.2,1.3,2.3 "$dir/pss.plain.txt" "$dir/pss.monitor.txt" |
    awk '{ d = ($3 - $2) / 1024; if (d >= 1 || d <= -1) printf "  %-16s %+7.1f  (%d -> %d)\n", $1, d, $4, $5 }' |
    sort -k2 -g -r
printf 'later (after the drills or 10 minutes): +%d MiB, prometheus %d MiB, the monitoring daemons %d MiB\n' \
    $(((pss_end - pss_plain) / 1024)) $((pss_prometheus_end / 1024)) $((pss_daemons_end / 1024))
printf 'at the start: %s\nlater: %s\n' "$series_start" "$series_end"
