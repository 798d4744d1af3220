#!/usr/bin/env bash
# Benchmark (not a test): the OVH path on the local OVH twin (`pgdr lab up --ovh`) against the
# plain lab. On the twin: `pgdr provision` of inventories/ovh-twin.yaml (5 instances in 3
# regions) until all 5 answer SSH at their public address, `pgdr bootstrap` over those public
# SSH ports, one `drill --kill-primary` whose probes go through SSH forwarding (the cluster ports
# are closed to this machine by the security groups) and `destroy`. Then the plain lab (3 hosts,
# every port open to this machine): bootstrap and the same drill. Prints each time, the two RTOs,
# the write outages and the median probe write latencies side by side. The twin's probe latency
# includes the added latency: a write goes from the HAProxy host to the leader and is confirmed
# by the synchronous standby in another region.
#
#   scripts/bench-ovh-twin.sh [LATENCY_MS]     added latency between regions (default 5)
#
# PLAIN=0 skips the plain lab. BENCH_KEEP=DIR keeps the reports. Needs root; each lab is taken
# down on exit. Only one lab runs at a time on a machine: it waits for /run/pgdr-lab.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
PGDR=$(realpath "${PGDR:-./build/cmd/pgdr}")
LATENCY=${1:-5}
PLAIN=${PLAIN:-1}
root=$(mktemp -d /tmp/pgdr-bench-twin.XXXXXX)
twin=$root/twin
lab=$root/lab
cleanup() {
    "$PGDR" lab down --dir "$twin" >/dev/null 2>&1 || true
    "$PGDR" lab down --dir "$lab" >/dev/null 2>&1 || true
    if [ -n "${BENCH_KEEP:-}" ]; then
        mkdir -p "$BENCH_KEEP" && cp "$root"/*.json "$BENCH_KEEP"/ 2>/dev/null || true
    fi
    rm -rf "$root"
}
trap cleanup EXIT
exec 9>/run/pgdr-lab.lock
flock 9  # pgdr lab commands below work under this lock (they find the inherited descriptor)

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
field() {  # REPORT.json FIELD
    python3 -c 'import json, sys; v = json.load(open(sys.argv[1])).get(sys.argv[2])
print("-" if v is None else v)' "$1" "$2"
}

echo "twin: lab up --ovh (added latency between regions: $LATENCY ms)" >&2
"$PGDR" lab up --ovh --dir "$twin" --ovh-latency-ms "$LATENCY" >/dev/null
cp inventories/ovh-twin.yaml "$twin/"
cd "$twin"

echo "twin: provision" >&2
t0=$(now)
"$PGDR" provision -i ovh-twin.yaml >/dev/null
t_provision=$(since "$t0")
addresses=$(python3 -c 'import json
print(" ".join(h["public_address"] for h in json.load(open("ovh-twin.state/state.json"))["hosts"].values()))')
for a in $addresses; do
    until ssh -i id_ed25519 -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no \
        -o ConnectTimeout=3 -o BatchMode=yes -o LogLevel=ERROR "debian@$a" true 2>/dev/null; do
        sleep 0.5
    done
done
t_ssh=$(since "$t0")

echo "twin: bootstrap" >&2
t0=$(now)
"$PGDR" bootstrap -i ovh-twin.yaml --accept-new-host-keys >/dev/null
t_twin_boot=$(since "$t0")

echo "twin: drill --kill-primary" >&2
"$PGDR" drill -i ovh-twin.yaml --kill-primary --yes-really shop-db --report "$root/twin-kill.json" \
    >/dev/null || true
t0=$(now)
"$PGDR" destroy -i ovh-twin.yaml --yes-really shop-db >/dev/null
t_destroy=$(since "$t0")
cd /
"$PGDR" lab down --dir "$twin" >/dev/null

if [ "$PLAIN" = 1 ]; then
    echo "plain lab: lab up, bootstrap, drill --kill-primary" >&2
    "$PGDR" lab up --dir "$lab" >/dev/null
    t0=$(now)
    "$PGDR" -i "$lab/inventory.yaml" bootstrap >/dev/null
    t_lab_boot=$(since "$t0")
    "$PGDR" -i "$lab/inventory.yaml" drill --kill-primary --report "$root/lab-kill.json" \
        >/dev/null || true
fi

printf '\n%-40s %12s %12s\n' "" "OVH twin" "plain lab"
printf '%-40s %12.1f %12s\n' "provision (5 instances), s" "$t_provision" "-"
printf '%-40s %12.1f %12s\n' "provision to SSH on all 5, s" "$t_ssh" "-"
printf '%-40s %12.1f %12s\n' "bootstrap, s" "$t_twin_boot" \
    "$([ -n "${t_lab_boot:-}" ] && printf '%.1f' "$t_lab_boot" || echo -)"
printf '%-40s %12.1f %12s\n' "destroy, s" "$t_destroy" "-"
for f in rto_ms write_outage_ms predicted_rto_ms probe_write_latency_ms lost_acknowledged_writes \
    verdict probe_vantage; do
    lab_value=-
    [ -f "$root/lab-kill.json" ] && lab_value=$(field "$root/lab-kill.json" "$f")
    printf '%-40s %12s %12s\n' "kill-primary $f" "$(field "$root/twin-kill.json" "$f")" \
        "$lab_value"
done
