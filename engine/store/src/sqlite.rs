//! The SQLite store: one file in WAL mode; webhooks are written by one writer thread (group commit).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{params, OptionalExtension};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::AnyPool;

use super::batch::{Connector, WriterConn, Writers};
use super::dialect::SQLITE;
use super::health::{file_identity, FileChange, WriteProblem, WriteTrouble};
use super::sql as webhook_sql;
use super::sql_admin::SqlAdmin;
use super::sql_store::{open_pool, Local, SqlStore};
use super::{CallRow, NewCall, StatusUpdate, StoreError, StoreTx, TurnWrite};
use liza_model::CallStatus;
use liza_model::{RecordInfo, RecordRequest};

/// How long a writer waits for SQLite's write lock (another process, a long dashboard write)
/// before the batch fails and its callers hear the apology.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// Opens (creating file and folder if missing) a SQLite database: one writer thread for the
/// webhooks, a pool for the dashboard, a thread that checkpoints the WAL.
pub(crate) async fn open(url: &str) -> Result<SqlStore, StoreError> {
    let filename = SqliteConnectOptions::from_str(url)?
        .get_filename()
        .to_owned();
    if filename == Path::new(":memory:") || filename.as_os_str().is_empty() {
        // The writer and the dashboard need two connections to one database.
        return Err(StoreError::UnsupportedUrl);
    }
    if let Some(parent) = filename.parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).map_err(crate::error::io)?;
        }
    }
    // An empty file is an empty database.
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&filename)
        .map_err(crate::error::io)?;
    // Webhooks write through the writer thread; the pool serves the dashboard, whose reads run
    // beside the writer (WAL) and whose few writes wait for its lock.
    let pool = open_pool(url, &SQLITE).await?;
    // One writer: SQLite has one write lock, and one thread holding it in turn beats
    // several meeting SQLITE_BUSY.
    let checkpointer = Checkpointer::start(filename.clone());
    let writers = Writers::start(
        "sqlite",
        1,
        SqliteConnector {
            path: filename.clone(),
        },
    );
    Ok(SqlStore {
        admin: SqlAdmin {
            pool,
            dialect: &SQLITE,
        },
        writers: Arc::new(writers),
        local: Local::Sqlite(Files {
            checkpointer,
            path: filename,
        }),
    })
}

/// The database file, as the store keeps an eye on it.
pub(crate) struct Files {
    checkpointer: Checkpointer,
    path: PathBuf,
}

impl Files {
    /// Moves every committed page from the WAL into the database file and empties the WAL,
    /// so a stopped Liza leaves one self-contained file even if the process exits before
    /// sqlx's worker threads have closed their handles.
    pub(crate) async fn before_close(&self, pool: &AnyPool) {
        self.checkpointer.stop().await;
        // One row: (busy, WAL frames, frames checkpointed); busy = 1 means it did not finish.
        match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(pool)
            .await
        {
            Ok((0, _, _)) => {}
            Ok((_, frames, done)) => tracing::warn!(
                frames,
                done,
                "The SQLite WAL was busy at shutdown; it is checkpointed at the next start."
            ),
            Err(e) => {
                tracing::warn!(error = %e, "Could not checkpoint the SQLite WAL at shutdown.")
            }
        }
    }

    /// A nearly full disk is a full one: SQLite may still fit a small write into space its WAL
    /// already holds, so some calls (and the one-row probe) succeed while others fail.
    #[cfg(unix)]
    pub(crate) fn health(&self) -> Option<WriteTrouble> {
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let stats = rustix::fs::statvfs(dir).ok()?;
        // What an unprivileged process may still use (root's reserve not counted).
        let free = stats.f_bavail.saturating_mul(stats.f_frsize);
        (free < MIN_FREE_BYTES).then(|| WriteTrouble {
            problem: WriteProblem::DiskFull,
            detail: format!(
                "{} bytes free on the filesystem of {}",
                free,
                self.path.display()
            ),
        })
    }

    #[cfg(not(unix))]
    pub(crate) fn health(&self) -> Option<WriteTrouble> {
        None
    }
}

/// Less free space than this where the database is counts as a full disk: one batch of
/// webhooks can need about this much WAL.
const MIN_FREE_BYTES: u64 = 1024 * 1024;

