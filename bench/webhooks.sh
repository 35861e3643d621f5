#!/usr/bin/env bash
# Webhook benchmarks for docs/BENCHMARKS.md: release build, load generator on the same
# machine, every call signed and every step persisted. Targets loopback only. After each run:
# the TCP connections opened during it, the CPU time the server used, and on
# PostgreSQL (when it runs on this machine) the CPU time of the backends serving its database.
#
#   bench/webhooks.sh sqlite      # or: postgres, bare, all
#
# Environment: PG_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/test; its server must
# run autovacuum, ALLOW_NO_AUTOVACUUM=1 measures without), LIVE_SQLITE / LIVE_PG (simultaneous
# calls, default 5000 / 3000), PG_URL_SUFFIX (appended to Liza's DATABASE_URL, e.g.
# '?options=-csynchronous_commit%3Doff'), SETTLE (seconds between the saturation runs and the
# live-call run, default 30), LIZA_BIN (a binary built before: no build here; it is the server
# and the load generator), LOADTEST_ARGS (more arguments for every `liza loadtest`, e.g.
# '--connections 0').
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
if [ -z "${LIZA_BIN:-}" ]; then cargo build --release -q -p liza; fi
LIZA=${LIZA_BIN:-$CARGO_TARGET_DIR/release/liza}
SETTLE=${SETTLE:-30}
PORT=${PORT:-5400}
BARE_PORT=${BARE_PORT:-5401}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test}
LIVE_SQLITE=${LIVE_SQLITE:-5000}
LIVE_PG=${LIVE_PG:-3000}
WORK=$(mktemp -d /tmp/liza-bench.XXXXXX)
export TWILIO_AUTH_TOKEN=bench-token-not-secret
export LIZA_PUBLIC_URL=https://liza.example.test
export LIZA_BIND=127.0.0.1:$PORT
export LIZA_FLOWS=$PWD/flows LIZA_LOCALES=$PWD/locales
export RUST_LOG=${RUST_LOG:-info,sqlx=warn}
SERVER=
DB=

cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
    cp "$WORK/liza.log" /tmp/liza-bench-last.log 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }

# Starts `liza serve` on DATABASE_URL; STARTUP_MS = milliseconds until /health answered 200.
start_liza() {
    local started
    started=$(now_ms)
    "$LIZA" serve >>"$WORK/liza.log" 2>&1 &
    SERVER=$!
    until curl -fs -o /dev/null "http://127.0.0.1:$PORT/health"; do
        kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/liza.log"; exit 1; }
        sleep 0.002
    done
    STARTUP_MS=$(( $(now_ms) - started ))
}

stop_liza() {
    kill -TERM "$SERVER"
    wait "$SERVER" || true
    SERVER=
}

# TCP connections this machine opened so far: the load generator's to the server, and on
# PostgreSQL any the server opens to it (its pools are open before a run starts).
tcp_opens() { awk '/^Tcp:/ && $6 ~ /^[0-9]+$/ {print $6}' /proc/net/snmp; }

loadtest() {
    echo "\$ liza loadtest ${LOADTEST_ARGS:+$LOADTEST_ARGS }$*"
    local server db hz opens
    server=$(ticks "$SERVER") db=$(db_ticks "$PG_ADMIN_URL" "$DB") hz=$(getconf CLK_TCK) opens=$(tcp_opens)
    # shellcheck disable=SC2086 # LOADTEST_ARGS is a list of words
    "$LIZA" loadtest --url "http://127.0.0.1:$PORT" --expect "Vielen Dank für Ihren Anruf" ${LOADTEST_ARGS:-} "$@" || true
    opens=$(( $(tcp_opens) - opens ))
    server=$(( $(ticks "$SERVER") - server )) db=$(( $(db_ticks "$PG_ADMIN_URL" "$DB") - db ))
    echo "TCP connections opened during the run: $opens"
    echo -n "CPU during the run: server $(awk "BEGIN {printf \"%.2f\", $server / $hz}") s"
    [ -n "${DB:-}" ] && echo -n ", PostgreSQL's backends for it $(awk "BEGIN {printf \"%.2f\", $db / $hz}") s"
    echo
    echo
}

run_backend() {
    local name=$1 live=$2
    export LIZA_MAX_CONNECTIONS=$(connections_for "$live")
    echo "== $name ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)) =="
    start_liza
    stop_liza
    start_liza
    echo "start-up to serving on an existing database: $STARTUP_MS ms"
    if [ -z "${LIVE_ONLY:-}" ]; then
        loadtest --calls 2000 --concurrency 16
        loadtest --calls 5000 --concurrency 256
        # The live calls are measured on a database at rest, not in the saturation runs'
        # aftermath: right after them PostgreSQL's live-call p99 was 120-148 ms, 30 s later
        # 15-25 ms (the disk still writing back what the bursts dirtied; docs/BENCHMARKS.md).
        echo "(settling for $SETTLE s)"
        sleep "$SETTLE"
    fi
    loadtest --calls $((live * 2)) --concurrency "$live" --think 1s
    echo "peak RSS of the server after $live live calls: $(awk '/VmHWM/ {print $2, $3}' "/proc/$SERVER/status")"
    stop_liza
    echo
}

bare() {
    echo "== bare poem server, fixed TwiML (the ceiling) =="
    "$LIZA" loadtest --bare-server "127.0.0.1:$BARE_PORT" >/dev/null &
    local bare=$!
    sleep 0.3
    # The bare server answers `voice` with the flow's first turn (greeting, consent question)
    # and every other webhook with the turn that hangs up: a call is two webhooks.
    echo "\$ liza loadtest --bare-server 127.0.0.1:$BARE_PORT; liza loadtest --calls 10000 --concurrency 256 --expect 'Auf Wiederhören'"
    # shellcheck disable=SC2086 # LOADTEST_ARGS is a list of words
    "$LIZA" loadtest --url "http://127.0.0.1:$BARE_PORT" --calls 10000 --concurrency 256 --expect "Auf Wiederhören" ${LOADTEST_ARGS:-} || true
    kill "$bare"
    wait "$bare" 2>/dev/null || true
    echo
}

sqlite() {
    export DATABASE_URL="sqlite://$WORK/liza.db"
    run_backend sqlite "$LIVE_SQLITE"
}

postgres() {
    require_autovacuum "$PG_ADMIN_URL"
    DB=liza_bench_$$
    psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $DB"
    export DATABASE_URL="${PG_ADMIN_URL%/*}/$DB${PG_URL_SUFFIX:-}"
    run_backend postgres "$LIVE_PG"
    psql "$PG_ADMIN_URL" -qc "DROP DATABASE $DB WITH (FORCE)"
    DB=
}

case "${1:-all}" in
    sqlite) sqlite ;;
    postgres) postgres ;;
    bare) bare ;;
    all) bare; sqlite; postgres ;;
    *) echo "usage: $0 [sqlite|postgres|bare|all]" >&2; exit 2 ;;
esac
