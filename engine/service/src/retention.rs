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

use liza_core::privacy::{mask, PrivacyKey};
use liza_store::privacy::{Anonymised, BackfillWrite, Backfilled, Privacy};
use liza_store::{now_ms, StoreError};

/// One day in milliseconds.
const DAY_MS: i64 = 86_400_000;

/// How the purge paces itself.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Calls made anonymous per transaction.
    pub batch: i64,
    /// Rest between two transactions, for the webhooks' writes.
    pub pause: Duration,
}

impl Default for Pace {
    /// 200 calls a transaction (a few milliseconds of SQLite's write lock), 20 ms apart.
    fn default() -> Self {
        Self {
            batch: 200,
            pause: Duration::from_millis(20),
        }
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
        let rows = store.calls_to_backfill(after, pace.batch, now_ms()).await?;
        let Some(last) = rows.last() else {
            return Ok((done, false));
        };
        after = last.id;
        let writes: Vec<BackfillWrite> = rows
            .iter()
            .map(|row| BackfillWrite {
                id: row.id,
                caller_hash: key.caller_hash(&row.from_number),
                caller_masked: mask(&row.from_number),
            })
            .collect();
        let batch = store.backfill(&writes).await?;
        done.hashed += batch.hashed;
        done.minimised += batch.minimised;
        if rest(pace.pause, stop).await {
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
        let batch = store.purge_batch(older_than, pace.batch, now_ms()).await?;
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
        if rest(pace.pause, stop).await {
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
