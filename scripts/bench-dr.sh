#!/usr/bin/env bash
# Benchmark (not a test): a pair of clusters in two regions (issue 16) on a lab of its own, for
# each latency between the regions (LATENCIES, ms each way; default "20 50"): `pgdr lab up
# --regions 2 --region-latency-ms MS`, bootstrap of the pair, pgbench's tables (scale 5), then
# RUNS times (default 3), each run starting and ending with r1 as the primary region:
#   1. DR lag under write load: pgbench (4 clients, 15 s, TPC-B) on r1-pg1 through the primary's
#      HAProxy while `pgdr status` reads the DR link every second: the largest and the median
#      lag in bytes and in seconds (replay_lag), and pgbench's tps;
#   2. planned switchover to r2 and back (`pgdr dr switchover`, twice): write outage (the fence
#      of the primary to the first write acknowledged on the other cluster) and RPO (bytes the
#      promoted cluster had not replayed: 0 is the promise);
#   3. region loss: `pgdr drill --lose-region r1 --promote` (every r1 host partitioned, writers
#      every 50 ms): RTO (fault -> first write acknowledged on the DR cluster), acknowledged
#      writes lost and the window the report expected; then `pgdr dr rebuild` (its duration) and
#      a switchover back.
#
#   scripts/bench-dr.sh [RELEASE] [RUNS]      RELEASE: trixie (default) or bookworm
#   LATENCIES="20 50" BENCH_KEEP=DIR          BENCH_KEEP keeps every JSON report
# Needs root; its lab is taken down on exit. About 15 minutes per latency with 3 runs.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
PGDR=$(realpath "${PGDR:-./build/cmd/pgdr}")
RELEASE=${1:-trixie}
RUNS=${2:-3}
LATENCIES=${LATENCIES:-"20 50"}
KEEP=${BENCH_KEEP:-}
V=17
[ "$RELEASE" = bookworm ] && V=15
dir=$(mktemp -d /tmp/pgdr-bench-dr.XXXXXX)
results=$(mktemp /tmp/pgdr-bench-dr-results.XXXXXX)
trap '"$PGDR" lab down --dir "$dir" >/dev/null 2>&1 || true; rm -rf "$dir" "$results"' EXIT
inv=$dir/inventory.yaml
[ -z "$KEEP" ] || mkdir -p "$KEEP"

j() {  # FILTER (python on `d`, the JSON on stdin)
    python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"
}
keep() {  # NAME: stdin to BENCH_KEEP/NAME (when set), and through
    if [ -n "$KEEP" ]; then tee "$KEEP/$1"; else cat; fi
}
# pgbench on r1-pg1 as the probe role (bootstrap put its passfile there), through r1's HAProxy.
pgbench_r1() {
    "$PGDR" -i "$inv" exec --hosts r1-pg1 -- runuser -u postgres -- env \
        PGPASSFILE=/var/lib/postgresql/pgdr-probe.pgpass PGSSLMODE=verify-full \
        PGSSLROOTCERT=/etc/pgdr/tls/ca.crt "/usr/lib/postgresql/$V/bin/pgbench" \
        -h 198.18.0.13 -p 5000 -U pgdr_probe "$@" pgdr
}
caught_up() {  # until both clusters are healthy and the DR link is 0 B behind (120 s)
    local out
    for _ in $(seq 1 120); do
        if out=$("$PGDR" -i "$inv" --output json status 2>/dev/null) &&
            [ "$(j 'd["dr"]["link"]["lag_bytes"]' <<<"$out")" = 0 ]; then
            return 0
        fi
        sleep 1
    done
    echo "bench-dr: the pair is not healthy and caught up after 120 s" >&2
    return 1
}
switchover() {  # NAME: dr switchover; prints "outage_ms rpo_bytes"
    local out
    out=$("$PGDR" -i "$inv" --output json dr switchover --yes | keep "$1.json")
    [ "$(j 'd["ok"]' <<<"$out")" = True ] || { echo "bench-dr: $1 failed" >&2; return 1; }
    j '"%s %s" % (d["switchover"]["write_outage_ms"], d["switchover"]["lost_bytes"])' <<<"$out"
}

