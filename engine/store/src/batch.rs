//! Group commit: writer threads that run many webhooks' work in one transaction.
//!
//! A webhook's database work is a handful of small statements; what costs is the transaction
//! around them (SQLite's single write lock and WAL append, PostgreSQL's WAL flush) and, with an
//! async driver, a hand-off to another thread per statement. So the webhook handlers do not run
//! statements themselves: they queue a [`Work`] and wait. Each writer thread takes everything
//! queued (up to [`MAX_BATCH`]), runs it synchronously in one transaction on a connection it owns,
//! commits, and only then answers every waiting webhook. Under load a batch holds hundreds of
//! webhooks; on a quiet line it holds one, and the wait is one transaction.
//!
//! When one piece of work fails (or panics), the batch is rolled back and every piece still
//! within its deadline runs again alone, so one bad webhook costs the others a re-run, not
//! their answer. When the database itself is unreachable or locked, the whole batch fails at
//! once (retrying each would multiply the wait). A transaction that would commit later than
//! [`COMMIT_MARGIN`] after its earliest deadline is rolled back: its callers have been answered
//! with the apology by then.

use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::health::{ProbeGate, WriteOutcomes, WriteTrouble};
use super::stats::WriterStats;
use super::{now_ms, StoreError, StoreTx, Work};

/// Most pieces of work in one transaction.
pub const MAX_BATCH: usize = 512;

/// One writer's connection, able to run transactions.
pub trait WriterConn: Send + 'static {
    fn begin(&mut self) -> Result<(), StoreError>;
    fn tx(&mut self) -> &mut dyn StoreTx;
    /// After `begin`: the calls the batch will lock (see [`Work::call_sid`]).
    fn prefetch(&mut self, _call_sids: Vec<&str>) -> Result<(), StoreError> {
        Ok(())
    }
    fn commit(&mut self) -> Result<(), StoreError>;
    /// Best effort; a connection that cannot roll back is dropped by the caller.
    fn rollback(&mut self) -> Result<(), StoreError>;
}

/// Opens writer connections; called again after a connection broke.
pub trait Connector: Send + 'static {
    type Conn: WriterConn;
    fn connect(&self) -> Result<Self::Conn, StoreError>;
}

/// The writer threads of one store and the queue in front of them.
pub struct Writers {
    queue: RwLock<Option<flume::Sender<Box<dyn Work>>>>,
    threads: std::sync::Mutex<Vec<JoinHandle<()>>>,
    /// How the writers' transactions ended (for `/health`).
    outcomes: Arc<WriteOutcomes>,
    probes: ProbeGate,
    /// Batch sizes and commit times (for `/metrics`).
    stats: Arc<WriterStats>,
}

impl Writers {
    /// Starts `count` writer threads, each with its own connection from `connector`.
    pub fn start<C: Connector + Clone>(name: &str, count: usize, connector: C) -> Self {
        let (sender, receiver) = flume::unbounded::<Box<dyn Work>>();
        let outcomes = Arc::new(WriteOutcomes::default());
        let stats = Arc::new(WriterStats::default());
        let threads = (0..count.max(1))
            .map(|i| {
                let receiver = receiver.clone();
                let connector = connector.clone();
                let outcomes = outcomes.clone();
                let stats = stats.clone();
                std::thread::Builder::new()
                    .name(format!("{name}-writer-{i}"))
                    .spawn(move || writer_loop(connector, receiver, &outcomes, &stats))
                    .expect("cannot start a database writer thread")
            })
            .collect();
        Self {
            queue: RwLock::new(Some(sender)),
            threads: std::sync::Mutex::new(threads),
            outcomes,
            probes: ProbeGate::default(),
            stats,
        }
    }

    /// Batch sizes and commit times so far.
    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// Pieces of work queued and not yet taken into a batch.
    pub fn queue_depth(&self) -> u64 {
        let queue = self.queue.read().unwrap_or_else(|e| e.into_inner());
        queue.as_ref().map_or(0, |q| q.len() as u64)
    }

    /// Queues work; after [`Writers::close`] the work is answered with [`StoreError::Closed`].
    pub fn submit(&self, work: Box<dyn Work>) {
        let queue = self.queue.read().unwrap_or_else(|e| e.into_inner());
        match queue.as_ref() {
            Some(sender) => {
                if let Err(flume::SendError(work)) = sender.send(work) {
                    work.done(Err(StoreError::Closed));
                }
            }
            None => work.done(Err(StoreError::Closed)),
        }
    }

