//! Records written from outside: the shop's system creates and updates records by kind and key
//! (`PUT /api/records/{kind}/{key}`, bulk imports, `liza records import`), with a bearer token
//! of scope `records`. Every change is audited (who, field, old → new). One implementation for
//! both backends over the admin pool (`sql_admin.rs`'s [`SqlAdmin`]).

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::Row;

use super::admin::{RecordSummary, Subject};
use super::sql_admin::{audit, SqlAdmin};
use super::StoreError;

/// The scope of an API token: what it may do.
pub mod scope {
    /// The dashboard's JSON API (`/api/calls`, `/api/records/…/status`, `/api/privacy`).
    pub const DASHBOARD: &str = "dashboard";
    /// The records API only (`PUT`/`GET /api/records/{kind}/{key}`, imports).
    pub const RECORDS: &str = "records";
    pub const ALL: [&str; 2] = [DASHBOARD, RECORDS];
}

/// A token in use: its user and scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUse {
    pub user: String,
    pub scope: String,
}

/// A record as the shop's system writes it; `None` leaves a field as it is (a new record gets
/// the kind's initial status and no notes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordWrite {
    pub key: String,
    pub status: Option<String>,
    pub notes: Option<String>,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Created,
    Updated,
    Unchanged,
}

/// Counts of an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
}

