#!/usr/bin/env bash
# Benchmark (not a test): failover speed of the seed architecture's settings against pgdr's
# timing profiles, on a lab of its own. For each setting, in one run: the cluster is
# re-bootstrapped with it (pgdr PATCHes Patroni's DCS config and reloads HAProxy), then
# `pgdr drill --kill-primary --repeat N`, `pgdr drill --lose-primary-host --repeat N` (the whole
# machine off until the restore) and `pgdr drill --switchover --repeat N`; the medians are printed
# side by side, then per phase the median difference between the samplers' time and the
# servers' evidence (sampler_at_ms - at_ms, over every run of every drill of the setting).
#
#   scripts/bench-drills.sh [RELEASE] [RUNS]      RELEASE: trixie (default) or bookworm; RUNS: 5
#   SETTINGS="seed default fast safe guard" ...   which rows (default: all but guard)
#
# The guard row (issue 18) runs on the OVH twin instead of the plain lab, after the other rows
# (one lab at a time): `pgdr lab up --ovh` (5 ms between regions), provision and bootstrap of
# inventories/ovh-twin.yaml with `guard: {enabled: true}` (agents on lb1 and lb2, default
# timing), then the same drills. Its goal: kill-primary RTO < 5 s and >= 5x faster than the
# seed's settings, 0 lost writes.
#
# Figures: kill-primary RTO (fault -> first acknowledged write), the part of it after the
# leader's lease expired (old_leader_gone: the replicas' Patroni no longer see a leader key ->
# first acknowledged write), the predicted RTO, and the switchover's client-visible write
# outage; host-loss RTO (lose-primary-host: etcd member gone too, connections time out).
# Goals (issue 5): kill RTO within 1 s of the lease expiry, switchover outage <= 1 s,
# and at least 1.6x faster than the seed's settings (`safe` trades speed for long leases).
# BENCH_KEEP=DIR keeps every JSON report and log. Needs root; its lab is taken down on exit.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
PGDR=${PGDR:-./build/cmd/pgdr}
RELEASE=${1:-trixie}
RUNS=${2:-5}
SETTINGS=${SETTINGS:-"seed default fast safe"}
dir=$(mktemp -d /tmp/pgdr-bench-drills.XXXXXX)
twin=$(mktemp -d /tmp/pgdr-bench-twin.XXXXXX)  # lab down removes its directory
trap '"$PGDR" lab down --dir "$twin" >/dev/null 2>&1 || true
      "$PGDR" lab down --dir "$dir" >/dev/null 2>&1 || true; rm -rf "$dir" "$twin"' EXIT
PGDR=$(realpath "$PGDR")
src=$PWD

inv=$dir/inventory.yaml
if [[ " $SETTINGS " != " guard " ]]; then
    "$PGDR" lab up --dir "$dir" --release "$RELEASE" --no-monitor >/dev/null  # no alert waits
    cp "$inv" "$dir/base.yaml"
fi

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

# Single drill reports (FILE...) as a --repeat report: {"summary": {FIELD: {"median"}, "phases",
# "passed", "runs"}, "runs": [...]}, for the fields summary() reads.
as_repeat() {
    python3 -c '
import json, statistics, sys
runs = []
for path in sys.argv[1:]:
    try:
        runs.append(json.load(open(path)))
    except (OSError, ValueError):
        pass
def med(values):
    values = [v for v in values if v is not None]
    return {"median": statistics.median(values)} if values else None
summary = {f: med([r.get(f) for r in runs]) for f in ("rto_ms", "write_outage_ms", "predicted_rto_ms")}
names = sorted({p["name"] for r in runs for p in r["phases"]})
summary["phases"] = [dict(name=n, **med([p["at_ms"] for r in runs for p in r["phases"] if p["name"] == n])) for n in names]
summary["passed"] = sum(1 for r in runs if r.get("verdict") == "pass")
summary["runs"] = len(runs)
print(json.dumps({"summary": summary, "runs": runs}))
' "$@"
}

