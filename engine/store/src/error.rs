//! What went wrong, in the store's words. The drivers' errors (sqlx, rusqlite) are sorted into
//! these kinds where they come out of a driver; the driver's error stays as the source, for
//! logs. Whether an error is the database's as a whole, or a lost connection, is decided here.

use std::path::PathBuf;

use crate::health::FileChange;

/// The driver's error behind a [`StoreError`], as it said it.
pub type Source = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached, or the connection to it broke (it is replaced).
    #[error("database error: {0}")]
    Unavailable(Source),
    /// The whole database is locked by someone else for too long (SQLite's one write lock).
    #[error("database error: {0}")]
    Locked(Source),
    /// A statement waited too long for a row lock, or ran too long, or deadlocked with
    /// another transaction; other work is not affected.
    #[error("database error: {0}")]
    Busy(Source),
    /// No room left for the database.
    #[error("database error: {0}")]
    DiskFull(Source),
    /// The database or its files accept no writes.
    #[error("database error: {0}")]
    ReadOnly(Source),
    /// The database's files fail or are damaged (I/O error, corruption).
    #[error("database error: {0}")]
    Broken(Source),
    /// A constraint refused this write (unique, foreign key, not null, check).
    #[error("database error: {0}")]
    Conflict(Source),
    /// Anything else a statement failed with: a bug in a statement or in what it was given.
    #[error("database error: {0}")]
    Bug(Source),
    #[error("migration failed: {0}")]
    Migration(Source),
    #[error("unsupported database URL (expected sqlite:… or postgres://…)")]
    UnsupportedUrl,
    #[error("the database did not answer in time")]
    Timeout,
    #[error("the store is closed")]
    Closed,
    /// The SQLite file (or its WAL) at `path` is not the file the writer opened: writing on
    /// would save calls where nobody will find them after a restart.
    #[error("the database file {} was {} while Liza was serving", path.display(), change.as_str())]
    FileGone { path: PathBuf, change: FileChange },
    /// The batch this work ran in failed on the database as a whole.
    #[error("{0}")]
    Failed(String),
    /// The work panicked (a bug); the others in its batch ran again without it.
    #[error("the webhook's work panicked: {0}")]
    Panicked(String),
}

impl StoreError {
    /// The connection is unusable and must be replaced.
    pub fn is_connection_lost(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Timeout)
    }

    /// The database failed, not one piece of work: every statement would fail the same way
    /// now (unreachable, locked, out of disk).
    pub fn is_database_wide(&self) -> bool {
        matches!(
            self,
            Self::Unavailable(_)
                | Self::Locked(_)
                | Self::DiskFull(_)
                | Self::ReadOnly(_)
                | Self::Broken(_)
                | Self::Timeout
                | Self::Closed
                | Self::FileGone { .. }
                | Self::Failed(_)
        )
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        use sqlx::Error::*;
        let kind: fn(Source) -> Self = match &error {
            Io(_) | Tls(_) | Protocol(_) | PoolTimedOut | PoolClosed | WorkerCrashed => {
                Self::Unavailable
            }
            Database(e) => match e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                Some(pg) => postgres_kind(pg.code()),
                // SQLite through sqlx (the dashboard's pool): its result code.
                None => sqlite_kind(
                    e.code()
                        .and_then(|code| code.parse::<i32>().ok())
                        .map_or(rusqlite::ErrorCode::Unknown, |code| {
                            rusqlite::ffi::Error::new(code).code
                        }),
                ),
            },
            _ => Self::Bug,
        };
        kind(Box::new(error))
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        let kind: fn(Source) -> Self = match &error {
            rusqlite::Error::SqliteFailure(e, _) => sqlite_kind(e.code),
            _ => Self::Bug,
        };
        kind(Box::new(error))
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        Self::Migration(Box::new(error))
    }
}

/// PostgreSQL's SQLSTATEs by what they mean for the store.
fn postgres_kind(code: &str) -> fn(Source) -> StoreError {
    match code {
        "53100" => StoreError::DiskFull,
        "25006" => StoreError::ReadOnly,
        // lock_not_available, query_canceled (statement timeout), serialization failure,
        // deadlock: this transaction's trouble, not the database's.
        "55P03" | "57014" | "40001" | "40P01" => StoreError::Busy,
        // admin_shutdown, cannot_connect_now, crash_shutdown.
        "57P01" | "57P02" | "57P03" => StoreError::Unavailable,
        code if code.starts_with("23") => StoreError::Conflict,
        code if code.starts_with("58") || code.starts_with("XX") => StoreError::Broken,
        _ => StoreError::Bug,
    }
}

/// SQLite's result codes by what they mean for the store.
fn sqlite_kind(code: rusqlite::ErrorCode) -> fn(Source) -> StoreError {
    use rusqlite::ErrorCode::*;
    match code {
        DatabaseBusy | DatabaseLocked => StoreError::Locked,
        CannotOpen => StoreError::Unavailable,
        SystemIoFailure | DatabaseCorrupt | NotADatabase => StoreError::Broken,
        ReadOnly => StoreError::ReadOnly,
        DiskFull => StoreError::DiskFull,
        ConstraintViolation => StoreError::Conflict,
        _ => StoreError::Bug,
    }
}

/// An I/O error of the store's own (creating the database's folder, a writer's runtime).
pub(crate) fn io(error: std::io::Error) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: std::ffi::c_int) -> StoreError {
        StoreError::from(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            None,
        ))
    }

    #[test]
    fn driver_errors_are_sorted_by_what_they_mean() {
        let locked = sqlite(rusqlite::ffi::SQLITE_BUSY);
        assert!(matches!(locked, StoreError::Locked(_)), "{locked:?}");
        assert!(locked.is_database_wide() && !locked.is_connection_lost());
        // The driver's words stay in the message, for logs.
        assert_eq!(
            locked.to_string(),
            "database error: Error code 5: The database file is locked"
        );

        let full = sqlite(rusqlite::ffi::SQLITE_FULL);
        assert!(matches!(full, StoreError::DiskFull(_)) && full.is_database_wide());

        let conflict = sqlite(rusqlite::ffi::SQLITE_CONSTRAINT);
        assert!(matches!(conflict, StoreError::Conflict(_)));
        assert!(
            !conflict.is_database_wide(),
            "one webhook's conflict is not the database's"
        );

        let lost = StoreError::from(sqlx::Error::PoolTimedOut);
        assert!(matches!(lost, StoreError::Unavailable(_)));
        assert!(lost.is_connection_lost() && lost.is_database_wide());

        let bug = StoreError::from(sqlx::Error::RowNotFound);
        assert!(matches!(bug, StoreError::Bug(_)) && !bug.is_database_wide());
    }

    #[test]
    fn postgres_states_are_sorted_too() {
        assert!(matches!(
            postgres_kind("53100")(Box::from("x")),
            StoreError::DiskFull(_)
        ));
        assert!(matches!(
            postgres_kind("55P03")(Box::from("x")),
            StoreError::Busy(_)
        ));
        assert!(!postgres_kind("55P03")(Box::from("x")).is_database_wide());
        assert!(matches!(
            postgres_kind("23505")(Box::from("x")),
            StoreError::Conflict(_)
        ));
        assert!(postgres_kind("57P01")(Box::from("x")).is_connection_lost());
    }
}
