#!/usr/bin/env bash
# Checks and unit-tests pgdr's alert rules (monitoring/pgdr-alerts.yml) with `promtool test
# rules` (monitoring/tests/*.test.yml): every alert firing and not firing on synthetic series.
# promtool comes from Debian's `prometheus` package: the one on PATH, or else the package's
# promtool unpacked into a cache (apt-get download + dpkg-deb -x), so that no Prometheus server
# is installed or started on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
promtool=$(command -v promtool || true)
if [ -z "$promtool" ]; then
    if [ "$(id -u)" -eq 0 ]; then cache=/var/cache/pgdr/promtool; else cache=${XDG_CACHE_HOME:-$HOME/.cache}/pgdr/promtool; fi
    promtool=$cache/usr/bin/promtool
    if [ ! -x "$promtool" ]; then
        mkdir -p "$cache"
        tmp=$(mktemp -d)
        trap 'rm -rf "$tmp"' EXIT
        (cd "$tmp" && apt-get download -q prometheus >/dev/null 2>&1) || {
            echo "test-alert-rules: cannot download Debian's prometheus package (apt-get update?)" >&2
            exit 1
        }
        dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
        install -D -m 0755 "$tmp/x/usr/bin/promtool" "$promtool"
    fi
fi
"$promtool" --version 2>&1 | head -1
"$promtool" check rules monitoring/pgdr-alerts.yml
cd monitoring/tests
"$promtool" test rules ./*.test.yml
# The Grafana dashboard (monitoring/grafana/pgdr-cluster.json): valid JSON, and every panel's
# query parses as PromQL: each becomes a recording rule that `promtool check rules` parses
# ($cluster, Grafana's variable, replaced by a value).
cd ../..
rules=$(mktemp --suffix=.yml)
trap 'rm -f "$rules"; rm -rf "${tmp:-}"' EXIT
python3 - monitoring/grafana/pgdr-cluster.json "$rules" <<'PY'
import json, sys
dash = json.load(open(sys.argv[1]))
exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
assert exprs and all(p.get("targets") for p in dash["panels"]), "a panel without a query"
with open(sys.argv[2], "w") as out:
    out.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, e in enumerate(exprs):
        out.write("      - record: dashboard:expr%d\n        expr: %s\n"
                  % (i, json.dumps(e.replace("$cluster", "shop"))))
print("dashboard: %d queries" % len(exprs))
PY
"$promtool" check rules "$rules"
