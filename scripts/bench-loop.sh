#!/usr/bin/env bash
# Closing the loop (issue #7, bench/RESULTS.md), in two parts:
#
#   1. In process (loop_bench ingest, bench/loop/rule_ingest.h): ingest throughput over 100,000
#      twins without rules and with 10,000 rules covering every twin (graph scope, a window
#      function), the drop, and the rules' cost per update.
#   2. The command round trip (loop_bench commands, bench/loop/command_rtt.h): its own Mosquitto,
#      a Doppel server with the wind-farm example and an MQTT connector with commands, and the
#      device simulator (`doppel devsim`) answering; COMMANDS sequential invocations of
#      kr-wtg-01's `curtail` over HTTP; p50/p99 of the invocation's createdTime → completedTime
#      (command_rtt_*) and of the HTTP round trip (command_http_*).
#
# Prints progress to stderr and, as its LAST line on stdout, one JSON object of every figure
# (ingest_drop_with_rules_pct, command_rtt_p50_ms, command_rtt_p99_ms, ...).
#
#   scripts/bench-loop.sh BUILD_DIR
#
# Knobs (environment): TWINS (100000), RULES (10000), READINGS (2000000), COMMANDS (500),
# SYNC (true: Doppel's default durability), BROKER_NODELAY (false: Mosquitto's default
# set_tcp_nodelay), DEVSIM_RATE (1 tick/s), KEEP=1 keeps the work directory.
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"

BUILD_DIR=${1:-build}
LOOP=$BUILD_DIR/loop_bench
DOPPEL=$BUILD_DIR/doppel
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
for bin in "$LOOP" "$DOPPEL" "$MOSQUITTO"; do
  [[ -x $bin ]] || { echo "bench-loop: $bin is missing (build it first)" >&2; exit 1; }
done
TWINS=${TWINS:-100000}
RULES=${RULES:-10000}
READINGS=${READINGS:-2000000}
COMMANDS=${COMMANDS:-500}
SYNC=${SYNC:-true}
[[ $SYNC == true || $SYNC == false ]] || { echo "bench-loop: SYNC must be true or false" >&2; exit 1; }
LOAD_AVERAGE=$(cut -d' ' -f1 /proc/loadavg)

