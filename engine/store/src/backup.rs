//! `liza backup`: a consistent copy of the SQLite database while Liza serves it, made with
//! SQLite's online backup API and checked by opening the copy.
//!
//! The copy is taken in one backup step: it holds a read transaction on the source for the
//! length of the copy, which in WAL mode never blocks Liza's writer, and it sees exactly the
//! transactions committed before it began (a multi-step backup would start over whenever the
//! writer commits, which under load is every few milliseconds). The copy is written next to
//! the destination under a temporary name, switched to the rollback journal (one
//! self-contained file, no `-wal` beside it), verified, and only then renamed into place: a
//! failed backup never leaves a half-written file under the name asked for.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use sqlx::sqlite::SqliteConnectOptions;

/// What a finished backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// The database that was copied.
    pub source: PathBuf,
    /// Calls in the copy.
    pub calls: i64,
    /// Size of the copy in bytes.
    pub bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// PostgreSQL has its own tool for a consistent copy.
    #[error("DATABASE_URL is a PostgreSQL database")]
    Postgres,
    #[error("DATABASE_URL is neither sqlite:… nor postgres://…")]
    Unsupported,
    #[error("{} exists already; choose a new name (or pass --force to replace it)", .0.display())]
    Exists(PathBuf),
    #[error("{0}")]
    Failed(String),
}

/// How often a step that found the source locked is tried again (50 ms apart).
const BUSY_RETRIES: u32 = 200;

/// Copies the SQLite database of `database_url` to `dest` and verifies the copy.
pub fn backup(database_url: &str, dest: &Path, replace: bool) -> Result<BackupReport, BackupError> {
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        return Err(BackupError::Postgres);
    }
    if !database_url.starts_with("sqlite:") {
        return Err(BackupError::Unsupported);
    }
    let failed =
        |what: &str, e: &dyn std::fmt::Display| BackupError::Failed(format!("{what}: {e}"));
    let source = SqliteConnectOptions::from_str(database_url)
        .map_err(|e| failed("DATABASE_URL", &e))?
        .get_filename()
        .to_owned();
    if source.as_os_str().is_empty() || source == Path::new(":memory:") {
        return Err(BackupError::Failed(
            "DATABASE_URL names no database file".into(),
        ));
    }
    if dest.exists() && !replace {
        return Err(BackupError::Exists(dest.to_owned()));
    }
    if same_file(&source, dest) {
        return Err(BackupError::Failed(format!(
            "{} is the database itself",
            dest.display()
        )));
    }
    crate::sqlite::configure_library();
    // Never created here: a wrong path is an error, not a new empty database.
    let from = Connection::open_with_flags(
        &source,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| failed(&format!("cannot open {}", source.display()), &e))?;
    from.busy_timeout(Duration::from_secs(5))
        .map_err(|e| failed("busy timeout", &e))?;

    let partial = partial_name(dest);
    let _ = std::fs::remove_file(&partial);
    let result = copy_and_verify(&from, &partial);
    match result {
        Ok(calls) => {
            let bytes = std::fs::metadata(&partial)
                .map(|m| m.len())
                .map_err(|e| failed("the copy", &e))?;
            std::fs::rename(&partial, dest).map_err(|e| {
                let _ = std::fs::remove_file(&partial);
                failed(&format!("cannot move the copy to {}", dest.display()), &e)
            })?;
            Ok(BackupReport {
                source,
                calls,
                bytes,
            })
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

/// `dir/.name.partial`: same directory, so the final rename is atomic.
fn partial_name(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "liza-backup".into());
    dest.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The copy in one step, self-contained, then opened again read-only and checked; the
/// number of calls it holds.
fn copy_and_verify(from: &Connection, partial: &Path) -> Result<i64, BackupError> {
    let failed =
        |what: &str, e: &dyn std::fmt::Display| BackupError::Failed(format!("{what}: {e}"));
    {
        let mut to = Connection::open(partial)
            .map_err(|e| failed(&format!("cannot create {}", partial.display()), &e))?;
        {
            let backup = Backup::new(from, &mut to).map_err(|e| failed("backup", &e))?;
            let mut retries = 0;
            loop {
                match backup.step(-1).map_err(|e| failed("backup", &e))? {
                    StepResult::Done => break,
                    StepResult::More => continue,
                    StepResult::Busy | StepResult::Locked if retries < BUSY_RETRIES => {
                        retries += 1;
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    StepResult::Busy | StepResult::Locked => {
                        return Err(BackupError::Failed(
                            "the database stayed locked for 10 s".into(),
                        ))
                    }
                    other => {
                        return Err(BackupError::Failed(format!(
                            "unexpected backup step result {other:?}"
                        )))
                    }
                }
            }
        }
        to.pragma_update(None, "journal_mode", "DELETE")
            .map_err(|e| failed("the copy's journal mode", &e))?;
    }
    let copy = Connection::open_with_flags(partial, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| failed("cannot open the copy", &e))?;
    let integrity: String = copy
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .map_err(|e| failed("the copy's integrity check", &e))?;
    if integrity != "ok" {
        return Err(BackupError::Failed(format!(
            "the copy fails SQLite's integrity check: {integrity}"
        )));
    }
    copy.query_row("SELECT COUNT(*) FROM calls", [], |row| row.get(0))
        .map_err(|e| {
            failed(
                "the copy has no calls table (is DATABASE_URL Liza's database?)",
                &e,
            )
        })
}
