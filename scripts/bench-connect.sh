#!/usr/bin/env bash
# Connecting the physical side (issue #4), in one run: MQTT end to end against the ceiling of a
# bare subscriber, HTTP line-protocol ingest (plain and gzip), and the WebSocket push latency.
# Starts its own Mosquitto broker and Doppel server on free loopback ports with temp directories.
# Prints progress to stderr and, as its LAST line on stdout, one JSON object of every figure.
#
#   scripts/bench-connect.sh BUILD_DIR          quick: 20k MQTT messages through Doppel (200k for the
#                                               ceiling), 2M line-protocol points (~2 min)
#   FULL=1 scripts/bench-connect.sh BUILD_DIR   200k MQTT messages (1M for the ceiling), 10M points
#
# The two MQTT runs send different counts so that each lasts long enough to be a steady rate:
# the bare subscriber takes 200k in a few seconds, Doppel (one synced write per message, see
# bench/RESULTS.md) needs seconds for 20k. The figures are rates, so the ratio stays fair.
#
# Knobs (environment): MESSAGES, CEILING_MESSAGES, POINTS, PUBLISHERS (4), CONNECTIONS (3: the server admits
# worker threads - 1 = 3 concurrent writes and answers 503 beyond), MQTT_TWINS (100), LP_TWINS
# (1000), SYNC (true: Doppel's default durability; false = "sync": false in its config),
# KEEP=1 keeps the work directory.
#
# Phases:
#   1. Mosquitto (persistence off, max_queued_messages 0, otherwise defaults) and Doppel with
#      default durability (sync=true unless SYNC=false) and an MQTT connector "bench" on bench/{twinId}/telemetry;
#      the bench model (f0..f9 double telemetry) and the twins.
#   2. MQTT ceiling: the publishers -> broker -> a bare counting subscriber (persistent session,
#      QoS 1) on ceil/+/telemetry, msgs/s until it has them all.
#   3. MQTT through Doppel: the same publishers and payloads on bench/+/telemetry, msgs/s until
#      doppel_mqtt_readings_total{connector="bench"} has grown by messages x 10.
#   4. line protocol, POST /write?precision=ns, 5,000 lines x 10 fields per body, plain then gzip.
#   5. WebSocket latency: build/ws_latency_benchmark if it is built (it runs in its own process,
#      not against this server; see bench/ws_latency_benchmark.cc), p50/p99 of the sync=on,
#      10-readings-per-batch run at 10k readings/s.
set -euo pipefail

BUILD_DIR=${1:-build}
LOAD=$BUILD_DIR/connect_load
DOPPEL=$BUILD_DIR/doppel
WS_BENCH=$BUILD_DIR/ws_latency_benchmark
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
for bin in "$LOAD" "$DOPPEL" "$MOSQUITTO"; do
  [[ -x $bin ]] || { echo "bench-connect: $bin is missing (build it first)" >&2; exit 1; }
done

MESSAGES=${MESSAGES:-20000}
CEILING_MESSAGES=${CEILING_MESSAGES:-200000}
POINTS=${POINTS:-2000000}
if [[ ${FULL:-0} == 1 ]]; then
  MESSAGES=200000
  CEILING_MESSAGES=1000000
  POINTS=10000000
fi
LOAD_AVERAGE=$(cut -d' ' -f1 /proc/loadavg)
PUBLISHERS=${PUBLISHERS:-4}
CONNECTIONS=${CONNECTIONS:-3}
SYNC=${SYNC:-true}
[[ $SYNC == true || $SYNC == false ]] || { echo "bench-connect: SYNC must be true or false" >&2; exit 1; }
MQTT_TWINS=${MQTT_TWINS:-100}
LP_TWINS=${LP_TWINS:-1000}

