#!/usr/bin/env bash
# Builds the pgdr of the last commit before TLS (issue 12) into DIR (default build/pre-tls):
# tests/e2e/test_tls_move.sh bootstraps a plain-HTTP cluster with it, as an operator's older
# pgdr did, and moves that cluster to TLS with the current one:
#
#   scripts/build-pre-tls-pgdr.sh [DIR]     prints the binary's path (DIR/build/cmd/pgdr)
#   PGDR_PRE_TLS=$(scripts/build-pre-tls-pgdr.sh) ctest --test-dir build -R e2e_tls_move
#
# Needs the repository's history (not a shallow clone); about 12 minutes on 2 cores. An existing
# build is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=ae8ed92ae04c889b7ee6a4906e302efeae3b29cd  # the merge before the TLS merge (ae86c74)
out=$(realpath -m "${1:-build/pre-tls}")
bin=$out/build/cmd/pgdr
if [ -x "$bin" ] && [ "$(cat "$out/rev" 2>/dev/null)" = "$rev" ]; then
    echo "$bin"
    exit 0
fi
git cat-file -e "$rev^{commit}" 2>/dev/null || {
    echo "commit $rev is not in this clone (a shallow clone?): git fetch --unshallow" >&2
    exit 1
}
rm -rf "$out"
mkdir -p "$out/src"
git archive "$rev" | tar -x -C "$out/src"
cmake -S "$out/src" -B "$out/build" -DPGDR_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Release >&2
cmake --build "$out/build" -j"$(nproc)" --target pgdr >&2
echo "$rev" >"$out/rev"
echo "$bin"
