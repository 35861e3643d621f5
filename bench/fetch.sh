#!/usr/bin/env bash
# The fetch node under load, for docs/BENCHMARKS.md: Liza's whole call (every step persisted
# on SQLite, signed webhooks) with SHOP_API_URL pointing at a fake shop API on loopback that
# answers each `GET /orders/<n>` after 5 ms. Release build, load generator on the same machine.
#
#   bench/fetch.sh            # CALLS (default 2000) calls, CONCURRENCY (default 16) at once
#   THINK=1s CONCURRENCY=1000 CALLS=6000 bench/fetch.sh   # live calls: each caller takes
#                               # THINK (±50 %) to press keys, so CONCURRENCY calls are live
#   SHOP_KIND=python bench/fetch.sh  # the fake shop as a Python threaded server (a thread a
#                               # connection, the GIL) instead of `liza loadtest --fake-shop`
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
# LIZA_BIN=path uses a binary built before (no build here).
if [ -z "${LIZA_BIN:-}" ]; then cargo build --release -q -p liza; fi
LIZA=${LIZA_BIN:-$CARGO_TARGET_DIR/release/liza}
PORT=${PORT:-5410}
SHOP_PORT=${SHOP_PORT:-5411}
CALLS=${CALLS:-2000}
CONCURRENCY=${CONCURRENCY:-16}
THINK=${THINK:-0s}
export LIZA_MAX_CONNECTIONS=$(connections_for "$CONCURRENCY")
WORK=$(mktemp -d /tmp/liza-fetch-bench.XXXXXX)
export TWILIO_AUTH_TOKEN=bench-token-not-secret
export LIZA_PUBLIC_URL=https://liza.example.test
export LIZA_BIND=127.0.0.1:$PORT
export LIZA_FLOWS=$PWD/flows LIZA_LOCALES=$PWD/locales
export DATABASE_URL="sqlite://$WORK/liza.db"
export SHOP_API_URL=http://127.0.0.1:$SHOP_PORT SHOP_API_TOKEN=bench-shop-token
export RUST_LOG=${RUST_LOG:-warn}
SERVER= SHOP=

cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
    [ -n "$SHOP" ] && kill "$SHOP" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# The fake shop: `liza loadtest --fake-shop` (Tokio's timer, one write an answer), or with
# SHOP_KIND=python a Python threaded HTTP server.
if [ "${SHOP_KIND:-rust}" = python ]; then
python3 - "$SHOP_PORT" <<'PY' &
import http.server, json, sys, time
class Shop(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are two writes: with Nagle's algorithm the body waits for the client's
    # delayed ACK (40 ms), which no real shop API (nginx: tcp_nodelay on) makes anyone wait.
    disable_nagle_algorithm = True
    def do_GET(self):
        time.sleep(0.005)
        body = json.dumps({"status": "shipped"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Shop).serve_forever()
PY
else
    "$LIZA" loadtest --fake-shop "127.0.0.1:$SHOP_PORT" --shop-delay 5ms >"$WORK/shop.log" 2>&1 &
fi
SHOP=$!

"$LIZA" serve >"$WORK/liza.log" 2>&1 &
SERVER=$!
until curl -fs -o /dev/null "http://127.0.0.1:$PORT/health"; do
    kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/liza.log"; exit 1; }
    sleep 0.01
done
until curl -fs -o /dev/null "http://127.0.0.1:$SHOP_PORT/orders/1"; do sleep 0.05; done

echo "== fetch node, 5 ms shop API (${SHOP_KIND:-rust} fake shop; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)) =="
echo "\$ liza loadtest --calls $CALLS --concurrency $CONCURRENCY --think $THINK --expect 'Vielen Dank für Ihren Anruf'"
"$LIZA" loadtest --url "http://127.0.0.1:$PORT" --calls "$CALLS" --concurrency "$CONCURRENCY" --think "$THINK" \
    --expect "Vielen Dank für Ihren Anruf" || true
echo "fetch steps: $(sqlite3 "$WORK/liza.db" "SELECT outcome LIKE 'ok (%', COUNT(*) FROM steps WHERE node = 'shop-status' GROUP BY 1" 2>/dev/null | tr '\n' ' ')"
# How long the shop took as Liza saw it (request sent to answer read), against the 5 ms.
echo "fetch duration as Liza measured it (cumulative buckets):"
curl -fs "http://127.0.0.1:$PORT/metrics" | grep '^liza_fetch_duration_seconds' | sed 's/^/  /' || true
# What holds every webhook now and then: the WAL started over between two of the writer's
# transactions (count and seconds held in all).
echo "restarting WAL checkpoints (the writer held):"
curl -fs "http://127.0.0.1:$PORT/metrics" | grep -E '^liza_sqlite_restart_checkpoint_seconds_(sum|count)' | sed 's/^/  /' || true
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
