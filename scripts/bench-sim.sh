#!/usr/bin/env bash
# Simulation benchmarks (issue #5, bench/RESULTS.md): the turbine model's speed, what-if
# throughput on 1 and 2 threads, the cost of running an FMU out of process, and shadow mode's
# cost per reading. Prints every figure, and as its LAST line one JSON object with at least
# turbine_realtime_factor, whatif_scenarios_per_s (1 and 2 threads), fmu_step_overhead_ns and
# shadow_us_per_reading (the tracker alone), plus shadow_path_readings_per_s (1,000 bound turbines
# fed through the Ingestor, until the shadow worker has observed every reading).
#
#   scripts/bench-sim.sh BUILD_DIR
set -euo pipefail
BUILD_DIR=$1
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
export DOPPEL_BINARY=${DOPPEL_BINARY:-$BUILD_DIR/doppel}  # the FMU host

for bench in sim_benchmark scenario_benchmark fmu_benchmark shadow_benchmark shadow_service_benchmark; do
  bin="$BUILD_DIR/$bench"
  [[ -x $bin ]] || { echo "bench-sim: $bin is missing (run make first)" >&2; exit 1; }
  echo "== $bench"
  "$bin" --benchmark_out="$OUT/$bench.json" --benchmark_out_format=json >&2
done

python3 - "$OUT" <<'PY'
import json, pathlib, sys
runs = {}
for path in pathlib.Path(sys.argv[1]).glob("*.json"):
    for b in json.loads(path.read_text()).get("benchmarks", []):
        if b.get("run_type") != "aggregate":
            runs[b["name"]] = b

def run(name):
    """The run called `name`, or the first whose name starts with `name/` (Google Benchmark
    appends /min_time:..., /real_time, /iterations:... to a name)."""
    if name in runs:
        return runs[name]
    return next((b for n, b in sorted(runs.items()) if n.startswith(name.split("/")[0] + "/") and
                 all(part in n.split("/") for part in name.split("/")[1:])), None)

def counter(name, key):
    b = run(name)
    return None if b is None or key not in b else round(b[key], 3)

def wall_ns(name):
    b = run(name)
    if b is None:
        return None
    return b["real_time"] * {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]

def wall_ms(name):
    ns = wall_ns(name)
    return None if ns is None else round(ns / 1e6, 3)

figures = {
    "turbine_realtime_factor": counter("BM_TurbineStep1s/real_time", "turbine_realtime_factor"),
    "turbine_step_1s_ns": round(wall_ns("BM_TurbineStep1s/real_time") or 0) or None,
    "turbine_step_60s_ns": round(wall_ns("BM_TurbineStep60s/real_time") or 0) or None,
    "whatif_scenarios_per_s": {
        "1": counter("BM_WhatIfThroughput/1/real_time", "whatif_scenarios_per_s_1t"),
        "2": counter("BM_WhatIfThroughput/2/real_time", "whatif_scenarios_per_s_2t"),
    },
    "whatif_three_limits_7d_ms": wall_ms("BM_ThreeLimitComparison/real_time"),
    "fmu_step_overhead_ns": counter("BM_FmuStepOutOfProcess/real_time", "fmu_step_overhead_ns"),
    "fmu_step_in_process_ns": counter("BM_FmuStepOutOfProcess/real_time", "in_process_ns"),
    "shadow_us_per_reading": counter("BM_ShadowTurbine/1/1", "shadow_us_per_reading"),
    "shadow_thermal_us_per_reading": counter("BM_ShadowThermal/1", "shadow_us_per_reading"),
    "whatif3_scenarios_per_s": {
        "1": counter("BM_WhatIfThreeOutputs/1/real_time", "whatif3_scenarios_per_s_1t"),
        "2": counter("BM_WhatIfThreeOutputs/2/real_time", "whatif3_scenarios_per_s_2t"),
    },
    "whatif_scenarios_per_cpu_s": counter("BM_WhatIfThroughput/1/real_time", "scenarios_per_cpu_s"),
    "whatif3_scenarios_per_cpu_s": counter("BM_WhatIfThreeOutputs/1/real_time", "scenarios_per_cpu_s"),
    "shadow_path_readings_per_s": counter("BM_ShadowKeepsUpWithIngest/iterations:1/manual_time", "readings_per_s"),
    "shadow_path_dropped": counter("BM_ShadowKeepsUpWithIngest/iterations:1/manual_time", "dropped"),
}
w = figures["whatif_scenarios_per_s"]
figures["whatif_scaling_2t_over_1t"] = round(w["2"] / w["1"], 2) if w["1"] and w["2"] else None
print(json.dumps(figures, sort_keys=True))
PY
