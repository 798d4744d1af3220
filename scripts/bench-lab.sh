#!/usr/bin/env bash
# Benchmark (not a test): the 3-host lab's start time with a cached image, a full bootstrap with
# packages already in the image, a no-op re-run, and the running cluster's memory (PSS of every
# process in the lab's cgroups). Needs root; uses its own lab directory and removes it.
# Goals (issues 3 and 4): lab up < 60 s, memory < 4 GiB, bootstrap <= 60 s, re-run <= 5 s.
set -euo pipefail
cd "$(dirname "$0")/.."
PGDR=${PGDR:-./build/cmd/pgdr}
RELEASE=${1:-trixie}
dir=$(mktemp -d /tmp/pgdr-bench-lab.XXXXXX)
trap '"$PGDR" lab down --dir "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

echo "warming the image cache (not timed)"
"$PGDR" lab up --dir "$dir" --release "$RELEASE" >/dev/null
"$PGDR" lab down --dir "$dir" >/dev/null

t0=$(now); "$PGDR" lab up --dir "$dir" --release "$RELEASE" >/dev/null; t1=$(now)
up=$(secs "$t0" "$t1")
inv=$dir/inventory.yaml
t0=$(now); "$PGDR" -i "$inv" bootstrap >/dev/null; t1=$(now)
boot=$(secs "$t0" "$t1")
t0=$(now); "$PGDR" -i "$inv" bootstrap >"$dir/rerun.out"; t1=$(now)
rerun=$(secs "$t0" "$t1")
changes=$(grep -o '^[0-9]* changes' "$dir/rerun.out" || true)
sleep 5
pss_kb=0
for pid in $(find /sys/fs/cgroup/systemd/pgdr-lab -name cgroup.procs -exec cat {} + 2>/dev/null); do
    kb=$(awk '/^Pss:/ { s += $2 } END { print s + 0 }' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
    pss_kb=$((pss_kb + kb))
done
printf 'release                 %s\n' "$RELEASE"
printf 'lab up (image cached)   %.1f s   (goal < 60 s)\n' "$up"
printf 'bootstrap (full)        %.1f s   (goal <= 60 s)\n' "$boot"
printf 'bootstrap (re-run)      %.1f s   (goal <= 5 s; %s)\n' "$rerun" "$changes"
printf 'lab memory (PSS)        %d MiB   (goal < 4096 MiB)\n' $((pss_kb / 1024))
