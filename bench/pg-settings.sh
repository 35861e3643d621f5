#!/usr/bin/env bash
# Which PostgreSQL settings matter for Liza (docs/BENCHMARKS.md, "PostgreSQL settings"): each
# configuration is applied with ALTER SYSTEM and a restart of the local server, then
# bench/webhooks.sh postgres runs (16 and 256 callers at once, then LIVE_PG live calls), ROUNDS
# times in turn. Every configuration has autovacuum on (bench/webhooks.sh requires it). At the
# end ALTER SYSTEM RESET ALL and a restart put the server back as it was.
#
#   bench/pg-settings.sh          # needs a local PostgreSQL this user may restart
#
# Environment: PG_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/test), PG_CLUSTER
# (default: the only cluster of `pg_lsclusters`, e.g. "15 main"), ROUNDS (default 2),
# LIZA_BIN (default: a release build made here).
set -euo pipefail
cd "$(dirname "$0")/.."

ADMIN=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test}
CLUSTER=${PG_CLUSTER:-$(pg_lsclusters -h | awk 'NR == 1 {print $1, $2}')}
ROUNDS=${ROUNDS:-2}
if [ -z "${LIZA_BIN:-}" ]; then
    cargo build --release -q -p liza
    LIZA_BIN=target/release/liza
fi
export LIZA_BIN

restart_pg() {
    # shellcheck disable=SC2086 # "15 main": version and name
    pg_ctlcluster --skip-systemctl-redirect $CLUSTER restart
    until pg_isready -q -h 127.0.0.1; do sleep 0.2; done
}

# Settings as name=value ...; autovacuum on in every configuration.
apply() {
    psql "$ADMIN" -qc "ALTER SYSTEM RESET ALL" >/dev/null
    for kv in autovacuum=on "$@"; do
        psql "$ADMIN" -qc "ALTER SYSTEM SET ${kv%%=*} = '${kv#*=}'" >/dev/null
    done
    restart_pg
}

restore() {
    psql "$ADMIN" -qc "ALTER SYSTEM RESET ALL" >/dev/null && restart_pg && echo "settings reset"
}
trap restore EXIT

run() { # label, then settings
    local label=$1
    shift
    apply "$@"
    echo "##### $label: ${*:-defaults} ($(date -u +%H:%M:%S))"
    bash bench/webhooks.sh postgres 2>&1 | grep -E '^\$ liza|requests:|latency:|failed|peak RSS'
}

echo "# $(git rev-parse --short HEAD), $(nproc) cores, PostgreSQL $(psql "$ADMIN" -Atc 'SHOW server_version'), $(date -u +%F)"
for _ in $(seq "$ROUNDS"); do
    run defaults
    run synchronous_commit_off synchronous_commit=off
    run shared_buffers_1GB shared_buffers=1GB
    run max_wal_size_4GB max_wal_size=4GB checkpoint_timeout=15min
    run wal_compression wal_compression=lz4
    run commit_delay commit_delay=200 commit_siblings=2
done
