#!/usr/bin/env bash
# The Doppel demo: start a server, load the wind-farm and production-line examples, show a few
# queries, then keep serving until Ctrl-C.
#
#   scripts/demo.sh BINARY LISTEN DATA_DIR
#   scripts/demo.sh build/doppel 127.0.0.1:8080 /tmp/doppel-demo
#
# DEMO_EXIT_AFTER_LOAD=1 stops the server after loading and the queries and exits 0 (for
# automated checks). LISTEN may use port 0: the port the server picked is read back from its
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
stdout_log=$(mktemp "${TMPDIR:-/tmp}/doppel-demo.XXXXXX")
server_pid=""
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -f "$stdout_log"
}
trap cleanup EXIT
# Interrupted while starting or loading: exit through cleanup, which stops the server.
trap 'exit 130' INT
trap 'exit 143' TERM

# The server's stdout (the listening line) goes to a file we watch; its log (stderr) to the
# terminal. It runs in a process group of its own (set -m), so Ctrl-C reaches only this
# script, which forwards exactly one SIGTERM: two signals could interrupt the graceful stop.
set -m
"$binary" serve --listen "$listen" --data-dir "$data_dir" >"$stdout_log" &
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
python3 "$root/scripts/demo-history.py" "$url" 24 || die "writing the demo history failed"

show() {
  echo
  echo "demo: doppel query '$1'"
  doppel query "$1" || die "query failed: $1"
}
show 'SELECT T.$dtId, T.state, T.activeFaultCode FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, "dtmi:doppel:example:windfarm:WindTurbine;1")'
show 'SELECT turbine.$dtId, bearing.serialNumber, bearing.cumulativeDamage FROM DIGITALTWINS turbine JOIN bearing RELATED turbine.hasMainBearing WHERE bearing.cumulativeDamage > 0.5'
show 'SELECT M.$dtId, M.state FROM DIGITALTWINS M WHERE IS_OF_MODEL(M, "dtmi:doppel:example:production:Machine;1")'

if [[ ${DEMO_EXIT_AFTER_LOAD:-0} == 1 ]]; then
  echo
  echo "demo: DEMO_EXIT_AFTER_LOAD=1: stopping the server"
  kill -TERM "$server_pid"
  status=0
  wait "$server_pid" || status=$?
  server_pid=""
  [[ $status == 0 ]] || die "the server exited with status $status on shutdown"
  exit 0
fi

cat <<HELP

demo: the API is at $url (Azure Digital Twins REST API). Try:
  curl $url/healthz
  curl $url/digitaltwins/kr-wtg-04
  curl $url/digitaltwins/kestrel-ridge/relationships
  curl -X POST $url/query -H 'Content-Type: application/json' \\
       -d '{"query": "SELECT * FROM DIGITALTWINS T WHERE T.state = \"fault\""}'
  curl $url/metrics
  curl $url/openapi.json
  $binary --url $url twins patch kr-wtg-01 '[{"op": "replace", "path": "/rotorSpeedLimit", "value": 11.0}]'

demo: serving until Ctrl-C.
HELP

# Forward Ctrl-C / SIGTERM to the server and wait for its graceful stop. `wait` returns early
# when a trapped signal arrives, so wait again until the server is really gone.
forward() { kill -TERM "$server_pid" 2>/dev/null || true; }
trap forward INT TERM
status=0
while kill -0 "$server_pid" 2>/dev/null; do
  status=0
  wait "$server_pid" || status=$?
done
server_pid=""
echo "demo: server stopped (status $status)"
exit "$status"