WORK=$(mktemp -d /tmp/doppel-bench-connect.XXXXXX)
BROKER_PID=""
DOPPEL_PID=""
cleanup() {
  for pid in $DOPPEL_PID $BROKER_PID; do kill "$pid" 2>/dev/null || true; done
  for pid in $DOPPEL_PID $BROKER_PID; do wait "$pid" 2>/dev/null || true; done
  if [[ ${KEEP:-0} == 1 ]]; then echo "bench-connect: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
# A signal (Ctrl-C, a closed pipe) exits through the EXIT trap, so no broker or server is left behind.
trap 'exit 130' INT TERM HUP PIPE

log() { echo "bench-connect: $*" >&2; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
last_line() { tail -n 1; }

# ---- 1. broker, server, twins --------------------------------------------------------------
BROKER_PORT=$(free_port)
{
  echo "listener $BROKER_PORT 127.0.0.1"
  echo "allow_anonymous true"
  echo "persistence false"
  # The default (1000) drops QoS 1 messages queued for a slow persistent client past that count.
  echo "max_queued_messages 0"
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

cat > "$WORK/doppel.json" <<EOF
{
  "sync": $SYNC,
  "connectors": [{
    "name": "bench",
    "broker": "mqtt://127.0.0.1:$BROKER_PORT",
    "clientId": "doppel-bench",
    "mappings": [{"topic": "bench/{twinId}/telemetry", "timestamp": {"field": "ts", "format": "epoch_ns"}}]
  }]
}
EOF
: > "$WORK/doppel.out"  # exists before the server's shell opens it, for the polling below
"$DOPPEL" serve --listen 127.0.0.1:0 --data-dir "$WORK/doppel" --config "$WORK/doppel.json" --log-level warn \
    > "$WORK/doppel.out" 2> "$WORK/doppel.log" &
DOPPEL_PID=$!
DOPPEL_URL=""
for _ in $(seq 600); do
  DOPPEL_URL=$(sed -n 's/^doppel listening on \(http:[^ ]*\).*/\1/p' "$WORK/doppel.out" | head -n 1)
  [[ -n $DOPPEL_URL ]] && break
  kill -0 "$DOPPEL_PID" 2>/dev/null || { cat "$WORK/doppel.log" >&2; exit 1; }
  sleep 0.1
done
[[ -n $DOPPEL_URL ]] || { log "doppel did not start"; exit 1; }
log "1/5 Mosquitto $("$MOSQUITTO" -h 2>/dev/null | sed -n 's/^mosquitto version \([^ ]*\).*/\1/p') on :$BROKER_PORT, Doppel on $DOPPEL_URL (sync=$SYNC)"
"$LOAD" setup --url "$DOPPEL_URL" --prefix m --twins "$MQTT_TWINS" > /dev/null
"$LOAD" setup --url "$DOPPEL_URL" --prefix lp --twins "$LP_TWINS" > /dev/null

# ---- 2./3. MQTT --------------------------------------------------------------------------------
MQTT_COMMON=(--port "$BROKER_PORT" --prefix m --twins "$MQTT_TWINS" --publishers "$PUBLISHERS")
log "2/5 MQTT ceiling: $CEILING_MESSAGES messages -> Mosquitto -> a bare counting subscriber"
CEILING=$("$LOAD" mqtt "${MQTT_COMMON[@]}" --messages "$CEILING_MESSAGES" --topic-prefix ceil --subscribe | last_line)
log "3/5 MQTT end to end: $MESSAGES messages -> Mosquitto -> Doppel (live state + history)"
THROUGH=$("$LOAD" mqtt "${MQTT_COMMON[@]}" --messages "$MESSAGES" --topic-prefix bench --doppel "$DOPPEL_URL" | last_line)

# ---- 4. line protocol ------------------------------------------------------------------------
LP_COMMON=(--url "$DOPPEL_URL" --prefix lp --twins "$LP_TWINS" --points "$POINTS" --connections "$CONNECTIONS")
log "4/5 line protocol: $POINTS points, plain then gzip"
LP_PLAIN=$("$LOAD" write "${LP_COMMON[@]}" | last_line)
LP_GZIP=$("$LOAD" write "${LP_COMMON[@]}" --gzip --hour-offset 1 | last_line)
DOPPEL_RSS=$(awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$DOPPEL_PID/status")
kill "$DOPPEL_PID" 2>/dev/null || true
wait "$DOPPEL_PID" 2>/dev/null || true
DOPPEL_PID=""

# ---- 5. WebSocket latency ----------------------------------------------------------------------
WS_JSON="{}"
WS_NOTE=""
if [[ -x $WS_BENCH ]]; then
  log "5/5 WebSocket latency: $WS_BENCH (10k readings/s, 3 s per run)"
  # Its stdout interleaves a line of its own per run with the report, so the report (Google
  # Benchmark JSON) goes to a file.
  if "$WS_BENCH" --benchmark_out="$WORK/ws.json" --benchmark_out_format=json > "$WORK/ws.out" 2> "$WORK/ws.err"; then
    WS_JSON=$(cat "$WORK/ws.json")
  else
    WS_NOTE="ws_latency_benchmark failed: $(tail -n 3 "$WORK/ws.err" | tr '\n"' ' _')"
  fi
else
  WS_NOTE="$WS_BENCH is not built (the /ws endpoint and its benchmark belong to another change)"
fi

python3 - "$CEILING" "$THROUGH" "$LP_PLAIN" "$LP_GZIP" "$WS_JSON" "$WS_NOTE" <<EOF
import json, sys
ceiling, through, plain, gz = (json.loads(a) for a in sys.argv[1:5])
try:
    ws = json.loads(sys.argv[5])
except json.JSONDecodeError:
    ws = {}
ws_note = sys.argv[6]
out = {
    "doppel_sync": "$SYNC" == "true",
    "mqtt_messages": $MESSAGES,
    "mqtt_ceiling_messages": $CEILING_MESSAGES,
    "mqtt_seconds": through["seconds"],
    "mqtt_ceiling_seconds": ceiling["seconds"],
    "load_average_at_start": $LOAD_AVERAGE,
    "mqtt_publishers": $PUBLISHERS,
    "mqtt_twins": $MQTT_TWINS,
    "mqtt_readings_per_message": 10,
    "mqtt_msgs_per_s": through["msgs_per_s"],
    "mqtt_readings_per_s": through["msgs_per_s"] * 10,
    "mqtt_ceiling_msgs_per_s": ceiling["msgs_per_s"],
    "mqtt_ratio_to_ceiling": round(through["msgs_per_s"] / ceiling["msgs_per_s"], 3),
    "line_protocol_points": $POINTS,
    "line_protocol_connections": $CONNECTIONS,
    "line_protocol_points_per_s": plain["points_per_s"],
    "line_protocol_gzip_points_per_s": gz["points_per_s"],
    "line_protocol_retries": plain["retries"] + gz["retries"],
    "doppel_rss_bytes": $DOPPEL_RSS,
    "ws_latency_p50_ms": None,
    "ws_latency_p99_ms": None,
}
runs = {b["name"]: b for b in ws.get("benchmarks", []) if "p99_ms" in b}
if runs:
    main = next((b for n, b in runs.items() if n.split("/")[1:3] == ["10", "1"]), None)
    if main is None:
        main = next(iter(runs.values()))
    out["ws_latency_p50_ms"] = round(main["p50_ms"], 3)
    out["ws_latency_p99_ms"] = round(main["p99_ms"], 3)
    out["ws_latency_run"] = main["name"]
    out["ws_latency_runs"] = {n: {"p50_ms": round(b["p50_ms"], 3), "p99_ms": round(b["p99_ms"], 3),
                                  "dropped": b.get("dropped")} for n, b in runs.items()}
elif not ws_note:
    ws_note = "ws_latency_benchmark printed no p50_ms/p99_ms counters"
if ws_note:
    out["ws_note"] = ws_note
print(json.dumps(out, sort_keys=True))
EOF
