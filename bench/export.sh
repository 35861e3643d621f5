#!/usr/bin/env bash
# Export benchmark for docs/BENCHMARKS.md: seeds CALLS calls (default 100,000) into a fresh
# SQLite database, starts `liza serve`, signs in and downloads `/calls/export.csv` (every call,
# masked) and `/calls/export.json`, timing each (wall time, rows/s) while sampling the server's
# resident memory every 50 ms (VmRSS), with its peak (VmHWM) before and after.
#
#   bench/export.sh                      # 100,000 calls, this tree's debug binary
#   CALLS=10000 bench/export.sh          # fewer
#   LIZA=target/release/liza bench/export.sh
#
# Run it under `flock /tmp/liza-bench.lock` so no other benchmark shares the cores.
set -euo pipefail
cd "$(dirname "$0")/.."

LIZA=${LIZA:-target/debug/liza}
CALLS=${CALLS:-100000}
PORT=${PORT:-5420}
WORK=$(mktemp -d /tmp/liza-bench-export.XXXXXX)
export DATABASE_URL=sqlite://$WORK/liza.db
export LIZA_INSECURE_DEV=1
export LIZA_ADMIN_PASSWORD=bench-admin-password
export LIZA_BIND=127.0.0.1:$PORT
export LIZA_FLOWS=$PWD/flows LIZA_LOCALES=$PWD/locales
export RUST_LOG=${RUST_LOG:-warn}
BASE=http://127.0.0.1:$PORT
SERVER=
SAMPLER=

cleanup() {
    [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null || true
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

kib() { awk -v k="$1" '/^'"$1"':/ {print $2}' "/proc/$SERVER/status"; }

echo "== liza export benchmark: $LIZA ($(git rev-parse --short HEAD 2>/dev/null || echo '?')), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) =="
start=$(date +%s.%N)
"$LIZA" dev seed --calls "$CALLS" --days 60
echo "seed: $(echo "$(date +%s.%N) - $start" | bc) s"

"$LIZA" serve >"$WORK/liza.log" 2>&1 &
SERVER=$!
until curl -fs -o /dev/null "$BASE/health"; do
    kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/liza.log"; exit 1; }
    sleep 0.05
done

# Sign in as a browser does: the login form's CSRF cookie and field, then the session cookie.
JAR=$WORK/cookies
csrf=$(curl -fs -c "$JAR" "$BASE/login" | grep -o 'name="csrf" value="[^"]*"' | head -n1 | sed 's/.*value="//; s/"$//')
curl -fs -b "$JAR" -c "$JAR" -o /dev/null --data-urlencode "csrf=$csrf" \
    --data-urlencode "name=admin" --data-urlencode "password=$LIZA_ADMIN_PASSWORD" "$BASE/login"
grep -q liza_session "$JAR" || { echo "login failed"; exit 1; }
# One page first, so the server's caches and pool are as a user's first export finds them.
curl -fs -b "$JAR" -o /dev/null "$BASE/calls"

export_once() {
    local path=$1 out=$WORK/export.out samples=$WORK/rss.samples
    local hwm_before rss_before
    hwm_before=$(kib VmHWM)
    rss_before=$(kib VmRSS)
    : >"$samples"
    ( while kill -0 "$SERVER" 2>/dev/null; do kib VmRSS >>"$samples"; sleep 0.05; done ) &
    SAMPLER=$!
    local t0 t1
    t0=$(date +%s.%N)
    curl -fs -b "$JAR" -o "$out" "$BASE$path"
    t1=$(date +%s.%N)
    kill "$SAMPLER" 2>/dev/null || true
    wait "$SAMPLER" 2>/dev/null || true
    SAMPLER=
    local lines rows secs
    lines=$(wc -l <"$out")
    case "$path" in *.csv*) rows=$((lines - 1)) ;; *) rows=$lines ;; esac
    secs=$(echo "$t1 - $t0" | bc)
    echo "\$ curl $path"
    echo "  rows: $rows (calls in the database: $CALLS), bytes: $(stat -c %s "$out")"
    echo "  wall time: ${secs} s, $(echo "$rows / $secs" | bc) rows/s"
    echo "  server RSS before: $((rss_before / 1024)) MiB; during (50 ms samples, $(wc -l <"$samples")): min $(( $(sort -n "$samples" | head -n1) / 1024 )) MiB, max $(( $(sort -n "$samples" | tail -n1) / 1024 )) MiB; after: $(( $(kib VmRSS) / 1024 )) MiB"
    echo "  server peak RSS (VmHWM) before: $((hwm_before / 1024)) MiB, after: $(( $(kib VmHWM) / 1024 )) MiB"
    echo "  load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
}

export_once "/calls/export.csv"
export_once "/calls/export.json"
export_once "/calls/export.csv"
