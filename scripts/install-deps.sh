#!/usr/bin/env bash
# Installs every Debian package Doppel builds, tests or demos with.
# Idempotent and quick when everything is present: apt-get runs only for what is missing.
#   scripts/install-deps.sh          build, test and demo packages
#   scripts/install-deps.sh --fuzz   only the clang toolchain for `make fuzz` (libFuzzer + sanitizers)
#   scripts/install-deps.sh --bench  only what `make bench-history` compares against (InfluxDB)
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache mold pkg-config curl python3
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  librocksdb-dev libspdlog-dev libfmt-dev libcli11-dev libssl-dev
  libgtest-dev google-mock libbenchmark-dev zlib1g-dev
  mosquitto mosquitto-clients libmosquitto-dev openssl
  libmodbus-dev
  libeigen3-dev libpugixml-dev libzip-dev zipcmp zipmerge ziptool
  libxgboost-dev
)

# Used only by `make fuzz` (docs/fuzzing.md): libFuzzer ships with clang's runtime libraries.
FUZZ_PACKAGES=(clang-14 libclang-rt-14-dev)

# Used only by `make bench-history` (bench/RESULTS.md): the InfluxDB it is measured against,
# started by scripts/bench-history.sh itself (never as a system service).
BENCH_PACKAGES=(influxdb curl python3)

# The operator dashboard (web/, docs/dashboard.md): node and npm build it, Debian's chromium runs
# its browser tests. A node that is already installed (any >= 18, e.g. from another source) is
# kept: Debian 12's nodejs 18 is only installed where there is none.
WEB_PACKAGES=(chromium)
if ! command -v node >/dev/null; then
  WEB_PACKAGES+=(nodejs npm)
elif ! command -v npm >/dev/null; then
  WEB_PACKAGES+=(npm)
fi

web=default
if [[ ${1:-} == "--fuzz" ]]; then
  PACKAGES=("${FUZZ_PACKAGES[@]}")
  web=""
elif [[ ${1:-} == "--bench" ]]; then
  PACKAGES=("${BENCH_PACKAGES[@]}")
  web=""
else
  PACKAGES+=("${WEB_PACKAGES[@]}")
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm packages exactly as locked, in a folder of the checkout; again whenever the lock changes.
npm_ci_if_stale() {
  local dir
  dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../$1" && pwd)
  if [[ ! -f $dir/node_modules/.package-lock.json || $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ]]; then
    echo "install-deps: npm ci in $1/"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# The dashboard's npm packages; node-opcua, the OPC UA server of the tests (docs/opcua.md).
if [[ -n $web ]]; then
  npm_ci_if_stale web
  npm_ci_if_stale tests/opcua
fi
