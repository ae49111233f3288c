#!/usr/bin/env python3
"""The demo's closing-the-loop part (docs/automation.md): the rule examples/wind-farm/rules/
bearing-wear.json watches every turbine of the farm; kr-wtg-03's main bearing is wearing (the
simulator's --fault), its remaining useful life is short, so the rule derates the turbine within
the safety envelope (examples/wind-farm/automation/envelope.json), raises an alert and opens a
work order for the bearing. This script waits for that, then shows each step as the API tells
it: the action log, the device's acknowledgement of the new rotor-speed limit, the alert and
the work order.

    scripts/demo-automation.py http://127.0.0.1:8080

Exits non-zero when the rule has not acted on kr-wtg-03 within 90 s, or the device did not
acknowledge the limit. DOPPEL_TOKEN, when set, is sent as the bearer token.
"""
import sys
import time

import demo_api

URL = sys.argv[1].rstrip("/")
RULE = "bearing-wear"
TURBINE = "kr-wtg-03"
BEARING = "kr-wtg-03-mainbearing"


def call(method, path, body=None):
    return demo_api.call(URL, method, path, body)


def must(status_body, what):
    status, body = status_body
    if status >= 300:
        sys.exit(f"demo: {what} answered {status}: {body}")
    return body


def wait_for(what, probe, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.5)
    sys.exit(f"demo: {what} did not happen within {seconds} s")


def actions_for_turbine():
    body = must(call("GET", f"/automation/actions?rule={RULE}&twinId={TURBINE}&limit=20"), "the action log")
    kinds = {a["type"] for a in body["value"]}
    return body["value"] if {"alert", "setProperty", "workOrder"} <= kinds else None


def limit_acknowledged():
    twin = must(call("GET", f"/digitaltwins/{TURBINE}"), f"twin {TURBINE}")
    meta = twin["$metadata"].get("rotorSpeedLimit", {})
    return (twin, meta) if meta.get("ackCode") == 200 else None


def num(value):
    return "?" if value is None else f"{value:.0f}"


def main():
    instances = must(call("GET", f"/rules/{RULE}/instances"), "the rule's instances")
    active = [i["twinId"] for i in instances["value"] if i["active"]]
    print(f"demo: rule {RULE} watches {len(instances['value'])} turbines; active for: {', '.join(active) or 'none yet'}")

    actions = wait_for(f"rule {RULE} acting on {TURBINE}", actions_for_turbine, 90)
    print(f"demo: what the rule did for {TURBINE} (GET /automation/actions):")
    for a in reversed(actions):
        line = f"  {a['time']}  {a['type']:<12} {a['outcome']:<9}"
        if a.get("reason"):
            line += f" {a['reason']}"
        print(line)

    twin, meta = wait_for(f"the device acknowledging {TURBINE}'s new rotor-speed limit", limit_acknowledged, 60)
    print(f"demo: {TURBINE} rotorSpeedLimit {twin['rotorSpeedLimit']:.2f} rpm (ramping down to the envelope's 6): "
          f"desired v{meta['desiredVersion']}, reported {meta.get('reportedValue'):.2f} at {meta.get('reportedTime')}, "
          f"ackCode {meta['ackCode']} (the simulator obeys over MQTT)")

    alerts = must(call("GET", f"/alerts?twinId={TURBINE}&state=open"), "the alerts")["value"]
    for a in alerts:
        print(f"demo: alert [{a['severity']}] {a['title']} — {a['state']} since {a['raisedTime']}")
    orders = must(call("GET", f"/workorders?twinId={BEARING}"), "the work orders")["value"]
    for o in orders:
        rul = (o.get("evidence") or {}).get("rul") or {}
        print(f"demo: work order {o['workOrderId']} [{o['priority']}] {o['title']} — {o['status']}, due {o.get('dueTime')}"
              f" (RUL {num(rul.get('value'))} h, low {num(rul.get('low'))} h)")
    if not alerts or not orders:
        sys.exit("demo: the rule acted but its alert or work order is missing")


if __name__ == "__main__":
    main()
