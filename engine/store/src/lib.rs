//! Persistence behind a trait: calls, conversation steps, replay data, records.
//!
//! Two backends, SQLite (the default) and PostgreSQL (several instances, one database), each
//! with writer threads of its own for the webhooks (`sqlite.rs`, `postgres.rs`); both run the
//! same SQL from `sql.rs` and `admin.rs`, written with `$n` placeholders and epoch-millisecond
//! times on purpose, and one `Store` implementation (`sql_store.rs`) for everything else.
//! Must not touch: flows, Fluent, TwiML, HTTP. It stores what it is given.

pub mod admin;
pub mod backup;
pub mod batch;
mod dialect;
mod error;
pub mod health;
mod kinds;
pub mod outbox;
mod postgres;
pub mod privacy;
pub mod records_api;
mod sql;
mod sql_admin;
mod sql_privacy;
mod sql_store;
mod sqlite;
pub mod stats;

use async_trait::async_trait;

use liza_model::{CallStatus, Consent};
use liza_model::{RecordInfo, RecordRequest};

pub use error::{Source, StoreError};

/// A call as the webhook handler needs it.
#[derive(Debug, Clone)]
pub struct CallRow {
    pub id: i64,
    pub call_sid: String,
    pub status: CallStatus,
    pub flow_name: Option<String>,
    pub flow_version: Option<String>,
    /// The call state machine's state as it stored it (JSON); the store does not read it.
    pub state: Option<String>,
    /// Turns answered so far; the next webhook is turn number `turn`.
    pub turn: i64,
}

impl CallRow {
    /// A call from its stored columns (`status` as text, `state` as JSON), as both backends read it.
    pub fn from_columns(
        id: i64,
        call_sid: String,
        status: &str,
        flow_name: Option<String>,
        flow_version: Option<String>,
        state: Option<String>,
        turn: i64,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            id,
            call_sid,
            status: CallStatus::parse(status).unwrap_or(CallStatus::Problem),
            flow_name,
            flow_version,
            state,
            turn,
        })
    }
}

/// A new call. The caller's number is not stored in clear (`from_number` is '') until they
/// consent ([`TurnWrite::from_number`]): only its keyed hash and masked form.
#[derive(Debug, Clone)]
pub struct NewCall<'a> {
    pub call_sid: &'a str,
    pub caller_hash: &'a str,
    pub caller_masked: &'a str,
    pub to: &'a str,
    pub flow_name: &'a str,
    pub flow_version: &'a str,
    /// The call's language, decided before its first turn (the flow's, for the caller's
    /// number) and never changed: written once here, so no turn rewrites the indexes that hold
    /// it (a PostgreSQL row version in each of `calls`' indexes, docs/BENCHMARKS.md).
    pub language: Option<&'a str>,
    pub now_ms: i64,
}

/// One conversation step as stored.
#[derive(Debug, Clone)]
pub struct StepRow {
    pub node: String,
    pub message_ids: String,
    pub text: String,
    pub digits: Option<String>,
    pub outcome: String,
}

/// Everything one answered webhook writes.
#[derive(Debug)]
pub struct TurnWrite<'a> {
    pub call_id: i64,
    pub turn: i64,
    /// The call state machine's new state, serialised by its owner.
    pub state: &'a str,
    pub status: Option<CallStatus>,
    pub consent: Option<Consent>,
    pub steps: &'a [StepRow],
    pub records: &'a [i64],
    pub twiml: &'a str,
    pub now_ms: i64,
    /// The caller's number in clear, from the turn that received a consent covering it.
    pub from_number: Option<&'a str>,
    /// The consent question this turn asked, kept as the proof of what the caller heard
    /// (only while the call has no decision: the last question before the decision).
    pub consent_question: Option<ConsentAsked<'a>>,
}

