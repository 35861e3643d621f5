//! The outbox: text messages and events that go out after a turn is stored.
//!
//! A turn's work queues its rows with [`super::StoreTx::enqueue`] inside the turn's own
//! transaction, so a row exists exactly when the turn it belongs to committed, and its
//! idempotency key (unique) makes a webhook Twilio delivers twice queue nothing new. The
//! sender (`liza-outbound`) claims due rows through [`Outbox`], sends them and marks each
//! sent, due again later, or failed. What the rows mean (a Twilio message, a signed event) is
//! the sender's business; the store only keeps them.

use async_trait::async_trait;

use super::StoreError;

/// What a row carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxKind {
    /// A text message to the caller (Twilio's Messages API).
    Sms,
    /// A signed event to `LIZA_EVENTS_URL`.
    Event,
}

impl OutboxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Event => "event",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "sms" => Some(Self::Sms),
            "event" => Some(Self::Event),
            _ => None,
        }
    }
}

/// One row to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxWrite {
    pub call_id: i64,
    pub kind: OutboxKind,
    /// What it is, without personal data: a text's message id, an event's type.
    pub label: String,
    /// Unique: a second row with the same key is not queued.
    pub idempotency_key: String,
    /// What is sent (JSON), as the sender reads it.
    pub payload: String,
    pub now_ms: i64,
}

/// A row claimed for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: i64,
    pub call_id: Option<i64>,
    pub kind: OutboxKind,
    pub label: String,
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
    pub created_at: i64,
}

/// A row as the call page shows it (no payload: it may hold the caller's number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: i64,
    pub kind: String,
    pub label: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<i64>,
    pub created_at: i64,
}

/// The sender's side of the outbox, and the call page's.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Claims up to `limit` rows due at `now_ms` (pending, or an event whose claim lapsed):
    /// marks them `sending` until `lease_until` and counts the attempt. Two senders never
    /// claim one row (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one writer). A text whose
    /// claim lapsed (the sender stopped while sending it) is marked failed instead of being
    /// sent again: Twilio may have sent it, and a caller must never get a text twice.
    async fn claim_due(
        &self,
        now_ms: i64,
        limit: i64,
        lease_until: i64,
    ) -> Result<Vec<OutboxItem>, StoreError>;
    /// The row went out: `sent`, its payload dropped (it may hold the caller's number).
    async fn mark_sent(&self, id: i64, now_ms: i64) -> Result<(), StoreError>;
    /// The attempt failed and the row is due again at `next_attempt_at`.
    async fn mark_retry(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: i64,
    ) -> Result<(), StoreError>;
    /// The row is given up: `failed` with the reason, its payload dropped.
    async fn mark_failed(&self, id: i64, error: &str) -> Result<(), StoreError>;
    /// A call's rows, oldest first.
    async fn for_call(&self, call_id: i64) -> Result<Vec<OutboxEntry>, StoreError>;
    /// Rows not yet sent nor given up (pending or being sent), for `/metrics`.
    async fn pending(&self) -> Result<i64, StoreError>;
}

pub(crate) mod sql {
    /// `$1` call id, `$2` kind, `$3` label, `$4` key, `$5` payload, `$6` now.
    pub const ENQUEUE: &str = "INSERT INTO outbox (call_id, kind, label, idempotency_key, payload, status, attempts, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)
         ON CONFLICT (idempotency_key) DO NOTHING";

    const ITEM_COLUMNS: &str = "id, call_id, kind, label, payload, attempts, created_at";

    /// The claim, with `{lock}` the dialect's row lock. `$1` lease until, `$2` now, `$3` limit.
    /// The outer `status` test is checked again on a row another sender changed meanwhile.
    pub fn claim(lock: &str) -> String {
        format!(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = $1
             WHERE id IN (
                 SELECT id FROM outbox
                 WHERE status IN ('pending', 'sending') AND next_attempt_at <= $2
                     AND (status = 'pending' OR kind = 'event')
                 ORDER BY next_attempt_at, id LIMIT $3 {lock})
               AND next_attempt_at <= $2
               AND (status = 'pending' OR (status = 'sending' AND kind = 'event'))
             RETURNING {ITEM_COLUMNS}"
        )
    }

