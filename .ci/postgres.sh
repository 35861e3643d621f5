#!/usr/bin/env bash
# Makes sure CI's PostgreSQL (127.0.0.1:5432, trust auth, database `test`) is up and answering.
# .ci/run calls this before `cargo test`; the tests create and drop a database each
# (liza_test_<random>) and fail loudly when CI=true and PostgreSQL is unreachable.
set -euo pipefail

HOST=127.0.0.1
PORT=5432

answers() {
    pg_isready -q -h "$HOST" -p "$PORT" 2>/dev/null
}

if ! answers; then
    cluster_version=$(ls /etc/postgresql | sort -V | tail -n 1)
    echo "PostgreSQL is down; starting cluster $cluster_version/main."
    pg_ctlcluster --skip-systemctl-redirect "$cluster_version" main start || true
fi

for _ in $(seq 1 60); do
    if answers; then
        if psql -h "$HOST" -p "$PORT" -U postgres -d test -Atc 'SELECT 1' >/dev/null 2>&1; then
            echo "PostgreSQL answers at $HOST:$PORT."
            exit 0
        fi
        # The `test` database may be missing on a fresh cluster.
        createdb -h "$HOST" -p "$PORT" -U postgres test 2>/dev/null || true
    fi
    sleep 0.5
done
echo "error: PostgreSQL did not answer at $HOST:$PORT within 30 s." >&2
exit 1
