#!/usr/bin/env bash
# Analytics on the ingest path (issue #6, bench/RESULTS.md): in-process ingest of 1M readings
# over 10,000 series without detectors and with one detector of each kind per series, each
# detector's own cost per reading, and the cost of a live KPI tick over 100 machines. Prints
# every figure, and as its LAST line one JSON object: ingest_readings_per_s (none and per kind),
# ingest_drop_pct per kind, detector_ns_per_reading per kind, kpi_tick_ms.
#
#   scripts/bench-analytics.sh BUILD_DIR
set -euo pipefail
BUILD_DIR=$1
bin="$BUILD_DIR/analytics_benchmark"
[[ -x $bin ]] || { echo "bench-analytics: $bin is missing (run make first)" >&2; exit 1; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

"$bin" --benchmark_out="$OUT/analytics.json" --benchmark_out_format=json >&2

python3 - "$OUT/analytics.json" <<'PY'
import json, sys
KINDS = ["none", "ewma", "mad", "changepoint", "seasonal", "context", "ensemble"]
runs = {b["name"]: b for b in json.load(open(sys.argv[1]))["benchmarks"] if b.get("run_type") != "aggregate"}

def find(prefix, key):
    for name, b in runs.items():
        if name.startswith(prefix + "/") or name == prefix:
            return b.get(key)
    return None

ingest = {k: find(f"BM_IngestWithDetectors/{i}", "readings_per_s") for i, k in enumerate(KINDS)}
base = ingest["none"]
figures = {
    "ingest_readings_per_s": {k: round(v) for k, v in ingest.items() if v},
    "ingest_drop_pct": {k: round(100 * (1 - v / base), 1) for k, v in ingest.items() if v and base and k != "none"},
    # Google Benchmark reports the inverted rate in seconds per reading.
    "detector_ns_per_reading": {k: round(find(f"BM_DetectorUpdate/{i}", "ns_per_reading") * 1e9, 1)
                                for i, k in enumerate(KINDS) if i and find(f"BM_DetectorUpdate/{i}", "ns_per_reading")},
    "kpi_tick_ms": round(find("BM_KpiTick", "kpi_tick_ms") or 0, 2),
}
print(json.dumps(figures, sort_keys=True))
PY
