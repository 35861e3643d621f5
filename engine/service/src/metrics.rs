//! Counters for `GET /metrics` in Prometheus' text format: webhook requests by node and
//! outcome, webhook latency, flow reloads and reload failures, whether the flows are degraded
//! (the last save did not load), database errors, dashboard logins by outcome and the password
//! checks they ran; and what it is told of the store (writer queue, batch sizes, commit times,
//! the SQLite WAL and its checkpoints) and of the flow registry (versions held).
//!
//! Hand-written on purpose: five series and one text format are ~150 lines, while the
//! `prometheus` crate (slow-moving, protobuf baggage) or `metrics` + its exporter (a global
//! recorder, its own HTTP stack) would add a dependency tree larger than this module for it.
//! Must not touch: HTTP, the store. It only counts what it is told.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use liza_core::runtime::FetchOutcome;
use liza_store::stats::{HistogramSnapshot, StoreStats};

/// Upper bounds (seconds) of the latency histogram's buckets: dead air starts to hurt around 100 ms.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];
/// Distinct (node, outcome) pairs kept; more are counted under node `other` (a bound on memory).
const MAX_SERIES: usize = 256;

/// A latency histogram with [`LATENCY_BUCKETS`].
#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        for (bucket, bound) in self.buckets.iter().zip(LATENCY_BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (bucket, bound) in self.buckets.iter().zip(LATENCY_BUCKETS) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// The process's counters; cheap to update from every request.
#[derive(Debug, Default)]
pub struct Metrics {
    webhooks: Mutex<HashMap<(String, &'static str), u64>>,
    latency: Histogram,
    /// Requests to the shop's systems (`fetch` nodes), by outcome ([`FetchOutcome::ALL`]).
    fetches: [AtomicU64; FetchOutcome::ALL.len()],
    fetch_latency: Histogram,
    flow_reloads: AtomicU64,
    flow_reload_failures: AtomicU64,
    /// The last reload failed: older flows serve new calls.
    flows_degraded: AtomicBool,
    database_errors: AtomicU64,
    logins: [AtomicU64; LoginOutcome::ALL.len()],
    password_checks: AtomicU64,
    /// The outbox's attempts by kind (sms, event) and result (sent, retried, failed).
    outbox: [[AtomicU64; 3]; 2],
}

/// How one outbox attempt ended, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendResult {
    Sent,
    /// Failed for now; due again later.
    Retried,
    /// Given up (refused, or out of attempts).
    Failed,
}

impl SendResult {
    const ALL: [Self; 3] = [Self::Sent, Self::Retried, Self::Failed];

    fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Retried => "retried",
            Self::Failed => "failed",
        }
    }
}

/// How a dashboard login attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    SignedIn,
    /// Wrong name or password.
    Failed,
    /// Refused by a failed-login limit before its password was checked.
    Limited,
    /// Refused because the server was checking as many passwords as it may at once.
    Busy,
}

impl LoginOutcome {
    const ALL: [Self; 4] = [Self::SignedIn, Self::Failed, Self::Limited, Self::Busy];

    fn as_str(self) -> &'static str {
        match self {
            Self::SignedIn => "signed_in",
            Self::Failed => "failed",
            Self::Limited => "limited",
            Self::Busy => "busy",
        }
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// One webhook answered (`outcome` as in `calls::Outcome::as_str`, or `rejected`).
    pub fn webhook(&self, node: &str, outcome: &'static str, elapsed: Duration) {
        {
            let mut webhooks = self.webhooks.lock().unwrap_or_else(|e| e.into_inner());
            let key = (node.to_owned(), outcome);
            if webhooks.len() < MAX_SERIES || webhooks.contains_key(&key) {
                *webhooks.entry(key).or_default() += 1;
            } else {
                *webhooks.entry(("other".to_owned(), outcome)).or_default() += 1;
            }
        }
        self.latency.observe(elapsed);
    }

    /// A request a `fetch` node made (not one answered without asking: a repeat delivery, or
    /// an environment value missing).
    pub fn fetched(&self, outcome: FetchOutcome, elapsed: Duration) {
        if let Some(i) = FetchOutcome::ALL.iter().position(|o| *o == outcome) {
            self.fetches[i].fetch_add(1, Ordering::Relaxed);
        }
        self.fetch_latency.observe(elapsed);
    }

    /// Flows were rebuilt and swapped in.
    pub fn flow_reloaded(&self) {
        self.flow_reloads.fetch_add(1, Ordering::Relaxed);
        self.flows_degraded.store(false, Ordering::Relaxed);
    }

    /// A reload failed; the old flows keep serving (degraded until a reload succeeds).
    pub fn flow_reload_failed(&self) {
        self.flow_reload_failures.fetch_add(1, Ordering::Relaxed);
        self.flows_degraded.store(true, Ordering::Relaxed);
    }

