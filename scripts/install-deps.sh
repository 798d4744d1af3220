#!/usr/bin/env bash
# Installs every Debian package pgdr needs to build, test and run its lab (Debian 12 or 13, as
# root). Skips apt entirely when everything is present already.
set -euo pipefail
packages=(
  # build
  build-essential cmake pkg-config clang-format
  libcli11-dev nlohmann-json3-dev libyaml-cpp-dev libcurl4-openssl-dev libssl-dev libssh-dev
  libpq-dev catch2 libcpp-httplib-dev
  # run: SSH client, psql, the lab (nspawn, debootstrap, apt proxy, bridge, nftables)
  openssh-client postgresql-client systemd-container debootstrap apt-cacher-ng iproute2
  nftables util-linux ca-certificates
  # tests: a private sshd, python3 for the fake OVH API, bc, groff and man-db for the man pages,
  # openssl for test certificates
  openssh-server python3 bc groff-base man-db openssl
  # fuzz_parsers: clang and libFuzzer (tests/fuzz/run-fuzz.sh)
  clang
)
# libFuzzer ships in libclang-rt-N-dev, only recommended by clang-N: N is Debian's default clang.
clang_major=$(apt-cache depends clang 2>/dev/null | sed -n 's/.*Depends: clang-\([0-9][0-9]*\)$/\1/p' | head -1)
if [ -n "$clang_major" ]; then packages+=("libclang-rt-$clang_major-dev"); fi
missing=()
for p in "${packages[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
