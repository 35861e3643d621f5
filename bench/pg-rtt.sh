#!/usr/bin/env bash
# PostgreSQL on another machine, measured on this one (docs/BENCHMARKS.md, "Round trips to
# PostgreSQL"): bench/rtt-proxy.rs sits between Liza and the local PostgreSQL and holds every
# chunk ONE_WAY_US microseconds each way, then bench/webhooks.sh postgres runs through it. The
# round trip it gives is measured and printed first (psql's `SELECT 1`, median of 20).
#
#   bench/pg-rtt.sh               # ONE_WAY_US=250 (about 1 ms round trips here)
#
# Environment: ONE_WAY_US (default 250), PROXY_PORT (default 5433), PG_ADMIN_URL (the real
# server, default postgres://postgres@127.0.0.1:5432/test), and what bench/webhooks.sh reads
# (LIZA_BIN, LIVE_PG, LIVE_ONLY, SETTLE).
set -euo pipefail
cd "$(dirname "$0")/.."

ONE_WAY_US=${ONE_WAY_US:-250}
PROXY_PORT=${PROXY_PORT:-5433}
ADMIN=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test}
UPSTREAM=$(echo "$ADMIN" | sed -E 's#^[a-z]+://([^@]*@)?([^/]+)/.*#\2#')
PROXIED="${ADMIN/$UPSTREAM/127.0.0.1:$PROXY_PORT}"
WORK=$(mktemp -d /tmp/liza-rtt.XXXXXX)
PROXY=
cleanup() {
    [ -n "$PROXY" ] && kill "$PROXY" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

rustc -O bench/rtt-proxy.rs -o "$WORK/rtt-proxy"
"$WORK/rtt-proxy" "127.0.0.1:$PROXY_PORT" "$UPSTREAM" "$ONE_WAY_US" &
PROXY=$!
until pg_isready -q -h 127.0.0.1 -p "$PROXY_PORT"; do sleep 0.1; done

# Milliseconds of `SELECT 1` through $1, median of 20.
round_trip() {
    local args=()
    for _ in $(seq 20); do args+=(-c 'SELECT 1'); done
    psql "$1" -c '\timing on' "${args[@]}" | awk '/^Time:/ {print $2}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
echo "SELECT 1: $(round_trip "$ADMIN") ms direct, $(round_trip "$PROXIED") ms through the proxy (${ONE_WAY_US} us each way)"
echo
PG_ADMIN_URL=$PROXIED bench/webhooks.sh postgres
