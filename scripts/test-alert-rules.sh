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
