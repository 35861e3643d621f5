//! The retention of callers' personal data (docs/privacy.md, "Retention"): the one-time
//! backfill of calls stored before callers were hashed, and the purge that makes calls older
//! than `LIZA_RETENTION_DAYS` anonymous, in small batches with pauses between them so the
//! webhooks' writer is never held long. The server runs both hourly ([`spawn`]);
//! `liza privacy purge` runs them once.
//!
//! The hashes are made here (`liza_core::privacy`); the store only keeps what it is given.
//! Logs carry counts only, never a number.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{info, warn};

use liza_core::privacy::PrivacyKey;
use liza_store::privacy::{Anonymised, BackfillWrite, Backfilled, Privacy};
use liza_store::{now_ms, StoreError};

/// One day in milliseconds.
const DAY_MS: i64 = 86_400_000;

/// How the purge paces itself: after each transaction it rests at least `pause`, and at
/// least `rest_ratio` times as long as the transaction took, so it holds SQLite's one write
/// lock at most 1 / (1 + `rest_ratio`) of the time however slow the machine is.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Calls made anonymous per transaction.
    pub batch: i64,
    /// Least rest between two transactions, for the webhooks' writes.
    pub pause: Duration,
    /// Rest per unit of time a transaction took.
    pub rest_ratio: u32,
}

impl Default for Pace {
    /// 100 calls a transaction (about 10–20 ms of SQLite's write lock on a busy two-core
    /// machine), then a rest twice as long, 20 ms at least (docs/BENCHMARKS.md, "Retention
    /// purge").
    fn default() -> Self {
        Self {
            batch: 100,
            pause: Duration::from_millis(20),
            rest_ratio: 2,
        }
    }
}

impl Pace {
    /// The rest after a transaction that took `took`.
    fn rest_after(&self, took: Duration) -> Duration {
        self.pause.max(took * self.rest_ratio)
    }
}

/// How often the server purges, and how soon after it starts.
pub const PURGE_EVERY: Duration = Duration::from_secs(3600);
pub const FIRST_PURGE_AFTER: Duration = Duration::from_secs(30);

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunReport {
    pub backfilled: Backfilled,
    /// `None` when the retention keeps everything (0 days).
    pub purged: Option<Anonymised>,
    /// The run was stopped (the server shuts down) before it finished.
    pub stopped: bool,
}

/// Whether `stop` says to stop.
fn stopping(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow()
}

/// Waits `pause` unless told to stop first; true when told to stop.
async fn rest(pause: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if stopping(stop) {
        return true;
    }
    tokio::select! {
        () = tokio::time::sleep(pause) => stopping(stop),
        _ = stop.changed() => true,
    }
}

/// Hashes (and, without consent, minimises) the calls stored before callers were hashed.
/// Calls in progress wait for a later run.
pub async fn backfill<S: Privacy + ?Sized>(
    store: &S,
    key: &PrivacyKey,
    pace: Pace,
    stop: &mut watch::Receiver<bool>,
) -> Result<(Backfilled, bool), StoreError> {
    let mut done = Backfilled::default();
    let mut after = 0;
    loop {
        let began = std::time::Instant::now();
        let rows = store.calls_to_backfill(after, pace.batch, now_ms()).await?;
        let Some(last) = rows.last() else {
            return Ok((done, false));
        };
        after = last.id;
        let writes: Vec<BackfillWrite> = rows
            .iter()
            .map(|row| {
                let caller = key.caller(&row.from_number);
                BackfillWrite {
                    id: row.id,
                    caller_hash: caller.hash,
                    caller_masked: caller.masked,
                }
            })
            .collect();
        let batch = store.backfill(&writes).await?;
        done.hashed += batch.hashed;
        done.minimised += batch.minimised;
        if rest(pace.rest_after(began.elapsed()), stop).await {
            return Ok((done, true));
        }
    }
}

