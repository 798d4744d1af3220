#!/usr/bin/env bash
# Benchmark (not a test): failover speed of the seed architecture's settings against pgdr's
# timing profiles, on a lab of its own. For each setting, in one run: the cluster is
# re-bootstrapped with it (pgdr PATCHes Patroni's DCS config and reloads HAProxy), then
# `pgdr drill --kill-primary --repeat N` and `pgdr drill --switchover --repeat N`; the medians
# are printed side by side.
#
#   scripts/bench-drills.sh [RELEASE] [RUNS]      RELEASE: trixie (default) or bookworm; RUNS: 5
#
# Figures: kill-primary RTO (fault -> first acknowledged write), the part of it after the
# leader's lease expired (old_leader_gone: the replicas' Patroni no longer see a leader key ->
# first acknowledged write), the predicted RTO, and the switchover's client-visible write
# outage. Goals (issue 5): kill RTO within 1 s of the lease expiry, switchover outage <= 1 s,
# and at least 1.6x faster than the seed's settings (`safe` trades speed for long leases).
# BENCH_KEEP=DIR keeps every JSON report and log. Needs root; its lab is taken down on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
PGDR=${PGDR:-./build/cmd/pgdr}
RELEASE=${1:-trixie}
RUNS=${2:-5}
SETTINGS=${SETTINGS:-"seed default fast safe"}
dir=$(mktemp -d /tmp/pgdr-bench-drills.XXXXXX)
trap '"$PGDR" lab down --dir "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

"$PGDR" lab up --dir "$dir" --release "$RELEASE" >/dev/null
inv=$dir/inventory.yaml
cp "$inv" "$dir/base.yaml"

# The inventory sections for one setting. The seed: Patroni's defaults (ttl 30, loop_wait 10,
# retry_timeout 10) and HAProxy inter 2 s fall 3 rise 2 (seed-architecture.txt), without
# downinter/fastinter (fast_check_interval_ms = inter). Everything else is pgdr's (checks on
# Patroni's REST API, retries 0, synchronous_mode), so the timing alone is compared.
section() {
    case $1 in
    seed) printf 'patroni:\n  ttl: 30\n  loop_wait: 10\n  retry_timeout: 10\n'
          printf 'haproxy:\n  check_interval_ms: 2000\n  fast_check_interval_ms: 2000\n  fall: 3\n  rise: 2\n' ;;
    *) printf 'patroni:\n  timing: %s\n' "$1" ;;
    esac
}

# median FIELD... of a --repeat JSON summary on stdin; "-" when unknown.
summary() {
    python3 -c '
import json, sys
s = json.load(sys.stdin)["summary"]
out = []
for f in sys.argv[1:]:
    if f.startswith("phase:"):
        name = f[6:]
        v = next((p["median"] for p in s["phases"] if p["name"] == name), None)
    else:
        v = (s.get(f) or {}).get("median")
    out.append("-" if v is None else "%.0f" % v)
out.append("%d/%d" % (s["passed"], s["runs"]))
print(" ".join(out))
' "$@"
}

declare -A row
for setting in $SETTINGS; do
    { cat "$dir/base.yaml"; section "$setting"; } >"$inv"
    echo "== $setting: bootstrap" >&2
    "$PGDR" -i "$inv" bootstrap >"$dir/$setting.bootstrap.log" 2>&1
    for _ in $(seq 60); do "$PGDR" -i "$inv" status >/dev/null 2>&1 && break; sleep 2; done
    echo "== $setting: $RUNS x kill-primary" >&2
    "$PGDR" -i "$inv" drill --kill-primary --repeat "$RUNS" --output json \
        >"$dir/$setting.kill.json" 2>"$dir/$setting.kill.log" || true
    echo "== $setting: $RUNS x switchover" >&2
    "$PGDR" -i "$inv" drill --switchover --repeat "$RUNS" --output json \
        >"$dir/$setting.switchover.json" 2>"$dir/$setting.switchover.log" || true
    read -r k_rto k_gone k_pred k_pass < <(summary rto_ms phase:old_leader_gone predicted_rto_ms \
        <"$dir/$setting.kill.json")
    read -r s_out s_rto s_pass < <(summary write_outage_ms rto_ms <"$dir/$setting.switchover.json")
    after=-
    [[ $k_rto != - && $k_gone != - ]] && after=$((k_rto - k_gone))
    row[$setting]="$k_rto $after $k_pred $k_pass $s_out $s_rto $s_pass"
    if [[ -n ${BENCH_KEEP:-} ]]; then mkdir -p "$BENCH_KEEP" && cp "$dir/$setting".* "$BENCH_KEEP"/; fi
done

printf '\nrelease %s, %s runs each, medians in ms\n' "$RELEASE" "$RUNS"
printf '%-8s %10s %12s %10s %6s | %12s %10s %6s | %s\n' setting kill-RTO after-lease \
    predicted pass sw-outage sw-RTO pass "kill speed-up vs seed"
seed_rto=$(cut -d' ' -f1 <<<"${row[seed]:--}")
for setting in $SETTINGS; do
    read -r k_rto after k_pred k_pass s_out s_rto s_pass <<<"${row[$setting]}"
    speed=-
    [[ $seed_rto != - && $k_rto != - && $k_rto != 0 ]] &&
        speed=$(printf "%.2fx" "$(echo "scale=3; $seed_rto / $k_rto" | bc)")
    printf '%-8s %10s %12s %10s %6s | %12s %10s %6s | %s\n' "$setting" "$k_rto" "$after" \
        "$k_pred" "$k_pass" "$s_out" "$s_rto" "$s_pass" "$speed"
done
