//! What the store tells an operator (through `/metrics`): how the writers' batches go and, on
//! SQLite, how large the WAL is and how long its checkpoints take. Atomic counters, cheap to
//! update from the writer threads; the store only counts, rendering is the service's business.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the commit and checkpoint time buckets.
pub const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];
/// Upper bounds of the batch size buckets (pieces of work per transaction).
pub const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// A histogram with fixed buckets, updated without a lock.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// Observations at most each bound (not cumulative; summed when read).
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    /// The sum, in millionths (microseconds for times).
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, value: f64) {
        if let Some(i) = self.bounds.iter().position(|&b| value <= b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((value * 1e6) as u64, Ordering::Relaxed);
    }

    pub fn observe_duration(&self, elapsed: Duration) {
        self.observe(elapsed.as_secs_f64());
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut total = 0;
        let cumulative = self
            .buckets
            .iter()
            .map(|b| {
                total += b.load(Ordering::Relaxed);
                total
            })
            .collect();
        HistogramSnapshot {
            bounds: self.bounds,
            cumulative,
            count: self.count.load(Ordering::Relaxed),
            sum: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

/// A histogram as read: cumulative bucket counts, as Prometheus wants them.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    pub bounds: &'static [f64],
    /// Observations at most `bounds[i]`.
    pub cumulative: Vec<u64>,
    pub count: u64,
    pub sum: f64,
}

/// The writers' side, the same for both backends.
#[derive(Debug)]
pub struct WriterStats {
    /// Pieces of work per transaction.
    pub batch_size: Histogram,
    /// From `BEGIN` to the end of `COMMIT`, for transactions that committed.
    pub transaction_seconds: Histogram,
    /// `COMMIT` alone (SQLite: the WAL append; PostgreSQL: the buffered statements and the flush).
    pub commit_seconds: Histogram,
}

impl Default for WriterStats {
    fn default() -> Self {
        Self {
            batch_size: Histogram::new(BATCH_BUCKETS),
            transaction_seconds: Histogram::new(SECONDS_BUCKETS),
            commit_seconds: Histogram::new(SECONDS_BUCKETS),
        }
    }
}

/// The SQLite WAL as the checkpointer last saw it.
#[derive(Debug)]
pub struct WalStats {
    /// The `-wal` file's size in bytes at the last check (every checkpoint interval).
    pub bytes: AtomicU64,
    /// The WAL's log in bytes (written since it last started over) at the last check: the file
    /// is written over from its start after a restart, so it stays larger than its log.
    pub log_bytes: AtomicU64,
    /// Passive checkpoints (beside the writer).
    pub passive_seconds: Histogram,
    /// Restarting checkpoints (the writer held between two batches), including the wait for
    /// the writer's transaction in progress.
    pub restart_seconds: Histogram,
    /// Restarting checkpoints that could not finish (a reader still used the WAL).
    pub restart_busy: AtomicU64,
}

impl Default for WalStats {
    fn default() -> Self {
        Self {
            bytes: AtomicU64::new(0),
            log_bytes: AtomicU64::new(0),
            passive_seconds: Histogram::new(SECONDS_BUCKETS),
            restart_seconds: Histogram::new(SECONDS_BUCKETS),
            restart_busy: AtomicU64::new(0),
        }
    }
}

/// Everything the store reports, read at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreStats {
    /// Pieces of work queued for the writers, not yet taken into a batch.
    pub queue_depth: u64,
    pub batch_size: HistogramSnapshot,
    pub transaction_seconds: HistogramSnapshot,
    pub commit_seconds: HistogramSnapshot,
    /// SQLite only.
    pub wal: Option<WalSnapshot>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WalSnapshot {
    pub bytes: u64,
    pub log_bytes: u64,
    pub passive_seconds: HistogramSnapshot,
    pub restart_seconds: HistogramSnapshot,
    pub restart_busy: u64,
}

impl WalStats {
    pub fn snapshot(&self) -> WalSnapshot {
        WalSnapshot {
            bytes: self.bytes.load(Ordering::Relaxed),
            log_bytes: self.log_bytes.load(Ordering::Relaxed),
            passive_seconds: self.passive_seconds.snapshot(),
            restart_seconds: self.restart_seconds.snapshot(),
            restart_busy: self.restart_busy.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_is_cumulative_and_counts_what_no_bucket_holds() {
        let h = Histogram::new(BATCH_BUCKETS);
        for v in [1.0, 3.0, 3.0, 100.0, 5000.0] {
            h.observe(v);
        }
        let s = h.snapshot();
        assert_eq!(s.cumulative, [1, 1, 3, 3, 3, 3, 3, 4, 4, 4]);
        assert_eq!(s.count, 5);
        assert_eq!(s.sum, 5107.0);
    }
}