/// Makes every call that started more than `retention_days` ago anonymous, batch by batch,
/// and notes the run in `purge_runs`. Returns what it did and whether it was stopped.
pub async fn purge<S: Privacy + ?Sized>(
    store: &S,
    retention_days: u32,
    pace: Pace,
    stop: &mut watch::Receiver<bool>,
) -> Result<(Anonymised, bool), StoreError> {
    let started = now_ms();
    let older_than = started - i64::from(retention_days) * DAY_MS;
    let run = store.start_purge_run(retention_days, started).await?;
    let mut total = Anonymised::default();
    loop {
        let began = std::time::Instant::now();
        let batch = store.purge_batch(older_than, pace.batch, now_ms()).await?;
        let took = began.elapsed();
        total.add(batch);
        if (batch.calls as i64) < pace.batch {
            store
                .update_purge_run(run, total.calls, Some(now_ms()))
                .await?;
            return Ok((total, false));
        }
        // Progress is kept, so a stopped run still says how far it came.
        if total.calls % (pace.batch as u64 * 50) == 0 {
            store.update_purge_run(run, total.calls, None).await?;
        }
        if rest(pace.rest_after(took), stop).await {
            store.update_purge_run(run, total.calls, None).await?;
            return Ok((total, true));
        }
    }
}

/// The backfill, then the purge (unless `retention_days` is 0), with one info line.
pub async fn run_once<S: Privacy + ?Sized>(
    store: &S,
    key: &PrivacyKey,
    retention_days: u32,
    pace: Pace,
    stop: &mut watch::Receiver<bool>,
) -> Result<RunReport, StoreError> {
    let (backfilled, stopped) = backfill(store, key, pace, stop).await?;
    if backfilled.hashed > 0 {
        info!(
            calls = backfilled.hashed,
            minimised = backfilled.minimised,
            "Callers of calls stored before the privacy migration hashed; without consent, their numbers and texts removed."
        );
    }
    if stopped {
        return Ok(RunReport {
            backfilled,
            purged: None,
            stopped,
        });
    }
    if retention_days == 0 {
        return Ok(RunReport {
            backfilled,
            purged: None,
            stopped: false,
        });
    }
    let started = std::time::Instant::now();
    let (purged, stopped) = purge(store, retention_days, pace, stop).await?;
    info!(
        retention_days,
        calls = purged.calls,
        steps = purged.steps,
        responses = purged.responses,
        record_links = purged.record_links,
        ms = started.elapsed().as_millis() as u64,
        stopped,
        "Retention purge: personal data of old calls removed."
    );
    Ok(RunReport {
        backfilled,
        purged: Some(purged),
        stopped,
    })
}