/// What the caller heard when asked for consent.
#[derive(Debug, Clone, Copy)]
pub struct ConsentAsked<'a> {
    /// The Fluent message ids of the question, comma-separated.
    pub message: &'a str,
    pub locale: &'a str,
    /// The question's text as spoken.
    pub text: &'a str,
}

/// The privacy key as the database keeps it (`privacy_key`): the check value of the key the
/// callers' hashes were made with, and the key itself only when Liza generated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub key_check: String,
    pub generated_key: Option<String>,
}

/// Twilio's status callback, reduced to what is stored.
#[derive(Debug, Clone)]
pub struct StatusUpdate<'a> {
    pub call_sid: &'a str,
    /// For a call the callback is the first to hear of: its caller as kept without consent.
    pub caller_hash: &'a str,
    pub caller_masked: &'a str,
    pub to: &'a str,
    pub duration_secs: Option<i64>,
    pub now_ms: i64,
    /// The state an ended call keeps: what a late webhook needs, without what the caller
    /// entered (`None`: the state stays as it is).
    pub forget_state: Option<&'a str>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Queues work for the store's writers. Writers run many webhooks' work in one transaction
    /// (group commit) and call [`Work::done`] once that transaction is committed or has failed.
    fn submit(&self, work: Box<dyn Work>);
    /// Queues work that runs again while the database fails it (once a second, for at most
    /// `give_up_after`); see [`batch::Writers::submit_retrying`].
    fn submit_retrying(&self, work: Box<dyn Work>, give_up_after: std::time::Duration);
    /// The latest instant work whose [`Work::deadline`] is `deadline` is answered by (its
    /// `done` called): a caller waiting for the answer waits until then, not longer.
    fn answered_by(&self, deadline: std::time::Instant) -> std::time::Instant {
        batch::answered_by(deadline)
    }
    /// Why the database cannot take a write now, or `None` when it can. Runs a real write
    /// through a writer at most once a second however often it is asked (see `health.rs`).
    async fn write_health(&self) -> Option<health::WriteTrouble>;
    /// What the operator of a server should be told about the database's own setup, once at
    /// start (PostgreSQL without autovacuum); nothing by default.
    async fn setup_warnings(&self) -> Vec<&'static str> {
        Vec::new()
    }
    /// Applies pending migrations.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Remembers a flow version that serves calls, with its stored form (flow and locale files).
    async fn register_flow_version(
        &self,
        name: &str,
        version: &str,
        source: &str,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// Keeps the privacy key's check value (and the key, when Liza generated it) the first
    /// time; returns what the database holds now, which is what an earlier start (or another
    /// instance, first) kept when there is one.
    async fn keep_privacy_key(&self, key: &StoredKey, now_ms: i64)
        -> Result<StoredKey, StoreError>;
    /// Finishes queued work, stops the writers and closes the connections cleanly.
    async fn close(&self);
    /// What `/metrics` shows of the store: the writers' queue, batches and commits, the WAL.
    fn stats(&self) -> Option<stats::StoreStats> {
        None
    }
    /// The dashboard's queries, where this backend has them.
    fn admin(&self) -> Option<std::sync::Arc<dyn admin::AdminStore>> {
        None
    }
    /// Records written from outside (the records API, `liza records import`).
    fn records_api(&self) -> Option<std::sync::Arc<dyn records_api::RecordsApi>> {
        None
    }
    /// The outbox's sender side and the call page's view of it.
    fn outbox(&self) -> Option<std::sync::Arc<dyn outbox::Outbox>> {
        None
    }
}

