#!/usr/bin/env bash
# The README's main job, end to end on the local lab (as root on Debian 12 or 13):
# dependencies, build, a 3-host Debian 13 lab, bootstrap of the HA cluster, its status, a
# kill-primary drill with the report (Markdown, JSON and SVG under ./demo-report/).
# The lab stays up afterwards so that you can look around; `pgdr lab down` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
PGDR=$PWD/build/cmd/pgdr
INV=/var/lib/pgdr/lab/inventory.yaml

echo "== pgdr lab up (the first run builds the Debian image, about 2 minutes)"
"$PGDR" lab up
echo "== pgdr bootstrap"
"$PGDR" -i "$INV" bootstrap
echo "== pgdr status"
"$PGDR" -i "$INV" status
if "$PGDR" help drill >/dev/null 2>&1; then
    echo "== pgdr drill --kill-primary"
    mkdir -p demo-report
    rc=0
    "$PGDR" -i "$INV" drill --kill-primary --max-rto 60 --max-lost 0 \
        --report demo-report/kill-primary.md --report demo-report/kill-primary.json \
        --report demo-report/kill-primary.svg || rc=$?
    echo "== the report: demo-report/kill-primary.md"
    cat demo-report/kill-primary.md
    "$PGDR" -i "$INV" status || true
    exit $rc
fi
