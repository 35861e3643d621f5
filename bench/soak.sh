#!/usr/bin/env bash
# Sustained load for docs/BENCHMARKS.md (issue 13): hours-long behaviour in minutes' form.
# Release build, load generator on the same machine, every call signed and persisted.
#
#   bench/soak.sh soak        # live calls (1 s think) while the flow is saved every 30 s
#   bench/soak.sh saturation  # 256 calls at once, no think time
#
# Environment (defaults in brackets):
#   BACKEND       sqlite | postgres [sqlite]
#   DURATION      seconds of load [soak: 1800, saturation: 600]
#   LIVE          simultaneous calls [soak: 5000 (SQLite) / 3000 (PostgreSQL), saturation: 256]
#   THINK         a caller's time per key press, ±50 % [soak: 1s, saturation: 0s]
#   CHUNK_SECS    the load runs as back-to-back `liza loadtest` runs of about this long, one
#                 report (throughput, p99) each [60]
#   SAMPLE_SECS   how often RSS, the WAL's size and /metrics are sampled [soak: 60, saturation: 5]
#   SAVE_EVERY    seconds between two saves of the flow file (0: never) [soak: 30, saturation: 0]
#   OUT           the raw output file [bench/results/<date>-<mode>-<backend>.txt]
#   LIZA_BIN      a binary built before (server and load generator; no build here) [a release build]
#   PG_ADMIN_URL  [postgres://postgres@127.0.0.1:5432/test]; its server must run autovacuum
#                 (ALLOW_NO_AUTOVACUUM=1 soaks without)
#
# Output: every loadtest report, a table with one row per chunk (calls, failed, req/s, p99,
# the server's CPU per webhook and, on PostgreSQL, its backends' for Liza, RSS, WAL, flow
# versions held, load average) and the samples (samples.tsv: RSS, WAL, /metrics, the database's
# size, PostgreSQL's checkpoints) in $OUT; on PostgreSQL, the settings that shape a long run.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

MODE=${1:-soak}
case "$MODE" in
    soak) : "${DURATION:=1800}" "${THINK:=1s}" "${SAMPLE_SECS:=60}" "${SAVE_EVERY:=30}" ;;
    saturation) : "${DURATION:=600}" "${THINK:=0s}" "${SAMPLE_SECS:=5}" "${SAVE_EVERY:=0}" "${LIVE:=256}" ;;
    *) echo "usage: $0 [soak|saturation]" >&2; exit 2 ;;
esac
BACKEND=${BACKEND:-sqlite}
case "$BACKEND" in
    sqlite) : "${LIVE:=5000}" ;;
    postgres) : "${LIVE:=3000}" ;;
    *) echo "BACKEND must be sqlite or postgres" >&2; exit 2 ;;
esac
CHUNK_SECS=${CHUNK_SECS:-60}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test}
mkdir -p bench/results
OUT=${OUT:-bench/results/$(date -u +%Y-%m-%d-%H%M)-$MODE-$BACKEND.txt}

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
if [ -z "${LIZA_BIN:-}" ]; then cargo build --release -q -p liza; fi
LIZA=${LIZA_BIN:-$CARGO_TARGET_DIR/release/liza}
PORT=${PORT:-5402}
WORK=$(mktemp -d /tmp/liza-soak.XXXXXX)
cp -r flows locales "$WORK/"
FLOW_FILE="$WORK/flows/liza.yaml"
export TWILIO_AUTH_TOKEN=bench-token-not-secret
export LIZA_PUBLIC_URL=https://liza.example.test
export LIZA_BIND=127.0.0.1:$PORT
export LIZA_FLOWS=$WORK/flows LIZA_LOCALES=$WORK/locales
export RUST_LOG=${RUST_LOG:-info,sqlx=warn}
export LIZA_MAX_CONNECTIONS=${LIZA_MAX_CONNECTIONS:-$(connections_for "$LIVE")}
SERVER= SAMPLER= SAVER= PGDB=

