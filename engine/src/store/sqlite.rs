//! The SQLite store: one file, WAL, one transaction per webhook.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, Sqlite, SqlitePool};

use super::{CallRow, NewCall, StatusUpdate, StoreError, StoreTx, TurnWrite};
use crate::model::CallStatus;
use crate::runtime::{RecordInfo, RecordRequest};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating file and folder if missing) a SQLite database.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL survives a crashed process; only a power cut can lose the last commits.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let filename = options.get_filename();
        if let Some(parent) = Path::new(filename).parent() {
            if !parent.as_os_str().is_empty() && filename != Path::new(":memory:") {
                std::fs::create_dir_all(parent)
                    .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
            }
        }
        // One connection: SQLite has one writer, and every webhook writes. With several
        // connections the writers meet SQLITE_BUSY and sleep in the busy handler (seconds at
        // 256 concurrent calls); one connection queues them fairly in the pool instead.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            // A file connection does not break like a socket; the ping would cost each webhook
            // one more round trip to the connection's worker thread.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

impl SqliteStore {
    /// Moves every committed page from the WAL into the database file and empties the WAL,
    /// so a stopped Liza leaves one self-contained file even if the process exits before
    /// sqlx's worker threads have closed their handles.
    async fn before_close(&self) {
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
        {
            tracing::warn!(error = %e, "Could not checkpoint the SQLite WAL at shutdown.");
        }
    }
}

super::sql::sql_store!(SqliteStore, SqliteTx, Sqlite, with_admin);

super::sql_admin::admin_store!(
    SqliteStore,
    Sqlite,
    // A sampled ANALYZE: milliseconds even at a million calls, and enough for the planner
    // to prefer `calls_by_from` for a number prefix.
    planner: ["PRAGMA analysis_limit = 1000", "ANALYZE"],
    after_seed: [] as [&str; 0]
);
