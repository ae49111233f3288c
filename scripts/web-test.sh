#!/usr/bin/env bash
# The dashboard's end-to-end tests in a real browser (tests/web/e2e.mjs, docs/dashboard.md):
# starts the demo exactly as `make demo` does — Mosquitto, the server on a free loopback port
# with a fresh data directory, the example models and twins with a day of history, the device
# simulator — then drives headless Chromium (Debian's chromium via playwright-core) through
# the dashboard, and stops everything. Screenshots go to BUILD_DIR/web-e2e/.
#
#   scripts/web-test.sh BINARY BUILD_DIR       (ctest runs it as web_e2e)
#
# The dashboard's assets are served from BUILD_DIR/web (built by `make`; built here if absent).
# shellcheck disable=SC2317  # cleanup runs from a trap
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 BINARY BUILD_DIR" >&2
  exit 2
fi
binary=$(realpath "$1")
build_dir=$(realpath "$2")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
chromium=${CHROMIUM:-/usr/bin/chromium}

die() {
  echo "web-test: error: $*" >&2
  exit 1
}

[[ -x $binary ]] || die "$binary is not an executable (build it first: make)"
[[ -x $chromium ]] || die "$chromium is missing (scripts/install-deps.sh installs Debian's chromium)"
command -v node >/dev/null || die "node is missing (scripts/install-deps.sh installs it)"
[[ -f $build_dir/web/index.html ]] || "$root/scripts/web-build.sh" "$build_dir/web"
[[ -d $root/web/node_modules/playwright-core ]] || die "web/node_modules lacks playwright-core (scripts/web-build.sh runs npm ci)"

work=$(mktemp -d "${TMPDIR:-/tmp}/doppel-web-test.XXXXXX")
shots=$build_dir/web-e2e
rm -rf "$shots"
mkdir -p "$shots"
demo_pid=""
cleanup() {
  if [[ -n $demo_pid ]] && kill -0 "$demo_pid" 2>/dev/null; then
    kill -TERM "$demo_pid" 2>/dev/null || true
    wait "$demo_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The demo, with the dashboard's assets from this build; it prints the server's URL, then
# "serving until Ctrl-C" once everything is loaded and live.
DOPPEL_WEB_ROOT=$build_dir/web "$root/scripts/demo.sh" "$binary" 127.0.0.1:0 "$work/data" >"$work/demo.log" 2>&1 &
demo_pid=$!
ready=""
for _ in $(seq 1 1800); do  # up to 3 minutes
  if grep -q "serving until Ctrl-C" "$work/demo.log"; then
    ready=1
    break
  fi
  kill -0 "$demo_pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z $ready ]]; then
  cat "$work/demo.log" >&2
  die "the demo did not start (its log is above)"
fi
url=$(grep -m1 -o 'listening on http://[^[:space:]]*' "$work/demo.log")
url=${url#listening on }
echo "web-test: demo up at $url; running tests/web/e2e.mjs (screenshots: $shots)"

status=0
CHROMIUM=$chromium node "$root/tests/web/e2e.mjs" "$url" "$shots" || status=$?
if [[ $status -ne 0 ]]; then
  echo "web-test: the demo's log follows" >&2
  tail -n 40 "$work/demo.log" >&2
fi
exit "$status"