for ms in $LATENCIES; do
    mkdir -p "$dir"
    echo "bench-dr: $ms ms each way between the regions: lab up and bootstrap" >&2
    "$PGDR" lab up --dir "$dir" --regions 2 --region-latency-ms "$ms" --release "$RELEASE" \
        --no-monitor >/dev/null
    "$PGDR" -i "$inv" bootstrap >/dev/null
    pgbench_r1 -i -s 5 -q >"$dir/pgbench-init.txt" 2>&1 ||
        { cat "$dir/pgbench-init.txt" >&2; exit 1; }
    for run in $(seq 1 "$RUNS"); do
        echo "bench-dr: $ms ms, run $run of $RUNS" >&2
        caught_up
        pgbench_r1 -c 4 -j 2 -T 15 -n >"$dir/pgbench.txt" 2>&1 &
        pb=$!
        : >"$dir/lags"
        while kill -0 "$pb" 2>/dev/null; do
            if out=$("$PGDR" -i "$inv" --output json status 2>/dev/null) ||
                [ -n "${out:-}" ]; then
                j '"%s %s" % (d["dr"]["link"]["lag_bytes"], d["dr"]["link"]["lag_seconds"])' \
                    <<<"$out" >>"$dir/lags" 2>/dev/null || true
            fi
            sleep 1
        done
        wait "$pb"
        tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$dir/pgbench.txt" | head -1)
        lag=$(python3 - "$dir/lags" <<'PY'
import statistics, sys
b, s = [], []
for line in open(sys.argv[1]):
    x, y = line.split()
    if x != "None":
        b.append(int(x))
    if y != "None":
        s.append(float(y))
f = lambda v, g: g(v) if v else float("nan")
print("%d %d %.3f %.3f" % (f(b, max), f(b, statistics.median), f(s, max), f(s, statistics.median)))
PY
)
        caught_up
        read -r out1 rpo1 <<<"$(switchover "sw-$ms-$run-to-r2")"
        caught_up
        read -r out2 rpo2 <<<"$(switchover "sw-$ms-$run-to-r1")"
        caught_up
        drill=$("$PGDR" -i "$inv" --output json drill --lose-region r1 --promote |
            keep "region-$ms-$run.json")
        read -r rto lost window <<<"$(j '"%s %s %s" % (d["rto_ms"], d["lost_acknowledged_writes"], d["expected_loss_window_ms"])' <<<"$drill")"
        rebuild=$("$PGDR" -i "$inv" --output json dr rebuild --yes | keep "rebuild-$ms-$run.json")
        rb_ms=$(j 'd["phases"][-1]["after_ms"] if d["ok"] else "failed"' <<<"$rebuild")
        caught_up
        read -r out3 rpo3 <<<"$(switchover "sw-$ms-$run-back")"
        echo "$ms $run $tps $lag $out1 $out2 $out3 $rpo1 $rpo2 $rpo3 $rto $lost $window $rb_ms" >>"$results"
    done
    "$PGDR" lab down --dir "$dir" >/dev/null
done

python3 - "$results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
print("per run: latency ms | tps | DR lag under pgbench: max B, median B, max s, median s | "
      "switchover outage ms (to r2, back, after the rebuild) | RPO B | region-loss RTO ms, "
      "lost, window ms | rebuild ms")
for r in rows:
    print("  %4s ms run %s | tps %s | lag %s B, %s B, %s s, %s s | outage %s %s %s | RPO %s %s %s"
          " | RTO %s, lost %s, window %s | rebuild %s" % tuple(r))
print()
print("medians per latency:")
for ms in sorted({r[0] for r in rows}, key=int):
    sel = [r for r in rows if r[0] == ms]
    med = lambda col: statistics.median(float(r[col]) for r in sel)
    outages = [float(r[c]) for r in sel for c in (7, 8, 9)]
    print("  %3s ms: tps %.0f; DR lag under load max %.0f B / %.3f s (median of runs); "
          "switchover write outage %.0f ms (median of %d); region-loss RTO %.0f ms; "
          "lost %d acknowledged writes in all; rebuild %.0f ms"
          % (ms, med(2), med(3), med(5), statistics.median(outages), len(outages), med(13),
             sum(int(r[14]) for r in sel), med(16)))
PY
