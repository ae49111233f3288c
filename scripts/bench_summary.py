#!/usr/bin/env python3
"""Folds Google Benchmark JSON outputs into one line of JSON: {benchmark name: milliseconds}.

Names are made key-friendly (BM_QueryByModel/100000 -> query_by_model_100000_ms); counters a
benchmark reports (items_per_second, bytes_per_point, ...) are added as <name>_<counter>.
"""
import json
import re
import sys


def key(name: str) -> str:
    name = re.sub(r"^BM_", "", name)
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return re.sub(r"[^a-z0-9]+", "_", name).strip("_")


def to_ms(value: float, unit: str) -> float:
    return value * {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


# Fields every Google Benchmark entry has; anything else numeric is a user counter.
STANDARD_FIELDS = {"family_index", "per_family_instance_index", "repetitions",
                   "repetition_index", "threads", "iterations", "real_time", "cpu_time"}

figures = {}
for path in sys.argv[1:]:
    with open(path) as f:
        data = json.load(f)
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate":
            continue
        k = key(b["name"])
        figures[k + "_ms"] = round(to_ms(b["real_time"], b["time_unit"]), 4)
        for counter, value in b.items():
            if counter in STANDARD_FIELDS or not isinstance(value, (int, float)):
                continue
            figures[k + "_" + counter] = round(value, 3) if abs(value) < 1000 else round(value)
print(json.dumps(figures, sort_keys=True))