#[async_trait]
pub trait RecordsApi: Send + Sync {
    /// The user and scope of an API token, unless it is unknown or expired (notes its use, at
    /// most once a minute).
    async fn api_token_use(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<TokenUse>, StoreError>;
    /// Gives a token a scope (`scope::ALL`).
    async fn set_api_token_scope(&self, id: i64, scope: &str) -> Result<(), StoreError>;
    /// The record of `kind` with `key`.
    async fn record_by_key(
        &self,
        kind: &str,
        key: &str,
    ) -> Result<Option<RecordSummary>, StoreError>;
    /// Creates (with `initial` unless a status is given) or updates one record, auditing
    /// every field that changed under `by`; one transaction.
    async fn put_record(
        &self,
        kind: &str,
        initial: &str,
        write: &RecordWrite,
        by: &str,
        now_ms: i64,
    ) -> Result<(Written, RecordSummary), StoreError>;
    /// Writes a batch of records of one kind as [`Self::put_record`] does, in one transaction
    /// (a later write of the same key in the batch wins).
    async fn import_records(
        &self,
        kind: &str,
        initial: &str,
        writes: &[RecordWrite],
        by: &str,
        now_ms: i64,
    ) -> Result<ImportCounts, StoreError>;
}

const RECORD_COLUMNS: &str = "id, kind, key, status, notes, call_id, created_at, updated_at";

fn summary(row: &sqlx::any::AnyRow) -> Result<RecordSummary, sqlx::Error> {
    Ok(RecordSummary {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        key: row.try_get("key")?,
        status: row.try_get("status")?,
        notes: row.try_get("notes")?,
        call_id: row.try_get("call_id")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        caller_number: None,
        caller_masked: None,
        calls: None,
    })
}

/// One write inside a transaction.
async fn write_one(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    kind: &str,
    initial: &str,
    write: &RecordWrite,
    by: &str,
    now_ms: i64,
) -> Result<(Written, RecordSummary), sqlx::Error> {
    // A no-op write first takes SQLite's write lock, so the read cannot go stale.
    let existing = sqlx::query(&format!(
        "UPDATE records SET status = status WHERE kind = $1 AND key = $2 RETURNING {RECORD_COLUMNS}"
    ))
    .bind(kind)
    .bind(write.key.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = existing else {
        let status = write.status.as_deref().unwrap_or(initial);
        let notes = write.notes.as_deref().unwrap_or("");
        let row = sqlx::query(&format!(
            "INSERT INTO records (kind, key, status, notes, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING {RECORD_COLUMNS}"
        ))
        .bind(kind)
        .bind(write.key.as_str())
        .bind(status)
        .bind(notes)
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?;
        let record = summary(&row)?;
        let subject = Subject::Record(record.id);
        audit(&mut **tx, by, subject, "status", None, Some(status), now_ms).await?;
        if !notes.is_empty() {
            audit(&mut **tx, by, subject, "notes", None, Some(notes), now_ms).await?;
        }
        return Ok((Written::Created, record));
    };
    let mut record = summary(&row)?;
    let subject = Subject::Record(record.id);
    let mut changed = false;
    if let Some(status) = write.status.as_deref().filter(|s| *s != record.status) {
        audit(
            &mut **tx,
            by,
            subject,
            "status",
            Some(&record.status),
            Some(status),
            now_ms,
        )
        .await?;
        record.status = status.to_owned();
        changed = true;
    }
    if let Some(notes) = write.notes.as_deref().filter(|n| *n != record.notes) {
        audit(
            &mut **tx,
            by,
            subject,
            "notes",
            Some(&record.notes),
            Some(notes),
            now_ms,
        )
        .await?;
        record.notes = notes.to_owned();
        changed = true;
    }
    if !changed {
        return Ok((Written::Unchanged, record));
    }
    sqlx::query("UPDATE records SET status = $1, notes = $2, updated_at = $3 WHERE id = $4")
        .bind(record.status.as_str())
        .bind(record.notes.as_str())
        .bind(now_ms)
        .bind(record.id)
        .execute(&mut **tx)
        .await?;
    record.updated_at = now_ms;
    Ok((Written::Updated, record))
}

#[async_trait]
impl RecordsApi for SqlAdmin {
    async fn api_token_use(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<TokenUse>, StoreError> {
        let row = sqlx::query(
            "SELECT t.id, u.name, t.last_used_at, t.scope FROM api_tokens t
             JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = $1 AND (t.expires_at IS NULL OR t.expires_at > $2)",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let last_used: Option<i64> = row.try_get("last_used_at")?;
        if last_used.is_none_or(|at| now_ms - at >= 60_000) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now_ms)
                .bind(row.try_get::<i64, _>("id")?)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(TokenUse {
            user: row.try_get("name")?,
            scope: row.try_get("scope")?,
        }))
    }

    async fn set_api_token_scope(&self, id: i64, scope: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_tokens SET scope = $1 WHERE id = $2")
            .bind(scope)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn record_by_key(
        &self,
        kind: &str,
        key: &str,
    ) -> Result<Option<RecordSummary>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {RECORD_COLUMNS} FROM records WHERE kind = $1 AND key = $2"
        ))
        .bind(kind)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| summary(&r)).transpose()?)
    }

    async fn put_record(
        &self,
        kind: &str,
        initial: &str,
        write: &RecordWrite,
        by: &str,
        now_ms: i64,
    ) -> Result<(Written, RecordSummary), StoreError> {
        let mut tx = self.pool.begin().await?;
        let written = write_one(&mut tx, kind, initial, write, by, now_ms).await?;
        tx.commit().await?;
        Ok(written)
    }

    async fn import_records(
        &self,
        kind: &str,
        initial: &str,
        writes: &[RecordWrite],
        by: &str,
        now_ms: i64,
    ) -> Result<ImportCounts, StoreError> {
        let mut counts = ImportCounts::default();
        let mut tx = self.pool.begin().await?;
        // Within a batch a key's last write wins: earlier ones are folded into it.
        let mut last: HashMap<&str, usize> = HashMap::new();
        for (i, write) in writes.iter().enumerate() {
            last.insert(write.key.as_str(), i);
        }
        for (i, write) in writes.iter().enumerate() {
            if last.get(write.key.as_str()) != Some(&i) {
                counts.unchanged += 1;
                continue;
            }
            match write_one(&mut tx, kind, initial, write, by, now_ms)
                .await?
                .0
            {
                Written::Created => counts.created += 1,
                Written::Updated => counts.updated += 1,
                Written::Unchanged => counts.unchanged += 1,
            }
        }
        tx.commit().await?;
        Ok(counts)
    }
}
