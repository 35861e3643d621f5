//! [`Privacy`] for both backends, on the dashboard's pool with the statements of
//! [`super::privacy::sql`]. Every transaction that writes starts with a write, so SQLite's
//! write lock is taken at once (a read first could not be upgraded once a webhook wrote), and
//! PostgreSQL locks the calls' rows before their steps are touched.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Any, Row};

use super::admin::Subject;
use super::privacy::{
    id_list, sql, Anonymised, BackfillRow, BackfillWrite, Backfilled, Erasure, ExportedCall,
    ExportedRecord, Person, PersonalData, Privacy, PurgeRun, LIVE_CALL_MS,
};
use super::sql_admin::{audit, SqlAdmin};
use super::StoreError;

type Tx<'a> = sqlx::Transaction<'a, Any>;

/// Runs `template` for every chunk of `ids`; the rows each returns, in order.
async fn rows_for(tx: &mut Tx<'_>, template: &str, ids: &[i64]) -> Result<Vec<AnyRow>, StoreError> {
    let mut rows = Vec::new();
    for chunk in ids.chunks(sql::IDS_PER_STATEMENT) {
        let text = template.replace("{ids}", &id_list(chunk));
        rows.extend(sqlx::query(&text).fetch_all(&mut **tx).await?);
    }
    Ok(rows)
}

/// Runs `template` for every chunk of `ids`; the rows it changed.
async fn change_for(tx: &mut Tx<'_>, template: &str, ids: &[i64]) -> Result<u64, StoreError> {
    let mut changed = 0;
    for chunk in ids.chunks(sql::IDS_PER_STATEMENT) {
        let text = template.replace("{ids}", &id_list(chunk));
        changed += sqlx::query(&text).execute(&mut **tx).await?.rows_affected();
    }
    Ok(changed)
}

/// Makes the calls `ids` (picked and marked already) anonymous inside `tx`.
async fn anonymise(tx: &mut Tx<'_>, ids: &[i64]) -> Result<Anonymised, StoreError> {
    let steps = change_for(tx, sql::CLEAR_STEPS, ids).await?;
    let responses = change_for(tx, sql::DELETE_RESPONSES, ids).await?;
    let record_links = change_for(tx, sql::DELETE_LINKS, ids).await?;
    let records_unlinked = change_for(tx, sql::UNLINK_RECORDS, ids).await?;
    change_for(tx, crate::outbox::sql::DELETE_FOR_CALLS, ids).await?;
    let recordings = change_for(tx, sql::DELETE_RECORDINGS, ids).await?;
    let calls = change_for(tx, sql::ANONYMISE_CALLS, ids).await?;
    Ok(Anonymised {
        calls,
        steps,
        responses,
        record_links,
        records_unlinked,
        recordings,
    })
}

/// The rows as `T`, read column by column by name (`sqlx::FromRow`).
fn map<T: for<'r> sqlx::FromRow<'r, AnyRow>>(rows: &[AnyRow]) -> Result<Vec<T>, StoreError> {
    Ok(rows.iter().map(T::from_row).collect::<Result<_, _>>()?)
}

/// A person without a number or a hash would match every anonymous call.
fn check(person: &Person<'_>) -> Result<(), StoreError> {
    if person.caller_hash.trim().is_empty() || person.number.trim().is_empty() {
        return Err(StoreError::Bug(
            "a person is found by their caller hash and number; one was empty".into(),
        ));
    }
    Ok(())
}

#[async_trait]
impl Privacy for SqlAdmin {
    async fn export_person(&self, person: &Person<'_>) -> Result<PersonalData, StoreError> {
        check(person)?;
        let mut tx = self.pool.begin().await?;
        let calls = sqlx::query(sql::EXPORT_CALLS)
            .bind(person.caller_hash)
            .bind(person.number)
            .fetch_all(&mut *tx)
            .await?;
        let calls: Vec<ExportedCall> = map(&calls)?;
        if calls.is_empty() {
            tx.commit().await?;
            return Ok(PersonalData::default());
        }
        let ids: Vec<i64> = calls.iter().map(|c| c.id).collect();
        let steps = map(&rows_for(&mut tx, sql::EXPORT_STEPS, &ids).await?)?;
        let responses = map(&rows_for(&mut tx, sql::EXPORT_RESPONSES, &ids).await?)?;
        let record_calls = map(&rows_for(&mut tx, sql::EXPORT_LINKS, &ids).await?)?;
        let mut records: Vec<ExportedRecord> =
            map(&rows_for(&mut tx, sql::EXPORT_RECORDS, &ids).await?)?;
        // A record may come up in two chunks.
        records.sort_by_key(|r| r.id);
        records.dedup_by_key(|r| r.id);
        let recordings = map(&rows_for(&mut tx, sql::EXPORT_RECORDINGS, &ids).await?)?;
        let audit_log = map(&rows_for(&mut tx, sql::EXPORT_AUDIT, &ids).await?)?;
        let outbox = map(&rows_for(&mut tx, sql::EXPORT_OUTBOX, &ids).await?)?;
        tx.commit().await?;
        Ok(PersonalData {
            calls,
            steps,
            responses,
            records,
            record_calls,
            recordings,
            audit_log,
            outbox,
        })
    }

