#!/bin/sh
# Build step (run by CMake): embeds the OpenAPI document, src/server/openapi.json — the
# checked-in source of truth — into a C++ source file as a raw string.
# Usage: embed-openapi.sh INPUT_JSON OUTPUT_CC
set -eu
src=$1
out=$2
if grep -q ')openapi"' "$src"; then
  echo "embed-openapi: $src contains the raw-string delimiter )openapi\"" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
{
  echo '// GENERATED at build time by scripts/embed-openapi.sh from src/server/openapi.json.'
  echo '#include "server/api.h"'
  echo ''
  echo 'namespace doppel::server {'
  echo ''
  echo 'std::string_view OpenApiDocument() {'
  printf '%s' '  static constexpr std::string_view kDocument = R"openapi('
  cat "$src"
  echo ')openapi";'
  echo '  return kDocument;'
  echo '}'
  echo ''
  echo '}  // namespace doppel::server'
} > "$out.tmp"
mv "$out.tmp" "$out"
