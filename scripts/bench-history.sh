#!/usr/bin/env bash
# History vs InfluxDB (issue #3), in one run: the same line-protocol bodies written to a Doppel
# server and to an InfluxDB, both started here on loopback with their own temp directories;
# then disk size after compaction, resident memory per series, and four queries asked of both.
# Prints progress to stderr and, as its LAST line on stdout, one JSON object of every figure.
#
#   scripts/bench-history.sh BUILD_DIR          quick: 1,000 sensors x 10 fields x 1,000 s = 10M points
#   FULL=1 scripts/bench-history.sh BUILD_DIR   1,000 sensors x 10 fields x 10,000 s = 100M points
#
# Knobs (environment): INFLUX_INDEX (tsi1 | inmem, default tsi1), CONNECTIONS (4), RUNS (20
# measured runs per query after 2 warm-ups), KEEP=1 keeps the work directory.
#
# Phases:
#   1. in-process: Doppel's Ingestor + SeriesStore without HTTP (ingest_points_per_s), then a
#      full RocksDB compaction and the store's size.
#   2. servers up; Doppel gets the models and 1,001 twins; resident memory (VmRSS) noted.
#   3. the main data set over HTTP line protocol, first to Doppel, then to InfluxDB (one at a
#      time, so neither competes for the 2 cores). VmRSS again: the difference / 10,000 series
#      is memory_per_series_bytes (whole process: heads, catalog, RocksDB memtables, allocator).
#   4. size on disk of the main data set, after compaction on both sides:
#      InfluxDB — the config sets cache-snapshot-write-cold-duration and
#      compact-full-write-cold-duration to 1s, so once writes stop the cache is snapshotted to
#      TSM and the shard fully compacted; we wait until the WAL is empty and data/ stops
#      changing, then du of data/ + wal/ (allocated bytes: InfluxDB preallocates sparse 4 MiB series-file segments).
#      Doppel — stop the server (SIGTERM seals every open head chunk), run a full RocksDB
#      compaction of <data-dir>/history (history_load compact-dir), du it, start it again.
#   5. the 30-day 1 Hz series (2.6M points) to both, over one connection.
#   6. the queries (history_load query), p50/p99 of RUNS runs each.
set -euo pipefail

BUILD_DIR=${1:-build}
LOAD=$BUILD_DIR/history_load
DOPPEL=$BUILD_DIR/doppel
for bin in "$LOAD" "$DOPPEL"; do
  [[ -x $bin ]] || { echo "bench-history: $bin is missing (build it first)" >&2; exit 1; }
done
"$(dirname "$0")/install-deps.sh" --bench >&2

TIMESTAMPS=1000
[[ ${FULL:-0} == 1 ]] && TIMESTAMPS=10000
SENSORS=1000
SERIES=$((SENSORS * 10))
MAIN_POINTS=$((SERIES * TIMESTAMPS))
CONNECTIONS=${CONNECTIONS:-4}
RUNS=${RUNS:-20}
INFLUX_INDEX=${INFLUX_INDEX:-tsi1}
COMMON=(--sensors "$SENSORS" --timestamps "$TIMESTAMPS" --connections "$CONNECTIONS")