#[derive(Clone)]
struct SqliteConnector {
    path: PathBuf,
}

impl Connector for SqliteConnector {
    type Conn = SqliteWriter;

    fn connect(&self) -> Result<SqliteWriter, StoreError> {
        use rusqlite::OpenFlags;
        let conn = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // The checkpointer thread moves the WAL into the database file; a checkpoint on the
        // writer would stall every webhook in its batch.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.set_prepared_statement_cache_capacity(32);
        // A read opens the WAL, so both files can be told apart from any put there later.
        conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |_| Ok(()))?;
        let files = OpenedFiles::of(&self.path).map_err(crate::error::io)?;
        Ok(SqliteWriter {
            conn,
            files,
            gone: None,
        })
    }
}

/// The database file and its WAL as the writer opened them, as (device, inode).
struct OpenedFiles {
    db: PathBuf,
    db_id: (u64, u64),
    wal: PathBuf,
    /// `None` until SQLite has created the WAL.
    wal_id: Option<(u64, u64)>,
}

impl OpenedFiles {
    fn of(db: &Path) -> std::io::Result<Self> {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        Ok(Self {
            db_id: file_identity(db)?,
            db: db.to_owned(),
            wal_id: file_identity(&wal).ok(),
            wal,
        })
    }

    /// The first file that is no longer the one opened: deleted (moved away) or replaced.
    /// Two `stat`s per transaction, microseconds.
    fn changed(&mut self) -> Option<(PathBuf, FileChange)> {
        let compare = |path: &Path, opened: (u64, u64)| match file_identity(path) {
            Ok(id) if id == opened => None,
            Ok(_) => Some((path.to_owned(), FileChange::Replaced)),
            Err(_) => Some((path.to_owned(), FileChange::Deleted)),
        };
        if let Some(change) = compare(&self.db, self.db_id) {
            return Some(change);
        }
        match self.wal_id {
            Some(id) => compare(&self.wal, id),
            None => {
                self.wal_id = file_identity(&self.wal).ok();
                None
            }
        }
    }
}

/// How often the checkpointer copies the WAL into the database file: often, so each checkpoint
/// (and its fsync) is small (100 ms: live-call p99 7–41 ms; 25 ms: 4.4–32 ms, mostly under 12).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(25);

/// A thread that checkpoints the WAL beside the writer (PASSIVE: it never blocks the writer
/// nor waits for it), so the writer's commits stay appends to the WAL.
struct Checkpointer {
    stop: std::sync::Mutex<Option<std::sync::mpsc::Sender<()>>>,
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Checkpointer {
    fn start(path: PathBuf) -> Self {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name("sqlite-checkpointer".into())
            .spawn(move || {
                let mut conn = None;
                // The failure last logged: a full disk fails every 25 ms, and is logged once.
                let mut failing: Option<String> = None;
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    if conn.is_none() {
                        // Never CREATE: a deleted database must not come back empty.
                        conn = rusqlite::Connection::open_with_flags(
                            &path,
                            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                                | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                        )
                        .ok();
                    }
                    let Some(c) = conn.as_ref() else { continue };
                    match c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        Ok(()) => {
                            if failing.take().is_some() {
                                tracing::info!("WAL checkpoints work again.");
                            }
                        }
                        Err(e) => {
                            let error = e.to_string();
                            if failing.as_ref() != Some(&error) {
                                tracing::warn!(
                                    error,
                                    "WAL checkpoint failed; retrying quietly until it works."
                                );
                                failing = Some(error);
                            }
                            conn = None;
                        }
                    }
                }
            });
        let thread = spawned
            .map_err(|e| tracing::error!(error = %e, "Cannot start the SQLite checkpointer."))
            .ok();
        Self {
            stop: std::sync::Mutex::new(Some(stop)),
            thread: std::sync::Mutex::new(thread),
        }
    }

    /// Stops the thread and waits for a checkpoint in progress, so the final one at shutdown
    /// does not find the WAL busy.
    async fn stop(&self) {
        self.stop.lock().unwrap_or_else(|e| e.into_inner()).take();
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

/// The writer thread's connection: statements run in-process, no hand-off per statement.
struct SqliteWriter {
    conn: rusqlite::Connection,
    files: OpenedFiles,
    /// Set once the file at the database's path is no longer the one opened; from then on
    /// every transaction is refused until a restart.
    gone: Option<(PathBuf, FileChange)>,
}

impl SqliteWriter {
    /// Refuses to write when the file at the database's path is not the one this connection
    /// writes to: SQLite would go on saving into the deleted (or replaced) file, and every
    /// call answered as saved would be gone after a restart. The refusal lasts until Liza
    /// restarts, even if the original file is moved back: SQLite keeps state per file (locks,
    /// the WAL index in `-shm`, found by path) that the other file may have disturbed meanwhile
    /// (seen in tests: the writer then found no tables), and only a fresh start reads the
    /// database at the path as it is.
    fn check_files(&mut self) -> Result<(), StoreError> {
        if self.gone.is_none() {
            if let Some((path, change)) = self.files.changed() {
                tracing::error!(
                    path = %path.display(),
                    change = change.as_str(),
                    "The SQLite database file changed under Liza; webhooks are refused with an apology until Liza restarts."
                );
                self.gone = Some((path, change));
            }
        }
        match &self.gone {
            Some((path, change)) => Err(StoreError::FileGone {
                path: path.clone(),
                change: *change,
            }),
            None => Ok(()),
        }
    }
}

impl WriterConn for SqliteWriter {
    fn begin(&mut self) -> Result<(), StoreError> {
        self.check_files()?;
        // IMMEDIATE: take the write lock now, or wait for it (busy timeout), not mid-batch.
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(())
    }

    fn tx(&mut self) -> &mut dyn StoreTx {
        self
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        if !self.conn.is_autocommit() {
            self.conn.execute_batch("ROLLBACK")?;
        }
        Ok(())
    }
}

/// The call columns in `call_columns!` order, as rusqlite reads them.
type CallColumns = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);

