#!/usr/bin/env python3
"""Writes the last HOURS hours of believable readings for the demo's twins into Doppel's history,
through the InfluxDB line-protocol endpoint (POST /write), one reading per minute per signal.

    scripts/demo-history.py http://127.0.0.1:8080 [HOURS]

Wind turbines follow a daily wind cycle with gusts and a power curve; kr-wtg-03's main bearing
runs warm and its vibration creeps up (a developing fault to find in the data); the CNC
machines and testers of the production line cycle with noise. Deterministic (fixed seed), so
the docs' example queries give the same shapes every time.
"""
import json
import math
import os
import random
import sys
import time
import urllib.error
import urllib.request

STEP_S = 60


# Each turbine's operating limits as examples/wind-farm/twins.json states them, as the device
# simulator (src/devsim/turbine.cc) applies them: a rotor-speed limit caps speed and power, a
# turbine in "fault" or "stopped" does not turn.
def turbine_specs():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "wind-farm", "twins.json")
    with open(path) as f:
        twins = {t["$dtId"]: t for t in json.load(f)["twins"]}
    return {i: (twins[f"kr-wtg-0{i}"].get("rotorSpeedLimit", 12.6),
                twins[f"kr-wtg-0{i}"].get("state") in ("fault", "stopped")) for i in range(1, 5)}


def ambient_at(day):
    return 12 + 4 * math.sin(2 * math.pi * (day - 0.375))  # warmest mid-afternoon, as devsim


def turbine_lines(t, i, wind, spec, out):
    twin = f"kr-wtg-0{i}"
    limit, stopped = spec
    ambient = ambient_at((t % 86400) / 86400)
    # Power curve of a 3.6 MW turbine: cut-in 3 m/s, rated at 12 m/s, cut-out 25 m/s; a speed
    # limit below rated speed caps power in proportion.
    if stopped or wind < 3 or wind > 25:
        curve = 0.0
    elif wind >= 12:
        curve = 3600.0
    else:
        curve = 3600.0 * ((wind - 3) / 9) ** 3
    power = min(curve, 3600.0 * min(1.0, limit / 12.6))
    rotor = 0.0 if curve == 0 else min(14.0, 4 + wind * 0.85, limit)
    shed = 1 - power / curve if curve > 0 else 0
    pitch = 90.0 if curve == 0 else min(25.0, max(0.0, wind - 12) * 2.2 + 25 * shed)
    out.append(f"turbine,twin={twin} windSpeed={wind:.2f},rotorSpeed={rotor:.2f},"
               f"activePower={power:.1f},pitchAngle={pitch:.2f} {t}")
    load = power / 3600.0
    turning = rotor > 0
    fault = i == 3
    out.append(f"nacelle,twin={twin},component=nacelle ambientTemperature={ambient:.2f},"
               f"nacelleTemperature={ambient + 6 + 4 * load:.2f} {t}")
    bearing = ambient + ((16 + 22 * load + (9 if fault else 0)) if turning else 0) + random.gauss(0, 0.15)
    vibration = (0.8 + 1.2 * load if turning else 0.1) + random.gauss(0, 0.04)
    if fault and turning:
        vibration += 0.6 * (t % 86400) / 86400 + 0.8
    out.append(f"bearing,twin={twin}-mainbearing bearingTemperature={bearing:.2f},vibrationRms={max(0, vibration):.3f} {t}")
    oil = ambient + (33 + 18 * load if turning else 0) + random.gauss(0, 0.2)
    winding = ambient + (43 + 40 * load if turning else 0) + random.gauss(0, 0.3)
    out.append(f"gearbox,twin={twin}-gearbox oilTemperature={oil:.2f} {t}")
    out.append(f"generator,twin={twin}-generator windingTemperature={winding:.2f} {t}")
    return power


def line_lines(t, out):
    for twin in ("halden-l1-op10-cnc1", "halden-l1-op20-cnc1", "halden-l1-op20-cnc2"):
        running = (t // 600) % 7 != 0  # a short stop every 70 minutes
        speed = 8000 + random.gauss(0, 40) if running else 0.0
        load = 0.55 + random.gauss(0, 0.03) if running else 0.0
        out.append(f"cnc,twin={twin} spindleSpeed={speed:.0f},spindleLoad={load:.3f} {t}")
    for twin in ("halden-l1-op30-washer", "halden-l1-op40-tester", "halden-l2-op20-press", "halden-l2-op40-tester"):
        out.append(f"machine,twin={twin} cycleTime={42 + random.gauss(0, 1.5):.2f},"
                   f"powerDraw={11 + random.gauss(0, 0.8):.2f} {t}")


def post(url, lines):
    req = urllib.request.Request(url + "/write?precision=s", data="\n".join(lines).encode(), method="POST")
    if os.environ.get("DOPPEL_TOKEN"):  # set by demo.sh when the data directory has API keys
        req.add_header("Authorization", "Bearer " + os.environ["DOPPEL_TOKEN"])
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            if resp.status != 204:
                sys.exit(f"demo-history: /write answered {resp.status}")
    except urllib.error.HTTPError as e:
        sys.exit(f"demo-history: /write answered {e.code}: {e.read().decode(errors='replace')}")


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    url = sys.argv[1].rstrip("/")
    hours = int(sys.argv[2]) if len(sys.argv) == 3 else 24
    random.seed(7)
    end = int(time.time()) // STEP_S * STEP_S
    start = end - hours * 3600
    lines, count = [], 0
    gust = [0.0] * 5
    specs = turbine_specs()
    for t in range(start, end, STEP_S):
        day = (t % 86400) / 86400
        farm = 0.0
        for i in range(1, 5):
            gust[i] = 0.9 * gust[i] + random.gauss(0, 0.6)
            wind = max(0.0, 9 + 4 * math.sin(2 * math.pi * (day - 0.3)) + gust[i] + 0.3 * i)
            farm += turbine_lines(t, i, wind, specs[i], lines)
        lines.append(f"farm,twin=kestrel-ridge activePower={farm / 1000:.3f} {t}")
        line_lines(t, lines)
        if len(lines) >= 5000:
            post(url, lines)
            count += len(lines)
            lines = []
    if lines:
        post(url, lines)
        count += len(lines)
    print(f"demo: wrote {hours} h of history ({count} lines) for the wind farm and the production line")


if __name__ == "__main__":
    main()
