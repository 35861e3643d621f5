#!/usr/bin/env bash
# Losing an instance: two Liza instances on one PostgreSQL database behind the shipped
# deploy/nginx/liza.conf (HTTPS on loopback, deploy/test/nginx-harness.sh). While
# `liza loadtest` plays calls through nginx with think time, one instance is killed with
# SIGKILL (no drain: requests in flight, uncommitted batches and nginx's kept-alive
# connections to it are simply gone), and started again a few seconds later. Counts the calls
# that failed; the goal is 0, thanks to per-turn idempotency (`?seq=N`) and nginx retrying a
# webhook on the other instance (`proxy_next_upstream ... non_idempotent` for /webhook/).
#
#   bench/instance-loss.sh                 # the figure in docs/BENCHMARKS.md (release build)
#   RUNS=1 CALLS=200 CONCURRENCY=20 THINK=500ms KILL_AFTER=4 RESTART_AFTER=4 PROFILE=debug \
#       bench/instance-loss.sh             # the short version CI runs (.ci/run)
#
# Environment (defaults): RUNS (5), CALLS per run (600), CONCURRENCY live calls (40), THINK
# (1s, ±50 %), KILL_AFTER seconds into the run (15), RESTART_AFTER seconds after the kill (10),
# PROFILE (release or debug), PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432/test).
# The load stays under liza.conf's webhook limit for one address (100/s): 40 live calls with
# 1 s think time send about 60 webhooks a second, all from 127.0.0.1.
#
# Exit status 0 when every call of every run completed and is stored as ended; 1 otherwise.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS=${RUNS:-5}
CALLS=${CALLS:-600}
CONCURRENCY=${CONCURRENCY:-40}
THINK=${THINK:-1s}
KILL_AFTER=${KILL_AFTER:-15}
RESTART_AFTER=${RESTART_AFTER:-10}
PROFILE=${PROFILE:-release}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test}
export RUNS CALLS CONCURRENCY THINK KILL_AFTER RESTART_AFTER PROFILE PG_ADMIN_URL

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

if [ "${1:-}" != "--inside" ]; then
    cd "$ROOT"
    if [ "$PROFILE" = release ]; then
        cargo build --quiet --release --bin liza
    else
        cargo build --quiet --bin liza
    fi
    PORT_A="$(free_port)"
    PORT_B="$(free_port)"
    DB="liza_loss_$$"
    psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $DB"
    trap 'psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
    export PORT_A PORT_B DATABASE_URL="${PG_ADMIN_URL%/*}/$DB"
    status=0
    "$ROOT/deploy/test/nginx-harness.sh" --upstream "127.0.0.1:$PORT_A" --upstream "127.0.0.1:$PORT_B" \
        -- bash "$ROOT/bench/instance-loss.sh" --inside || status=$?
    exit "$status"
fi

