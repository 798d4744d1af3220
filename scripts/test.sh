#!/usr/bin/env bash
# The whole test suite: dependencies, a -Werror build, the clang-format check, then every test
# (unit tests, then end-to-end tests that start their own sshd, fake OVH API and lab).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
./scripts/check-format.sh
cd build
ctest --output-on-failure --timeout 1800
