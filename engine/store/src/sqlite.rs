//! The SQLite store: one file in WAL mode; webhooks are written by one writer thread (group commit).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{params, OptionalExtension};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::AnyPool;

use super::batch::{Connector, WriterConn, Writers};
use super::dialect::SQLITE;
use super::health::{file_identity, FileChange, WriteProblem, WriteTrouble};
use super::kinds::KindIds;
use super::sql as webhook_sql;
use super::sql_admin::SqlAdmin;
use super::sql_store::{open_pool, Local, SqlStore};
use super::stats::{WalSnapshot, WalStats};
use super::{
    CallRow, NewCall, RecordingWrite, StatusUpdate, StepRow, StoreError, StoreTx, TurnWrite,
};
use liza_model::CallStatus;
use liza_model::{RecordInfo, RecordRequest};

/// How long a writer waits for SQLite's write lock (another process, a long dashboard write)
/// before the batch fails and its callers hear the apology.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// SQLite's process-wide settings, applied once before the process opens its first database
/// (SQLite takes them only before it initialises). [`open`] and `backup::backup`, the crate's
/// two ways into SQLite, call this first; the writer's and the checkpointer's connections
/// come after `open`. Memory statistics off: with them on (SQLite's default), every `sqlite3_malloc` and
/// `sqlite3_free` takes one process-wide mutex, about 5 % of the writer thread's time
/// (docs/BENCHMARKS.md, "At 10,000 live calls the writer is the bottleneck"); Liza never reads
/// them.
#[allow(unsafe_code)]
pub(crate) fn configure_library() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: SQLITE_CONFIG_MEMSTATUS takes one int. sqlite3_config must not run beside
        // other SQLite calls: Once runs it on one thread, before this crate (the process's
        // only user of SQLite) opens a connection.
        let rc = unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS,
                0 as std::os::raw::c_int,
            )
        };
        if rc != rusqlite::ffi::SQLITE_OK {
            // Already initialised (something opened a database before): slower, still right.
            tracing::debug!(code = rc, "SQLite's memory statistics stay on.");
        }
    });
}

