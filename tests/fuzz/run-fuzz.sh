#!/usr/bin/env bash
# ctest fuzz_parsers: builds the parsers' fuzz target with clang and libFuzzer (ASan + UBSan) in
# its own build directory, then fuzzes for SECONDS from the seed corpus. A crash, a sanitizer
# report or an unexpected exception fails the test; the reproducer is left in BUILD_DIR.
# Usage: run-fuzz.sh SOURCE_DIR BUILD_DIR SECONDS
set -euo pipefail
src=$1
build=$2
seconds=$3
cxx=$(command -v clang++ || command -v clang++-14 || true)
if [ -z "$cxx" ]; then
    echo "clang++ not found: scripts/install-deps.sh installs clang and libFuzzer" >&2
    exit 1
fi
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$src" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPGDR_FUZZ=ON "${launcher[@]}" \
    -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" \
    >/dev/null
# Niced against the tests beside it in the same cgroup; the lab's hosts have cgroups of their own,
# so ctest starts this only after e2e_drill (tests/CMakeLists.txt).
nice -n 15 cmake --build "$build" --target pgdr_fuzz_parsers -j "$(nproc)" >/dev/null
corpus=$build/fuzz-corpus
mkdir -p "$corpus"
cp -n "$src"/tests/fuzz/corpus-parsers/* "$corpus"/ 2>/dev/null || true
# The example inventories and runbooks as seeds (first byte: the parser).
for f in "$src"/inventories/*.yaml; do
    { printf '\x00'; cat "$f"; } >"$corpus/inventory-$(basename "$f")"
done
for f in "$src"/runbooks/*.yaml; do
    { printf '\x01'; cat "$f"; } >"$corpus/runbook-$(basename "$f")"
done
cd "$build"
UBSAN_OPTIONS=halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 nice -n 15 \
    "$build"/tests/fuzz/pgdr_fuzz_parsers -max_total_time="$seconds" -max_len=16384 \
    -timeout=10 -print_final_stats=1 "$corpus"
