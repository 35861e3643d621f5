#!/usr/bin/env bash
# Webhook latency while the server's retention task makes CALLS old calls anonymous (SQLite),
# for docs/BENCHMARKS.md ("Retention purge"). Release build, load generator on the same machine,
# every call signed and every step persisted. Targets loopback only.
#
#   bench/purge.sh                # CALLS=1000000 LIVE=50 ROUND=500
#
# 1. `liza migrate`, then CALLS calls 100–199 days old are written with SQL (each with three
#    steps whose text and digits are kept, every tenth with an order), as a Liza that has
#    run for half a year without a purge would hold them.
# 2. Without a purge (LIZA_RETENTION_DAYS=0): two rounds of ROUND calls, LIVE at a time, one
#    second per key press; the loadtest prints the webhooks' latency.
# 3. With LIZA_RETENTION_DAYS=90: the server's retention task starts 30 s after start; rounds
#    of the same calls run until its log line says the purge finished. Each round says how
#    many calls the purge had made anonymous when it ended (purge_runs).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
nice cargo build --release -q -p liza
LIZA="$CARGO_TARGET_DIR/release/liza"
CALLS=${CALLS:-1000000}
LIVE=${LIVE:-50}
ROUND=${ROUND:-500}
PORT=${PORT:-5410}
WORK=$(mktemp -d /tmp/liza-purge.XXXXXX)
DB=$WORK/liza.db
export DATABASE_URL=sqlite://$DB
export TWILIO_AUTH_TOKEN=bench-token-not-secret
export LIZA_PUBLIC_URL=https://liza.example.test
export LIZA_BIND=127.0.0.1:$PORT
export LIZA_FLOWS=$PWD/flows LIZA_LOCALES=$PWD/locales
export LIZA_PRIVACY_KEY=bench-privacy-key-0123456789abcdef-not-secret
export RUST_LOG=${RUST_LOG:-info,sqlx=warn}
SERVER=

cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
    cp "$WORK/liza.log" /tmp/liza-purge-last.log 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

start_liza() {
    "$LIZA" serve >>"$WORK/liza.log" 2>&1 &
    SERVER=$!
    until curl -fs -o /dev/null "http://127.0.0.1:$PORT/health"; do
        kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/liza.log"; exit 1; }
        sleep 0.01
    done
}

stop_liza() {
    kill -TERM "$SERVER"
    wait "$SERVER" || true
    SERVER=
}

round() {
    echo "\$ liza loadtest --calls $ROUND --concurrency $LIVE --think 1s   (load average $(load))"
    "$LIZA" loadtest --url "http://127.0.0.1:$PORT" --expect "Vielen Dank für Ihren Anruf" \
        --calls "$ROUND" --concurrency "$LIVE" --think 1s 2>&1 | grep -E "^(calls|requests|latency):" || true
}

purged_so_far() {
    sqlite3 "$DB" "SELECT COALESCE(MAX(calls_purged), 0) || CASE WHEN MAX(finished_at) IS NULL THEN ' (running or not started)' ELSE ' (finished)' END FROM purge_runs"
}

echo "== bench/purge.sh: $CALLS old calls, $(nproc) cores, load average $(load)"
"$LIZA" --version
"$LIZA" migrate >/dev/null 2>&1
started=$(now_ms)
NOW=$(now_ms)
sqlite3 "$DB" <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $CALLS),
t(i, at) AS (SELECT i, $NOW - (100 + i % 100) * 86400000 - (i * 7919) % 86400000 FROM n)
INSERT INTO calls (call_sid, from_number, caller_hash, caller_masked, to_number, language,
    status, consent, consent_at, started_at, ended_at, duration_secs, flow_name, flow_version,
    state, turn, updated_at)
SELECT printf('CAseed%026d', i), printf('+49151%08d', i % 40000000), lower(hex(randomblob(16))),
    printf('+49 151 ••• ••%02d', i % 100), '+4930123456',
    CASE WHEN i % 3 = 0 THEN 'en-US' ELSE 'de-DE' END, 'completed',
    CASE WHEN i % 5 = 0 THEN 'refused' ELSE 'given' END, at + 4000, at, at + 61000, 61,
    'liza', 'seeded', '{"node":"goodbye","vars":{"order":"12345"}}', 5, at + 61000
FROM t;
INSERT OR IGNORE INTO step_kinds (node, message_ids, outcome) VALUES ('order', 'order-prompt', 'digits');
INSERT INTO step_rows (call_id, turn, position, kind, text, digits, created_at)
SELECT c.id, s.turn, 0, (SELECT id FROM step_kinds WHERE node = 'order'),
    'Sie haben ' || (c.id % 90000 + 10000) || ' eingegeben.', CAST(c.id % 90000 + 10000 AS TEXT),
    c.started_at + s.turn * 1000
FROM calls c, (SELECT 1 AS turn UNION ALL SELECT 2 UNION ALL SELECT 3) s;
INSERT INTO records (kind, key, status, call_id, created_at, updated_at)
SELECT 'order', 'S' || id, 'received', id, started_at, started_at FROM calls WHERE id % 10 = 0;
INSERT INTO record_calls (record_id, call_id, created_at)
SELECT id, call_id, created_at FROM records;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
ANALYZE;
SQL
echo "seeded in $(( ($(now_ms) - started) / 1000 )) s: $(sqlite3 "$DB" "SELECT COUNT(*) FROM calls") calls, $(sqlite3 "$DB" "SELECT COUNT(*) FROM steps") steps, $(sqlite3 "$DB" "SELECT COUNT(*) FROM record_calls") record links; database $(du -m "$DB" | cut -f1) MB"
echo

echo "== without a purge (LIZA_RETENTION_DAYS=0)"
LIZA_RETENTION_DAYS=0 start_liza
round
round
stop_liza
echo

echo "== while the server purges (LIZA_RETENTION_DAYS=90; its first run starts 30 s after start)"
: >"$WORK/liza.log"
purge_started=$(now_ms)
LIZA_RETENTION_DAYS=90 start_liza
while ! grep -q "Retention purge" "$WORK/liza.log"; do
    round
    echo "calls made anonymous so far: $(purged_so_far); $(( ($(now_ms) - purge_started) / 1000 )) s since the server started"
done
grep "Retention purge" "$WORK/liza.log"
echo "after the purge:"
round
stop_liza
echo
echo "purge_runs: $(sqlite3 "$DB" "SELECT retention_days || ' days, ' || calls_purged || ' calls, ' || (finished_at - started_at) || ' ms' FROM purge_runs")"
echo "calls left with a number: $(sqlite3 "$DB" "SELECT COUNT(*) FROM calls WHERE from_number <> '' AND started_at < $NOW - 90 * 86400000")"
echo "steps left with text: $(sqlite3 "$DB" "SELECT COUNT(*) FROM steps s JOIN calls c ON c.id = s.call_id WHERE s.text <> '' AND c.started_at < $NOW - 90 * 86400000")"
echo "load average at the end: $(load)"
