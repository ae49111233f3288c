#!/usr/bin/env bash
# Doppel's anomaly detection on the Numenta Anomaly Benchmark (issue #6, docs/analytics-anomaly.md,
# bench/RESULTS.md): replays every series of a NAB-format directory as the telemetry of one twin
# through an in-process Doppel, scores the three profiles with one global threshold each, and
# adds the held-out (leave-one-category-out cross-validated) figures. Prints every figure, and as
# its LAST line one JSON object with standard, reward_low_FP_rate, reward_low_FN_rate, files,
# windows, ns_per_reading and <profile>_heldout. ~4 minutes (most of it the cross-validation).
#
#   scripts/bench-nab.sh BUILD_DIR [NAB_DIR]     (NAB_DIR default: ../shared/data/nab)
set -euo pipefail
BUILD_DIR=$1
NAB_DIR=${2:-${NAB_DIR:-../shared/data/nab}}
bin="$BUILD_DIR/nab_eval"
[[ -x $bin ]] || { echo "bench-nab: $bin is missing (run make first)" >&2; exit 1; }
[[ -d $NAB_DIR/data ]] || { echo "bench-nab: $NAB_DIR is not a NAB-format directory (no data/)" >&2; exit 1; }
exec "$bin" --nab-dir "$NAB_DIR"