# ---- Inside the harness: nginx runs in front of PORT_A and PORT_B. ----------------------
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE/liza"
WORK="$(mktemp -d /tmp/liza-instance-loss.XXXXXX)"
PUBLIC="https://$NGINX_HOST:$NGINX_HTTPS_PORT"
TOKEN="instance-loss-token-$RANDOM$RANDOM"
PID_A=""
PID_B=""
LOADTEST_PID=""
cleanup() {
    for pid in $LOADTEST_PID $PID_A $PID_B; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    cp "$WORK"/liza-*.log /tmp/ 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# start_liza NAME PORT: sets STARTED once /health answers on the instance's own port (not in a
# subshell: the instance stays this shell's child, so `wait` reaps it after the kill).
start_liza() {
    env -i PATH="$PATH" HOME="${HOME:-/tmp}" DATABASE_URL="$DATABASE_URL" \
        LIZA_BIND="127.0.0.1:$2" LIZA_PUBLIC_URL="$PUBLIC" TWILIO_AUTH_TOKEN="$TOKEN" \
        LIZA_TRUSTED_PROXIES=127.0.0.1 LIZA_FLOWS="$ROOT/flows" LIZA_LOCALES="$ROOT/locales" \
        RUST_LOG=warn "$BIN" serve >>"$WORK/liza-$1.log" 2>&1 &
    local pid=$!
    for _ in $(seq 1 300); do
        if curl -fsS -o /dev/null "http://127.0.0.1:$2/health" 2>/dev/null; then STARTED=$pid; return 0; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "instance $1 did not start:" >&2
    tail -n 20 "$WORK/liza-$1.log" >&2
    return 1
}

now_ms() { date +%s%3N; }
sql() { psql "$DATABASE_URL" -Atqc "$1"; }

start_liza a "$PORT_A"; PID_A=$STARTED
start_liza b "$PORT_B"; PID_B=$STARTED
echo "== losing an instance: $RUNS run(s) of $CALLS calls, $CONCURRENCY live, think $THINK;" \
     "instance a killed (SIGKILL) ${KILL_AFTER}s into a run, restarted ${RESTART_AFTER}s later" \
     "($PROFILE build, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"

all_failed=0
summary=()
for run in $(seq 1 "$RUNS"); do
    run_started="$(now_ms)"
    errors_before="$(wc -l <"$NGINX_PREFIX/logs/error.log")"
    env -i PATH="$PATH" HOME="${HOME:-/tmp}" TWILIO_AUTH_TOKEN="$TOKEN" "$BIN" loadtest \
        --url "$PUBLIC" --ca-cert "$NGINX_CA" --resolve "$NGINX_HOST:$NGINX_HTTPS_PORT:127.0.0.1" \
        --calls "$CALLS" --concurrency "$CONCURRENCY" --think "$THINK" \
        --expect "Vielen Dank für Ihren Anruf" >"$WORK/loadtest-$run.out" 2>&1 &
    LOADTEST_PID=$!
    sleep "$KILL_AFTER"
    kill -0 "$LOADTEST_PID" 2>/dev/null || echo "   (warning: the load ended before the kill; raise CALLS)"
    live="$(sql "SELECT count(*) FROM calls WHERE started_at >= $run_started AND ended_at IS NULL")"
    kill -KILL "$PID_A"
    wait "$PID_A" 2>/dev/null || true
    killed_at="$(now_ms)"
    sleep "$RESTART_AFTER"
    start_liza a "$PORT_A"; PID_A=$STARTED
    restarted_in=$(( $(now_ms) - killed_at ))
    wait "$LOADTEST_PID" || true
    LOADTEST_PID=""

    out="$WORK/loadtest-$run.out"
    completed="$(sed -n 's/^calls: *\([0-9]*\) completed.*/\1/p' "$out")"
    failed="$(sed -n 's/^calls: *[0-9]* completed, \([0-9]*\) failed.*/\1/p' "$out")"
    [ -n "$completed" ] && [ -n "$failed" ] || { cat "$out"; echo "cannot read the load generator's report"; exit 1; }
    # What nginx did about the dead instance: requests it had to take elsewhere.
    tail -n +"$((errors_before + 1))" "$NGINX_PREFIX/logs/error.log" |
        grep "upstream: \"http://127.0.0.1:$PORT_A" >"$WORK/attempts-$run.log" || true
    retried="$(grep -c . "$WORK/attempts-$run.log" || true)"
    # Requests a was working on when it died (sent, then the connection closed or reset) and
    # connections it refused while it was down.
    in_flight="$(grep -cE "prematurely closed|reset by peer|upstream timed out" "$WORK/attempts-$run.log" || true)"
    refused="$(grep -c "Connection refused" "$WORK/attempts-$run.log" || true)"
    stored="$(sql "SELECT count(*) || ' ' || count(ended_at) FROM calls WHERE started_at >= $run_started")"
    echo "-- run $run: $(grep '^calls:' "$out")"
    grep -E '^(requests|latency|error):' "$out" | sed 's/^/   /'
    echo "   at the kill: $live calls in progress; nginx logged $retried failed attempts on instance a," \
         "each retried on b ($in_flight in flight when a died, $refused refused connections);" \
         "a answered /health again ${restarted_in} ms after the kill"
    echo "   stored: $stored (calls started in this run, of them ended)"
    if [ "$stored" != "$CALLS $CALLS" ]; then
        echo "   FAIL: expected $CALLS calls stored, each ended"
        failed=$((failed + CALLS))
    fi
    summary+=("$failed")
    all_failed=$((all_failed + failed))
done

echo "== failed calls per run: ${summary[*]} (of $CALLS each)"
if [ "$all_failed" -gt 0 ]; then
    echo "== nginx's error log (last lines):"
    tail -n 20 "$NGINX_PREFIX/logs/error.log"
    echo "== instance a's log (last lines):"
    tail -n 20 "$WORK/liza-a.log"
    exit 1
fi
echo "== no call failed"