# Per phase, the median of sampler_at_ms - at_ms over every run of the given reports (how
# much later the samplers saw what the servers logged), "phase=N/count" words.
sampler_minus_evidence() {
    python3 -c '
import json, statistics, sys
diffs = {}
for path in sys.argv[1:]:
    try:
        runs = json.load(open(path))["runs"]
    except (OSError, ValueError, KeyError):
        continue
    for r in runs:
        for p in r["phases"]:
            if p.get("sampler_at_ms") is not None:
                diffs.setdefault(p["name"], []).append(p["sampler_at_ms"] - p["at_ms"])
print(" ".join("%s=%.0f/%d" % (k, statistics.median(v), len(v)) for k, v in sorted(diffs.items())) or "-")
' "$@"
}

# The guard row's cluster: the OVH twin, provisioned and bootstrapped with pgdr-guard; works in
# its directory from then on. The agents' key is the twin's own (on OVH: `pgdr ovh credential --guard`).
twin_with_guard() {
    if [[ -f $dir/base.yaml ]]; then  # one lab at a time
        "$PGDR" lab down --dir "$dir" >/dev/null
        mkdir -p "$dir"
    fi
    local t=$twin ep=https://198.19.0.1:8443/1.0
    step() {  # LOG COMMAND...: its output in LOG, shown when it fails
        "${@:2}" >"$dir/$1" 2>&1 || { echo "failed: ${*:2}" >&2; tail -20 "$dir/$1" >&2; return 1; }
    }
    step guard.labup.log "$PGDR" lab up --ovh --dir "$t" --ovh-latency-ms 5
    cp "$src/inventories/ovh-twin.yaml" "$t/"
    cd "$t"  # ovh.conf, and the inventory's relative paths (key, known_hosts, CA)
    (umask 077; { printf '[default]\nendpoint=%s\n\n[%s]\n' "$ep" "$ep"
      grep -E '^(application_key|application_secret|consumer_key)=' "$t/ovh.conf"; } \
        >"$t/guard-ovh.conf")
    printf 'guard:\n  enabled: true\n  provider_endpoint: %s\n  provider_ca_file: twin/s3/ca.pem\n  credentials_file: guard-ovh.conf\n' \
        "$ep" >>"$t/ovh-twin.yaml"
    step guard.provision.log "$PGDR" -i "$t/ovh-twin.yaml" provision
    step guard.bootstrap.log "$PGDR" -i "$t/ovh-twin.yaml" bootstrap --accept-new-host-keys
}

declare -A row evidence
# measure SETTING INVENTORY: the drills of one row, their medians into row[SETTING].
measure() {
    local setting=$1 inv=$2 confirm=()
    [[ $setting == guard ]] && confirm=(--yes-really shop-db)  # a production inventory
    echo "== $setting: $RUNS x kill-primary" >&2
    "$PGDR" -i "$inv" drill --kill-primary --repeat "$RUNS" --timeout 300 "${confirm[@]}" --output json \
        >"$dir/$setting.kill.json" 2>"$dir/$setting.kill.log" || true
    # The power-off refuses a leader that runs the probes' HAProxy (the lab's pg3), and a run
    # may leave pg3 leading: one drill at a time, a switchover away from pg3 before each.
    echo "== $setting: $RUNS x lose-primary-host" >&2
    : >"$dir/$setting.lose.log"
    for i in $(seq "$RUNS"); do
        if [[ $setting != guard ]] && "$PGDR" -i "$inv" --output json status 2>/dev/null | grep -q '"leader": "pg3"'; then
            "$PGDR" -i "$inv" drill --switchover "${confirm[@]}" >>"$dir/$setting.lose.log" 2>&1 || true
        fi
        "$PGDR" -i "$inv" drill --lose-primary-host --timeout 300 "${confirm[@]}" --output json \
            >"$dir/$setting.lose.$i.json" 2>>"$dir/$setting.lose.log" || true
    done
    as_repeat "$dir/$setting".lose.*.json >"$dir/$setting.lose.json"
    echo "== $setting: $RUNS x switchover" >&2
    "$PGDR" -i "$inv" drill --switchover --repeat "$RUNS" "${confirm[@]}" --output json \
        >"$dir/$setting.switchover.json" 2>"$dir/$setting.switchover.log" || true
    read -r k_rto k_gone k_pred k_pass < <(summary rto_ms phase:old_leader_gone predicted_rto_ms \
        <"$dir/$setting.kill.json")
    read -r s_out s_rto s_pass < <(summary write_outage_ms rto_ms <"$dir/$setting.switchover.json")
    read -r l_rto l_pass < <(summary rto_ms <"$dir/$setting.lose.json")
    after=-
    [[ $k_rto != - && $k_gone != - ]] && after=$((k_rto - k_gone))
    row[$setting]="$k_rto $after $k_pred $k_pass $l_rto $l_pass $s_out $s_rto $s_pass"
    evidence[$setting]=$(sampler_minus_evidence "$dir/$setting".{kill,lose,switchover}.json)
    if [[ -n ${BENCH_KEEP:-} ]]; then mkdir -p "$BENCH_KEEP" && cp "$dir/$setting".* "$BENCH_KEEP"/; fi
}

