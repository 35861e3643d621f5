//! Whether the database takes writes, as `/health` tells it.
//!
//! Two sources, one answer. The writers record how each transaction ended (webhooks' and the
//! probe's alike): the last one decides, so callers failing shows even between probes, and a
//! database that is back shows with the next commit. The probe is a real write (one row of
//! `health_probe`) through the writers, run at most once a second however many ask
//! ([`ProbeGate`]), so a flood of `/health` requests cannot load the writers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::StoreError;

/// Why the database cannot take a write now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteProblem {
    /// No room left where the database is (SQLITE_FULL, PostgreSQL's `disk_full`, or almost
    /// no free space on the SQLite file's filesystem).
    DiskFull,
    /// The SQLite file (or its WAL) was deleted while Liza had it open.
    FileDeleted,
    /// Another file was put where the SQLite file (or its WAL) was.
    FileReplaced,
    /// The database or its files accept no writes.
    ReadOnly,
    /// Another process or transaction holds the lock too long.
    Locked,
    /// The database does not answer (connection lost, closed, too slow).
    Unreachable,
    /// Anything else the database failed with (I/O error, corruption).
    Failing,
}

impl WriteProblem {
    /// A short code for monitors (`"disk_full"`).
    pub fn code(self) -> &'static str {
        match self {
            Self::DiskFull => "disk_full",
            Self::FileDeleted => "file_deleted",
            Self::FileReplaced => "file_replaced",
            Self::ReadOnly => "read_only",
            Self::Locked => "locked",
            Self::Unreachable => "unreachable",
            Self::Failing => "failing",
        }
    }

    /// One sentence for anyone: no paths, no error text.
    pub fn describe(self) -> &'static str {
        match self {
            Self::DiskFull => "the disk holding the database is full; calls cannot be saved",
            Self::FileDeleted => {
                "the database file was deleted while Liza was running; calls are refused with an apology until Liza is restarted"
            }
            Self::FileReplaced => {
                "the database file was replaced while Liza was running; calls are refused with an apology until Liza is restarted"
            }
            Self::ReadOnly => "the database accepts no writes (read-only)",
            Self::Locked => "the database is locked by someone else for too long",
            Self::Unreachable => "the database does not answer",
            Self::Failing => "writes to the database fail",
        }
    }

    /// The problem an error shows.
    pub fn of(error: &StoreError) -> Self {
        match error {
            StoreError::FileGone { change, .. } => match change {
                FileChange::Deleted => Self::FileDeleted,
                FileChange::Replaced => Self::FileReplaced,
            },
            StoreError::DiskFull(_) => Self::DiskFull,
            StoreError::ReadOnly(_) => Self::ReadOnly,
            StoreError::Locked(_) | StoreError::Busy(_) => Self::Locked,
            StoreError::Unavailable(_) | StoreError::Closed | StoreError::Timeout => {
                Self::Unreachable
            }
            _ => Self::Failing,
        }
    }
}

/// What happened to a database file under the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileChange {
    Deleted,
    Replaced,
}

impl FileChange {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deleted => "deleted",
            Self::Replaced => "replaced",
        }
    }
}

/// A write problem and the error that showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteTrouble {
    pub problem: WriteProblem,
    /// The error as the database said it (may name files: for admins and logs only).
    pub detail: String,
}

impl WriteTrouble {
    pub fn of(error: &StoreError) -> Self {
        Self {
            problem: WriteProblem::of(error),
            detail: error.to_string(),
        }
    }
}

/// How the writers' transactions ended, latest first: shared by the writer threads and the
/// health check.
#[derive(Debug, Default)]
pub struct WriteOutcomes {
    /// Numbers the outcomes in the order they were recorded.
    sequence: AtomicU64,
    last_success: AtomicU64,
    last_failure: Mutex<Option<(u64, WriteTrouble)>>,
}

impl WriteOutcomes {
    /// A transaction committed: the database takes writes.
    pub fn succeeded(&self) {
        let n = self.sequence.fetch_add(1, Ordering::Relaxed) + 1;
        self.last_success.fetch_max(n, Ordering::Relaxed);
    }

