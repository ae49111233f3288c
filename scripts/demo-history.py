#!/usr/bin/env python3
"""Writes the last HOURS hours of believable readings for the demo's twins into Doppel's history,
through the InfluxDB line-protocol endpoint (POST /write), one reading per minute per signal.

    scripts/demo-history.py http://127.0.0.1:8080 [HOURS [TWINS_OUT]]

TWINS_OUT, when given, receives examples/production-line/twins.json with each machine's state
and part counters as the history leaves them, for the device simulator to carry on from (so a
counter does not jump when the live readings take over from the history).

Wind turbines follow a daily wind cycle with gusts and a power curve; kr-wtg-03's main bearing
runs warm and its vibration creeps up (a developing fault to find in the data); the CNC
machines and testers of the production line cycle with noise. Deterministic (fixed seed), so
the docs' example queries give the same shapes every time.

Two more things analytics needs (docs/analytics.md): the machines' state and part counters over
the same hours (for OEE, counters reset at the 06:00/14:00/22:00 UTC shift changes), and the
histories of RETIRED main bearings that ran until their vibration tripped the turbine — twins
of their own ("kr-mb-retired-NN"), each history ending in a `failed` reading — from which the
demo trains its remaining-useful-life model.
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
    # The fault's heat and vibration scale with rotor speed, as devsim's (docs/devsim.md).
    speed = rotor / 14.0
    bearing = ambient + ((16 + 22 * load + (9 * speed if fault else 0)) if turning else 0) + random.gauss(0, 0.15)
    vibration = (0.8 + 1.2 * load if turning else 0.1) + random.gauss(0, 0.04)
    if fault and turning:
        vibration += (0.6 * (t % 86400) / 86400 + 0.8) * speed
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


# The machines of examples/production-line/twins.json as the device simulator runs them
# (src/devsim/machine.cc): running / idle / down with exponential dwell times, one part per
# cycle of idealCycleTime x 1.1 while running, 2 % scrap.
MACHINES = {
    "halden-l1-op10-cnc1": 52.0, "halden-l1-op20-cnc1": 98.0, "halden-l1-op20-cnc2": 98.0,
    "halden-l1-op30-washer": 40.0, "halden-l1-op40-tester": 45.0, "halden-l2-op10-robot": 38.0,
    "halden-l2-op20-press": 42.0, "halden-l2-op30-robot": 55.0, "halden-l2-op40-tester": 60.0,
}
SHIFT_STARTS_H = (6, 14, 22)


class MachineHistory:
    def __init__(self, twin, ideal_cycle_s):
        self.twin, self.cycle_s = twin, ideal_cycle_s * 1.1
        self.state, self.left_s = "running", random.expovariate(1 / 2700)
        self.good = self.scrap = 0
        self.progress_s = 0.0

    def step(self, t, out):
        if (t % 86400) // 3600 in SHIFT_STARTS_H and t % 3600 == 0:  # a new shift: counters restart
            self.good = self.scrap = 0
        changed = False
        self.left_s -= STEP_S
        if self.left_s <= 0:
            if self.state == "running":
                self.state = "down" if random.random() < 0.35 else "idle"
            else:
                self.state = "running"
            self.left_s = random.expovariate(1 / {"running": 2700, "idle": 240, "down": 480}[self.state])
            changed = True
        if self.state == "running":
            self.progress_s += STEP_S
            while self.progress_s >= self.cycle_s:
                self.progress_s -= self.cycle_s
                if random.random() < 0.02:
                    self.scrap += 1
                else:
                    self.good += 1
        fields = [f"goodCount={self.good}i", f"scrapCount={self.scrap}i"]
        if changed or t % 600 == 0:
            fields.append(f'state="{self.state}"')
        out.append(f"machine,twin={self.twin} {','.join(fields)} {t}")


def write_machine_twins(machines, path):
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "production-line", "twins.json")
    with open(source) as f:
        example = json.load(f)
    now = {m.twin: m for m in machines}
    for twin in example["twins"]:
        machine = now.get(twin["$dtId"])
        if machine:
            twin.update(state=machine.state, goodCount=machine.good, scrapCount=machine.scrap)
    with open(path, "w") as f:
        json.dump(example, f, indent=1)


def wind_at(t, gust):
    return max(0.0, 9 + 4 * math.sin(2 * math.pi * ((t % 86400) / 86400 - 0.3)) + gust)


def load_at(wind):  # the power curve of turbine_lines, as a fraction of rated power
    if wind < 3 or wind > 25:
        return None  # not turning
    return 1.0 if wind >= 12 else ((wind - 3) / 9) ** 3


def retired_bearing_lines(url, end):
    """Run-to-failure histories of 16 retired main bearings, every 10 minutes: healthy for a
    while, then the fault devsim gives kr-wtg-03 (vibration +0.8 mm/s, +0.6 mm/s a day; +9 °C,
    +1 °C a day; both at 14 rpm, in proportion to the rotor speed) until vibration passes the
    7.1 mm/s trip, where `failed` is true."""
    step = 600
    lines = []
    for n in range(1, 17):
        twin = f"kr-mb-retired-{n:02d}"
        put_twin(url, twin, {"$metadata": {"$model": "dtmi:doppel:example:windfarm:MainBearing;1"},
                             "serialNumber": f"MB-R-{4400 + n}", "manufacturer": "Halvard Bearings",
                             "productModel": "HB-240 spherical roller", "ratedLife": 175000.0})
        healthy_s = random.uniform(150, 700) * 3600
        t = end - int(random.uniform(30, 400)) * 86400 - int(healthy_s) - 12 * 86400
        t -= t % step
        start, gust = t, 0.0
        while True:
            gust = 0.9 * gust + random.gauss(0, 0.6)
            wind = wind_at(t, gust)
            load = load_at(wind)
            ambient = ambient_at((t % 86400) / 86400)
            fault_days = max(0.0, (t - start - healthy_s) / 86400)
            faulty = t - start >= healthy_s
            if load is None:
                temperature, vibration = ambient, 0.1
            else:
                speed = min(14.0, 4 + 0.85 * wind, 12.6) / 14.0  # at the default 12.6 rpm limit
                temperature = ambient + 16 + 22 * load + ((9 + fault_days) * speed if faulty else 0)
                vibration = 0.8 + 1.2 * load + ((0.8 + 0.6 * fault_days) * speed if faulty else 0)
            temperature += random.gauss(0, 0.15)
            vibration = max(0.0, vibration + random.gauss(0, 0.04))
            failed = vibration > 7.1
            lines.append(f"bearing,twin={twin} bearingTemperature={temperature:.2f},vibrationRms={vibration:.3f}"
                         f"{',failed=true' if failed else ''} {t}")
            if failed:
                break
            t += step
    return lines


def put_twin(url, twin, body):
    req = urllib.request.Request(f"{url}/digitaltwins/{twin}", data=json.dumps(body).encode(), method="PUT",
                                 headers={"Content-Type": "application/json"})
    if os.environ.get("DOPPEL_TOKEN"):
        req.add_header("Authorization", "Bearer " + os.environ["DOPPEL_TOKEN"])
    try:
        urllib.request.urlopen(req, timeout=30).close()
    except urllib.error.HTTPError as e:
        sys.exit(f"demo-history: PUT /digitaltwins/{twin} answered {e.code}: {e.read().decode(errors='replace')}")


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
    if len(sys.argv) not in (2, 3, 4):
        sys.exit(__doc__)
    url = sys.argv[1].rstrip("/")
    hours = int(sys.argv[2]) if len(sys.argv) >= 3 else 24
    random.seed(7)
    end = int(time.time()) // STEP_S * STEP_S
    start = end - hours * 3600
    lines, count = [], 0
    gust = [0.0] * 5
    specs = turbine_specs()
    machines = [MachineHistory(twin, cycle) for twin, cycle in MACHINES.items()]
    for t in range(start, end, STEP_S):
        day = (t % 86400) / 86400
        farm = 0.0
        for i in range(1, 5):
            gust[i] = 0.9 * gust[i] + random.gauss(0, 0.6)
            wind = max(0.0, 9 + 4 * math.sin(2 * math.pi * (day - 0.3)) + gust[i] + 0.3 * i)
            farm += turbine_lines(t, i, wind, specs[i], lines)
        lines.append(f"farm,twin=kestrel-ridge activePower={farm / 1000:.3f} {t}")
        line_lines(t, lines)
        for machine in machines:
            machine.step(t, lines)
        if len(lines) >= 5000:
            post(url, lines)
            count += len(lines)
            lines = []
    if lines:
        post(url, lines)
        count += len(lines)
    print(f"demo: wrote {hours} h of history ({count} lines) for the wind farm and the production line")
    if len(sys.argv) == 4:
        write_machine_twins(machines, sys.argv[3])
    retired = retired_bearing_lines(url, start)
    for i in range(0, len(retired), 5000):
        post(url, retired[i:i + 5000])
    print(f"demo: wrote the run-to-failure histories of 16 retired main bearings ({len(retired)} lines)")


if __name__ == "__main__":
    main()
