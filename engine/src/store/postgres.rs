//! The PostgreSQL store: several Liza instances share one database. Each webhook's
//! transaction starts by updating the call row (`UPDATE … RETURNING` or the upsert), which
//! takes PostgreSQL's row lock, so two instances answering the same call serialise on it.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Row};

use super::{CallRow, NewCall, StatusUpdate, StoreError, StoreTx, TurnWrite};
use crate::model::CallStatus;
use crate::runtime::{RecordInfo, RecordRequest};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Connections per instance. Each commit waits for a WAL flush, and one flush covers every
/// commit waiting at that moment, so more transactions in flight mean more commits per flush
/// (16 → 32: 774 → 939 req/s at 256 concurrent calls, docs/BENCHMARKS.md). Three instances
/// still fit PostgreSQL's default `max_connections` (100) with room for admin tools.
const MAX_CONNECTIONS: u32 = 32;

#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `postgres://…` (or `postgresql://…`). The pool connects lazily-on-demand
    /// after the first connection, and replaces connections that broke while the database was away.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?.application_name("liza");
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            // A webhook must answer well inside Twilio's 15 s, apology included.
            .acquire_timeout(Duration::from_secs(3))
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl PgStore {
    /// PostgreSQL needs nothing before its connections close.
    async fn before_close(&self) {}
}

super::sql::sql_store!(PgStore, PgTx, Postgres, with_admin);

super::sql_admin::admin_store!(
    PgStore,
    Postgres,
    planner: ["ANALYZE calls", "ANALYZE records", "ANALYZE record_calls"],
    // Seeded calls carry their ids; the sequence must move past them.
    after_seed: ["SELECT setval(pg_get_serial_sequence('calls', 'id'), (SELECT MAX(id) FROM calls))"]
);
