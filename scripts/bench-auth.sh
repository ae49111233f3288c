#!/usr/bin/env bash
# The cost of authorisation (issue #9): the policy engine's checks in isolation
# (auth_benchmark) and the API's ingest and query throughput with policies on vs off
# (api_auth_benchmark). Prints every figure, and as its LAST line one JSON object with them
# all plus authz_overhead_pct: the larger of the ingest and query slowdowns, in percent.
#
#   scripts/bench-auth.sh BUILD_DIR
set -euo pipefail
BUILD_DIR=${1:-build}
SUMMARY=$(BENCH_MIN_TIME=${BENCH_MIN_TIME:-1} "$(dirname "$0")/run-benchmarks.sh" "$BUILD_DIR" auth_benchmark api_auth_benchmark | tail -n 1)
python3 - "$SUMMARY" <<'PY'
import json, sys
f = json.loads(sys.argv[1])
def overhead(name):
    off, on = f[f"{name}_0_items_per_second"], f[f"{name}_1_items_per_second"]
    return round(max(0.0, (1 - on / off) * 100), 2)
f["authz_ingest_overhead_pct"] = overhead("api_ingest")
f["authz_query_overhead_pct"] = overhead("api_query")
f["authz_overhead_pct"] = max(f["authz_ingest_overhead_pct"], f["authz_query_overhead_pct"])
print(json.dumps(f, sort_keys=True))
PY