    /// The database (not one piece of work) failed a transaction.
    pub fn failed(&self, error: &StoreError) {
        let trouble = WriteTrouble::of(error);
        let mut last = self.last_failure.lock().unwrap_or_else(|e| e.into_inner());
        let n = self.sequence.fetch_add(1, Ordering::Relaxed) + 1;
        *last = Some((n, trouble));
    }

    /// The problem of the last failure, unless a transaction committed after it.
    pub fn current(&self) -> Option<WriteTrouble> {
        let last = self.last_failure.lock().unwrap_or_else(|e| e.into_inner());
        match &*last {
            Some((n, trouble)) if *n > self.last_success.load(Ordering::Relaxed) => {
                Some(trouble.clone())
            }
            _ => None,
        }
    }
}

/// Probes at most once per [`PROBE_EVERY`]; callers meanwhile get the writers' last outcome.
/// A caller arriving while a probe runs waits for it, so the answer after an outage is fresh.
#[derive(Debug, Default)]
pub struct ProbeGate {
    last_started: tokio::sync::Mutex<Option<Instant>>,
}

/// The shortest time between two write probes of one instance.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);

impl ProbeGate {
    /// Runs `probe` unless one started less than [`PROBE_EVERY`] ago, and records what the
    /// writers could not: a probe that never ran (its wait ran out, the store is closed).
    pub async fn probe_if_due<F>(&self, outcomes: &WriteOutcomes, probe: F)
    where
        F: std::future::Future<Output = Result<(), StoreError>>,
    {
        let mut last = self.last_started.lock().await;
        if last.is_some_and(|started| started.elapsed() < PROBE_EVERY) {
            return;
        }
        *last = Some(Instant::now());
        if let Err(e) = probe.await {
            if outcomes.current().is_none() {
                outcomes.failed(&e);
            }
        }
    }
}

/// A file as (device, inode): what a path points at now, to notice another file there.
#[cfg(unix)]
pub fn file_identity(path: &std::path::Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path)?;
    Ok((metadata.dev(), metadata.ino()))
}

/// Without inodes only a deleted file can be told.
#[cfg(not(unix))]
pub fn file_identity(path: &std::path::Path) -> std::io::Result<(u64, u64)> {
    std::fs::metadata(path).map(|_| (0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> StoreError {
        StoreError::from(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            None,
        ))
    }

    #[test]
    fn the_last_outcome_decides() {
        let outcomes = WriteOutcomes::default();
        assert_eq!(outcomes.current(), None);
        outcomes.failed(&full());
        assert_eq!(
            outcomes.current().map(|t| t.problem),
            Some(WriteProblem::DiskFull)
        );
        outcomes.succeeded();
        assert_eq!(outcomes.current(), None);
        outcomes.failed(&StoreError::Timeout);
        assert_eq!(
            outcomes.current().map(|t| t.problem),
            Some(WriteProblem::Unreachable)
        );
    }

    #[test]
    fn errors_are_classified_without_their_text() {
        let gone = StoreError::FileGone {
            path: std::path::PathBuf::from("/srv/liza/data/liza.db"),
            change: FileChange::Deleted,
        };
        assert_eq!(WriteProblem::of(&gone), WriteProblem::FileDeleted);
        assert!(!WriteProblem::of(&gone).describe().contains('/'));
        assert_eq!(WriteProblem::of(&full()), WriteProblem::DiskFull);
        assert_eq!(
            WriteProblem::of(&StoreError::Closed),
            WriteProblem::Unreachable
        );
    }

    #[tokio::test]
    async fn probes_run_at_most_once_a_second() {
        let gate = ProbeGate::default();
        let outcomes = WriteOutcomes::default();
        let runs = std::sync::atomic::AtomicUsize::new(0);
        for _ in 0..50 {
            gate.probe_if_due(&outcomes, async {
                runs.fetch_add(1, Ordering::SeqCst);
                Err(StoreError::Timeout)
            })
            .await;
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(
            outcomes.current().map(|t| t.problem),
            Some(WriteProblem::Unreachable),
            "a probe that never ran is a problem too"
        );
    }
}