    /// Runs the write probe through a writer, within `limit`: the database answers, its write
    /// lock can be taken and a row written and committed.
    pub async fn probe(&self, limit: Duration) -> Result<(), StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.submit(Box::new(Probe {
            reply: Some(reply),
            deadline: Instant::now() + limit,
        }));
        match tokio::time::timeout(limit, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(StoreError::Closed),
            Err(_) => Err(StoreError::Timeout),
        }
    }

    /// Why the database cannot take a write now (`None`: it can): probes if no probe ran in the
    /// last second (within `limit`), then answers from the writers' last outcome.
    pub async fn health(&self, limit: Duration) -> Option<WriteTrouble> {
        self.probes
            .probe_if_due(&self.outcomes, self.probe(limit))
            .await;
        self.outcomes.current()
    }

    /// Stops taking work, lets the writers finish what is queued, and waits for them.
    pub async fn close(&self) {
        drop(self.queue.write().unwrap_or_else(|e| e.into_inner()).take());
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        let _ = tokio::task::spawn_blocking(move || {
            for thread in threads {
                let _ = thread.join();
            }
        })
        .await;
    }
}

/// The health check's write, as a piece of work like a webhook's.
struct Probe {
    reply: Option<tokio::sync::oneshot::Sender<Result<(), StoreError>>>,
    deadline: Instant,
}

impl Work for Probe {
    fn run(&mut self, tx: &mut dyn StoreTx) -> Result<(), StoreError> {
        tx.probe(now_ms())
    }

    fn done(mut self: Box<Self>, result: Result<(), StoreError>) {
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(result);
        }
    }

    fn deadline(&self) -> Instant {
        self.deadline
    }
}

fn writer_loop<C: Connector>(
    connector: C,
    receiver: flume::Receiver<Box<dyn Work>>,
    outcomes: &WriteOutcomes,
    stats: &WriterStats,
) {
    let mut conn: Option<C::Conn> = None;
    while let Ok(first) = receiver.recv() {
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        batch.extend(receiver.try_iter().take(MAX_BATCH - 1));
        let now = Instant::now();
        let (batch, expired): (Vec<_>, Vec<_>) =
            batch.into_iter().partition(|w| w.deadline() > now);
        for work in expired {
            work.done(Err(StoreError::Timeout));
        }
        if batch.is_empty() {
            continue;
        }
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match connector.connect() {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    tracing::error!(error = %e, "A database writer cannot connect.");
                    outcomes.failed(&e);
                    fail_all(batch, &e);
                    continue;
                }
            },
        };
        stats.batch_size.observe(batch.len() as f64);
        if let Err(e) = run_batch(c, batch, outcomes, stats) {
            if e.is_connection_lost() {
                tracing::warn!(error = %e, "A database writer lost its connection; it reconnects for the next batch.");
                conn = None;
            }
        }
    }
}

/// How long after the earliest deadline in a batch its transaction may still commit: work is
/// answered by [`answered_by`] its deadline, so nothing commits after its caller stopped waiting.
const COMMIT_MARGIN: Duration = Duration::from_secs(4);

/// The latest instant the writers answer (call [`Work::done`] for) work whose deadline is
/// `deadline`: started by the deadline, committed or rolled back within [`COMMIT_MARGIN`], and
/// one more second for the commit itself.
pub fn answered_by(deadline: Instant) -> Instant {
    deadline + COMMIT_MARGIN + Duration::from_secs(1)
}

/// How long a retrying submission waits before its next attempt.
const RETRY_EVERY: Duration = Duration::from_secs(1);

impl Writers {
    /// Queues work that runs again (once a second, each attempt with as long a wait as the
    /// first) while it fails, until `give_up_after` has passed or the store is closed; its
    /// `done` is called once, with the last attempt's result, and [`Work::failed_attempt`] for
    /// each failure before. Needs a Tokio runtime to wait between attempts (without one it does
    /// not retry).
    pub fn submit_retrying(self: &Arc<Self>, work: Box<dyn Work>, give_up_after: Duration) {
        let now = Instant::now();
        self.submit(Box::new(Retrying {
            attempt_wait: work.deadline().saturating_duration_since(now),
            deadline: work.deadline(),
            give_up_at: now + give_up_after,
            work: Some(work),
            writers: Arc::downgrade(self),
            runtime: tokio::runtime::Handle::try_current().ok(),
        }));
    }
}