/// One webhook's database work, run by a writer thread inside a transaction it shares with
/// other webhooks' work.
pub trait Work: Send + 'static {
    /// Runs inside the transaction. May run a second time, in a transaction of its own, when
    /// another piece of work in the same batch failed; so it must keep no effect of a run
    /// except what it returns through `done`.
    fn run(&mut self, tx: &mut dyn StoreTx) -> Result<(), StoreError>;
    /// Called exactly once: `Ok` after the transaction holding the last run was committed,
    /// `Err` when it was not (or the work waited past its deadline and never ran).
    fn done(self: Box<Self>, result: Result<(), StoreError>);
    /// Work still queued at this instant is answered with [`StoreError::Timeout`] unrun: its
    /// caller has stopped waiting.
    fn deadline(&self) -> std::time::Instant;
    /// An attempt of work submitted with [`Store::submit_retrying`] failed and runs again.
    fn failed_attempt(&mut self, _error: &StoreError) {}
    /// The call this work writes first, when known before it runs: the existing call it locks
    /// (`lock_call`) or the new call it opens (`open_call`). A writer whose statements are
    /// network round trips locks a whole batch's calls at once, and learns which are new.
    fn call_sid(&self) -> Option<&str> {
        None
    }
}

/// The statements one webhook runs, synchronously, inside a writer's transaction.
/// A voicemail as Twilio's recording status callback reports it.
#[derive(Debug, Clone)]
pub struct RecordingWrite<'a> {
    pub call_sid: &'a str,
    pub recording_sid: &'a str,
    pub url: &'a str,
    pub status: &'a str,
    pub duration_secs: Option<i64>,
    pub now_ms: i64,
}

pub trait StoreTx {
    /// Creates the call if it is new (status in_progress) and locks it for this transaction.
    fn open_call(&mut self, new: &NewCall<'_>) -> Result<CallRow, StoreError>;
    /// Locks and reads an existing call.
    fn lock_call(&mut self, call_sid: &str) -> Result<Option<CallRow>, StoreError>;
    /// The TwiML answered for `turn`, if that turn was answered before and is the call's last
    /// (a call keeps only its last answer, and only until its final status callback).
    fn saved_response(&mut self, call_id: i64, turn: i64) -> Result<Option<String>, StoreError>;
    /// The call's last answer (the turn before `call.turn`), while the call keeps it: what a
    /// webhook Twilio delivered again hears. A call not yet answered has none.
    fn last_answer(&mut self, call: &CallRow) -> Result<Option<String>, StoreError> {
        if call.turn < 1 {
            return Ok(None);
        }
        self.saved_response(call.id, call.turn - 1)
    }
    /// Saves or finds (`create_with_status`) or only finds a record, linking it to the call.
    fn record(
        &mut self,
        request: &RecordRequest,
        call_id: i64,
        now_ms: i64,
    ) -> Result<Option<RecordInfo>, StoreError>;
    /// Writes one answered turn: steps, state, status, consent, links and the response.
    fn save_turn(&mut self, turn: &TurnWrite<'_>) -> Result<(), StoreError>;
    /// Marks a call `problem` (something went wrong that the caller heard as an apology).
    fn mark_problem(&mut self, call_sid: &str, now_ms: i64) -> Result<(), StoreError>;
    /// Applies a final status callback: completed (unless `problem`), end time, duration.
    fn call_ended(&mut self, update: &StatusUpdate<'_>) -> Result<(), StoreError>;
    /// Keeps what Twilio's recording status callback reports of a voicemail, if the call
    /// exists and its caller consented; true when a row was written.
    fn save_recording(&mut self, recording: &RecordingWrite<'_>) -> Result<bool, StoreError>;
    /// The stored form of a flow version, if an instance registered it.
    fn flow_source(&mut self, version: &str) -> Result<Option<String>, StoreError>;
    /// A small real write that proves the database takes writes (for `/health`).
    fn probe(&mut self, now_ms: i64) -> Result<(), StoreError>;
    /// Queues a text or an event in the outbox, in this transaction; a row with the same
    /// idempotency key queued before is kept and this one dropped.
    fn enqueue(&mut self, row: &outbox::OutboxWrite) -> Result<(), StoreError>;
}

/// Opens the store a `DATABASE_URL` names.
pub async fn connect(url: &str) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(sqlite::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(postgres::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
