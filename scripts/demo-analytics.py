#!/usr/bin/env python3
"""The demo's analytics part (docs/analytics.md): trains the main-bearing remaining-useful-life
model from the retired bearings' run-to-failure histories, then shows, live over the API, each
turbine's bearing anomaly score and RUL with its interval, the recent anomaly events, and the
KPIs of the production line (OEE and its factors, rolled up machine → line → plant) and of the
wind farm (capacity factor, availability).

    scripts/demo-analytics.py http://127.0.0.1:8080

Exits non-zero when training fails or the live twins get no estimate within 60 s.
DOPPEL_TOKEN, when set, is sent as the bearer token.
"""
import sys
import time

import demo_api

URL = sys.argv[1].rstrip("/")
BEARINGS = [f"kr-wtg-0{i}-mainbearing" for i in range(1, 5)]
RUL_MODEL = "main-bearing"


def call(method, path, body=None):
    return demo_api.call(URL, method, path, body)


def must(status_body, what):
    status, body = status_body
    if status >= 300:
        sys.exit(f"demo: {what} answered {status}: {body}")
    return body


def train_rul():
    must(call("POST", f"/analytics/rul/{RUL_MODEL}/train"), "starting the RUL training")
    deadline = time.time() + 120
    while time.time() < deadline:
        training = must(call("GET", f"/analytics/rul/{RUL_MODEL}"), "the RUL model")
        if training.get("status") == "trained":
            report = training.get("report", {})
            print(f"demo: RUL model '{RUL_MODEL}' trained on {report.get('units')} retired bearings "
                  f"({report.get('cycles')} hourly cycles) in {report.get('seconds', 0):.1f} s; "
                  f"validation RMSE {report.get('validationRmse', 0):.1f} h")
            return
        if training.get("status") == "failed":
            sys.exit(f"demo: RUL training failed: {training}")
        time.sleep(0.5)
    sys.exit("demo: RUL training did not finish within 120 s")


def analytics(twin):
    return must(call("GET", f"/digitaltwins/{twin}/analytics"), f"the analytics of {twin}")


def wait_for_estimates():
    deadline = time.time() + 60
    states = {}
    while time.time() < deadline:
        states = {b: analytics(b) for b in BEARINGS}
        if all(RUL_MODEL in s.get("rul", {}) for s in states.values()):
            return states
        time.sleep(0.5)
    sys.exit(f"demo: no RUL estimate for every bearing within 60 s: {states}")


def percent(kpis, name):
    value = kpis.get(name)
    return "-" if value is None else f"{100 * value:5.1f} %"


def main():
    train_rul()
    states = wait_for_estimates()
    print("\ndemo: main bearings, live (GET /digitaltwins/{id}/analytics)")
    print(f"  {'bearing':24} {'anomaly score':>13} {'RUL (h)':>8} {'90 % interval':>15} {'health':>7}")
    for bearing, state in states.items():
        score = state.get("anomaly", {}).get("bearing-vibration", {}).get("score")
        rul = state["rul"][RUL_MODEL]
        print(f"  {bearing:24} {'-' if score is None else f'{score:.2f}':>13} {rul['rul']:8.0f} "
              f"{rul['low']:7.0f} – {rul['high']:<5.0f} {rul['health']:7.2f}")

    events = must(call("GET", "/analytics/anomalies?limit=3"), "the anomaly events")["value"]
    print(f"\ndemo: latest anomaly events (GET /analytics/anomalies): {len(events)} shown")
    for event in events:
        evidence = event.get("evidence", {})
        print(f"  {event.get('time')} {event.get('twinId')} {event.get('detector')}: score {event.get('score', 0):.2f}, "
              f"value {evidence.get('value', 0):.2f} outside {evidence.get('low', 0):.2f} – {evidence.get('high', 0):.2f}")

    print("\ndemo: KPIs over the last 8 hours (GET /digitaltwins/{id}/kpis), rolled up from summed times and counts")
    print(f"  {'twin':22} {'OEE':>8} {'avail.':>8} {'perf.':>8} {'quality':>8}")
    for twin in ["halden-l1-op10-cnc1", "halden-l1", "halden-l2", "plant-halden"]:
        kpis = must(call("GET", f"/digitaltwins/{twin}/kpis"), f"the KPIs of {twin}").get("kpis", {})
        print(f"  {twin:22} {percent(kpis, 'oee'):>8} {percent(kpis, 'availability'):>8} "
              f"{percent(kpis, 'performance'):>8} {percent(kpis, 'quality'):>8}")
    print(f"  {'twin':22} {'capacity factor':>16} {'time availability':>18}")
    for twin in ["kr-wtg-01", "kr-wtg-04", "kestrel-ridge"]:
        kpis = must(call("GET", f"/digitaltwins/{twin}/kpis"), f"the KPIs of {twin}").get("kpis", {})
        print(f"  {twin:22} {percent(kpis, 'capacityFactor'):>16} {percent(kpis, 'timeAvailability'):>18}")


if __name__ == "__main__":
    main()