/// Work submitted with [`Writers::submit_retrying`].
struct Retrying {
    work: Option<Box<dyn Work>>,
    attempt_wait: Duration,
    deadline: Instant,
    give_up_at: Instant,
    writers: std::sync::Weak<Writers>,
    runtime: Option<tokio::runtime::Handle>,
}

impl Work for Retrying {
    fn run(&mut self, tx: &mut dyn StoreTx) -> Result<(), StoreError> {
        match self.work.as_mut() {
            Some(work) => work.run(tx),
            None => Ok(()),
        }
    }

    fn done(mut self: Box<Self>, result: Result<(), StoreError>) {
        let Some(mut work) = self.work.take() else {
            return;
        };
        let retry = match (&result, self.writers.upgrade(), self.runtime.clone()) {
            (Err(e), Some(writers), Some(runtime))
                if Instant::now() < self.give_up_at && !matches!(e, StoreError::Closed) =>
            {
                Some((writers, runtime))
            }
            _ => None,
        };
        let Some((writers, runtime)) = retry else {
            work.done(result);
            return;
        };
        if let Err(e) = &result {
            work.failed_attempt(e);
        }
        self.work = Some(work);
        runtime.spawn(async move {
            tokio::time::sleep(RETRY_EVERY).await;
            self.deadline = Instant::now() + self.attempt_wait;
            writers.submit(self);
        });
    }

    fn deadline(&self) -> Instant {
        self.deadline
    }

    fn call_sid(&self) -> Option<&str> {
        self.work.as_ref().and_then(|w| w.call_sid())
    }
}

/// Runs a batch; `Err` when the database (not one piece of work) failed, after answering all.
/// Each transaction's outcome is recorded in `outcomes` before its work is answered, so
/// `/health` knows of a failure as soon as its caller does.
fn run_batch<C: WriterConn>(
    conn: &mut C,
    mut batch: Vec<Box<dyn Work>>,
    outcomes: &WriteOutcomes,
    stats: &WriterStats,
) -> Result<(), StoreError> {
    match run_in_transaction(conn, &mut batch, stats) {
        Ok(()) => {
            outcomes.succeeded();
            for work in batch {
                work.done(Ok(()));
            }
            Ok(())
        }
        Err(e) => {
            let rolled_back = conn.rollback();
            if rolled_back.is_err() || e.is_database_wide() || batch.len() == 1 {
                // One piece of work's own failure says nothing about the database.
                match &rolled_back {
                    Err(broken) => outcomes.failed(broken),
                    Ok(()) if e.is_database_wide() => outcomes.failed(&e),
                    Ok(()) => {}
                }
                fail_all(batch, &e);
                return Err(rolled_back.err().unwrap_or(e));
            }
            tracing::warn!(error = %e, works = batch.len(), "A batch failed; running its work one by one.");
            let mut rest = batch.into_iter();
            while let Some(work) = rest.next() {
                if work.deadline() <= Instant::now() {
                    work.done(Err(StoreError::Timeout));
                    continue;
                }
                let mut one = vec![work];
                match run_in_transaction(conn, &mut one, stats) {
                    Ok(()) => {
                        outcomes.succeeded();
                        one.pop().expect("one work").done(Ok(()));
                    }
                    Err(e) => {
                        let rolled_back = conn.rollback();
                        let work = one.pop().expect("one work");
                        if rolled_back.is_err() || e.is_database_wide() {
                            outcomes.failed(rolled_back.as_ref().err().unwrap_or(&e));
                            // The database went away meanwhile: the others would only wait.
                            let rest: Vec<_> = std::iter::once(work).chain(rest).collect();
                            fail_all(rest, &e);
                            return Err(rolled_back.err().unwrap_or(e));
                        }
                        work.done(Err(e));
                    }
                }
            }
            Ok(())
        }
    }
}

