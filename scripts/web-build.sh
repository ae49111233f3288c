#!/usr/bin/env bash
# Builds the operator dashboard (web/, docs/dashboard.md) into OUT_DIR: index.html and assets/,
# bundled by esbuild from the npm packages in web/package-lock.json (no CDN at run time), after
# a TypeScript type check. Quick when nothing changed since the last build.
#
#   scripts/web-build.sh OUT_DIR        (make builds it into build/web, beside build/doppel)
#
# Needs node (>= 18) and npm: scripts/install-deps.sh installs them and web/node_modules.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
web=$root/web

die() {
  echo "web-build: error: $*" >&2
  exit 1
}

command -v node >/dev/null || die "node is not installed (scripts/install-deps.sh installs it)"
command -v npm >/dev/null || die "npm is not installed (scripts/install-deps.sh installs it)"

# Dependencies: installed exactly as locked, again whenever the lock file changes.
if [[ ! -f $web/node_modules/.package-lock.json || $web/package-lock.json -nt $web/node_modules/.package-lock.json ]]; then
  echo "web-build: npm ci (web/package-lock.json)"
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
fi

# Up to date: the output is newer than every source and the installed dependencies.
if [[ -f $out/index.html ]] && [[ -z $(find "$web/src" "$web/index.html" "$web/build.mjs" "$web/tsconfig.json" \
    "$web/package.json" "$web/node_modules/.package-lock.json" -newer "$out/index.html" -print -quit) ]]; then
  echo "web-build: $out is up to date"
  exit 0
fi

(cd "$web" && node node_modules/typescript/bin/tsc --noEmit -p .) || die "the TypeScript type check failed"
(cd "$web" && node build.mjs "$out")