WORK=$(mktemp -d /tmp/doppel-bench-history.XXXXXX)
INFLUX_PID=""
DOPPEL_PID=""
cleanup() {
  for pid in $DOPPEL_PID $INFLUX_PID; do kill "$pid" 2>/dev/null || true; done
  for pid in $DOPPEL_PID $INFLUX_PID; do wait "$pid" 2>/dev/null || true; done
  if [[ ${KEEP:-0} == 1 ]]; then echo "bench-history: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

log() { echo "bench-history: $*" >&2; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rss_bytes() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"; }
dir_bytes() { du -s --block-size=1 "$@" | awk '{ s += $1 } END { print s }'; }
# The value of `key` in the one-line JSON object `json`.
json_get() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
last_line() { tail -n 1; }

# ---- 1. in-process ingest ----------------------------------------------------------------
log "1/6 in-process ingest of $MAIN_POINTS points (Ingestor + SeriesStore, no HTTP)"
INPROCESS=$("$LOAD" inprocess "${COMMON[@]}" --dir "$WORK/inprocess" | last_line)
rm -rf "$WORK/inprocess"

# ---- 2. servers ------------------------------------------------------------------------------
INFLUX_PORT=$(free_port)
INFLUX_RPC_PORT=$(free_port)
INFLUX_URL="http://127.0.0.1:$INFLUX_PORT"
mkdir -p "$WORK/influxdb"
cat > "$WORK/influxdb/influxdb.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:$INFLUX_RPC_PORT"
[meta]
  dir = "$WORK/influxdb/meta"
  logging-enabled = false
[data]
  dir = "$WORK/influxdb/data"
  wal-dir = "$WORK/influxdb/wal"
  index-version = "$INFLUX_INDEX"
  query-log-enabled = false
  cache-snapshot-write-cold-duration = "1s"
  compact-full-write-cold-duration = "1s"
  max-values-per-tag = 0
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:$INFLUX_PORT"
  log-enabled = false
  max-body-size = 0
[continuous_queries]
  enabled = false
[logging]
  level = "warn"
EOF
influxd -config "$WORK/influxdb/influxdb.conf" > "$WORK/influxdb/influxd.log" 2>&1 &
INFLUX_PID=$!

DOPPEL_DATA=$WORK/doppel
start_doppel() {
  : > "$WORK/doppel.out"  # exists before the loop below reads it
  "$DOPPEL" serve --listen 127.0.0.1:0 --data-dir "$DOPPEL_DATA" --log-level warn \
      > "$WORK/doppel.out" 2>> "$WORK/doppel.log" &
  DOPPEL_PID=$!
  for _ in $(seq 600); do
    DOPPEL_URL=$(sed -n 's/^doppel listening on \(http:[^ ]*\).*/\1/p' "$WORK/doppel.out" | head -n 1)
    [[ -n $DOPPEL_URL ]] && return 0
    kill -0 "$DOPPEL_PID" 2>/dev/null || { cat "$WORK/doppel.log" >&2; exit 1; }
    sleep 0.1
  done
  log "doppel did not start"; exit 1
}
stop_doppel() {
  kill -TERM "$DOPPEL_PID"
  wait "$DOPPEL_PID" || true
  DOPPEL_PID=""
}
start_doppel
for _ in $(seq 300); do
  curl -sf "$INFLUX_URL/ping" > /dev/null && break
  kill -0 "$INFLUX_PID" 2>/dev/null || { cat "$WORK/influxdb/influxd.log" >&2; exit 1; }
  sleep 0.1
done
curl -sf -XPOST "$INFLUX_URL/query" --data-urlencode "q=CREATE DATABASE bench" > /dev/null
log "2/6 InfluxDB $(influxd version | head -n 1) ($INFLUX_INDEX index) on $INFLUX_URL; Doppel on $DOPPEL_URL"
"$LOAD" setup-doppel --url "$DOPPEL_URL" --sensors "$SENSORS" > /dev/null
DOPPEL_RSS0=$(rss_bytes "$DOPPEL_PID")
INFLUX_RSS0=$(rss_bytes "$INFLUX_PID")

# ---- 3. the main data set over line protocol -------------------------------------------------
log "3/6 line protocol, $MAIN_POINTS points over $CONNECTIONS connections each"
DOPPEL_WRITE=$("$LOAD" write "${COMMON[@]}" --url "$DOPPEL_URL" --path "/write?precision=s" | last_line)
INFLUX_WRITE=$("$LOAD" write "${COMMON[@]}" --url "$INFLUX_URL" --path "/write?db=bench&precision=s" | last_line)
DOPPEL_RSS1=$(rss_bytes "$DOPPEL_PID")
INFLUX_RSS1=$(rss_bytes "$INFLUX_PID")

# ---- 4. size on disk after compaction ----------------------------------------------------
log "4/6 waiting for InfluxDB's cache snapshot and full compaction"
previous=-1
stable=0
for _ in $(seq 600); do
  wal=$(dir_bytes "$WORK/influxdb/wal")
  data=$(dir_bytes "$WORK/influxdb/data")
  if ((wal < 65536 && data == previous)); then
    stable=$((stable + 1))
    ((stable >= 5)) && break
  else
    stable=0
  fi
  previous=$data
  sleep 1
done
INFLUX_BYTES=$(dir_bytes "$WORK/influxdb/data" "$WORK/influxdb/wal")
log "   InfluxDB data+wal: $INFLUX_BYTES bytes (wal $wal)"
stop_doppel
DOPPEL_COMPACT=$("$LOAD" compact-dir --dir "$DOPPEL_DATA/history" | last_line)
DOPPEL_BYTES=$(json_get "$DOPPEL_COMPACT" bytes)
log "   Doppel history: $DOPPEL_BYTES bytes"
start_doppel

# ---- 5. the 30-day series --------------------------------------------------------------------
log "5/6 the 30-day 1 Hz series (2,592,000 points) to both"
DOPPEL_LONG=$("$LOAD" write --long --lines 10000 --url "$DOPPEL_URL" --path "/write?precision=s" | last_line)
INFLUX_LONG=$("$LOAD" write --long --lines 10000 --url "$INFLUX_URL" --path "/write?db=bench&precision=s" | last_line)

# ---- 6. queries ------------------------------------------------------------------------------
log "6/6 queries, $RUNS runs each after 2 warm-ups"
QUERIES=$("$LOAD" query "${COMMON[@]}" --runs "$RUNS" --doppel "$DOPPEL_URL" --influx "$INFLUX_URL" | last_line)

python3 - "$INPROCESS" "$DOPPEL_WRITE" "$INFLUX_WRITE" "$DOPPEL_LONG" "$INFLUX_LONG" "$QUERIES" <<EOF
import json, sys
inprocess, dw, iw, dl, il, queries = (json.loads(a) for a in sys.argv[1:])
out = {
    "points": $MAIN_POINTS,
    "series": $SERIES,
    "influxdb_version": "$(influxd version | awk '{print $2}')",
    "influxdb_index": "$INFLUX_INDEX",
    "ingest_points_per_s": inprocess["ingest_points_per_s"],
    "inprocess_bytes_per_point": inprocess["inprocess_bytes_per_point"],
    "line_protocol_points_per_s": dw["points_per_s"],
    "influxdb_line_protocol_points_per_s": iw["points_per_s"],
    "line_protocol_speedup_vs_influxdb": round(dw["points_per_s"] / iw["points_per_s"], 2),
    "long_series_points_per_s": dl["points_per_s"],
    "influxdb_long_series_points_per_s": il["points_per_s"],
    "bytes_per_point": round($DOPPEL_BYTES / $MAIN_POINTS, 3),
    "influxdb_bytes_per_point": round($INFLUX_BYTES / $MAIN_POINTS, 3),
    "memory_per_series_bytes": round(($DOPPEL_RSS1 - $DOPPEL_RSS0) / $SERIES),
    "influxdb_memory_per_series_bytes": round(($INFLUX_RSS1 - $INFLUX_RSS0) / $SERIES),
    "doppel_rss_bytes": $DOPPEL_RSS1,
    "influxdb_rss_bytes": $INFLUX_RSS1,
}
out.update(queries)
print(json.dumps(out, sort_keys=True))
EOF