fn run_in_transaction<C: WriterConn>(
    conn: &mut C,
    batch: &mut [Box<dyn Work>],
    stats: &WriterStats,
) -> Result<(), StoreError> {
    let began = Instant::now();
    let commit_by = batch
        .iter()
        .map(|w| w.deadline())
        .min()
        .map(|d| d + COMMIT_MARGIN);
    conn.begin()?;
    conn.prefetch(batch.iter().filter_map(|w| w.call_sid()).collect())?;
    for work in batch.iter_mut() {
        // A panic in one piece of work (a bug) fails that piece, not the writer thread.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work.run(conn.tx())))
            .map_err(|panic| StoreError::Panicked(panic_message(&panic)))??;
        if commit_by.is_some_and(|t| Instant::now() > t) {
            return Err(StoreError::Timeout);
        }
    }
    let committing = Instant::now();
    conn.commit()?;
    let committed = Instant::now();
    stats
        .commit_seconds
        .observe_duration(committed - committing);
    stats
        .transaction_seconds
        .observe_duration(committed - began);
    Ok(())
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
}

fn fail_all(batch: Vec<Box<dyn Work>>, error: &StoreError) {
    for work in batch {
        work.done(Err(StoreError::Failed(error.to_string())));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::{CallRow, NewCall, StatusUpdate, TurnWrite};
    use liza_model::{RecordInfo, RecordRequest};

    /// A connection whose only statement is `mark_problem`: it fails for the call `bad`, and
    /// fails everything with SQLITE_BUSY while `locked`.
    #[derive(Default)]
    struct FakeConn {
        pending: Vec<String>,
        committed: Vec<String>,
        transactions: usize,
        locked: bool,
        /// The database locks up after this many transactions.
        lock_after: Option<usize>,
        /// Transactions still to fail as locked, counted down by each (shared by connections).
        locked_for: Option<Arc<std::sync::atomic::AtomicUsize>>,
    }

    fn sqlite_error(code: std::ffi::c_int) -> StoreError {
        StoreError::from(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            None,
        ))
    }

    fn busy() -> StoreError {
        sqlite_error(rusqlite::ffi::SQLITE_BUSY)
    }

    impl WriterConn for FakeConn {
        fn begin(&mut self) -> Result<(), StoreError> {
            if self.locked || self.lock_after.is_some_and(|n| self.transactions >= n) {
                return Err(busy());
            }
            if let Some(left) = &self.locked_for {
                use std::sync::atomic::Ordering::SeqCst;
                if left
                    .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
                    .is_ok()
                {
                    return Err(busy());
                }
            }
            self.transactions += 1;
            Ok(())
        }
        fn tx(&mut self) -> &mut dyn StoreTx {
            self
        }
        fn commit(&mut self) -> Result<(), StoreError> {
            self.committed.append(&mut self.pending);
            Ok(())
        }
        fn rollback(&mut self) -> Result<(), StoreError> {
            self.pending.clear();
            Ok(())
        }
    }

    impl StoreTx for FakeConn {
        fn mark_problem(&mut self, call_sid: &str, _: i64) -> Result<(), StoreError> {
            if call_sid == "bad" {
                return Err(sqlite_error(rusqlite::ffi::SQLITE_CONSTRAINT));
            }
            if call_sid == "panic" {
                panic!("a bug in one webhook");
            }
            self.pending.push(call_sid.to_owned());
            Ok(())
        }
        fn open_call(&mut self, _: &NewCall<'_>) -> Result<CallRow, StoreError> {
            unimplemented!()
        }
        fn lock_call(&mut self, _: &str) -> Result<Option<CallRow>, StoreError> {
            unimplemented!()
        }
        fn saved_response(&mut self, _: i64, _: i64) -> Result<Option<String>, StoreError> {
            unimplemented!()
        }
        fn record(
            &mut self,
            _: &RecordRequest,
            _: i64,
            _: i64,
        ) -> Result<Option<RecordInfo>, StoreError> {
            unimplemented!()
        }
        fn save_turn(&mut self, _: &TurnWrite<'_>) -> Result<(), StoreError> {
            unimplemented!()
        }
        fn call_ended(&mut self, _: &StatusUpdate<'_>) -> Result<(), StoreError> {
            unimplemented!()
        }
        fn flow_source(&mut self, _: &str) -> Result<Option<String>, StoreError> {
            unimplemented!()
        }
        fn save_recording(&mut self, _: &crate::RecordingWrite<'_>) -> Result<bool, StoreError> {
            unimplemented!()
        }
        fn probe(&mut self, _: i64) -> Result<(), StoreError> {
            Ok(())
        }
        fn enqueue(&mut self, _: &crate::outbox::OutboxWrite) -> Result<(), StoreError> {
            unimplemented!()
        }
    }

    type Results = Arc<Mutex<Vec<(String, Result<(), String>)>>>;

    struct Mark {
        sid: &'static str,
        results: Results,
        deadline: Instant,
    }

    impl Work for Mark {
        fn run(&mut self, tx: &mut dyn StoreTx) -> Result<(), StoreError> {
            tx.mark_problem(self.sid, 0)
        }
        fn done(self: Box<Self>, result: Result<(), StoreError>) {
            let result = result.map_err(|e| e.to_string());
            self.results.lock().unwrap().push((self.sid.into(), result));
        }
        fn deadline(&self) -> Instant {
            self.deadline
        }
    }

    fn batch(sids: &[&'static str], results: &Results) -> Vec<Box<dyn Work>> {
        sids.iter()
            .map(|&sid| {
                Box::new(Mark {
                    sid,
                    results: results.clone(),
                    // `late`'s caller has stopped waiting by the time the batch is re-run.
                    deadline: Instant::now()
                        + if sid == "late" {
                            Duration::ZERO
                        } else {
                            Duration::from_secs(60)
                        },
                }) as Box<dyn Work>
            })
            .collect()
    }

    #[test]
    fn a_batch_is_one_transaction_answered_after_its_commit() {
        let results = Results::default();
        let outcomes = WriteOutcomes::default();
        let mut conn = FakeConn::default();
        let stats = WriterStats::default();
        run_batch(
            &mut conn,
            batch(&["a", "b", "c"], &results),
            &outcomes,
            &stats,
        )
        .unwrap();
        assert_eq!(conn.transactions, 1);
        assert_eq!(stats.commit_seconds.snapshot().count, 1);
        assert_eq!(stats.transaction_seconds.snapshot().count, 1);
        assert_eq!(conn.committed, ["a", "b", "c"]);
        assert_eq!(outcomes.current(), None);
        let results = results.lock().unwrap();
        assert!(results.iter().all(|(_, r)| r.is_ok()), "{results:?}");
    }

    #[test]
    fn one_failing_work_costs_the_others_nothing() {
        let results = Results::default();
        let outcomes = WriteOutcomes::default();
        let mut conn = FakeConn::default();
        run_batch(
            &mut conn,
            batch(&["a", "bad", "c"], &results),
            &outcomes,
            &WriterStats::default(),
        )
        .unwrap();
        // The batch, then each work alone.
        assert_eq!(conn.transactions, 4);
        assert_eq!(conn.committed, ["a", "c"]);
        assert_eq!(
            outcomes.current(),
            None,
            "one bad webhook is no database problem"
        );
        let results = results.lock().unwrap();
        assert_eq!(
            *results,
            [
                ("a".to_owned(), Ok(())),
                (
                    "bad".to_owned(),
                    Err(
                        "database error: Error code 19: Abort due to constraint violation"
                            .to_owned()
                    )
                ),
                ("c".to_owned(), Ok(())),
            ]
        );
    }

    #[test]
    fn a_locked_database_fails_the_batch_at_once() {
        let results = Results::default();
        let outcomes = WriteOutcomes::default();
        let mut conn = FakeConn {
            locked: true,
            ..FakeConn::default()
        };
        assert!(run_batch(
            &mut conn,
            batch(&["a", "b"], &results),
            &outcomes,
            &WriterStats::default()
        )
        .is_err());
        assert!(conn.committed.is_empty());
        assert_eq!(
            outcomes.current().map(|t| t.problem),
            Some(crate::health::WriteProblem::Locked)
        );
        let results = results.lock().unwrap();
        assert_eq!(results.len(), 2);
        assert!(
            results
                .iter()
                .all(|(_, r)| r.as_ref().is_err_and(|e| e.contains("locked"))),
            "{results:?}"
        );
    }

    #[test]
    fn a_panicking_work_fails_alone_and_the_writer_goes_on() {
        let results = Results::default();
        let outcomes = WriteOutcomes::default();
        let mut conn = FakeConn::default();
        run_batch(
            &mut conn,
            batch(&["a", "panic", "c"], &results),
            &outcomes,
            &WriterStats::default(),
        )
        .unwrap();
        assert_eq!(conn.committed, ["a", "c"]);
        let results = results.lock().unwrap();
        assert_eq!(results[0], ("a".to_owned(), Ok(())));
        assert_eq!(
            results[1],
            (
                "panic".to_owned(),
                Err("the webhook's work panicked: a bug in one webhook".to_owned())
            )
        );
        assert_eq!(results[2], ("c".to_owned(), Ok(())));
    }

    #[test]
    fn the_one_by_one_rerun_skips_late_work_and_stops_when_the_database_goes() {
        let results = Results::default();
        let outcomes = WriteOutcomes::default();
        let mut conn = FakeConn {
            // The batch, `a` alone, `bad` alone; then the database is locked.
            lock_after: Some(3),
            ..FakeConn::default()
        };
        let outcome = run_batch(
            &mut conn,
            batch(&["a", "late", "bad", "c", "d"], &results),
            &outcomes,
            &WriterStats::default(),
        );
        assert!(
            outcome.is_err(),
            "the writer must learn the database failed"
        );
        assert_eq!(conn.committed, ["a"]);
        let results = results.lock().unwrap();
        let summary: Vec<_> = results
            .iter()
            .map(|(sid, r)| (sid.as_str(), r.as_ref().err().map(String::as_str)))
            .collect();
        assert_eq!(summary[0], ("a", None));
        assert_eq!(
            summary[1],
            ("late", Some("the database did not answer in time"))
        );
        assert_eq!(summary[2].0, "bad");
        assert!(summary[2].1.unwrap().contains("constraint"));
        for (sid, error) in &summary[3..] {
            assert!(error.unwrap().contains("locked"), "{sid}: {error:?}");
        }
        assert_eq!(summary.len(), 5);
    }

    /// Connections to a database that stays locked for the first `locked_for` transactions.
    #[derive(Clone)]
    struct LockedAWhile(Arc<std::sync::atomic::AtomicUsize>);

    impl Connector for LockedAWhile {
        type Conn = FakeConn;
        fn connect(&self) -> Result<FakeConn, StoreError> {
            Ok(FakeConn {
                locked_for: Some(self.0.clone()),
                ..FakeConn::default()
            })
        }
    }

    /// Work that counts its failed attempts and reports its final result.
    struct Counted {
        attempts_failed: Arc<Mutex<usize>>,
        reply: Option<tokio::sync::oneshot::Sender<Result<(), StoreError>>>,
        deadline: Instant,
    }

    impl Work for Counted {
        fn run(&mut self, tx: &mut dyn StoreTx) -> Result<(), StoreError> {
            tx.mark_problem("a", 0)
        }
        fn failed_attempt(&mut self, _: &StoreError) {
            *self.attempts_failed.lock().unwrap() += 1;
        }
        fn done(mut self: Box<Self>, result: Result<(), StoreError>) {
            let _ = self.reply.take().unwrap().send(result);
        }
        fn deadline(&self) -> Instant {
            self.deadline
        }
    }

    async fn retried(
        locked_for: usize,
        give_up_after: Duration,
    ) -> (Result<(), StoreError>, usize) {
        let writers = Arc::new(Writers::start(
            "test",
            1,
            LockedAWhile(Arc::new(locked_for.into())),
        ));
        let attempts_failed = Arc::new(Mutex::new(0));
        let (reply, answer) = tokio::sync::oneshot::channel();
        writers.submit_retrying(
            Box::new(Counted {
                attempts_failed: attempts_failed.clone(),
                reply: Some(reply),
                deadline: Instant::now() + Duration::from_secs(5),
            }),
            give_up_after,
        );
        let result = answer.await.unwrap();
        writers.close().await;
        let failed = *attempts_failed.lock().unwrap();
        (result, failed)
    }

    #[tokio::test]
    async fn retrying_work_runs_again_until_the_database_is_back() {
        let (result, failed) = retried(2, Duration::from_secs(60)).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(failed, 2, "two attempts failed before the third committed");
    }

    #[tokio::test]
    async fn retrying_work_gives_up_with_the_last_error() {
        let (result, failed) = retried(100, Duration::from_millis(500)).await;
        let error = result.expect_err("the database stayed locked");
        assert!(matches!(error, StoreError::Failed(_)), "{error:?}");
        assert!(error.to_string().contains("locked"), "{error}");
        assert_eq!(failed, 1, "the second attempt, a second later, is the last");
    }
}