WORK=$(mktemp -d /tmp/doppel-bench-loop.XXXXXX)
BROKER_PID=""
DOPPEL_PID=""
DEVSIM_PID=""
cleanup() {
  for pid in $DEVSIM_PID $DOPPEL_PID $BROKER_PID; do kill "$pid" 2>/dev/null || true; done
  for pid in $DEVSIM_PID $DOPPEL_PID $BROKER_PID; do wait "$pid" 2>/dev/null || true; done
  if [[ ${KEEP:-0} == 1 ]]; then echo "bench-loop: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

log() { echo "bench-loop: $*" >&2; }
metric() { curl -sf "$DOPPEL_URL/metrics" | sed -n "s/^$1 \([0-9.e+-]*\)$/\1/p" | head -n 1; }

# ---- 1. rules on the ingest path, in process -------------------------------------------------
log "1/2 in process: $READINGS readings over $TWINS twins, without rules and with $RULES rules"
INGEST=$("$LOOP" ingest --twins "$TWINS" --rules "$RULES" --readings "$READINGS" | tail -n 1)

# ---- 2. the command round trip through Mosquitto and the device simulator --------------------
BROKER_PORT=$(free_port)
{
  echo "listener $BROKER_PORT 127.0.0.1"
  echo "allow_anonymous true"
  echo "persistence false"
  # Mosquitto's default (false) leaves Nagle's algorithm on: a small PUBLISH waits for the ACK of
  # the previous segment, which the peer delays by up to 40 ms. BROKER_NODELAY=true turns it off.
  echo "set_tcp_nodelay ${BROKER_NODELAY:-false}"
  echo "log_dest file $WORK/mosquitto.log"
  echo "log_type error"
  echo "log_type warning"
  # As root, mosquitto would switch to the "mosquitto" user, who cannot write our directory.
  [[ $(id -u) == 0 ]] && echo "user root"
} > "$WORK/mosquitto.conf"
"$MOSQUITTO" -c "$WORK/mosquitto.conf" 2> "$WORK/mosquitto.err" &
BROKER_PID=$!
for _ in $(seq 200); do
  (exec 3<> "/dev/tcp/127.0.0.1/$BROKER_PORT") 2>/dev/null && break
  kill -0 "$BROKER_PID" 2>/dev/null || { cat "$WORK/mosquitto.err" "$WORK/mosquitto.log" >&2; exit 1; }
  sleep 0.05
done

# The connector of scripts/demo.sh: telemetry and properties in, commands and desired values out.
cat > "$WORK/doppel.json" <<EOF
{
  "sync": $SYNC,
  "connectors": [{
    "name": "windfarm", "broker": "mqtt://127.0.0.1:$BROKER_PORT", "clientId": "doppel-bench-loop",
    "mappings": [
      {"topic": "doppel/+/{twinId}/telemetry", "timestamp": {"field": "ts", "format": "rfc3339"}},
      {"topic": "doppel/+/{twinId}/properties", "target": "properties"}],
    "commands": {
      "request": "doppel/{site}/{twinId}/commands/{commandName}",
      "response": "doppel/+/{twinId}/commands/{commandName}/response",
      "desired": "doppel/{site}/{twinId}/desired",
      "learn": ["doppel/{site}/{twinId}/telemetry", "doppel/{site}/{twinId}/properties"],
      "values": {"site": "kestrel-ridge"}}}]
}
EOF
start_doppel "$DOPPEL" "$WORK" "$WORK/doppel.json"
# Models and twins only: no rules or detectors, so the round trip is the command path alone.
mkdir -p "$WORK/wind-farm"
ln -s "$ROOT/examples/wind-farm/models" "$WORK/wind-farm/models"
ln -s "$ROOT/examples/wind-farm/twins.json" "$WORK/wind-farm/twins.json"
"$DOPPEL" load "$WORK/wind-farm" --url "$DOPPEL_URL" >&2

"$DOPPEL" devsim --broker "mqtt://127.0.0.1:$BROKER_PORT" --client-id doppel-devsim-bench-loop \
    --twins "$ROOT/examples/wind-farm/twins.json" --rate "${DEVSIM_RATE:-1}" --log-level warn 2> "$WORK/devsim.log" &
DEVSIM_PID=$!
learned=""
for _ in $(seq 300); do
  learned=$(metric doppel_command_transport_learned_twins)
  [[ -n $learned ]] && python3 -c "import sys; sys.exit(0 if float('$learned') >= 4 else 1)" && break
  kill -0 "$DEVSIM_PID" 2>/dev/null || { cat "$WORK/devsim.log" >&2; exit 1; }
  sleep 0.1
done
log "2/2 command round trip: $COMMANDS x kr-wtg-01 curtail, Mosquitto on :$BROKER_PORT, Doppel on $DOPPEL_URL (sync=$SYNC), devsim answering"
COMMAND_FIGURES=$("$LOOP" commands --url "$DOPPEL_URL" --twin kr-wtg-01 --command curtail --payload 3000 \
    --count "$COMMANDS" | tail -n 1)

python3 - "$INGEST" "$COMMAND_FIGURES" "$LOAD_AVERAGE" "$SYNC" "${BROKER_NODELAY:-false}" <<'PY'
import json, sys
figures = {}
figures.update(json.loads(sys.argv[1]))
figures.update(json.loads(sys.argv[2]))
for key, value in list(figures.items()):
    if isinstance(value, float):
        figures[key] = round(value, 3 if key.endswith("_ms") else 1)
figures["sync"] = sys.argv[4] == "true"
figures["broker_tcp_nodelay"] = sys.argv[5] == "true"
figures["load_average_at_start"] = float(sys.argv[3])
print(json.dumps(figures, sort_keys=True))
PY