    /// Texts whose claim lapsed. `$1` now, `$2` reason.
    pub const FAIL_LAPSED_TEXTS: &str =
        "UPDATE outbox SET status = 'failed', last_error = $2, payload = '{}'
         WHERE status = 'sending' AND kind = 'sms' AND next_attempt_at <= $1";

    /// `$1` now, `$2` id.
    pub const MARK_SENT: &str =
        "UPDATE outbox SET status = 'sent', sent_at = $1, last_error = NULL, payload = '{}' WHERE id = $2";
    /// `$1` error, `$2` next attempt, `$3` id.
    pub const MARK_RETRY: &str =
        "UPDATE outbox SET status = 'pending', last_error = $1, next_attempt_at = $2 WHERE id = $3";
    /// `$1` error, `$2` id.
    pub const MARK_FAILED: &str =
        "UPDATE outbox SET status = 'failed', last_error = $1, payload = '{}' WHERE id = $2";

    /// `$1` call id.
    pub const FOR_CALL: &str =
        "SELECT id, kind, label, status, attempts, last_error, sent_at, created_at
         FROM outbox WHERE call_id = $1 ORDER BY id";

    /// Over the partial index `outbox_due`.
    /// A caller's erasure and the retention purge: the calls' texts and events, sent or not
    /// (a text waiting holds the number and its body). `{ids}`: the calls.
    pub const DELETE_FOR_CALLS: &str = "DELETE FROM outbox WHERE call_id IN ({ids})";

    pub const PENDING: &str = "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')";
}

#[async_trait]
impl Outbox for super::sql_admin::SqlAdmin {
    async fn claim_due(
        &self,
        now_ms: i64,
        limit: i64,
        lease_until: i64,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        use sqlx::Row;
        sqlx::query(sql::FAIL_LAPSED_TEXTS)
            .bind(now_ms)
            .bind("the server stopped while sending it; not sent again, so that the caller never gets it twice")
            .execute(&self.pool)
            .await?;
        let rows = sqlx::query(&sql::claim(self.dialect.claim_lock))
            .bind(lease_until)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let kind: String = row.try_get("kind")?;
            let Some(kind) = OutboxKind::parse(&kind) else {
                continue;
            };
            items.push(OutboxItem {
                id: row.try_get("id")?,
                call_id: row.try_get("call_id")?,
                kind,
                label: row.try_get("label")?,
                payload: row.try_get("payload")?,
                attempts: row.try_get("attempts")?,
                created_at: row.try_get("created_at")?,
            });
        }
        items.sort_by_key(|item| item.id);
        Ok(items)
    }

    async fn mark_sent(&self, id: i64, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query(sql::MARK_SENT)
            .bind(now_ms)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn mark_retry(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::MARK_RETRY)
            .bind(error)
            .bind(next_attempt_at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn mark_failed(&self, id: i64, error: &str) -> Result<(), StoreError> {
        sqlx::query(sql::MARK_FAILED)
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn for_call(&self, call_id: i64) -> Result<Vec<OutboxEntry>, StoreError> {
        use sqlx::Row;
        let rows = sqlx::query(sql::FOR_CALL)
            .bind(call_id)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(OutboxEntry {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                label: row.try_get("label")?,
                status: row.try_get("status")?,
                attempts: row.try_get("attempts")?,
                last_error: row.try_get("last_error")?,
                sent_at: row.try_get("sent_at")?,
                created_at: row.try_get("created_at")?,
            });
        }
        Ok(out)
    }

    async fn pending(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(sql::PENDING)
            .fetch_one(&self.pool)
            .await?)
    }
}
