#!/usr/bin/env bash
# Remaining useful life on NASA C-MAPSS (issue #6, docs/analytics-rul.md, bench/RESULTS.md).
# For each subset: trains a RUL model on the run-to-failure units, predicts every test unit's
# RUL at its last cycle and scores RMSE and the PHM08 score against the true RUL (not clipped).
# MODE=api (the default) goes through a real Doppel server started by the bench program (twins,
# line-protocol ingest, training and reading through the HTTP API); MODE=direct runs the same
# model code in-process. Prints per-subset figures and, as its LAST line, one JSON object with
# <subset>_rmse, <subset>_score, train_seconds and infer_us_per_reading.
#
#   CMAPSS_DIR=../shared/data/cmapss SUBSETS="FD001 FD003" [MODE=api|direct] scripts/bench-cmapss.sh BUILD_DIR
set -euo pipefail
BUILD_DIR=${1:-build}
CMAPSS_DIR=${CMAPSS_DIR:-../shared/data/cmapss}
SUBSETS=${SUBSETS:-FD001 FD003}
MODE=${MODE:-api}

bin="$BUILD_DIR/cmapss_bench"
[[ -x $bin ]] || { echo "bench-cmapss: $bin is missing (run make first)" >&2; exit 1; }
exec "$bin" --cmapss-dir "$CMAPSS_DIR" --subsets "$SUBSETS" --mode "$MODE" --doppel "$BUILD_DIR/doppel"