/// Opens (creating file and folder if missing) a SQLite database: one writer thread for the
/// webhooks, a pool for the dashboard, a thread that checkpoints the WAL.
pub(crate) async fn open(url: &str) -> Result<SqlStore, StoreError> {
    configure_library();
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
    let turns = Arc::new(WriterTurns::default());
    let checkpointer = Checkpointer::start(filename.clone(), turns.clone());
    let writers = Writers::start(
        "sqlite",
        1,
        SqliteConnector {
            path: filename.clone(),
            turns,
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

    /// The WAL's size and the checkpoints' durations so far.
    pub(crate) fn wal_stats(&self) -> WalSnapshot {
        self.checkpointer.stats.snapshot()
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
    turns: Arc<WriterTurns>,
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
        conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)?;
        conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
        // Statement journals (an UPDATE or DELETE of several rows) in memory, not temp files.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // The webhook's statements, with the 32 forms of a turn's UPDATE (see
        // `update_call_after_turn`), stay prepared.
        conn.set_prepared_statement_cache_capacity(64);
        // A read opens the WAL, so both files can be told apart from any put there later.
        conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |_| Ok(()))?;
        let files = OpenedFiles::of(&self.path).map_err(crate::error::io)?;
        Ok(SqliteWriter {
            conn,
            files,
            turns: self.turns.clone(),
            gone: None,
            kinds: KindIds::default(),
            data_version: 0,
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
        let wal = wal_path(db);
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

/// Past this much log (the frames written since the WAL last started over) the checkpointer
/// makes the WAL start over: a RESTART checkpoint between two of the writer's transactions.
/// Passive checkpoints alone never let it start over under sustained load: a writer starts
/// the WAL over only when its transaction began with every frame already copied, and under
/// load it has always begun the next one while the checkpoint ran (measured: +110 MB/s at
/// 2,800 webhooks/s, without bound). The writer is held for what it committed during the
/// last passive checkpoint just before (see [`catch_up`]) and two small fsyncs: about 5 ms at
/// 1,200 webhooks a second on a 2-core VM; 32 MB rather than 16 halves how often that happens
/// at saturation.
pub(crate) const WAL_RESTART_AT: u64 = 32 * 1024 * 1024;

/// `journal_size_limit`: when a writer starts the WAL over it cuts a larger file down to this,
/// so a WAL that once grew (a long dashboard read, a crash) does not stay large on disk. Above
/// [`WAL_RESTART_AT`], so the file of every ordinary restart is written over in place rather
/// than cut and grown again: cutting 32 MB took 9–16 ms on a 2-core VM, and whoever cuts it (a
/// TRUNCATE checkpoint, or the writer's first commit after a restart) holds every webhook that
/// long.
const JOURNAL_SIZE_LIMIT: i64 = 48 * 1024 * 1024;

/// The writer's page cache: 16 MiB (a negative `cache_size` counts KiB). SQLite's default,
/// 2 MB, is smaller than what a batch of a few hundred turns dirties: the pager spilled pages
/// into the WAL in the middle of the transaction (`pagerStress`, 5 % of the machine's time at
/// 10,000 live calls) and read index pages back from the file. The cache is per connection and
/// fills up to this and no further.
const WRITER_CACHE_KIB: i64 = -16 * 1024;
const _: () = assert!(JOURNAL_SIZE_LIMIT as u64 > WAL_RESTART_AT + 4 * 1024 * 1024);

/// How long a restarting checkpoint waits for readers (the dashboard's pool) still reading
/// from the WAL, while the writer is held: after that it gives up and tries again later.
const CHECKPOINT_READERS_WAIT: Duration = Duration::from_millis(50);

/// How long the checkpointer waits for the writer to end the transaction in progress before a
/// restarting checkpoint (a transaction commits or rolls back within a few seconds).
const WRITER_TURN_WAIT: Duration = Duration::from_secs(6);

/// After this many restarting checkpoints in a row found the WAL still read, the next waits
/// at most this many intervals (about a second): a long dashboard read must not hold the
/// writer every 25 ms.
const MAX_BACKOFF_TICKS: u32 = 40;

/// Before a restarting checkpoint holds the writer, at most this many more passive checkpoints
/// copy beside it what it committed meanwhile ...
const CATCH_UP_PASSES: u32 = 3;

/// ... until one finds at most this many frames committed since the one before: the writer is
/// then held only to copy the frames committed during that last pass.
const CAUGHT_UP_FRAMES: u64 = 64;

/// Runs `passive` (a passive checkpoint, the WAL's frames it found) until a pass finds at most
/// [`CAUGHT_UP_FRAMES`] frames more than the pass before, at most [`CATCH_UP_PASSES`] times;
/// `frames`: what the last passive checkpoint found. A log shorter than before started over:
/// all of it is new.
fn catch_up(mut frames: u64, mut passive: impl FnMut() -> Option<u64>) {
    for _ in 0..CATCH_UP_PASSES {
        let Some(now) = passive() else { return };
        let new = if now >= frames { now - frames } else { now };
        frames = now;
        if new <= CAUGHT_UP_FRAMES {
            return;
        }
    }
}

/// What the checkpointer runs at one tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Checkpoint {
    /// Copies what it can beside the writer; never waits.
    Passive,
    /// Holds the writer between two transactions, copies everything, waits briefly for
    /// readers still reading from the WAL: the writer's next commit starts it over.
    Restart,
}

/// The checkpointer's memory between ticks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct CheckpointState {
    /// Restarting checkpoints in a row that found the WAL still read.
    busy_streak: u32,
    /// Ticks since the last restarting checkpoint.
    ticks_since_restart: u32,
    /// The log's length when the last restart finished: until a writer commits, the WAL has
    /// not started over and holds the same frames, all copied (nothing to hold the writer for).
    restarted_at: Option<u64>,
}

/// The checkpoint to run after a passive one found `log_bytes` of log in the WAL: nothing more
/// below `restart_at`; at or above it, a restarting one, unless the last ones were kept from
/// finishing by a reader (then only every 2, 4, 8 … [`MAX_BACKOFF_TICKS`] ticks) or the last
/// one finished and no writer has committed since.
fn plan_checkpoint(log_bytes: u64, restart_at: u64, state: CheckpointState) -> Checkpoint {
    if log_bytes < restart_at || state.restarted_at == Some(log_bytes) {
        return Checkpoint::Passive;
    }
    let wait = match state.busy_streak {
        0 => 0,
        n => 1u32
            .checked_shl(n.min(31))
            .unwrap_or(u32::MAX)
            .min(MAX_BACKOFF_TICKS),
    };
    if state.ticks_since_restart >= wait {
        Checkpoint::Restart
    } else {
        Checkpoint::Passive
    }
}

impl CheckpointState {
    /// After a tick that ran `ran` with `log_bytes` of log in the WAL; `finished`: it
    /// checkpointed everything it was asked to.
    fn after(self, ran: Checkpoint, log_bytes: u64, finished: bool) -> Self {
        match (ran, finished) {
            (Checkpoint::Passive, _) => Self {
                ticks_since_restart: self.ticks_since_restart.saturating_add(1),
                ..self
            },
            (Checkpoint::Restart, true) => Self {
                restarted_at: Some(log_bytes),
                ..Self::default()
            },
            (Checkpoint::Restart, false) => Self {
                busy_streak: self.busy_streak.saturating_add(1),
                ticks_since_restart: 0,
                restarted_at: None,
            },
        }
    }
}

/// Whose turn it is at the database's write lock, within this process: the writer thread
/// between `BEGIN` and `COMMIT`, or the checkpointer for a restarting checkpoint. SQLite's own
/// lock would leave the checkpointer polling (its busy handler sleeps 1, 2, 5 … ms) while the
/// writer, never sleeping, takes the lock again after each commit.
#[derive(Debug, Default)]
pub(crate) struct WriterTurns {
    state: std::sync::Mutex<Turn>,
    changed: std::sync::Condvar,
}

#[derive(Debug, Default)]
struct Turn {
    writing: bool,
    checkpoint_waiting: bool,
}

impl WriterTurns {
    fn lock(&self) -> std::sync::MutexGuard<'_, Turn> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Before the writer's `BEGIN`: waits while a restarting checkpoint runs.
    fn writer_enters(&self) {
        let mut turn = self.lock();
        while turn.checkpoint_waiting {
            turn = self.changed.wait(turn).unwrap_or_else(|e| e.into_inner());
        }
        turn.writing = true;
    }

    /// After the writer's transaction ended (any number of times).
    fn writer_leaves(&self) {
        let mut turn = self.lock();
        if turn.writing {
            turn.writing = false;
            self.changed.notify_all();
        }
    }

    /// Runs `checkpoint` between two of the writer's transactions: waits (at most `wait`) for
    /// the one in progress to end and keeps the next from beginning until `checkpoint` returns.
    /// `None` if the writer did not end its transaction in time.
    fn between_transactions<T>(&self, wait: Duration, checkpoint: impl FnOnce() -> T) -> Option<T> {
        let deadline = std::time::Instant::now() + wait;
        let mut turn = self.lock();
        turn.checkpoint_waiting = true;
        while turn.writing {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                turn.checkpoint_waiting = false;
                self.changed.notify_all();
                return None;
            }
            turn = self
                .changed
                .wait_timeout(turn, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        drop(turn);
        let result = checkpoint();
        let mut turn = self.lock();
        turn.checkpoint_waiting = false;
        self.changed.notify_all();
        Some(result)
    }
}

/// A thread that checkpoints the WAL beside the writer: a PASSIVE checkpoint every tick (it
/// never blocks the writer nor waits for it); once the log passes [`WAL_RESTART_AT`], a
/// RESTART checkpoint between two of the writer's transactions (see [`plan_checkpoint`]).
struct Checkpointer {
    stop: std::sync::Mutex<Option<std::sync::mpsc::Sender<()>>>,
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
    stats: Arc<WalStats>,
}

/// The WAL file of the database at `db`.
fn wal_path(db: &Path) -> PathBuf {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// The checkpointer's connection: never creates the file (a deleted database must not come
/// back empty); waits briefly for readers in a restarting checkpoint.
fn checkpointer_connection(path: &Path) -> Option<rusqlite::Connection> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()?;
    conn.busy_timeout(CHECKPOINT_READERS_WAIT).ok()?;
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)
        .ok()?;
    Some(conn)
}

/// What one checkpoint found and did.
#[derive(Debug, Clone, Copy)]
struct Checkpointed {
    /// Frames in the WAL's log (written since it last started over); `None` when SQLite could
    /// not tell (another connection's checkpoint was running).
    frames: Option<u64>,
    /// It copied every frame and, restarting, no reader is left in the WAL.
    finished: bool,
}

impl Checkpointed {
    /// The log's length in bytes: the WAL header and each frame's header and page.
    fn log_bytes(&self, page_size: u64) -> Option<u64> {
        self.frames.map(|frames| 32 + frames * (24 + page_size))
    }
}

/// A failure the checkpointer meets again and again (a full disk fails every 25 ms) is logged
/// once: this holds the failure last logged, until the work succeeds again.
#[derive(Debug, Default)]
struct LoggedFailure(Option<String>);

impl LoggedFailure {
    /// The error's text when it is not the failure last logged (so the caller logs it now).
    fn failed(&mut self, error: impl std::fmt::Display) -> Option<&str> {
        let error = error.to_string();
        if self.0.as_ref() == Some(&error) {
            return None;
        }
        Some(self.0.insert(error).as_str())
    }

    /// The work succeeded: whether a failure had been logged (the caller may say it recovered).
    fn succeeded(&mut self) -> bool {
        self.0.take().is_some()
    }
}

/// Writes the database file's pages back to the disk (an `fdatasync`), for [`Checkpointer`].
/// A failure changes nothing (the restart's own sync then does it) and is logged once until a
/// sync works again.
fn sync_database(path: &Path, failing: &mut LoggedFailure) {
    match std::fs::File::open(path).and_then(|f| f.sync_data()) {
        Ok(()) => {
            failing.succeeded();
        }
        Err(e) => {
            if let Some(error) = failing.failed(e) {
                tracing::warn!(error, "Cannot sync the database file before a WAL restart.");
            }
        }
    }
}

/// Runs one checkpoint.
fn run_checkpoint(conn: &rusqlite::Connection, mode: Checkpoint) -> rusqlite::Result<Checkpointed> {
    let sql = match mode {
        Checkpoint::Passive => "PRAGMA wal_checkpoint(PASSIVE)",
        Checkpoint::Restart => "PRAGMA wal_checkpoint(RESTART)",
    };
    // One row: (busy, WAL frames, frames checkpointed); busy = 1: it could not finish.
    let (busy, frames, done) = conn.query_row(sql, [], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    Ok(Checkpointed {
        frames: u64::try_from(frames).ok(),
        finished: busy == 0 && frames == done,
    })
}

impl Checkpointer {
    fn start(path: PathBuf, turns: Arc<WriterTurns>) -> Self {
        let stats = Arc::new(WalStats::default());
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread_stats = stats.clone();
        let spawned = std::thread::Builder::new()
            .name("sqlite-checkpointer".into())
            .spawn(move || {
                let stats = thread_stats;
                let wal = wal_path(&path);
                let mut conn = None;
                let mut state = CheckpointState::default();
                // The log's length as last reported.
                let mut log_bytes = 0;
                // The checkpoints' failures, and the database file's sync's before a restart
                // (`sync_database`), each logged once until it works again.
                let mut failing = LoggedFailure::default();
                let mut sync_failing = LoggedFailure::default();
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    let wal_bytes = std::fs::metadata(&wal).map_or(0, |m| m.len());
                    stats.bytes.store(wal_bytes, Ordering::Relaxed);
                    if conn.is_none() {
                        conn = checkpointer_connection(&path);
                    }
                    let Some(c) = conn.as_ref() else { continue };
                    // Read every tick: a database created after this connection opened got its
                    // page size when its first table was made.
                    let page_size: u64 = c
                        .query_row("PRAGMA page_size", [], |r| r.get(0))
                        .unwrap_or(4096);
                    // Every tick copies what it can beside the writer: a restart then holds
                    // the writer only for what it committed meanwhile.
                    let started = std::time::Instant::now();
                    let passive = run_checkpoint(c, Checkpoint::Passive);
                    stats.passive_seconds.observe_duration(started.elapsed());
                    // Planned only on a length SQLite reported this tick.
                    let reported = passive.as_ref().ok().and_then(|p| p.log_bytes(page_size));
                    if let Some(reported) = reported {
                        log_bytes = reported;
                        stats.log_bytes.store(log_bytes, Ordering::Relaxed);
                    }
                    let mode = match reported {
                        Some(_) => plan_checkpoint(log_bytes, WAL_RESTART_AT, state),
                        None => Checkpoint::Passive,
                    };
                    let outcome = match mode {
                        Checkpoint::Passive => Some(passive),
                        Checkpoint::Restart => {
                            // A passive checkpoint that does not reach the log's end (under
                            // load, none does) writes pages into the database file without
                            // syncing it; the restart syncs them all, while the writer is held:
                            // 12–15 ms for the 32 MB since the last restart, measured on a
                            // 2-core VM. Synced here beside the writer, the restart syncs only
                            // what it copies itself. (Syncing early is always safe: the WAL
                            // still holds every frame.)
                            sync_database(&path, &mut sync_failing);
                            // What the writer committed meanwhile is copied beside it too.
                            if let Some(frames) = passive.as_ref().ok().and_then(|p| p.frames) {
                                catch_up(frames, || {
                                    let started = std::time::Instant::now();
                                    let pass = run_checkpoint(c, Checkpoint::Passive);
                                    stats.passive_seconds.observe_duration(started.elapsed());
                                    pass.ok().and_then(|p| p.frames)
                                });
                            }
                            let started = std::time::Instant::now();
                            let outcome = turns.between_transactions(WRITER_TURN_WAIT, || {
                                run_checkpoint(c, Checkpoint::Restart)
                            });
                            stats.restart_seconds.observe_duration(started.elapsed());
                            outcome
                        }
                    };
                    let finished = matches!(outcome, Some(Ok(c)) if c.finished);
                    if mode == Checkpoint::Restart {
                        match &outcome {
                            Some(Ok(c)) if !c.finished => {
                                stats.restart_busy.fetch_add(1, Ordering::Relaxed);
                                tracing::debug!(
                                    log_bytes,
                                    "The WAL is still read; restarting it later."
                                );
                            }
                            None => tracing::debug!(
                                log_bytes,
                                "The writer's transaction did not end in time; restarting the WAL later."
                            ),
                            _ => {}
                        }
                        // A restart reads the log again: the writer may have committed meanwhile.
                        if let Some(Ok(restarted)) = &outcome {
                            log_bytes = restarted.log_bytes(page_size).unwrap_or(log_bytes);
                        }
                    }
                    state = state.after(mode, log_bytes, finished);
                    match outcome {
                        None | Some(Ok(_)) => {
                            if failing.succeeded() {
                                tracing::info!("WAL checkpoints work again.");
                            }
                        }
                        Some(Err(e)) => {
                            if let Some(error) = failing.failed(e) {
                                tracing::warn!(
                                    error,
                                    "WAL checkpoint failed; retrying quietly until it works."
                                );
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
            stats,
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
    /// Shared with the checkpointer, which takes a turn between two transactions.
    turns: Arc<WriterTurns>,
    /// Set once the file at the database's path is no longer the one opened; from then on
    /// every transaction is refused until a restart.
    gone: Option<(PathBuf, FileChange)>,
    /// The step kinds' ids, so that a step of a known kind is written with one statement (it
    /// took two: the kind kept, then the row with its kind looked up by its words).
    kinds: KindIds,
    /// SQLite's `data_version` when this writer last began: it changes when another
    /// connection commits (the dashboard's pool, an admin by hand), and the kinds' ids are
    /// then read again.
    data_version: i64,
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

    /// In a transaction that holds the write lock: no other connection can change
    /// `step_kinds` until it ends, and whatever one committed before shows in `data_version`.
    fn forget_kinds_changed_by_others(&mut self) -> Result<(), StoreError> {
        let version: i64 = self
            .conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        if version != self.data_version {
            self.kinds.forget();
            self.data_version = version;
        }
        Ok(())
    }

    /// The id of `step`'s kind: known, or kept now and read.
    fn kind_id(&mut self, step: &StepRow) -> Result<i64, StoreError> {
        let words = (
            step.node.as_str(),
            step.message_ids.as_str(),
            step.outcome.as_str(),
        );
        if let Some(id) = self.kinds.get(&words) {
            return Ok(id);
        }
        self.conn
            .prepare_cached(&webhook_sql::KEEP_STEP_KIND)?
            .execute(params![step.node, step.message_ids, step.outcome])?;
        let id = self
            .conn
            .prepare_cached(webhook_sql::KIND_ID)?
            .query_row(params![step.node, step.message_ids, step.outcome], |r| {
                r.get(0)
            })?;
        self.kinds.learnt(
            (
                step.node.clone(),
                step.message_ids.clone(),
                step.outcome.clone(),
            ),
            id,
        );
        Ok(id)
    }
}

impl WriterConn for SqliteWriter {
    fn begin(&mut self) -> Result<(), StoreError> {
        self.turns.writer_enters();
        let begun = self.check_files().and_then(|()| {
            // IMMEDIATE: take the write lock now, or wait for it (busy timeout), not mid-batch.
            self.conn.execute_batch("BEGIN IMMEDIATE")?;
            self.forget_kinds_changed_by_others().inspect_err(|_| {
                let _ = self.conn.execute_batch("ROLLBACK");
            })
        });
        if begun.is_err() {
            self.turns.writer_leaves();
        }
        begun
    }

    fn tx(&mut self) -> &mut dyn StoreTx {
        self
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        let committed = self.conn.execute_batch("COMMIT");
        // A failed COMMIT may leave the transaction open until the rollback.
        if self.conn.is_autocommit() {
            self.turns.writer_leaves();
        }
        committed?;
        self.kinds.committed();
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        self.kinds.forget();
        let rolled_back = if self.conn.is_autocommit() {
            Ok(())
        } else {
            self.conn.execute_batch("ROLLBACK")
        };
        self.turns.writer_leaves();
        Ok(rolled_back?)
    }
}

impl Drop for SqliteWriter {
    /// A connection dropped mid-transaction (lost, or its thread ending) holds no turn.
    fn drop(&mut self) {
        self.turns.writer_leaves();
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
                    new.caller_hash,
                    new.caller_masked,
                    new.to,
                    new.now_ms,
                    new.flow_name,
                    new.flow_version,
                    new.language
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
        for (position, step) in turn.steps.iter().enumerate() {
            let kind = self.kind_id(step)?;
            self.conn
                .prepare_cached(&webhook_sql::INSERT_STEP)?
                .execute(params![
                    turn.call_id,
                    turn.turn,
                    position as i64,
                    kind,
                    step.text,
                    step.digits,
                    turn.now_ms
                ])?;
        }
        self.conn
            .prepare_cached(&webhook_sql::SAVE_REPLAY)?
            .execute(params![turn.call_id, turn.turn, turn.twiml])?;
        update_call_after_turn(&self.conn, turn)?;
        Ok(())
    }

    fn mark_problem(&mut self, call_sid: &str, now_ms: i64) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(&webhook_sql::MARK_PROBLEM)?
            .execute(params![now_ms, call_sid])?;
        Ok(())
    }

    fn call_ended(&mut self, update: &StatusUpdate<'_>) -> Result<(), StoreError> {
        let call_id: i64 = self
            .conn
            .prepare_cached(&webhook_sql::CALL_ENDED_RETURNING_ID)?
            .query_row(
                params![
                    update.call_sid,
                    update.caller_hash,
                    update.caller_masked,
                    update.to,
                    update.now_ms,
                    update.duration_secs,
                    update.forget_state
                ],
                |r| r.get(0),
            )?;
        self.conn
            .prepare_cached(webhook_sql::DROP_REPLAY)?
            .execute(params![call_id])?;
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

    fn save_recording(&mut self, r: &RecordingWrite<'_>) -> Result<bool, StoreError> {
        let written = self
            .conn
            .prepare_cached(webhook_sql::SAVE_RECORDING)?
            .execute(params![
                r.recording_sid,
                r.url,
                r.status,
                r.duration_secs,
                r.now_ms,
                r.call_sid
            ])?;
        Ok(written > 0)
    }

    fn probe(&mut self, now_ms: i64) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(webhook_sql::PROBE)?
            .execute(params![now_ms])?;
        Ok(())
    }

    fn enqueue(&mut self, row: &crate::outbox::OutboxWrite) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(crate::outbox::sql::ENQUEUE)?
            .execute(params![
                row.call_id,
                row.kind.as_str(),
                row.label,
                row.idempotency_key,
                row.payload,
                row.now_ms
            ])?;
        Ok(())
    }
}

/// One answered turn's `UPDATE calls`, naming only the columns the turn changes. SQLite
/// rewrites the index entries of every column an UPDATE sets, even to the value it had: with
/// the status, consent, language and number set on every turn, each turn rewrote a page of six
/// indexes, and at a thousand webhooks a second (batches of one or two) that alone filled the
/// WAL with tens of kilobytes a webhook, so it was emptied (the writer held) twice a second.
/// A column the turn leaves alone keeps its value either way, so the row ends the same as with
/// the statement that sets everything (`sql::after_turn`, which PostgreSQL's batched update
/// uses). The language is written once, when the call is opened ([`NewCall::language`]).
fn update_call_after_turn(
    conn: &rusqlite::Connection,
    turn: &TurnWrite<'_>,
) -> Result<(), StoreError> {
    let next_turn = turn.turn + 1;
    let status = turn.status.map(CallStatus::as_str);
    let consent = turn.consent.map(|c| c.as_str());
    let mut sql = String::from("UPDATE calls SET state = ?, turn = ?, updated_at = ?");
    let mut values: Vec<&dyn rusqlite::ToSql> = vec![&turn.state, &next_turn, &turn.now_ms];
    if let Some(status) = &status {
        sql.push_str(", status = ");
        sql.push_str(&webhook_sql::status_becomes("?"));
        values.push(status);
    }
    if let Some(consent) = &consent {
        sql.push_str(", consent = ?, consent_at = ?");
        values.push(consent);
        values.push(&turn.now_ms);
    }
    if let Some(number) = &turn.from_number {
        sql.push_str(", from_number = ?");
        values.push(number);
    }
    if let Some(asked) = &turn.consent_question {
        // The question is kept while the call has no decision: the last one heard before it.
        for (column, value) in [
            ("consent_asked_at", &turn.now_ms as &dyn rusqlite::ToSql),
            ("consent_message", &asked.message),
            ("consent_locale", &asked.locale),
            ("consent_text", &asked.text),
        ] {
            sql.push_str(&format!(
                ", {column} = CASE WHEN calls.consent IS NULL THEN ? ELSE calls.{column} END"
            ));
            values.push(value);
        }
    }
    sql.push_str(" WHERE id = ?");
    values.push(&turn.call_id);
    conn.prepare_cached(&sql)?.execute(values.as_slice())?;
    Ok(())
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
                    caller_hash: &from,
                    caller_masked: "",
                    to: &from,
                    flow_name: "liza",
                    flow_version: "v",
                    language: None,
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
        let writers = Writers::start(
            "test",
            1,
            NoGrowth(SqliteConnector {
                path,
                turns: Arc::default(),
            }),
        );
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

    #[test]
    fn below_the_threshold_checkpoints_are_passive() {
        let fresh = CheckpointState::default();
        assert_eq!(plan_checkpoint(0, 1000, fresh), Checkpoint::Passive);
        assert_eq!(plan_checkpoint(999, 1000, fresh), Checkpoint::Passive);
        let after_busy = CheckpointState {
            busy_streak: 3,
            ticks_since_restart: 100,
            restarted_at: None,
        };
        assert_eq!(plan_checkpoint(999, 1000, after_busy), Checkpoint::Passive);
    }

    #[test]
    fn at_the_threshold_the_wal_is_restarted_at_once() {
        let fresh = CheckpointState::default();
        assert_eq!(plan_checkpoint(1000, 1000, fresh), Checkpoint::Restart);
        assert_eq!(plan_checkpoint(u64::MAX, 1000, fresh), Checkpoint::Restart);
        // A finished restart: once a writer has committed (the log is another length), the
        // next tick over the threshold restarts again.
        let state =
            fresh
                .after(Checkpoint::Restart, 5000, true)
                .after(Checkpoint::Passive, 4000, true);
        assert_eq!(
            state,
            CheckpointState {
                busy_streak: 0,
                ticks_since_restart: 1,
                restarted_at: Some(5000),
            }
        );
        assert_eq!(plan_checkpoint(4000, 1000, state), Checkpoint::Restart);
        assert_eq!(
            plan_checkpoint(6000, 1000, fresh.after(Checkpoint::Restart, 5000, true)),
            Checkpoint::Restart
        );
    }

    #[test]
    fn a_finished_restart_is_not_repeated_while_no_writer_commits() {
        // The WAL starts over at the writer's next commit; until then the log keeps its length,
        // every frame of it copied, and holding the writer again would do nothing.
        let restarted = CheckpointState::default().after(Checkpoint::Restart, 5000, true);
        let idle = (0..100).fold(restarted, |s, _| s.after(Checkpoint::Passive, 5000, true));
        assert_eq!(plan_checkpoint(5000, 1000, idle), Checkpoint::Passive);
        // A restart that did not finish is tried again (after its back-off).
        let kept = CheckpointState::default().after(Checkpoint::Restart, 5000, false);
        let kept =
            kept.after(Checkpoint::Passive, 5000, true)
                .after(Checkpoint::Passive, 5000, true);
        assert_eq!(plan_checkpoint(5000, 1000, kept), Checkpoint::Restart);
    }

    #[test]
    fn a_repeated_failure_is_logged_once_until_the_work_succeeds() {
        let mut failing = LoggedFailure::default();
        assert_eq!(failing.failed("disk full"), Some("disk full"));
        // Every 25 ms the same: nothing more to log.
        assert_eq!(failing.failed("disk full"), None);
        // Another failure is news.
        assert_eq!(failing.failed("read-only"), Some("read-only"));
        assert!(failing.succeeded(), "a logged failure ended: say so");
        assert!(!failing.succeeded(), "nothing failed since");
        // It breaks again the same way: logged again.
        assert_eq!(failing.failed("read-only"), Some("read-only"));
    }

    /// The frames each pass of [`catch_up`] found, given what the passes find in turn.
    fn catch_up_passes(before: u64, found: &[Option<u64>]) -> Vec<Option<u64>> {
        let mut ran = vec![];
        let mut found = found.iter().copied();
        catch_up(before, || {
            let pass = found.next().expect("catch_up ran more passes than planned");
            ran.push(pass);
            pass
        });
        ran
    }

    #[test]
    fn a_restart_first_copies_beside_the_writer_until_little_is_new() {
        // 1,000 frames committed during the tick's passive checkpoint, then 200, then 30: the
        // third pass found few enough new frames (30 ≤ 64), and the writer is held now.
        assert_eq!(
            catch_up_passes(10_000, &[Some(11_000), Some(11_200), Some(11_230)]),
            [Some(11_000), Some(11_200), Some(11_230)]
        );
        // Nothing new: one pass.
        assert_eq!(catch_up_passes(10_000, &[Some(10_000)]), [Some(10_000)]);
        // A writer that keeps committing more than the passes copy: three passes at most.
        assert_eq!(
            catch_up_passes(0, &[Some(1_000), Some(2_000), Some(3_000), Some(4_000)]).len(),
            CATCH_UP_PASSES as usize
        );
        // The log started over meanwhile (shorter than before): all of it is new.
        assert_eq!(
            catch_up_passes(10_000, &[Some(500), Some(520)]),
            [Some(500), Some(520)]
        );
        // SQLite could not tell (another checkpoint ran): no more passes.
        assert_eq!(catch_up_passes(10_000, &[None]), [None]);
    }

    /// The ticks (of the plan, while the log stays over the threshold and every restart is
    /// kept from finishing) at which a restart runs.
    fn restarting_ticks(ticks: u32) -> Vec<u32> {
        let mut state = CheckpointState::default();
        let mut restarted = vec![];
        for tick in 0..ticks {
            let mode = plan_checkpoint(2000, 1000, state);
            if mode == Checkpoint::Restart {
                restarted.push(tick);
            }
            state = state.after(mode, 2000, false);
        }
        restarted
    }

    #[test]
    fn a_reader_that_keeps_the_wal_makes_restarts_back_off_to_one_a_second() {
        // Waits of 2, 4, 8, 16, 32 ticks, then 40 (a second at 25 ms) for good.
        assert_eq!(
            restarting_ticks(300),
            [0, 3, 8, 17, 34, 67, 108, 149, 190, 231, 272]
        );
        // Once one finishes and a writer commits, the next tick over the threshold restarts.
        let stuck = (0..10).fold(CheckpointState::default(), |s, _| {
            s.after(Checkpoint::Restart, 2000, false)
        });
        assert_eq!(plan_checkpoint(2000, 1000, stuck), Checkpoint::Passive);
        let freed = stuck.after(Checkpoint::Restart, 2000, true);
        assert_eq!(plan_checkpoint(2100, 1000, freed), Checkpoint::Restart);
    }

    #[test]
    fn a_checkpoint_takes_its_turn_between_two_transactions() {
        let turns = Arc::new(WriterTurns::default());
        let log = Arc::new(std::sync::Mutex::new(Vec::<&str>::new()));
        turns.writer_enters();
        let checkpointer = {
            let (turns, log) = (turns.clone(), log.clone());
            std::thread::spawn(move || {
                turns.between_transactions(Duration::from_secs(10), || {
                    log.lock().unwrap().push("checkpoint starts");
                    std::thread::sleep(Duration::from_millis(100));
                    log.lock().unwrap().push("checkpoint ends");
                })
            })
        };
        std::thread::sleep(Duration::from_millis(100));
        log.lock().unwrap().push("commit");
        turns.writer_leaves();
        // Wait until the checkpoint holds the turn, then try to begin the next transaction.
        while log.lock().unwrap().len() < 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        turns.writer_enters();
        log.lock().unwrap().push("begin");
        turns.writer_leaves();
        assert_eq!(checkpointer.join().unwrap(), Some(()));
        assert_eq!(
            *log.lock().unwrap(),
            ["commit", "checkpoint starts", "checkpoint ends", "begin"]
        );
    }

    #[test]
    fn a_checkpoint_gives_up_on_a_transaction_that_does_not_end() {
        let turns = WriterTurns::default();
        turns.writer_enters();
        let ran = turns.between_transactions(Duration::from_millis(50), || ());
        assert_eq!(ran, None);
        // The writer is not kept waiting by the checkpoint that gave up.
        turns.writer_leaves();
        turns.writer_enters();
        turns.writer_leaves();
    }

    /// Opens `count` calls with long numbers (about 2 KB a row), numbered from `first`.
    struct Fill {
        first: usize,
        count: usize,
        reply: Option<tokio::sync::oneshot::Sender<Result<(), StoreError>>>,
    }

    impl Work for Fill {
        fn run(&mut self, tx: &mut dyn StoreTx) -> Result<(), StoreError> {
            let number = "+49".repeat(300);
            for n in self.first..self.first + self.count {
                tx.open_call(&NewCall {
                    call_sid: &format!("CAwal{n}"),
                    caller_hash: &number,
                    caller_masked: "",
                    to: &number,
                    flow_name: "liza",
                    flow_version: "v",
                    language: None,
                    now_ms: 0,
                })?;
            }
            Ok(())
        }
        fn done(mut self: Box<Self>, result: Result<(), StoreError>) {
            let _ = self.reply.take().expect("done once").send(result);
        }
        fn deadline(&self) -> Instant {
            Instant::now() + Duration::from_secs(30)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_stays_bounded_while_the_writer_writes_and_the_dashboard_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("liza.db");
        let url = format!("sqlite://{}", path.display());
        let store = crate::connect(&url).await.unwrap();
        store.migrate().await.unwrap();

        // The WAL's size, sampled every 2 ms: the largest, and the smallest once it had
        // reached the threshold.
        let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let sampler = {
            let (sampling, wal) = (sampling.clone(), wal_path(&path));
            std::thread::spawn(move || {
                let (mut largest, mut smallest_after) = (0, None::<u64>);
                while sampling.load(Ordering::Relaxed) {
                    let size = std::fs::metadata(&wal).map_or(0, |m| m.len());
                    largest = largest.max(size);
                    if largest >= WAL_RESTART_AT {
                        smallest_after = Some(smallest_after.map_or(size, |s| s.min(size)));
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                (largest, smallest_after)
            })
        };
        // Two dashboard readers, reading without pause through the dashboard's pool.
        let pool = open_pool(&url, &SQLITE).await.unwrap();
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (pool, sampling) = (pool.clone(), sampling.clone());
                tokio::spawn(async move {
                    let mut reads = 0u64;
                    while sampling.load(Ordering::Relaxed) {
                        let _: (i64, Option<i64>) =
                            sqlx::query_as("SELECT COUNT(*), MAX(id) FROM calls")
                                .fetch_one(&pool)
                                .await
                                .unwrap();
                        reads += 1;
                    }
                    reads
                })
            })
            .collect();

        // The writer never idles: four works in flight until 3× the threshold went through
        // the WAL into the database file.
        let mut in_flight = std::collections::VecDeque::new();
        let mut next = 0;
        while std::fs::metadata(&path).unwrap().len() < 3 * WAL_RESTART_AT {
            while in_flight.len() < 4 {
                let (reply, answer) = tokio::sync::oneshot::channel();
                store.submit(Box::new(Fill {
                    first: next,
                    count: 100,
                    reply: Some(reply),
                }));
                next += 100;
                in_flight.push_back(answer);
            }
            in_flight.pop_front().unwrap().await.unwrap().unwrap();
        }
        for answer in in_flight {
            answer.await.unwrap().unwrap();
        }
        sampling.store(false, Ordering::Relaxed);
        let (largest, smallest_after) = sampler.join().unwrap();
        for reader in readers {
            assert!(reader.await.unwrap() > 0, "the readers read");
        }
        let stats = store.stats().unwrap();
        let wal = stats.wal.unwrap();
        assert!(
            wal.restart_seconds.count > wal.restart_busy,
            "some restarts finished: {wal:?}"
        );
        assert!(stats.batch_size.count > 0 && stats.commit_seconds.count > 0);
        assert!(
            largest < 2 * WAL_RESTART_AT,
            "the WAL reached {largest} bytes (threshold {WAL_RESTART_AT}); {wal:?}"
        );
        // Started over, the file is written over in place, never cut (cutting it held the
        // writer).
        assert!(
            smallest_after.is_some_and(|s| s >= WAL_RESTART_AT),
            "the WAL file was cut to {smallest_after:?} bytes; {wal:?}"
        );
        eprintln!("largest WAL {largest} bytes for {next} calls; {wal:?}");
        pool.close().await;
        store.close().await;
    }

    #[test]
    fn a_restart_lets_the_next_commit_write_the_wal_over_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("liza.db");
        let writer = rusqlite::Connection::open(&path).unwrap();
        for (pragma, value) in [
            ("journal_mode", "WAL"),
            ("wal_autocheckpoint", "0"),
            ("journal_size_limit", &JOURNAL_SIZE_LIMIT.to_string()),
        ] {
            writer.pragma_update(None, pragma, value).unwrap();
        }
        writer
            .execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)", [])
            .unwrap();
        let write = |rows: usize| {
            let tx = writer.unchecked_transaction().unwrap();
            for _ in 0..rows {
                tx.execute("INSERT INTO t (v) VALUES (zeroblob(3000))", [])
                    .unwrap();
            }
            tx.commit().unwrap();
        };
        for _ in 0..20 {
            write(50);
        }
        let wal = wal_path(&path);
        let grown = std::fs::metadata(&wal).unwrap().len();
        assert!(grown > 3_000_000, "{grown}");
        let checkpointer = checkpointer_connection(&path).unwrap();
        let before = run_checkpoint(&checkpointer, Checkpoint::Passive).unwrap();
        assert!(before.frames.unwrap() > 1000, "{before:?}");
        let restarted = run_checkpoint(&checkpointer, Checkpoint::Restart).unwrap();
        assert!(restarted.finished, "{restarted:?}");
        // The next commit starts the log over and writes into the file it has.
        write(1);
        let after = run_checkpoint(&checkpointer, Checkpoint::Passive).unwrap();
        assert!(after.frames.unwrap() < 10, "{after:?}");
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), grown);
    }

    #[test]
    fn the_dashboard_pool_keeps_the_wal_as_the_writer_does() {
        // A dashboard write may be the commit that starts the WAL over: with a smaller limit it
        // would cut the file, holding the write lock as long as a truncation did.
        let limit = format!("PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}");
        assert!(
            SQLITE.session.contains(&limit.as_str()),
            "{:?}",
            SQLITE.session
        );
        assert!(SQLITE.session.contains(&"PRAGMA wal_autocheckpoint = 0"));
    }
}
