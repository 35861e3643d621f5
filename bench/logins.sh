#!/usr/bin/env bash
# Login benchmark for docs/BENCHMARKS.md: parallel wrong logins against a release
# `liza serve` (SQLite), and the server's resident memory before, at the peak and after.
#
#   bench/logins.sh            # 500 logins at once; N=100 for fewer, ROUNDS=10 for the
#                              # sustained run (that many bursts against one server)
#   LIZA=path/to/liza bench/logins.sh   # a server binary built elsewhere (the load side
#                                       # always uses this tree's `liza dev bench-logins`)
#
# Run it under `flock /tmp/liza-bench.lock` so no other benchmark shares the cores.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p liza
BENCH="$CARGO_TARGET_DIR/release/liza"
LIZA=${LIZA:-$BENCH}
PORT=${PORT:-5410}
N=${N:-500}
ROUNDS=${ROUNDS:-10}
WORK=$(mktemp -d /tmp/liza-bench-logins.XXXXXX)
export DATABASE_URL=sqlite://$WORK/liza.db
export LIZA_INSECURE_DEV=1
export LIZA_ADMIN_PASSWORD=bench-admin-password
export LIZA_BIND=127.0.0.1:$PORT
export LIZA_FLOWS=$PWD/flows LIZA_LOCALES=$PWD/locales
export RUST_LOG=${RUST_LOG:-info,sqlx=warn}
SERVER=

cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# A fresh server for each run, so one run's failures do not limit the next; `run R ARGS`
# sends R bursts of N logins, one after the other.
run() {
    local rounds=$1
    shift
    rm -f "$WORK"/liza.db*
    "$LIZA" serve >"$WORK/liza.log" 2>&1 &
    SERVER=$!
    until curl -fs -o /dev/null "http://127.0.0.1:$PORT/health"; do
        kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/liza.log"; exit 1; }
        sleep 0.01
    done
    for round in $(seq 1 "$rounds"); do
        echo "\$ liza dev bench-logins -n $N $*    (burst $round/$rounds; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
        "$BENCH" dev bench-logins --url "http://127.0.0.1:$PORT" --pid "$SERVER" -n "$N" "$@"
    done
    curl -fs "http://127.0.0.1:$PORT/metrics" | grep -E '^liza_(login_attempts|password_checks)_total' || true
    kill -TERM "$SERVER"
    wait "$SERVER" || true
    SERVER=
    echo
}

echo "== server: $LIZA ($(git rev-parse --short HEAD 2>/dev/null || echo '?')) =="
# All from one address: the failed-login limits answer almost every attempt.
LIZA_TRUSTED_PROXIES= run 1
# Each from an address of its own (behind a trusted proxy): only the cap on password checks
# at once bounds the work.
LIZA_TRUSTED_PROXIES=127.0.0.1 run 1 --spread
# The same, sustained: does memory creep?
LIZA_TRUSTED_PROXIES=127.0.0.1 run "$ROUNDS" --spread
