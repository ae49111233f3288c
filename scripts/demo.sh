#!/usr/bin/env bash
# The Doppel demo: start a Mosquitto broker, the server (with an MQTT connector to it) and the
# device simulator; load the wind-farm and production-line examples with a day of history, show
# a few queries, then keep everything running — live twins — until Ctrl-C stops all three.
#
#   scripts/demo.sh BINARY LISTEN DATA_DIR
#   scripts/demo.sh build/doppel 127.0.0.1:8080 /tmp/doppel-demo
#
# DEMO_EXIT_AFTER_LOAD=1 stops everything after loading, the queries and the first live
# readings from the simulator, and exits 0 (for automated checks). LISTEN may use port 0: the port the server picked is read back from its
# "doppel listening on http://HOST:PORT" line.
# SC2016: the queries hold literal $dtId. SC2317: cleanup and forward run from traps.
# shellcheck disable=SC2016,SC2317
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: $0 BINARY LISTEN DATA_DIR" >&2
  exit 2
fi
binary=$1
listen=$2
data_dir=$3
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() {
  echo "demo: error: $*" >&2
  exit 1
}

[[ -x $binary ]] || die "$binary is not an executable (build it first: make)"

# Refuse a port somebody already listens on, before starting anything: the alternative is a
# server that fails to bind while an old one answers our requests.
host=${listen%:*}
port=${listen##*:}
[[ -z $host || $host == "0.0.0.0" ]] && host=127.0.0.1
host=${host#[}
host=${host%]}
if [[ $port != 0 ]] && (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
  die "port $port on $host is already in use; stop what listens there or pass another LISTEN (e.g. 127.0.0.1:0)"
fi

mkdir -p "$data_dir"
work=$(mktemp -d "${TMPDIR:-/tmp}/doppel-demo.XXXXXX")
stdout_log=$work/server.out
server_pid=""
broker_pid=""
devsim_pid=""
stop_process() {  # PID: SIGTERM and wait
  if [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; then
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
cleanup() {
  stop_process "$devsim_pid"
  stop_process "$server_pid"
  stop_process "$broker_pid"
  rm -rf "$work"
}
trap cleanup EXIT
# Interrupted while starting or loading: exit through cleanup, which stops the server.
trap 'exit 130' INT
trap 'exit 143' TERM

# The MQTT broker the devices (the simulator) publish to and Doppel subscribes to: Mosquitto on
# a free loopback port, persistent so queued QoS 1 messages survive a broker restart.
broker_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/mosquitto"
{
  echo "listener $broker_port 127.0.0.1"
  echo "allow_anonymous true"
  echo "persistence true"
  echo "persistence_location $work/mosquitto/"
  echo "max_queued_messages 0"
  echo "log_dest file $work/mosquitto/log"
  [[ $(id -u) == 0 ]] && echo "user root"
} >"$work/mosquitto.conf"
set -m
mosquitto=$(command -v mosquitto || echo /usr/sbin/mosquitto)
[[ -x $mosquitto ]] || die "mosquitto is not installed (make installs it: scripts/install-deps.sh)"
"$mosquitto" -c "$work/mosquitto.conf" &
broker_pid=$!
set +m
for _ in $(seq 1 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$broker_port") 2>/dev/null && break
  kill -0 "$broker_pid" 2>/dev/null || die "mosquitto exited at start (log: $work/mosquitto/log)"
  sleep 0.1
done
echo "demo: MQTT broker (mosquitto $broker_pid) on mqtt://127.0.0.1:$broker_port"

# Doppel's connector to it: the simulator's telemetry and reported properties (docs/mqtt.md).
cat >"$work/doppel.json" <<CONFIG
{"connectors": [{
  "name": "demo-broker", "broker": "mqtt://127.0.0.1:$broker_port", "clientId": "doppel-demo",
  "mappings": [
    {"topic": "doppel/+/{twinId}/telemetry", "timestamp": {"field": "ts", "format": "rfc3339"}},
    {"topic": "doppel/+/{twinId}/properties", "target": "properties"}
  ],
  "commands": {
    "request": "doppel/{site}/{twinId}/commands/{commandName}",
    "response": "doppel/+/{twinId}/commands/{commandName}/response",
    "desired": "doppel/{site}/{twinId}/desired",
    "learn": ["doppel/{site}/{twinId}/telemetry", "doppel/{site}/{twinId}/properties"]
  }}]}
CONFIG

# A data directory from an earlier demo may hold API keys (docs/security.md walks through
# making some): authentication is then on, so the demo makes itself an administrator's key,
# offline, before the server takes the key file's lock, and uses it for its own requests.
if [[ -z ${DOPPEL_TOKEN:-} && -s $data_dir/auth/api-keys.json ]]; then
  DOPPEL_TOKEN=$("$binary" apikey create --data-dir "$data_dir" --name "demo-$(date -u +%Y%m%dT%H%M%S)" \
    --role admin --expires-in 1d 2>/dev/null | head -n 1) || die "cannot create the demo's API key"
  export DOPPEL_TOKEN
  echo "demo: $data_dir has API keys, so authentication is on; the demo's own admin key (valid 1 day): $DOPPEL_TOKEN"
fi

# The server's stdout (the listening line) goes to a file we watch; its log (stderr) to the
# terminal. It runs in a process group of its own (set -m), so Ctrl-C reaches only this
# script, which forwards exactly one SIGTERM: two signals could interrupt the graceful stop.
set -m
"$binary" serve --config "$work/doppel.json" --listen "$listen" --data-dir "$data_dir" >"$stdout_log" &
server_pid=$!
set +m

url=""
for _ in $(seq 1 300); do  # up to 30 s: recovering a large data directory takes a moment
  if line=$(grep -m1 -o 'listening on http://[^[:space:]]*' "$stdout_log"); then
    url=${line#listening on }
    break
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    wait "$server_pid" || true
    server_pid=""
    die "the server exited before listening (is $listen free and $data_dir writable?)"
  fi
  sleep 0.1
done
[[ -n $url ]] || die "the server did not report listening within 30 s"
echo "demo: server $server_pid listening on $url (data in $data_dir)"

doppel() { "$binary" --url "$url" "$@"; }

for example in wind-farm production-line; do
  echo
  echo "demo: loading examples/$example"
  doppel load "$root/examples/$example" || die "loading examples/$example failed"
done

echo
# The simulator carries on from the machines' state and counters where the history leaves them.
python3 "$root/scripts/demo-history.py" "$url" 24 "$work/production-line-twins.json" || die "writing the demo history failed"

show() {
  echo
  echo "demo: doppel query '$1'"
  doppel query "$1" || die "query failed: $1"
}
show 'SELECT T.$dtId, T.state, T.activeFaultCode FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, "dtmi:doppel:example:windfarm:WindTurbine;1")'
show 'SELECT turbine.$dtId, bearing.serialNumber, bearing.cumulativeDamage FROM DIGITALTWINS turbine JOIN bearing RELATED turbine.hasMainBearing WHERE bearing.cumulativeDamage > 0.5'
show 'SELECT M.$dtId, M.state FROM DIGITALTWINS M WHERE IS_OF_MODEL(M, "dtmi:doppel:example:production:Machine;1")'

# The physical side: the simulator publishes the demo twins' telemetry once a second and obeys
# desired properties and commands; kr-wtg-03's main bearing has a developing fault.
set -m
"$binary" devsim --broker "mqtt://127.0.0.1:$broker_port" --client-id doppel-devsim-demo \
    --twins "$root/examples/wind-farm/twins.json" --twins "$work/production-line-twins.json" \
    --fault kr-wtg-03 --log-level warn &
devsim_pid=$!
set +m

# Live: wait for the first simulated readings to reach the twins through broker and connector.
live=""
for _ in $(seq 1 100); do
  live=$(python3 - "$url" <<'PY' 2>/dev/null || true
import json, os, sys, time, urllib.request
req = urllib.request.Request(sys.argv[1] + "/digitaltwins/kr-wtg-01/telemetry")
if os.environ.get("DOPPEL_TOKEN"):
    req.add_header("Authorization", "Bearer " + os.environ["DOPPEL_TOKEN"])
body = json.load(urllib.request.urlopen(req, timeout=5))
speed = body["telemetry"].get("windSpeed")
if speed and speed["time"] >= time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 30)):
    print(f"kr-wtg-01 windSpeed {speed['value']} m/s at {speed['time']}")
PY
)
  [[ -n $live ]] && break
  kill -0 "$devsim_pid" 2>/dev/null || die "the device simulator exited"
  sleep 0.2
done
[[ -n $live ]] || die "no live reading from the simulator reached Doppel within 20 s"
echo
echo "demo: live from the simulator over MQTT: $live"

# Simulation: the turbines' shadow runs (examples/wind-farm/simulation/turbine-shadow.json) and a
# what-if comparison of three rotor-speed limits (docs/simulation.md).
echo
python3 "$root/scripts/demo-simulation.py" "$url" || die "the simulation part of the demo failed"

# Analytics: the main-bearing RUL model trained from the retired bearings' run-to-failure
# histories, live anomaly scores and RUL, and the KPIs of the line and the farm (docs/analytics.md).
echo
python3 "$root/scripts/demo-analytics.py" "$url" || die "the analytics part of the demo failed"

# Closing the loop: the bearing-wear rule derates kr-wtg-03 within the safety envelope, the
# simulator obeys, an alert is raised and a work order opened (docs/automation.md).
echo
python3 "$root/scripts/demo-automation.py" "$url" || die "the closing-the-loop part of the demo failed"

if [[ ${DEMO_EXIT_AFTER_LOAD:-0} == 1 ]]; then
  echo
  echo "demo: DEMO_EXIT_AFTER_LOAD=1: stopping the simulator, the server and the broker"
  stop_process "$devsim_pid"
  devsim_pid=""
  kill -TERM "$server_pid"
  status=0
  wait "$server_pid" || status=$?
  server_pid=""
  [[ $status == 0 ]] || die "the server exited with status $status on shutdown"
  exit 0
fi

if [[ -n ${DOPPEL_TOKEN:-} ]]; then
  echo "demo: authentication is on: add -H \"Authorization: Bearer \$DOPPEL_TOKEN\" to the curl lines below"
  echo "      (export DOPPEL_TOKEN=$DOPPEL_TOKEN; the doppel CLI reads it from the environment)"
fi
cat <<HELP

demo: the dashboard is at $url/ (open it in a browser: the farm and the line, live).
demo: the API is at $url (Azure Digital Twins REST API). Try:
  curl $url/healthz
  curl $url/digitaltwins/kr-wtg-04
  curl $url/digitaltwins/kestrel-ridge/relationships
  curl -X POST $url/query -H 'Content-Type: application/json' \\
       -d '{"query": "SELECT * FROM DIGITALTWINS T WHERE T.state = \"fault\""}'
  curl $url/digitaltwins/kr-wtg-01/telemetry            # live values from the simulator
  curl -X POST $url/timeseries/query -H 'Content-Type: application/json' \
       -d '{"twins": ["kr-wtg-03-mainbearing"], "paths": ["vibrationRms"], "start": "now-24h", "end": "now", "step": "1h", "aggregations": ["avg", "max"]}'
  mosquitto_sub -p $broker_port -t 'doppel/#' -v           # the raw MQTT traffic
  curl $url/digitaltwins/kr-wtg-03/simulation         # shadow mode: expected, residuals, damage estimate
  curl -X POST $url/digitaltwins/kr-wtg-01/forecast -H 'Content-Type: application/json' -d '{"horizon": "6h"}'
  curl $url/digitaltwins/kr-wtg-03-mainbearing/analytics   # anomaly score, RUL with its interval
  curl $url/digitaltwins/halden-l1/kpis                    # OEE of the line over the last 8 hours
  curl "$url/analytics/anomalies?limit=5"
  curl "$url/alerts?state=open"                            # raised by rules, acknowledged by people
  curl "$url/workorders?open=true"                          # with the evidence and the RUL-derived due date
  curl "$url/automation/actions?limit=10"                   # every automated action, clamped or not
  curl $url/digitaltwins/kr-wtg-03/envelope                 # the bounds automation cannot exceed
  curl $url/metrics
  curl $url/openapi.json
  $binary --url $url twins patch kr-wtg-01 '[{"op": "replace", "path": "/rotorSpeedLimit", "value": 11.0}]'

demo: serving until Ctrl-C (stops the simulator, the server and the broker).
HELP

# Forward Ctrl-C / SIGTERM to the server and wait for its graceful stop. `wait` returns early
# when a trapped signal arrives, so wait again until the server is really gone.
forward() {
  [[ -n $devsim_pid ]] && kill -TERM "$devsim_pid" 2>/dev/null
  kill -TERM "$server_pid" 2>/dev/null || true
}
trap forward INT TERM
status=0
while kill -0 "$server_pid" 2>/dev/null; do
  status=0
  wait "$server_pid" || status=$?
done
server_pid=""
stop_process "$devsim_pid"
devsim_pid=""
echo "demo: server stopped (status $status)"
exit "$status"
