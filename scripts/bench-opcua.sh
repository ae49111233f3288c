#!/usr/bin/env bash
# Industrial connectivity (issue #10): monitored-item updates per second that Doppel ingests from
# one OPC UA server, against the ceiling of a trivial client on the same server in the same run.
# Starts its own node-opcua server (tests/opcua/server.mjs --load N) and Doppel on free loopback
# ports with temp directories. Prints progress to stderr and, as its LAST line on stdout, one
# JSON object: opcua_updates_per_s, ceiling_updates_per_s, ratio, nodes, seconds, ...
#
#   scripts/bench-opcua.sh BUILD_DIR          1000 variables changing every 50 ms (20k updates/s
#                                             offered), 10 s window (~25 s in all)
#   FULL=1 scripts/bench-opcua.sh BUILD_DIR   5000 variables (100k/s offered: more than node-opcua
#                                             can serve), 30 s window
#
# Knobs (environment): NODES, INTERVAL_MS (the server's update period), SECONDS_WINDOW,
# PUBLISHING_MS (100), SYNC (true: Doppel's default durability), KEEP=1 keeps the work directory.
#
# Both clients subscribe to every variable with samplingInterval 0 and a queue of 1000. node-opcua
# revises a sampling interval below 50 ms up to 50 ms, so a variable yields at most 20 updates/s
# whatever INTERVAL_MS is: scale the offered rate with NODES. The server (node-opcua, one
# JavaScript thread) is meant to be the bottleneck; the trivial client shows what it delivers to
# a session that does nothing with the values.
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"

BUILD_DIR=${1:-build}
LOAD=$BUILD_DIR/opcua_load
DOPPEL=$BUILD_DIR/doppel
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVER=$ROOT/tests/opcua/server.mjs
for bin in "$LOAD" "$DOPPEL"; do
  [[ -x $bin ]] || { echo "bench-opcua: $bin is missing (build it first)" >&2; exit 1; }
done
[[ -d $ROOT/tests/opcua/node_modules ]] || { echo "bench-opcua: run scripts/install-deps.sh (node-opcua)" >&2; exit 1; }

NODES=${NODES:-1000}
SECONDS_WINDOW=${SECONDS_WINDOW:-10}
if [[ ${FULL:-0} == 1 ]]; then
  NODES=5000
  SECONDS_WINDOW=30
fi
INTERVAL_MS=${INTERVAL_MS:-50}
PUBLISHING_MS=${PUBLISHING_MS:-100}
SYNC=${SYNC:-true}
[[ $SYNC == true || $SYNC == false ]] || { echo "bench-opcua: SYNC must be true or false" >&2; exit 1; }
LOAD_AVERAGE=$(cut -d' ' -f1 /proc/loadavg)

WORK=$(mktemp -d /tmp/doppel-bench-opcua.XXXXXX)
SERVER_PID=""
DOPPEL_PID=""
cleanup() {
  for pid in $DOPPEL_PID $SERVER_PID; do kill "$pid" 2>/dev/null || true; done
  for pid in $DOPPEL_PID $SERVER_PID; do wait "$pid" 2>/dev/null || true; done
  if [[ ${KEEP:-0} == 1 ]]; then echo "bench-opcua: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE
log() { echo "bench-opcua: $*" >&2; }

# ---- 1. the OPC UA server ------------------------------------------------------------------
: > "$WORK/server.out"
node "$SERVER" 0 --detach --load "$NODES" --load-interval-ms "$INTERVAL_MS" > "$WORK/server.out" 2> "$WORK/server.err" &
SERVER_PID=$!
ENDPOINT=""
for _ in $(seq 600); do
  ENDPOINT=$(sed -n 's/^listening \(opc\.tcp:[^ ]*\).*/\1/p' "$WORK/server.out" | head -n 1)
  [[ -n $ENDPOINT ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.err" >&2; exit 1; }
  sleep 0.1
done
[[ -n $ENDPOINT ]] || { log "the OPC UA server did not start"; exit 1; }
NODE_OPCUA=$(node -p "require('$ROOT/tests/opcua/node_modules/node-opcua/package.json').version")
log "1/3 node-opcua $NODE_OPCUA on $ENDPOINT: $NODES variables, each changing every $INTERVAL_MS ms"

# ---- 2. Doppel with an OPC UA connector on every variable -----------------------------------
"$LOAD" config --endpoint "$ENDPOINT" --nodes "$NODES" --publishing-ms "$PUBLISHING_MS" |
  python3 -c "import json, sys; c = json.load(sys.stdin); c['sync'] = '$SYNC' == 'true'; print(json.dumps(c))" \
  > "$WORK/doppel.json"
start_doppel "$DOPPEL" "$WORK" "$WORK/doppel.json"
log "2/3 Doppel on $DOPPEL_URL (sync=$SYNC), connector 'bench' on $NODES nodes"

# ---- 3. both clients, one window -------------------------------------------------------------
log "3/3 measuring ${SECONDS_WINDOW}s: Doppel's ingested readings vs a counting client's notifications"
# CPU seconds (user + system) of a process so far, from /proc/<pid>/stat.
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
SERVER_CPU0=$(cpu_seconds "$SERVER_PID")
DOPPEL_CPU0=$(cpu_seconds "$DOPPEL_PID")
MEASURE_START=$(date +%s.%N)
FIGURES=$("$LOAD" measure --endpoint "$ENDPOINT" --doppel "$DOPPEL_URL" --nodes "$NODES" \
    --seconds "$SECONDS_WINDOW" --publishing-ms "$PUBLISHING_MS" | tail -n 1)
MEASURE_SECONDS=$(echo "$(date +%s.%N) - $MEASURE_START" | bc -l)
SERVER_CPU=$(echo "100 * ($(cpu_seconds "$SERVER_PID") - $SERVER_CPU0) / $MEASURE_SECONDS" | bc -l)
DOPPEL_CPU=$(echo "100 * ($(cpu_seconds "$DOPPEL_PID") - $DOPPEL_CPU0) / $MEASURE_SECONDS" | bc -l)
python3 - "$FIGURES" <<EOF
import json, sys
figures = json.loads(sys.argv[1])
figures.update({
    "server_update_interval_ms": $INTERVAL_MS,
    "offered_updates_per_s": round($NODES * 1000 / $INTERVAL_MS),
    "sync": "$SYNC" == "true",
    # Over the whole measure step (setup, warm-up and window): 100 = one core busy.
    "server_cpu_percent": round(float("${SERVER_CPU:-0}"), 1),
    "doppel_cpu_percent": round(float("${DOPPEL_CPU:-0}"), 1),
    "node_opcua": "$NODE_OPCUA",
    "load_average_at_start": float("$LOAD_AVERAGE"),
})
print(json.dumps(figures))
EOF
