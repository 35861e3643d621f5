//! Persistence behind a trait: calls, conversation steps, replayable responses, records.
//!
//! One implementation per backend, SQLite (the default) and PostgreSQL (several instances,
//! one database); both run the same SQL from `sql.rs`, written with `$n` placeholders and
//! epoch-millisecond times on purpose.
//! Must not touch: flows, Fluent, TwiML, HTTP. It stores what it is given.

pub mod admin;
mod postgres;
mod sql;
mod sql_admin;
mod sqlite;

use async_trait::async_trait;

use crate::model::{CallStatus, Consent};
use crate::runtime::{CallState, RecordInfo, RecordRequest};

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored call state is unreadable: {0}")]
    State(#[from] serde_json::Error),
    #[error("unsupported database URL (expected sqlite:… or postgres://…)")]
    UnsupportedUrl,
}

/// A call as the webhook handler needs it.
#[derive(Debug, Clone)]
pub struct CallRow {
    pub id: i64,
    pub call_sid: String,
    pub status: CallStatus,
    pub flow_name: Option<String>,
    pub flow_version: Option<String>,
    pub state: Option<CallState>,
    /// Turns answered so far; the next webhook is turn number `turn`.
    pub turn: i64,
}

#[derive(Debug, Clone)]
pub struct NewCall<'a> {
    pub call_sid: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub flow_name: &'a str,
    pub flow_version: &'a str,
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
    pub state: &'a CallState,
    pub language: &'a str,
    pub status: Option<CallStatus>,
    pub consent: Option<Consent>,
    pub steps: &'a [StepRow],
    pub records: &'a [i64],
    pub twiml: &'a str,
    pub now_ms: i64,
}

/// Twilio's status callback, reduced to what is stored.
#[derive(Debug, Clone)]
pub struct StatusUpdate<'a> {
    pub call_sid: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub duration_secs: Option<i64>,
    pub now_ms: i64,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Starts the transaction one webhook runs in.
    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError>;
    /// True when the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Applies pending migrations.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Remembers a flow version that serves calls.
    async fn register_flow_version(
        &self,
        name: &str,
        version: &str,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// Closes the connections cleanly.
    async fn close(&self);
    /// The dashboard's queries, where this backend has them.
    fn admin(&self) -> Option<std::sync::Arc<dyn admin::AdminStore>> {
        None
    }
}

#[async_trait]
pub trait StoreTx: Send {
    /// Creates the call if it is new (status in_progress) and locks it for this transaction.
    async fn open_call(&mut self, new: &NewCall<'_>) -> Result<CallRow, StoreError>;
    /// Locks and reads an existing call.
    async fn lock_call(
        &mut self,
        call_sid: &str,
        now_ms: i64,
    ) -> Result<Option<CallRow>, StoreError>;
    /// The TwiML answered for `turn`, if that turn was answered before.
    async fn saved_response(
        &mut self,
        call_id: i64,
        turn: i64,
    ) -> Result<Option<String>, StoreError>;
    /// Saves or finds (`create_with_status`) or only finds a record, linking it to the call.
    async fn record(
        &mut self,
        request: &RecordRequest,
        call_id: i64,
        now_ms: i64,
    ) -> Result<Option<RecordInfo>, StoreError>;
    /// Writes one answered turn: steps, state, status, consent, links and the response.
    async fn save_turn(&mut self, turn: &TurnWrite<'_>) -> Result<(), StoreError>;
    /// Marks a call `problem` (something went wrong that the caller heard as an apology).
    async fn mark_problem(&mut self, call_id: i64, now_ms: i64) -> Result<(), StoreError>;
    /// Applies a final status callback: completed (unless `problem`), end time, duration.
    async fn call_ended(&mut self, update: &StatusUpdate<'_>) -> Result<(), StoreError>;
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// Opens the store a `DATABASE_URL` names.
pub async fn connect(url: &str) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(PgStore::connect(url).await?))
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