for setting in $SETTINGS; do
    [[ $setting == guard ]] && continue  # last: it takes the plain lab down
    { cat "$dir/base.yaml"; section "$setting"; } >"$inv"
    echo "== $setting: bootstrap" >&2
    "$PGDR" -i "$inv" bootstrap >"$dir/$setting.bootstrap.log" 2>&1
    for _ in $(seq 60); do "$PGDR" -i "$inv" status >/dev/null 2>&1 && break; sleep 2; done
    measure "$setting" "$inv"
done
if [[ " $SETTINGS " == *" guard "* ]]; then
    echo "== guard: the OVH twin with pgdr-guard: lab up --ovh, provision, bootstrap" >&2
    twin_with_guard
    measure guard "$twin/ovh-twin.yaml"
fi

printf '\nrelease %s, %s runs each, medians in ms\n' "$RELEASE" "$RUNS"
printf '%-8s %10s %12s %10s %6s | %10s %6s | %12s %10s %6s | %s\n' setting kill-RTO \
    after-lease predicted pass lose-RTO pass sw-outage sw-RTO pass "kill speed-up vs seed"
seed_rto=$(cut -d' ' -f1 <<<"${row[seed]:--}")
for setting in $SETTINGS; do
    read -r k_rto after k_pred k_pass l_rto l_pass s_out s_rto s_pass <<<"${row[$setting]}"
    speed=-
    [[ $seed_rto != - && $k_rto != - && $k_rto != 0 ]] &&
        speed=$(printf "%.2fx" "$(echo "scale=3; $seed_rto / $k_rto" | bc)")
    printf '%-8s %10s %12s %10s %6s | %10s %6s | %12s %10s %6s | %s\n' "$setting" "$k_rto" \
        "$after" "$k_pred" "$k_pass" "$l_rto" "$l_pass" "$s_out" "$s_rto" "$s_pass" "$speed"
done
if [[ -n ${row[guard]:-} ]]; then
    printf '\nguard: median ms after the fault per phase of its failovers (phase=median/runs)\n'
    python3 -c '
import json, statistics, sys
at = {}
for r in json.load(open(sys.argv[1])).get("runs", []):
    for p in r.get("guard_phases", []):
        at.setdefault(p["name"], []).append(p["at_ms"])
order = ("detected", "quorum", "fenced", "key_released")
print(" ".join("%s=%.0f/%d" % (k, statistics.median(at[k]), len(at[k])) for k in order if k in at) or "-")
' "$dir/guard.kill.json"
fi
printf '\nsampler minus server evidence, median ms per phase (phase=median/runs)\n'
for setting in $SETTINGS; do
    printf '%-8s %s\n' "$setting" "${evidence[$setting]}"
done
