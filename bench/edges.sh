#!/usr/bin/env bash
# The server's edge under slow and unfinished clients, for docs/BENCHMARKS.md. Liza runs with
# a file limit of 1,024 (`ulimit -n`, a common default) on loopback; bench/edges.py is the client.
#
#   bench/edges.sh [LIZA_BINARY]      # default: a release build of this tree
#
# 1. 1,500 connections send half a request line and stop; 20 signed webhooks are timed meanwhile.
# 2. The same with 1,500 requests that sent their head and wait for their body.
# 3. 1,000 unsigned webhooks announce 250 kB bodies and send 240 kB; Liza's resident memory is
#    read before, while they are held, and after.
# Environment: SLOW (1500), BODIES (1000), WEBHOOKS (10), PORT (5410). A webhook without an
# answer after 16 s counts as lost: Twilio gives up after 15 s.
set -euo pipefail
cd "$(dirname "$0")/.."

LIZA=${1:-}
if [ -z "$LIZA" ]; then
    cargo build --release -q -p liza
    LIZA=${CARGO_TARGET_DIR:-target}/release/liza
fi
PORT=${PORT:-5410}
SLOW=${SLOW:-1500}
BODIES=${BODIES:-1000}
WEBHOOKS=${WEBHOOKS:-10}
WORK=$(mktemp -d /tmp/liza-bench-edges.XXXXXX)
export TWILIO_AUTH_TOKEN=bench-token
export LIZA_PUBLIC_URL=https://liza.example.com
export LIZA_BIND=127.0.0.1:$PORT
export LIZA_FLOWS=$PWD/flows LIZA_LOCALES=$PWD/locales
export RUST_LOG=${RUST_LOG:-warn}
SERVER=

cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

start_liza() {
    rm -f "$WORK"/liza.db*
    DATABASE_URL="sqlite://$WORK/liza.db" bash -c 'ulimit -n 1024 && exec "$0" serve' "$LIZA" \
        >>"$WORK/liza.log" 2>&1 &
    SERVER=$!
    until curl -fs -o /dev/null "http://127.0.0.1:$PORT/health"; do
        kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/liza.log"; exit 1; }
        sleep 0.05
    done
}

stop_liza() {
    kill -TERM "$SERVER" 2>/dev/null || true
    # A server stuck on slow clients may not finish its graceful shutdown.
    for _ in $(seq 1 50); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    SERVER=
}

echo "binary: $LIZA ($("$LIZA" --version)); file limit of the server: 1024; $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "== $SLOW slow-header clients"
start_liza
python3 bench/edges.py slow --port "$PORT" --pid "$SERVER" --connections "$SLOW" --webhooks "$WEBHOOKS" --timeout 16
stop_liza
echo
echo "== $SLOW slow-body clients"
start_liza
python3 bench/edges.py slowbody --port "$PORT" --pid "$SERVER" --connections "$SLOW" --webhooks "$WEBHOOKS" --timeout 16
stop_liza
echo
echo "== $BODIES unfinished unsigned 250 kB bodies"
start_liza
python3 bench/edges.py bodies --port "$PORT" --pid "$SERVER" --connections "$BODIES"
stop_liza
