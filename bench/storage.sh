#!/usr/bin/env bash
# Storage per finished call (docs/BENCHMARKS.md, "Storage per finished call"): a fresh SQLite
# database, CALLS whole calls of Liza's flow, the server stopped cleanly (the WAL checkpointed
# into the file), then the file and each table and index measured with sqlite3's dbstat.
#
#   bench/storage.sh played   # CALLS calls played over HTTP by `liza loadtest` (6 webhooks each,
#                             # the last the final status callback), like the webhook benchmarks
#   bench/storage.sh seeded   # CALLS calls written by `liza dev seed` (a year of mixed calls)
#
# Environment: LIZA (the binary; default: a release build of this checkout), CALLS (default
# 100000), CONCURRENCY (played; default 256), KEEP (a path: the database is moved there).
# Targets loopback only; needs the sqlite3 command.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

MODE=${1:-played}
CALLS=${CALLS:-100000}
CONCURRENCY=${CONCURRENCY:-256}
if [ -z "${LIZA:-}" ]; then
    cargo build --release -q -p liza
    LIZA=${CARGO_TARGET_DIR:-target}/release/liza
fi
PORT=${PORT:-5402}
WORK=$(mktemp -d /tmp/liza-storage.XXXXXX)
export DATABASE_URL="sqlite://$WORK/liza.db"
export TWILIO_AUTH_TOKEN=bench-token-not-secret
export LIZA_PUBLIC_URL=https://liza.example.test
export LIZA_BIND=127.0.0.1:$PORT
export LIZA_FLOWS=$PWD/flows LIZA_LOCALES=$PWD/locales
export LIZA_MAX_CONNECTIONS=$(connections_for "$CONCURRENCY")
export LIZA_INSECURE_DEV=1
export RUST_LOG=${RUST_LOG:-warn}
SERVER=

cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "== storage, $MODE, $CALLS calls ($("$LIZA" --version 2>/dev/null || echo liza), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
case "$MODE" in
    played)
        "$LIZA" serve >>"$WORK/liza.log" 2>&1 &
        SERVER=$!
        until curl -fs -o /dev/null "http://127.0.0.1:$PORT/health"; do
            kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/liza.log"; exit 1; }
            sleep 0.05
        done
        "$LIZA" loadtest --url "http://127.0.0.1:$PORT" --expect "Vielen Dank für Ihren Anruf" \
            --calls "$CALLS" --concurrency "$CONCURRENCY"
        kill -TERM "$SERVER"
        wait "$SERVER" || true
        SERVER=
        ;;
    seeded)
        "$LIZA" dev seed --calls "$CALLS"
        ;;
    *)
        echo "usage: bench/storage.sh played|seeded" >&2
        exit 2
        ;;
esac

DB="$WORK/liza.db"
sqlite3 "$DB" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
calls=$(sqlite3 "$DB" "SELECT COUNT(*) FROM calls WHERE ended_at IS NOT NULL;")
echo "finished calls: $calls of $(sqlite3 "$DB" "SELECT COUNT(*) FROM calls;")"
echo "steps: $(sqlite3 "$DB" "SELECT COUNT(*) FROM steps;")  replays: $(sqlite3 "$DB" "SELECT COUNT(*) FROM replays;")  record links: $(sqlite3 "$DB" "SELECT COUNT(*) FROM record_calls;")"
bytes=$(stat -c %s "$DB")
echo "file: $bytes bytes = $(( bytes / calls )) bytes per finished call"
echo
echo "table or index | MB | bytes per call | cells"
sqlite3 -separator ' | ' "$DB" "SELECT name, ROUND(SUM(pgsize)/1048576.0, 1), ROUND(SUM(pgsize)*1.0/$calls), SUM(ncell) FROM dbstat GROUP BY name HAVING SUM(pgsize) > 65536 ORDER BY SUM(pgsize) DESC;"
if [ -n "${KEEP:-}" ]; then
    mv "$DB" "$KEEP"
    echo "(database kept at $KEEP)"
fi