    async fn erase_person(
        &self,
        person: &Person<'_>,
        by: &str,
        subject: &str,
        now_ms: i64,
    ) -> Result<Erasure, StoreError> {
        check(person)?;
        let mut tx = self.pool.begin().await?;
        let ids: Vec<i64> = sqlx::query_scalar(sql::ERASE_PICK)
            .bind(person.caller_hash)
            .bind(person.number)
            .bind(now_ms)
            .bind(now_ms - LIVE_CALL_MS)
            .fetch_all(&mut *tx)
            .await?;
        let erased = anonymise(&mut tx, &ids).await?;
        for chunk in ids.chunks(sql::IDS_PER_STATEMENT) {
            let text = sql::AUDIT_ERASED_CALLS.replace("{ids}", &id_list(chunk));
            sqlx::query(&text)
                .bind(by)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
        }
        let live_calls: Vec<String> = sqlx::query_scalar(sql::LIVE_LEFT)
            .bind(person.caller_hash)
            .bind(person.number)
            .fetch_all(&mut *tx)
            .await?;
        let mut note = erased.to_string();
        if !live_calls.is_empty() {
            note.push_str(&format!(
                "; {} call(s) in progress left: {}",
                live_calls.len(),
                live_calls.join(", ")
            ));
        }
        audit(
            &mut *tx,
            by,
            Subject::Privacy,
            "erase",
            Some(subject),
            Some(&note),
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(Erasure { erased, live_calls })
    }

    async fn purge_batch(
        &self,
        older_than_ms: i64,
        limit: i64,
        now_ms: i64,
    ) -> Result<Anonymised, StoreError> {
        let mut tx = self.pool.begin().await?;
        let ids: Vec<i64> = sqlx::query_scalar(sql::PURGE_PICK)
            .bind(older_than_ms)
            .bind(now_ms)
            .bind(limit)
            .bind(now_ms - LIVE_CALL_MS)
            .fetch_all(&mut *tx)
            .await?;
        if ids.is_empty() {
            tx.commit().await?;
            return Ok(Anonymised::default());
        }
        let done = anonymise(&mut tx, &ids).await?;
        tx.commit().await?;
        Ok(done)
    }

    async fn start_purge_run(&self, retention_days: u32, now_ms: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(sql::START_PURGE_RUN)
            .bind(now_ms)
            .bind(i64::from(retention_days))
            .fetch_one(&self.pool)
            .await?)
    }

    async fn update_purge_run(
        &self,
        id: i64,
        calls_purged: u64,
        finished_at: Option<i64>,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::UPDATE_PURGE_RUN)
            .bind(i64::try_from(calls_purged).unwrap_or(i64::MAX))
            .bind(finished_at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn last_purge_run(&self) -> Result<Option<PurgeRun>, StoreError> {
        let row = sqlx::query(sql::LAST_PURGE_RUN)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(PurgeRun {
            id: row.try_get("id")?,
            started_at: row.try_get("started_at")?,
            finished_at: row.try_get("finished_at")?,
            retention_days: row.try_get("retention_days")?,
            calls_purged: row.try_get("calls_purged")?,
        }))
    }

    async fn calls_to_backfill(
        &self,
        after_id: i64,
        limit: i64,
        now_ms: i64,
    ) -> Result<Vec<BackfillRow>, StoreError> {
        let rows = sqlx::query(sql::TO_BACKFILL)
            .bind(after_id)
            .bind(limit)
            .bind(now_ms - LIVE_CALL_MS)
            .fetch_all(&self.pool)
            .await?;
        let rows = rows
            .iter()
            .map(|row| {
                Ok(BackfillRow {
                    id: row.try_get("id")?,
                    from_number: row.try_get("from_number")?,
                    consent: row.try_get("consent")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(rows)
    }

    async fn backfill(&self, rows: &[BackfillWrite]) -> Result<Backfilled, StoreError> {
        let mut done = Backfilled::default();
        if rows.is_empty() {
            return Ok(done);
        }
        let mut tx = self.pool.begin().await?;
        for row in rows {
            // The consent as the call has it now, read by the write that locks the row.
            let consent: Option<Option<String>> = sqlx::query_scalar(sql::BACKFILL_HASH)
                .bind(&row.caller_hash)
                .bind(&row.caller_masked)
                .bind(row.id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(consent) = consent else { continue };
            done.hashed += 1;
            if consent.as_deref() != Some("given") {
                for statement in [sql::BACKFILL_MINIMISE_CALL, sql::BACKFILL_MINIMISE_STEPS] {
                    sqlx::query(statement)
                        .bind(row.id)
                        .execute(&mut *tx)
                        .await?;
                }
                done.minimised += 1;
            }
        }
        tx.commit().await?;
        Ok(done)
    }

    async fn audit_privacy(
        &self,
        by: &str,
        action: &str,
        subject: &str,
        note: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        audit(
            &self.pool,
            by,
            Subject::Privacy,
            action,
            Some(subject),
            Some(note),
            now_ms,
        )
        .await?;
        Ok(())
    }
}
