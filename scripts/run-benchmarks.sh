#!/usr/bin/env bash
# Runs Google Benchmark binaries in quick mode (BENCH_MIN_TIME, default 0.2 s per benchmark),
# prints every figure, and as its LAST line one JSON object with all of them, for collectors.
#
#   scripts/run-benchmarks.sh BUILD_DIR model_benchmark twin_benchmark ...
# BENCH_FILTER narrows the benchmarks run (a Google Benchmark regex).
set -euo pipefail
BUILD_DIR=$1
shift
MIN_TIME=${BENCH_MIN_TIME:-0.2}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

for bench in "$@"; do
  bin="$BUILD_DIR/$bench"
  if [[ ! -x "$bin" ]]; then
    echo "run-benchmarks: $bin is missing (run make first)" >&2
    exit 1
  fi
  echo "== $bench"
  "$bin" --benchmark_min_time="$MIN_TIME" --benchmark_out="$OUT/$bench.json" \
         --benchmark_out_format=json ${BENCH_FILTER:+--benchmark_filter="$BENCH_FILTER"} >&2
done

python3 "$(dirname "$0")/bench_summary.py" "$OUT"/*.json