/// The server's retention task: a run soon after start, then hourly, until `stop` turns
/// true (the batch in flight finishes first). Await the handle before closing the store.
pub fn spawn<S: Privacy + ?Sized>(
    store: Arc<S>,
    key: Arc<PrivacyKey>,
    retention_days: u32,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if retention_days == 0 {
            info!("LIZA_RETENTION_DAYS=0: personal data of calls is kept without limit.");
        }
        let mut wait = FIRST_PURGE_AFTER;
        loop {
            if rest(wait, &mut stop).await {
                return;
            }
            match run_once(
                store.as_ref(),
                &key,
                retention_days,
                Pace::default(),
                &mut stop,
            )
            .await
            {
                Ok(report) if report.stopped => return,
                Ok(_) => {}
                Err(e) => warn!(error = %e, "Retention purge failed; it runs again in an hour."),
            }
            wait = PURGE_EVERY;
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use liza_store::privacy::{BackfillRow, Erasure, Person, PersonalData, PurgeRun};

    use super::*;

    /// A store with `old` calls to purge that notes every purge run update.
    struct OldCalls {
        old: Mutex<u64>,
        batches: Mutex<Vec<i64>>,
        runs: Mutex<Vec<(u64, Option<i64>)>>,
    }

    impl OldCalls {
        fn new(old: u64) -> Self {
            Self {
                old: Mutex::new(old),
                batches: Mutex::default(),
                runs: Mutex::default(),
            }
        }
    }

    #[async_trait]
    impl Privacy for OldCalls {
        async fn export_person(&self, _: &Person<'_>) -> Result<PersonalData, StoreError> {
            unreachable!("the purge exports nothing")
        }
        async fn erase_person(
            &self,
            _: &Person<'_>,
            _: &str,
            _: &str,
            _: i64,
        ) -> Result<Erasure, StoreError> {
            unreachable!("the purge erases no person")
        }
        async fn purge_batch(&self, _: i64, limit: i64, _: i64) -> Result<Anonymised, StoreError> {
            let mut old = self.old.lock().unwrap();
            let calls = (*old).min(limit as u64);
            *old -= calls;
            self.batches.lock().unwrap().push(limit);
            Ok(Anonymised {
                calls,
                steps: calls * 3,
                ..Anonymised::default()
            })
        }
        async fn start_purge_run(&self, _: u32, _: i64) -> Result<i64, StoreError> {
            Ok(7)
        }
        async fn update_purge_run(
            &self,
            id: i64,
            calls_purged: u64,
            finished_at: Option<i64>,
        ) -> Result<(), StoreError> {
            assert_eq!(id, 7);
            self.runs.lock().unwrap().push((calls_purged, finished_at));
            Ok(())
        }
        async fn last_purge_run(&self) -> Result<Option<PurgeRun>, StoreError> {
            Ok(None)
        }
        async fn calls_to_backfill(
            &self,
            _: i64,
            _: i64,
            _: i64,
        ) -> Result<Vec<BackfillRow>, StoreError> {
            Ok(Vec::new())
        }
        async fn backfill(&self, _: &[BackfillWrite]) -> Result<Backfilled, StoreError> {
            unreachable!("nothing to backfill")
        }
        async fn audit_privacy(
            &self,
            _: &str,
            _: &str,
            _: &str,
            _: &str,
            _: i64,
        ) -> Result<(), StoreError> {
            unreachable!("the purge audits no person")
        }
    }

    const FAST: Pace = Pace {
        batch: 200,
        pause: Duration::from_millis(1),
        rest_ratio: 0,
    };

    #[test]
    fn the_rest_grows_with_a_slow_transaction() {
        let pace = Pace::default();
        assert_eq!(
            pace.rest_after(Duration::from_millis(3)),
            Duration::from_millis(20)
        );
        assert_eq!(
            pace.rest_after(Duration::from_millis(40)),
            Duration::from_millis(80)
        );
    }

    #[tokio::test]
    async fn a_purge_goes_batch_by_batch_until_a_batch_comes_back_short() {
        let store = OldCalls::new(450);
        let (_keep, mut stop) = watch::channel(false);
        let (done, stopped) = purge(&store, 90, FAST, &mut stop).await.unwrap();
        assert!(!stopped);
        assert_eq!((done.calls, done.steps), (450, 1350));
        assert_eq!(*store.batches.lock().unwrap(), [200, 200, 200]);
        let runs = store.runs.lock().unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].0, 450);
        assert!(runs[0].1.is_some(), "the run is noted as finished");
    }

    #[tokio::test]
    async fn a_stopped_purge_ends_after_its_batch_and_notes_how_far_it_came() {
        let store = OldCalls::new(10_000);
        let (tell, mut stop) = watch::channel(false);
        tell.send(true).unwrap();
        let (done, stopped) = purge(&store, 90, FAST, &mut stop).await.unwrap();
        assert!(stopped);
        assert_eq!(done.calls, 200);
        assert_eq!(*store.runs.lock().unwrap(), [(200, None)]);
        // The server's task ends at once when told before its first run.
        let task = spawn(Arc::new(OldCalls::new(5)), Arc::new(test_key()), 90, stop);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the task stops")
            .unwrap();
    }

    #[tokio::test]
    async fn zero_days_keeps_everything() {
        let store = OldCalls::new(10);
        let (_keep, mut stop) = watch::channel(false);
        let report = run_once(&store, &test_key(), 0, FAST, &mut stop)
            .await
            .unwrap();
        assert_eq!(report.purged, None);
        assert!(store.batches.lock().unwrap().is_empty());
    }

    fn test_key() -> PrivacyKey {
        PrivacyKey::new("a-privacy-key-for-unit-tests-0123456789").unwrap()
    }
}
