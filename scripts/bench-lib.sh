# Shared by the whole-system benchmark scripts (sourced, not run): a free loopback port, and a
# Doppel server started in the background and waited for.
#
#   source "$(dirname "$0")/bench-lib.sh"
#   start_doppel "$DOPPEL" "$WORK" "$WORK/doppel.json"   # sets DOPPEL_PID and DOPPEL_URL
#
# The caller owns WORK and kills DOPPEL_PID in its EXIT trap.

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# `doppel serve` on 127.0.0.1:0 with data in WORK/doppel and CONFIG; waits (≤ 60 s) for its
# "doppel listening on URL" line. Exits the script with the server's log when it dies first.
start_doppel() {
  local binary=$1 work=$2 config=$3
  : > "$work/doppel.out"
  "$binary" serve --listen 127.0.0.1:0 --data-dir "$work/doppel" --config "$config" --log-level warn \
      > "$work/doppel.out" 2> "$work/doppel.log" &
  DOPPEL_PID=$!
  DOPPEL_URL=""
  for _ in $(seq 600); do
    DOPPEL_URL=$(sed -n 's/^doppel listening on \(http:[^ ]*\).*/\1/p' "$work/doppel.out" | head -n 1)
    [[ -n $DOPPEL_URL ]] && return 0
    kill -0 "$DOPPEL_PID" 2>/dev/null || { cat "$work/doppel.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "doppel did not start within 60 s" >&2
  exit 1
}
