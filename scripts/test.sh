#!/usr/bin/env bash
# The whole test suite: dependencies, a -Werror build, the clang-format check, then every test
# (unit tests, then end-to-end tests that start their own sshd, fake OVH API and lab).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
./scripts/check-format.sh
cd build
# Two at a time: the lab tests hold a resource lock (one lab at a time, in a fixed order), and
# the unit tests, the fuzzer and the other checks run beside them.
ctest --output-on-failure --timeout 1800 -j2
