#!/usr/bin/env bash
# make bench-spine: model parsing, twin patching/restore and queries over 100k twins.
# Quick mode by default (BENCH_MIN_TIME=0.2); prints every figure, and as its LAST line one JSON
# object with the headline figures, for result collectors.
set -euo pipefail
BUILD_DIR=${1:-build}
MIN_TIME=${BENCH_MIN_TIME:-0.2}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

for bench in model_benchmark twin_benchmark query_benchmark; do
  bin="$BUILD_DIR/$bench"
  if [[ ! -x "$bin" ]]; then
    echo "bench-spine: $bin is missing (run make first)" >&2
    exit 1
  fi
  echo "== $bench"
  "$bin" --benchmark_min_time="$MIN_TIME" --benchmark_out="$OUT/$bench.json" \
         --benchmark_out_format=json ${BENCH_FILTER:+--benchmark_filter="$BENCH_FILTER"} >&2
done

python3 scripts/bench_summary.py "$OUT"/*.json
