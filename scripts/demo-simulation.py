#!/usr/bin/env python3
"""The demo's simulation part (docs/simulation.md): shows the wind turbines running in shadow
mode — expected values, residuals and the bearing-damage virtual sensor — then compares three
rotor-speed limits for kr-wtg-01 over 7 days in a what-if job and prints the comparison.

    scripts/demo-simulation.py http://127.0.0.1:8080

Exits non-zero when the shadow runs do not reach the live readings within 60 s, or the what-if
job fails. DOPPEL_TOKEN, when set, is sent as the bearer token.
"""
import sys
import time

import demo_api

URL = sys.argv[1].rstrip("/")
TURBINES = ["kr-wtg-01", "kr-wtg-02", "kr-wtg-03", "kr-wtg-04"]
LIMITS = [("100% (12.6 rpm)", 12.6), ("90% (11.3 rpm)", 11.3), ("80% (10.1 rpm)", 10.1)]


def call(method, path, body=None):
    return demo_api.call(URL, method, path, body)


def shadow_state(twin):
    status, body = call("GET", f"/digitaltwins/{twin}/simulation")
    if status != 200:
        return None
    return body["bindings"][0]


def wait_for_live_shadow(live_observations=15):
    """The shadow runs first replay the backfilled day, then follow the simulator's live readings:
    wait until each has observed `live_observations` live instants (one per second)."""
    deadline = time.time() + 90
    first_live = {}
    states = {}
    while time.time() < deadline:
        states = {t: shadow_state(t) for t in TURBINES}
        recent = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 30))
        for twin, s in states.items():
            if s and s.get("last", {}).get("time", "") >= recent:
                first_live.setdefault(twin, s["observations"])
        if len(first_live) == len(TURBINES) and all(
                states[t]["observations"] - first_live[t] >= live_observations for t in TURBINES):
            return states
        time.sleep(0.5)
    sys.exit(f"demo: the shadow runs did not follow the live readings within 90 s: {states}")


def fmt(estimate, digits=1):
    if estimate is None or estimate.get("value") is None:
        return "-"
    return f"{estimate['value']:.{digits}f} ± {estimate['stddev']:.{digits}f}"


def main():
    states = wait_for_live_shadow()
    print("demo: shadow mode — the turbine model runs beside each turbine (GET /digitaltwins/{id}/simulation)")
    print(f"  {'turbine':10} {'obs':>6} {'power kW: expected':>19} {'residual':>9} "
          f"{'bearing °C: expected':>21} {'residual':>9} {'bearing damage (virtual)':>25}")
    for twin, s in states.items():
        last = s["last"]
        power = last["expected"].get("activePower", {})
        bearing = last["expected"].get("bearingTemperature", {})
        residual = last.get("residuals", {})
        print(f"  {twin:10} {s['observations']:>6} {fmt(power):>19} {residual.get('activePower') or 0:>9.1f} "
              f"{fmt(bearing):>21} {residual.get('bearingTemperature') or 0:>9.2f} "
              f"{fmt(last['virtualSensors'].get('cumulativeDamage'), 3):>25}")

    request = {
        "horizon": "7d", "resolution": "1m",
        "outputs": ["activePower", "bearingTemperature", "cumulativeDamage"],
        "scenarios": [{"name": name, "inputs": {"rotorSpeedLimit": {"value": rpm}}} for name, rpm in LIMITS],
    }
    started = time.time()
    status, job = call("POST", "/digitaltwins/kr-wtg-01/scenarios", request)
    if status != 202:
        sys.exit(f"demo: starting the what-if job failed ({status}): {job}")
    while job["status"] in ("queued", "running"):
        time.sleep(0.02)
        status, job = call("GET", f"/digitaltwins/kr-wtg-01/scenarios/{job['id']}")
    elapsed = time.time() - started
    if job["status"] != "succeeded":
        sys.exit(f"demo: the what-if job ended {job['status']}: {job.get('error')}")
    print()
    print(f"demo: what-if for kr-wtg-01, 7 days from its estimated state, the last day's wind replayed "
          f"(job {job['id']}, {elapsed:.2f} s end to end):")
    print(f"  {'rotor-speed limit':18} {'energy MWh':>11} {'peak bearing °C':>16} {'damage accrued':>15}")
    for scenario in job["scenarios"]:
        out = scenario["outputs"]
        damage = out["cumulativeDamage"]["summary"]
        print(f"  {scenario['name']:18} {out['activePower']['summary']['integral'] / 1000:>11.1f} "
              f"{out['bearingTemperature']['summary']['max']:>16.1f} "
              f"{damage['final'] - out['cumulativeDamage']['values'][0]:>15.5f}")


if __name__ == "__main__":
    main()
