//! What differs between SQLite and PostgreSQL outside the webhook writers, as data: every
//! statement the dashboard and the store's async side run is written once (`admin.rs`,
//! `sql.rs`); a [`Dialect`] holds only the statements one database needs and the other does not.

use std::time::Duration;

use sqlx::migrate::Migrator;

/// One database's differences.
#[derive(Debug)]
pub(crate) struct Dialect {
    /// Its migrations (`migrations/<name>`): the schema is the same, the DDL is not.
    pub migrator: &'static Migrator,
    /// The pool's size, and how long a query waits for one of its connections.
    pub pool_connections: u32,
    pub acquire_timeout: Duration,
    /// Run on every new connection of the pool (the session's settings).
    pub session: &'static [&'static str],
    /// Refreshes the query planner's statistics.
    pub planner: &'static [&'static str],
    /// Starts a login reservation's transaction by serialising it with every other.
    pub lock_logins: &'static [&'static str],
    /// Ends the outbox's claim of due rows (`outbox.rs`): PostgreSQL skips rows another
    /// instance's sender holds; SQLite's one writer needs nothing.
    pub claim_lock: &'static str,
}

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("../../migrations/postgres");

pub(crate) static SQLITE: Dialect = Dialect {
    migrator: &SQLITE_MIGRATOR,
    // The dashboard's reads run beside the writer (WAL); its few writes wait for its lock.
    pool_connections: 4,
    acquire_timeout: Duration::from_secs(5),
    // WAL: the dashboard reads beside the writer thread. WAL + NORMAL survives a crashed
    // process; only a power cut can lose the last commits. (Foreign keys are on and the busy
    // timeout is 5 s in every sqlx SQLite connection already.) A dashboard write that starts
    // the WAL over cuts a file larger than 48 MiB down to it, as the writer does, and leaves an
    // ordinary one to be written over (`sqlite.rs`: JOURNAL_SIZE_LIMIT). Only the store's
    // checkpointer thread checkpoints: a dashboard write's automatic checkpoint would take the
    // checkpoint lock from it, and make its restart wait.
    session: &[
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = NORMAL",
        "PRAGMA journal_size_limit = 50331648",
        "PRAGMA wal_autocheckpoint = 0",
    ],
    // A sampled ANALYZE: milliseconds even at a million calls, and enough for the planner to
    // prefer `calls_by_from` for a number prefix.
    planner: &["PRAGMA analysis_limit = 1000", "ANALYZE"],
    // The reservation's first statement is a write, which takes the database's write lock.
    lock_logins: &[],
    claim_lock: "",
};

pub(crate) static POSTGRES: Dialect = Dialect {
    migrator: &POSTGRES_MIGRATOR,
    // Writers and pool together stay far below PostgreSQL's default `max_connections` (100)
    // even with several instances. A query waits at most as long as a statement may run.
    pool_connections: 8,
    acquire_timeout: Duration::from_secs(3),
    // Server-side limits: after a client-side timeout the server must not keep a
    // transaction's locks. The writers' connections set the same (`postgres.rs`).
    session: &[
        "SET application_name = 'liza'",
        "SET statement_timeout = '3s'",
        "SET lock_timeout = '2s'",
        "SET idle_in_transaction_session_timeout = '10s'",
    ],
    // Only tables with rows: statistics of an empty table tell the planner "empty", and every
    // plan cached on that (the foreign-key checks of each step and response then, the call
    // lookup) becomes a sequential scan that slows with each call — measured: 167,000 scans
    // of `calls` for 42,000 webhooks. Autovacuum analyses growing tables by itself.
    planner: &["DO $$ BEGIN
         IF EXISTS (SELECT 1 FROM calls OFFSET 999) THEN
             ANALYZE calls; ANALYZE records; ANALYZE record_calls;
         END IF;
     END $$"],
    // Serialises reservations across instances; SHARE ROW EXCLUSIVE conflicts with itself,
    // not with readers.
    lock_logins: &["LOCK TABLE login_failures IN SHARE ROW EXCLUSIVE MODE"],
    claim_lock: "FOR UPDATE SKIP LOCKED",
};