    /// A database operation failed.
    pub fn database_error(&self) {
        self.database_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub fn database_errors(&self) -> u64 {
        self.database_errors.load(Ordering::Relaxed)
    }

    /// A dashboard login attempt ended.
    pub fn login(&self, outcome: LoginOutcome) {
        self.logins[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// A password was checked (an Argon2 run, for a known user or the dummy hash).
    pub fn password_checked(&self) {
        self.password_checks.fetch_add(1, Ordering::Relaxed);
    }

    pub fn password_checks(&self) -> u64 {
        self.password_checks.load(Ordering::Relaxed)
    }

    /// An outbox row's attempt ended; `sms`: a text, else an event.
    pub fn outbox_attempt(&self, sms: bool, result: SendResult) {
        self.outbox[usize::from(!sms)][result as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        out.push_str(
            "# HELP liza_webhook_requests_total Webhooks answered, by node and outcome.\n",
        );
        out.push_str("# TYPE liza_webhook_requests_total counter\n");
        let mut series: Vec<_> = {
            let webhooks = self.webhooks.lock().unwrap_or_else(|e| e.into_inner());
            webhooks.iter().map(|(k, v)| (k.clone(), *v)).collect()
        };
        series.sort();
        for ((node, outcome), count) in series {
            let _ = writeln!(
                out,
                "liza_webhook_requests_total{{node=\"{}\",outcome=\"{outcome}\"}} {count}",
                escape_label(&node)
            );
        }
        self.latency.render(
            &mut out,
            "liza_webhook_duration_seconds",
            "Time to answer a webhook.",
        );
        out.push_str("# HELP liza_fetch_requests_total Requests fetch nodes made to the shop's systems, by outcome.\n");
        out.push_str("# TYPE liza_fetch_requests_total counter\n");
        for (outcome, count) in FetchOutcome::ALL.iter().zip(&self.fetches) {
            let _ = writeln!(
                out,
                "liza_fetch_requests_total{{outcome=\"{}\"}} {}",
                outcome.as_str(),
                count.load(Ordering::Relaxed)
            );
        }
        self.fetch_latency.render(
            &mut out,
            "liza_fetch_duration_seconds",
            "Time a fetch node's request took (its timeout at most).",
        );
        for (name, help, value) in [
            (
                "liza_flow_reloads_total",
                "Flow reloads that swapped in new flows.",
                &self.flow_reloads,
            ),
            (
                "liza_flow_reload_failures_total",
                "Flow reloads that failed (the old flows kept serving).",
                &self.flow_reload_failures,
            ),
            (
                "liza_database_errors_total",
                "Database operations that failed.",
                &self.database_errors,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        }
        out.push_str("# HELP liza_flows_degraded 1 while the last saved flows or locales did not load (the previous version serves new calls).\n");
        out.push_str("# TYPE liza_flows_degraded gauge\n");
        let _ = writeln!(
            out,
            "liza_flows_degraded {}",
            u8::from(self.flows_degraded.load(Ordering::Relaxed))
        );
        out.push_str("# HELP liza_login_attempts_total Dashboard logins by outcome (busy: too many password checks at once).\n");
        out.push_str("# TYPE liza_login_attempts_total counter\n");
        for outcome in LoginOutcome::ALL {
            let _ = writeln!(
                out,
                "liza_login_attempts_total{{outcome=\"{}\"}} {}",
                outcome.as_str(),
                self.logins[outcome as usize].load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP liza_password_checks_total Argon2 password checks run for logins.\n");
        out.push_str("# TYPE liza_password_checks_total counter\n");
        let _ = writeln!(out, "liza_password_checks_total {}", self.password_checks());
        out.push_str("# HELP liza_outbox_attempts_total Outbox sends (texts through Twilio, events to LIZA_EVENTS_URL) by kind and result: sent, retried (due again later), failed (given up).\n");
        out.push_str("# TYPE liza_outbox_attempts_total counter\n");
        for (i, kind) in ["sms", "event"].into_iter().enumerate() {
            for result in SendResult::ALL {
                let _ = writeln!(
                    out,
                    "liza_outbox_attempts_total{{kind=\"{kind}\",result=\"{}\"}} {}",
                    result.as_str(),
                    self.outbox[i][result as usize].load(Ordering::Relaxed)
                );
            }
        }
        out
    }
}

/// What the process holds beside its counters, read when `/metrics` is asked.
#[derive(Debug, Clone, Default)]
pub struct Gauges {
    /// The store's writers and WAL, where the backend reports them.
    pub store: Option<StoreStats>,
    /// Compiled flow versions held in memory (current ones and those kept for calls).
    pub flow_versions_held: usize,
    /// Outbox rows not yet sent nor given up (`None`: the count could not be read).
    pub outbox_pending: Option<i64>,
}

impl Metrics {
    /// [`Metrics::render`] followed by `gauges`.
    pub fn render_with(&self, gauges: &Gauges) -> String {
        let mut out = self.render();
        gauge(
            &mut out,
            "liza_flow_versions_held",
            "Compiled flow versions in memory: the current ones and those kept for calls pinned to them.",
            gauges.flow_versions_held as f64,
        );
        if let Some(pending) = gauges.outbox_pending {
            gauge(
                &mut out,
                "liza_outbox_pending",
                "Outbox rows (texts, events) not yet sent nor given up.",
                pending as f64,
            );
        }
        let Some(store) = &gauges.store else {
            return out;
        };
        gauge(
            &mut out,
            "liza_store_queue_depth",
            "Webhooks' database work queued for the writers, not yet in a transaction.",
            store.queue_depth as f64,
        );
        histogram(
            &mut out,
            "liza_store_batch_size",
            "Pieces of work (webhooks) per writer transaction.",
            &store.batch_size,
        );
        histogram(
            &mut out,
            "liza_store_transaction_seconds",
            "A writer transaction from BEGIN to the end of COMMIT (committed ones).",
            &store.transaction_seconds,
        );
        histogram(
            &mut out,
            "liza_store_commit_seconds",
            "A writer transaction's COMMIT alone.",
            &store.commit_seconds,
        );
        if let Some(wal) = &store.wal {
            gauge(
                &mut out,
                "liza_sqlite_wal_bytes",
                "Size of the SQLite -wal file at the last checkpoint tick (every 25 ms). A restarted WAL is written over from its start, so the file keeps the size of its largest log since it was last cut (a file past 48 MiB is cut to that).",
                wal.bytes as f64,
            );
            gauge(
                &mut out,
                "liza_sqlite_wal_log_bytes",
                "The SQLite WAL's log at the last checkpoint tick: what was written since it last started over. Past 32 MiB the checkpointer restarts it; the log starts over at the next commit, so an idle server keeps showing the last length.",
                wal.log_bytes as f64,
            );
            histogram(
                &mut out,
                "liza_sqlite_checkpoint_seconds",
                "Passive WAL checkpoints, beside the writer.",
                &wal.passive_seconds,
            );
            histogram(
                &mut out,
                "liza_sqlite_restart_checkpoint_seconds",
                "Restarting WAL checkpoints (the log past its threshold), the writer held between two transactions, including the wait for its transaction in progress.",
                &wal.restart_seconds,
            );
            let _ = writeln!(out, "# HELP liza_sqlite_restart_checkpoint_busy_total Restarting checkpoints that could not finish: a reader still used the WAL.");
            let _ = writeln!(
                out,
                "# TYPE liza_sqlite_restart_checkpoint_busy_total counter"
            );
            let _ = writeln!(
                out,
                "liza_sqlite_restart_checkpoint_busy_total {}",
                wal.restart_busy
            );
        }
        out
    }
}

fn gauge(out: &mut String, name: &str, help: &str, value: f64) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    let _ = writeln!(out, "{name} {value}");
}

fn histogram(out: &mut String, name: &str, help: &str, h: &HistogramSnapshot) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (bound, count) in h.bounds.iter().zip(&h.cumulative) {
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {count}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "{name}_sum {}", h.sum);
    let _ = writeln!(out, "{name}_count {}", h.count);
}

/// Label values escape `\`, `"` and newlines.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let metrics = Metrics::new();
        metrics.webhook("consent", "answered", Duration::from_micros(800));
        metrics.webhook("consent", "answered", Duration::from_millis(30));
        metrics.webhook("voice", "apologised", Duration::from_millis(3));
        metrics.flow_reloaded();
        metrics.database_error();
        let text = metrics.render();
        assert!(
            text.contains("liza_webhook_requests_total{node=\"consent\",outcome=\"answered\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("liza_webhook_requests_total{node=\"voice\",outcome=\"apologised\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("liza_webhook_duration_seconds_bucket{le=\"0.001\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("liza_webhook_duration_seconds_bucket{le=\"0.005\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("liza_webhook_duration_seconds_bucket{le=\"0.05\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("liza_webhook_duration_seconds_bucket{le=\"+Inf\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("liza_webhook_duration_seconds_count 3\n"),
            "{text}"
        );
        assert!(text.contains("liza_flow_reloads_total 1\n"), "{text}");
        assert!(
            text.contains("liza_flow_reload_failures_total 0\n"),
            "{text}"
        );
        assert!(text.contains("liza_database_errors_total 1\n"), "{text}");
        assert!(text.contains("liza_flows_degraded 0\n"), "{text}");
        metrics.flow_reload_failed();
        assert!(metrics.render().contains("liza_flows_degraded 1\n"));
        metrics.flow_reloaded();
        assert!(metrics.render().contains("liza_flows_degraded 0\n"));
    }

    #[test]
    fn renders_logins_by_outcome_and_password_checks() {
        let metrics = Metrics::new();
        metrics.login(LoginOutcome::Failed);
        metrics.login(LoginOutcome::Failed);
        metrics.login(LoginOutcome::Busy);
        metrics.password_checked();
        let text = metrics.render();
        assert!(
            text.contains("liza_login_attempts_total{outcome=\"failed\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("liza_login_attempts_total{outcome=\"busy\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("liza_login_attempts_total{outcome=\"signed_in\"} 0\n"),
            "{text}"
        );
        assert!(text.contains("liza_password_checks_total 1\n"), "{text}");
    }

    #[test]
    fn renders_the_store_and_the_registry_it_is_told_of() {
        use liza_store::stats::{Histogram, WalStats, BATCH_BUCKETS, SECONDS_BUCKETS};
        let batches = Histogram::new(BATCH_BUCKETS);
        batches.observe(3.0);
        batches.observe(300.0);
        let commits = Histogram::new(SECONDS_BUCKETS);
        commits.observe(0.004);
        let wal = WalStats::default();
        wal.bytes
            .store(17_000_000, std::sync::atomic::Ordering::Relaxed);
        wal.log_bytes
            .store(4_000_000, std::sync::atomic::Ordering::Relaxed);
        wal.restart_seconds.observe(0.03);
        let gauges = Gauges {
            store: Some(StoreStats {
                queue_depth: 7,
                batch_size: batches.snapshot(),
                transaction_seconds: commits.snapshot(),
                commit_seconds: commits.snapshot(),
                wal: Some(wal.snapshot()),
            }),
            flow_versions_held: 3,
            outbox_pending: Some(4),
        };
        let metrics = Metrics::new();
        metrics.outbox_attempt(true, SendResult::Retried);
        metrics.outbox_attempt(true, SendResult::Sent);
        metrics.outbox_attempt(false, SendResult::Failed);
        let text = metrics.render_with(&gauges);
        for line in [
            "liza_flow_versions_held 3\n",
            "liza_store_queue_depth 7\n",
            "liza_store_batch_size_bucket{le=\"2\"} 0\n",
            "liza_store_batch_size_bucket{le=\"4\"} 1\n",
            "liza_store_batch_size_bucket{le=\"512\"} 2\n",
            "liza_store_batch_size_bucket{le=\"+Inf\"} 2\n",
            "liza_store_batch_size_sum 303\n",
            "liza_store_commit_seconds_bucket{le=\"0.005\"} 1\n",
            "liza_store_commit_seconds_count 1\n",
            "liza_sqlite_wal_bytes 17000000\n",
            "liza_sqlite_wal_log_bytes 4000000\n",
            "liza_sqlite_restart_checkpoint_seconds_bucket{le=\"0.05\"} 1\n",
            "liza_sqlite_checkpoint_seconds_count 0\n",
            "liza_sqlite_restart_checkpoint_busy_total 0\n",
            "liza_outbox_pending 4\n",
            "liza_outbox_attempts_total{kind=\"sms\",result=\"sent\"} 1\n",
            "liza_outbox_attempts_total{kind=\"sms\",result=\"retried\"} 1\n",
            "liza_outbox_attempts_total{kind=\"event\",result=\"failed\"} 1\n",
            "liza_outbox_attempts_total{kind=\"event\",result=\"sent\"} 0\n",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        // PostgreSQL has no WAL of Liza's to show.
        let text = Metrics::new().render_with(&Gauges {
            store: gauges.store.map(|s| StoreStats { wal: None, ..s }),
            flow_versions_held: 1,
            outbox_pending: None,
        });
        assert!(!text.contains("liza_sqlite_wal_bytes"), "{text}");
        assert!(text.contains("liza_store_queue_depth 7\n"), "{text}");
    }

    #[test]
    fn series_are_bounded_and_labels_escaped() {
        let metrics = Metrics::new();
        for i in 0..(MAX_SERIES + 10) {
            metrics.webhook(&format!("n{i}"), "answered", Duration::ZERO);
        }
        metrics.webhook("a\"b", "answered", Duration::ZERO);
        let text = metrics.render();
        assert!(
            text.contains("node=\"other\",outcome=\"answered\"} 11\n"),
            "{text}"
        );
        assert!(!text.contains("a\"b"));
    }
}
