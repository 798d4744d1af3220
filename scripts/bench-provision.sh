#!/usr/bin/env bash
# Benchmark: provisioning 3 instances must take at most 1.3x the time of 1 (instances are
# created and waited on in parallel). Runs the real pgdr against the fake OVH API with a
# realistic READY latency (~1 s per resource) and prints the figures.
#
# usage: scripts/bench-provision.sh [PGDR_BINARY] [ROUNDS]
#   PGDR_BINARY defaults to build-ovh/cmd/pgdr (or $PGDR); ROUNDS (default 3) per measurement,
#   the median is compared.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
pgdr="$(realpath "${1:-${PGDR:-$root/build-ovh/cmd/pgdr}}")"
rounds="${2:-3}"
latency="${PGDR_BENCH_READY_SECONDS:-1}"
[[ -x "$pgdr" ]] || { echo "bench: no pgdr binary at $pgdr" >&2; exit 2; }

work="$(mktemp -d /tmp/pgdr-bench-XXXXXX)"
fake_pid=""
cleanup() {
    [[ -n "$fake_pid" ]] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# Throw-away credentials for the fake, passed through the environment, never argv.
rand() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
export OVH_APPLICATION_KEY="$(rand 8)" OVH_APPLICATION_SECRET="$(rand 16)"
export OVH_CONSUMER_KEY="$(rand 16)" HOME="$work/home" NO_COLOR=1
mkdir -p "$HOME"
project=0123456789abcdef0123456789abcdef
cat >"$work/fake.json" <<JSON
{"applications": {"$OVH_APPLICATION_KEY": "$OVH_APPLICATION_SECRET"},
 "consumers": {"$OVH_CONSUMER_KEY": {"application": "$OVH_APPLICATION_KEY",
   "rules": [{"method":"GET","path":"/*"},{"method":"POST","path":"/*"},
             {"method":"PUT","path":"/*"},{"method":"DELETE","path":"/*"}]}},
 "projects": {"$project": {"regions": ["GRA11"]}}}
JSON
chmod 600 "$work/fake.json"

python3 "$root/tests/fake_ovh/fake_ovh.py" --config "$work/fake.json" --ready-polls 0 \
    --ready-seconds "$latency" >"$work/port" &
fake_pid=$!
for _ in $(seq 50); do [[ -s "$work/port" ]] && break; sleep 0.1; done
port="$(head -1 "$work/port")"
export OVH_ENDPOINT="http://127.0.0.1:$port/1.0"
control() { curl -sf -X POST -H 'Content-Type: application/json' -d "$2" "http://127.0.0.1:$port$1" >/dev/null; }

echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchOnlyKey bench" >"$work/id.pub"
cat >"$work/cluster.yaml" <<YAML
cluster: bench
network: {cidr: 10.50.0.0/24, ssh_allowed_cidrs: [203.0.113.0/24]}
hosts:
  - {name: pg1, region: GRA11, services: [postgres, etcd, haproxy]}
  - {name: pg2, region: GRA11, services: [postgres, etcd, haproxy]}
  - {name: pg3, region: GRA11, services: [postgres, etcd, haproxy]}
provider:
  type: ovh
  ovh: {project_id: $project, regions: [GRA11], ssh_public_key_file: id.pub}
YAML

# Seconds (3 decimals) that one `pgdr provision` takes.
timed_provision() {
    local t0 t1
    t0=$(date +%s.%N)
    (cd "$work" && "$pgdr" provision -i cluster.yaml >"$work/out" 2>"$work/err") || {
        echo "bench: provision failed:" >&2; cat "$work/err" >&2; exit 1; }
    t1=$(date +%s.%N)
    echo "$t0 $t1" | awk '{printf "%.3f", $2 - $1}'
}
median() { tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

full="$(timed_provision)"
one=() three=()
for _ in $(seq "$rounds"); do
    control /_fake/remove '{"kind":"compute/instance","name":"pgdr-bench-pg2"}'
    one+=("$(timed_provision)")
    grep -q "1 created" "$work/out" || { echo "bench: expected 1 instance created" >&2; exit 1; }
    control /_fake/remove '{"kind":"compute/instance"}'
    three+=("$(timed_provision)")
    grep -q "3 created" "$work/out" || { echo "bench: expected 3 instances created" >&2; exit 1; }
done
m1="$(echo "${one[*]}" | median)"
m3="$(echo "${three[*]}" | median)"
ratio="$(awk -v a="$m3" -v b="$m1" 'BEGIN {printf "%.2f", a / b}')"

echo "READY latency of the fake: ${latency} s per resource"
echo "full provision from nothing (key, network, subnet, security group, group, 3 instances): ${full} s"
echo "1 instance:  ${one[*]} s  (median ${m1} s)"
echo "3 instances: ${three[*]} s  (median ${m3} s)"
echo "ratio 3/1: ${ratio} (target <= 1.30)"
awk -v r="$ratio" 'BEGIN {exit !(r <= 1.30)}' && echo "PASS" || { echo "FAIL"; exit 1; }