fn call_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<CallColumns> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
    ))
}

/// Builds the call after the row was read (a serde error is not a rusqlite one).
fn with_state(c: CallColumns) -> Result<CallRow, StoreError> {
    CallRow::from_columns(c.0, c.1, &c.2, c.3, c.4, c.5, c.6)
}

impl StoreTx for SqliteWriter {
    fn open_call(&mut self, new: &NewCall<'_>) -> Result<CallRow, StoreError> {
        let row = self
            .conn
            .prepare_cached(webhook_sql::OPEN_CALL)?
            .query_row(
                params![
                    new.call_sid,
                    new.from,
                    new.to,
                    new.now_ms,
                    new.flow_name,
                    new.flow_version
                ],
                call_row,
            )?;
        with_state(row)
    }

    fn lock_call(&mut self, call_sid: &str) -> Result<Option<CallRow>, StoreError> {
        self.conn
            .prepare_cached(webhook_sql::LOCK_CALL)?
            .query_row(params![call_sid], call_row)
            .optional()?
            .map(with_state)
            .transpose()
    }

    fn saved_response(&mut self, call_id: i64, turn: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(webhook_sql::SAVED_RESPONSE)?
            .query_row(params![call_id, turn], |r| r.get(0))
            .optional()?)
    }

    fn record(
        &mut self,
        request: &RecordRequest,
        call_id: i64,
        now_ms: i64,
    ) -> Result<Option<RecordInfo>, StoreError> {
        let info = |r: &rusqlite::Row<'_>| {
            Ok(RecordInfo {
                id: r.get(0)?,
                status: r.get(1)?,
            })
        };
        let saved = match &request.create_with_status {
            Some(status) => self
                .conn
                .prepare_cached(webhook_sql::SAVE_RECORD)?
                .query_row(
                    params![request.kind, request.key, status, call_id, now_ms],
                    info,
                )
                .optional()?,
            None => None,
        };
        let found = match saved {
            Some(record) => Some(record),
            None => self
                .conn
                .prepare_cached(webhook_sql::FIND_RECORD)?
                .query_row(params![request.kind, request.key], info)
                .optional()?,
        };
        if let Some(record) = &found {
            self.conn
                .prepare_cached(&webhook_sql::LINK_RECORD)?
                .execute(params![record.id, call_id, now_ms])?;
        }
        Ok(found)
    }

    fn save_turn(&mut self, turn: &TurnWrite<'_>) -> Result<(), StoreError> {
        let mut insert = self.conn.prepare_cached(&webhook_sql::INSERT_STEP)?;
        for (position, step) in turn.steps.iter().enumerate() {
            insert.execute(params![
                turn.call_id,
                turn.turn,
                position as i64,
                step.node,
                step.message_ids,
                step.text,
                step.digits,
                step.outcome,
                turn.now_ms
            ])?;
        }
        drop(insert);
        self.conn
            .prepare_cached(&webhook_sql::INSERT_RESPONSE)?
            .execute(params![turn.call_id, turn.turn, turn.twiml, turn.now_ms])?;
        let state = turn.state;
        self.conn
            .prepare_cached(&webhook_sql::UPDATE_CALL_AFTER_TURN)?
            .execute(params![
                state,
                turn.turn + 1,
                turn.language,
                turn.now_ms,
                turn.status.map(CallStatus::as_str),
                turn.consent.map(|c| c.as_str()),
                turn.call_id
            ])?;
        Ok(())
    }

    fn mark_problem(&mut self, call_sid: &str, now_ms: i64) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(&webhook_sql::MARK_PROBLEM)?
            .execute(params![now_ms, call_sid])?;
        Ok(())
    }

    fn call_ended(&mut self, update: &StatusUpdate<'_>) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(&webhook_sql::CALL_ENDED)?
            .execute(params![
                update.call_sid,
                update.from,
                update.to,
                update.now_ms,
                update.duration_secs
            ])?;
        Ok(())
    }

    fn flow_source(&mut self, version: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(webhook_sql::FLOW_SOURCE)?
            .query_row(params![version], |r| r.get(0))
            .optional()?
            .flatten())
    }

    fn probe(&mut self, now_ms: i64) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(webhook_sql::PROBE)?
            .execute(params![now_ms])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::Work;

    /// Writer connections that may not grow the database file: SQLite then fails writes with
    /// SQLITE_FULL, as on a full disk (the tmpfs test in tests/integration/backends/health.rs fills a real
    /// one where it may mount one).
    #[derive(Clone)]
    struct NoGrowth(SqliteConnector);

    impl Connector for NoGrowth {
        type Conn = SqliteWriter;

        fn connect(&self) -> Result<SqliteWriter, StoreError> {
            let writer = self.0.connect()?;
            let pages: i64 = writer
                .conn
                .query_row("PRAGMA page_count", [], |r| r.get(0))?;
            writer.conn.pragma_update(None, "max_page_count", pages)?;
            Ok(writer)
        }
    }

    /// Opens calls until the file would have to grow.
    struct ManyCalls(Option<tokio::sync::oneshot::Sender<Result<(), StoreError>>>);

    impl Work for ManyCalls {
        fn run(&mut self, tx: &mut dyn StoreTx) -> Result<(), StoreError> {
            let from = "+49".repeat(300);
            for n in 0..2_000 {
                tx.open_call(&NewCall {
                    call_sid: &format!("CAfull{n}"),
                    from: &from,
                    to: &from,
                    flow_name: "liza",
                    flow_version: "v",
                    now_ms: 0,
                })?;
            }
            Ok(())
        }
        fn done(mut self: Box<Self>, result: Result<(), StoreError>) {
            let _ = self.0.take().expect("done once").send(result);
        }
        fn deadline(&self) -> Instant {
            Instant::now() + Duration::from_secs(10)
        }
    }

    #[tokio::test]
    async fn a_full_database_fails_writes_as_disk_full() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("liza.db");
        let store = crate::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let writers = Writers::start("test", 1, NoGrowth(SqliteConnector { path }));
        assert_eq!(writers.health(Duration::from_secs(2)).await, None);

        let (reply, answer) = tokio::sync::oneshot::channel();
        writers.submit(Box::new(ManyCalls(Some(reply))));
        let error = answer
            .await
            .unwrap()
            .expect_err("the database may not grow");
        assert!(error.to_string().contains("full"), "{error}");
        // Within the second after the last probe /health answers from the writers' outcome.
        let trouble = writers
            .health(Duration::from_secs(2))
            .await
            .expect("a problem");
        assert_eq!(trouble.problem, WriteProblem::DiskFull);
        assert_eq!(trouble.problem.code(), "disk_full");
        writers.close().await;
        store.close().await;
    }
}