cleanup() {
    for pid in $SAVER $SAMPLER; do kill "$pid" 2>/dev/null || true; done
    if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true; fi
    cp "$WORK/liza.log" /tmp/liza-soak-last.log 2>/dev/null || true
    [ -n "$PGDB" ] && psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" || true
    rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$BACKEND" = sqlite ]; then
    export DATABASE_URL="sqlite://$WORK/liza.db"
    WAL="$WORK/liza.db-wal"
else
    require_autovacuum "$PG_ADMIN_URL"
    PGDB=liza_soak_$$
    psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $PGDB"
    export DATABASE_URL="${PG_ADMIN_URL%/*}/$PGDB"
    WAL=
fi

"$LIZA" serve >>"$WORK/liza.log" 2>&1 &
SERVER=$!
until curl -fs -o /dev/null "http://127.0.0.1:$PORT/health"; do
    kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/liza.log"; exit 1; }
    sleep 0.01
done

metric() { # the value of one metric line of /metrics, or -
    curl -fs "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print "-" }'
}
rss_kb() { awk '/VmRSS/ { print $2 }' "/proc/$SERVER/status"; }
wal_bytes() { if [ -n "$WAL" ]; then stat -c %s "$WAL" 2>/dev/null || echo 0; else echo -; fi; }
# The database's size in bytes (SQLite: the main file).
db_bytes() {
    if [ -n "$PGDB" ]; then
        psql "$PG_ADMIN_URL" -Atc "SELECT pg_database_size('$PGDB')"
    else
        stat -c %s "$WORK/liza.db" 2>/dev/null || echo 0
    fi
}
# PostgreSQL's checkpoints so far, started by time and requested (by WAL volume), or - -.
checkpoints() {
    if [ -n "$PGDB" ]; then
        psql "$PG_ADMIN_URL" -Atc "SELECT checkpoints_timed, checkpoints_req FROM pg_stat_bgwriter" | tr '|' '\t'
    else
        echo -e "-\t-"
    fi
}

# Samples: epoch seconds, RSS kB, WAL bytes (the file), WAL bytes (/metrics), flow versions
# held, writer queue depth, restarting checkpoints so far, load average (1 min), the
# database's bytes, PostgreSQL's checkpoints so far (timed, requested).
echo -e "time\trss_kb\twal_bytes\twal_metric\tversions_held\tqueue\trestarts\tload1\tdb_bytes\tpg_ckpt_timed\tpg_ckpt_req" >"$WORK/samples.tsv"
sampler() {
    while kill -0 "$SERVER" 2>/dev/null; do
        echo -e "$(date +%s)\t$(rss_kb)\t$(wal_bytes)\t$(metric liza_sqlite_wal_bytes)\t$(metric liza_flow_versions_held)\t$(metric liza_store_queue_depth)\t$(metric liza_sqlite_restart_checkpoint_seconds_count)\t$(cut -d' ' -f1 /proc/loadavg)\t$(db_bytes)\t$(checkpoints)" >>"$WORK/samples.tsv"
        sleep "$SAMPLE_SECS"
    done
}
sampler &
SAMPLER=$!

# Saves the flow the way editors do (a new file renamed over the old), a new version each time.
saver() {
    local n=0
    while sleep "$SAVE_EVERY"; do
        n=$((n + 1))
        { cat "$FLOW_FILE"; echo "# soak save $n"; } >"$FLOW_FILE.tmp"
        mv "$FLOW_FILE.tmp" "$FLOW_FILE"
    done
}
if [ "$SAVE_EVERY" != 0 ]; then
    saver &
    SAVER=$!
fi

{
    echo "# bench/soak.sh $MODE: BACKEND=$BACKEND DURATION=$DURATION LIVE=$LIVE THINK=$THINK CHUNK_SECS=$CHUNK_SECS SAMPLE_SECS=$SAMPLE_SECS SAVE_EVERY=$SAVE_EVERY"
    echo "# commit $(git rev-parse --short HEAD)${LIZA_BIN:+ (binary: $LIZA_BIN)}, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
    if [ -n "$PGDB" ]; then
        echo -n "# PostgreSQL $(psql "$PG_ADMIN_URL" -Atc 'SHOW server_version'):"
        psql "$PG_ADMIN_URL" -Atc "SELECT ' ' || name || '=' || current_setting(name) FROM pg_settings
            WHERE name IN ('shared_buffers', 'max_wal_size', 'checkpoint_timeout', 'wal_compression',
                           'synchronous_commit', 'autovacuum') ORDER BY name" | tr -d '\n'
        echo
    fi
} | tee "$OUT"

# Back-to-back loadtest runs, each sized from the previous one's rate to last about CHUNK_SECS.
start=$(date +%s)
calls=$((LIVE * 4))
chunk=0
HZ=$(getconf CLK_TCK)
# Microseconds of CPU per webhook from clock ticks $1 over the chunk's $requests, or -.
per_req() {
    awk -v t="$1" -v n="${requests:-0}" -v hz="$HZ" 'BEGIN { if (n > 0) printf "%.0f", t / hz * 1e6 / n; else print "-" }'
}
echo -e "chunk\tend_s\tcalls\tfailed\treq_per_s\tp50_ms\tp99_ms\tmax_ms\tserver_us_per_req\tpg_us_per_req\trss_kb\twal_bytes\twal_max_bytes\tversions_held\tload1" >"$WORK/table.tsv"
while [ $(( $(date +%s) - start )) -lt "$DURATION" ]; do
    chunk=$((chunk + 1))
    chunk_start=$(date +%s)
    echo "\$ liza loadtest --calls $calls --concurrency $LIVE --think $THINK" >>"$OUT"
    server_ticks=$(ticks "$SERVER") pg_ticks=$(db_ticks "$PG_ADMIN_URL" "$PGDB")
    report=$("$LIZA" loadtest --url "http://127.0.0.1:$PORT" --expect "Vielen Dank für Ihren Anruf" \
        --calls "$calls" --concurrency "$LIVE" --think "$THINK" 2>&1 || true)
    echo "$report" >>"$OUT"
    now=$(date +%s)
    server_ticks=$(( $(ticks "$SERVER") - server_ticks ))
    pg_ticks=$(( $(db_ticks "$PG_ADMIN_URL" "$PGDB") - pg_ticks ))
    requests=$(sed -n 's/^requests: *\([0-9]*\) (.*/\1/p' <<<"$report")
    server_us=$(per_req "$server_ticks")
    if [ -n "$PGDB" ]; then pg_us=$(per_req "$pg_ticks"); else pg_us=-; fi
    completed=$(sed -n 's/^calls: *\([0-9]*\) completed, \([0-9]*\) failed in \([0-9.]*\) s.*/\1 \2 \3/p' <<<"$report")
    read -r done_calls failed secs <<<"${completed:-0 0 0}"
    rps=$(sed -n 's/^requests: *[0-9]* (\([0-9.]*\) requests\/s).*/\1/p' <<<"$report")
    lat=$(sed -n 's/^latency: *p50 \([0-9.]*\) ms, p90 [0-9.]* ms, p99 \([0-9.]*\) ms, max \([0-9.]*\) ms/\1 \2 \3/p' <<<"$report")
    read -r p50 p99 max <<<"${lat:-- - -}"
    wal_max=$(awk -F'\t' -v from="$chunk_start" 'NR > 1 && $1 >= from && $3 != "-" && $3 > m { m = $3 } END { print m + 0 }' "$WORK/samples.tsv")
    echo -e "$chunk\t$((now - start))\t$done_calls\t$failed\t${rps:--}\t$p50\t$p99\t$max\t$server_us\t$pg_us\t$(rss_kb)\t$(wal_bytes)\t$wal_max\t$(metric liza_flow_versions_held)\t$(cut -d' ' -f1 /proc/loadavg)" >>"$WORK/table.tsv"
    tail -1 "$WORK/table.tsv"
    # The next chunk: as many calls as this rate plays in CHUNK_SECS (at least LIVE).
    if awk -v s="$secs" 'BEGIN { exit !(s > 0.5) }'; then
        calls=$(awk -v c="$done_calls" -v f="$failed" -v s="$secs" -v t="$CHUNK_SECS" -v l="$LIVE" \
            'BEGIN { n = int((c + f) * t / s); if (n < l) n = l; print n }')
    else
        calls=$((calls * 4))
    fi
done
sleep 1
{
    echo
    echo "## One row per loadtest run (RSS, WAL and versions at its end; wal_max_bytes: the largest sample during it)"
    cat "$WORK/table.tsv"
    echo
    echo "## Samples every $SAMPLE_SECS s"
    cat "$WORK/samples.tsv"
    echo
    echo "## Server log: warnings and errors (first 20), flow versions evicted"
    grep -E 'WARN|ERROR' "$WORK/liza.log" | head -20 || true
    grep -c 'were evicted from memory' "$WORK/liza.log" | sed 's/^/eviction log lines: /' || true
    echo
    echo "## The store on /metrics at the end"
    curl -fs "http://127.0.0.1:$PORT/metrics" | grep -E '^liza_(sqlite|store|flow_versions)' || true
    echo "flow reloads: $(metric liza_flow_reloads_total), failures: $(metric liza_flow_reload_failures_total), database errors: $(metric liza_database_errors_total)"
    echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$OUT"
echo "raw output: $OUT"
