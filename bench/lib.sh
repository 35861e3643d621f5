# Shared by the bench/*.sh scripts, which `source bench/lib.sh` from the repository root.

# LIZA_MAX_CONNECTIONS for LIVE simultaneous calls. The load generator holds at most 256
# requests in flight (`liza loadtest --connections`), and so about as many connections; with
# `--connections 0` (one per caller) it opened up to 12,000-15,000 at 10,000 live calls
# (docs/BENCHMARKS.md, "At 10,000 live calls the load generator has two states"). The server's
# default (512) would close the longest-idle one beyond it, which a caller was about to reuse.
# Room for one per live call and 1,000 more, so either client is measured, not the limit.
connections_for() {
    local live=$1
    echo $(( live + 1000 > 512 ? live + 1000 : 512 ))
}

# Refuses a PostgreSQL server (admin URL $1) whose autovacuum is off, unless
# ALLOW_NO_AUTOVACUUM=1: nothing would reclaim the row versions every turn leaves, and the
# benchmark would measure dead rows piling up (p99 18 -> 164 ms in four minutes of a soak),
# not Liza.
require_autovacuum() {
    if [ "$(psql "$1" -Atc 'SHOW autovacuum')" != on ] && [ -z "${ALLOW_NO_AUTOVACUUM:-}" ]; then
        echo "PostgreSQL's autovacuum is off; turn it on (ALTER SYSTEM SET autovacuum = on; SELECT pg_reload_conf();) or set ALLOW_NO_AUTOVACUUM=1" >&2
        exit 2
    fi
}

# CPU time (clock ticks) of process $1, 0 when it is gone.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# CPU ticks of the PostgreSQL backends serving database $2 (admin URL $1), when PostgreSQL runs
# on this machine: the backends of Liza's writers and pool. Its background processes
# (checkpointer, WAL writer, autovacuum) are not counted; 0 without a database.
db_ticks() {
    local total=0 pid
    [ -n "${2:-}" ] || { echo 0; return; }
    for pid in $(psql "$1" -Atc "SELECT pid FROM pg_stat_activity WHERE datname = '$2'"); do
        total=$((total + $(ticks "$pid")))
    done
    echo $total
}
