//! [`Privacy`] for both backends, on the dashboard's pool with the statements of
//! [`super::privacy::sql`]. Every transaction that writes starts with a write, so SQLite's
//! write lock is taken at once (a read first could not be upgraded once a webhook wrote), and
//! PostgreSQL locks the calls' rows before their steps are touched.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Any, Row};

use super::admin::sql::AUDIT_INSERT;
use super::admin::Subject;
use super::privacy::{
    id_list, sql, Anonymised, BackfillRow, BackfillWrite, Backfilled, Erasure, ExportedAudit,
    ExportedCall, ExportedLink, ExportedRecord, ExportedResponse, ExportedStep, Person,
    PersonalData, Privacy, PurgeRun, LIVE_CALL_MS,
};
use super::sql_admin::SqlAdmin;
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
    let calls = change_for(tx, sql::ANONYMISE_CALLS, ids).await?;
    Ok(Anonymised {
        calls,
        steps,
        responses,
        record_links,
        records_unlinked,
    })
}

fn exported_call(row: &AnyRow) -> Result<ExportedCall, sqlx::Error> {
    Ok(ExportedCall {
        id: row.try_get("id")?,
        call_sid: row.try_get("call_sid")?,
        from_number: row.try_get("from_number")?,
        caller_hash: row.try_get("caller_hash")?,
        caller_masked: row.try_get("caller_masked")?,
        to_number: row.try_get("to_number")?,
        language: row.try_get("language")?,
        status: row.try_get("status")?,
        consent: row.try_get("consent")?,
        consent_at: row.try_get("consent_at")?,
        consent_asked_at: row.try_get("consent_asked_at")?,
        consent_message: row.try_get("consent_message")?,
        consent_locale: row.try_get("consent_locale")?,
        consent_text: row.try_get("consent_text")?,
        started_at: row.try_get("started_at")?,
        ended_at: row.try_get("ended_at")?,
        duration_secs: row.try_get("duration_secs")?,
        flow_name: row.try_get("flow_name")?,
        flow_version: row.try_get("flow_version")?,
        state: row.try_get("state")?,
        turn: row.try_get("turn")?,
        updated_at: row.try_get("updated_at")?,
        purged_at: row.try_get("purged_at")?,
    })
}

fn exported_step(row: &AnyRow) -> Result<ExportedStep, sqlx::Error> {
    Ok(ExportedStep {
        id: row.try_get("id")?,
        call_id: row.try_get("call_id")?,
        turn: row.try_get("turn")?,
        position: row.try_get("position")?,
        node: row.try_get("node")?,
        message_ids: row.try_get("message_ids")?,
        text: row.try_get("text")?,
        digits: row.try_get("digits")?,
        outcome: row.try_get("outcome")?,
        created_at: row.try_get("created_at")?,
    })
}

fn exported_response(row: &AnyRow) -> Result<ExportedResponse, sqlx::Error> {
    Ok(ExportedResponse {
        call_id: row.try_get("call_id")?,
        turn: row.try_get("turn")?,
        twiml: row.try_get("twiml")?,
        created_at: row.try_get("created_at")?,
    })
}

fn exported_record(row: &AnyRow) -> Result<ExportedRecord, sqlx::Error> {
    Ok(ExportedRecord {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        key: row.try_get("key")?,
        status: row.try_get("status")?,
        notes: row.try_get("notes")?,
        call_id: row.try_get("call_id")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn exported_link(row: &AnyRow) -> Result<ExportedLink, sqlx::Error> {
    Ok(ExportedLink {
        record_id: row.try_get("record_id")?,
        call_id: row.try_get("call_id")?,
        created_at: row.try_get("created_at")?,
    })
}

fn exported_audit(row: &AnyRow) -> Result<ExportedAudit, sqlx::Error> {
    Ok(ExportedAudit {
        id: row.try_get("id")?,
        user_name: row.try_get("user_name")?,
        subject_kind: row.try_get("subject_kind")?,
        subject_id: row.try_get("subject_id")?,
        field: row.try_get("field")?,
        old_value: row.try_get("old_value")?,
        new_value: row.try_get("new_value")?,
        created_at: row.try_get("created_at")?,
    })
}

fn map<T>(
    rows: &[AnyRow],
    read: fn(&AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Vec<T>, StoreError> {
    Ok(rows.iter().map(read).collect::<Result<_, _>>()?)
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
        let calls = map(&calls, exported_call)?;
        if calls.is_empty() {
            tx.commit().await?;
            return Ok(PersonalData::default());
        }
        let ids: Vec<i64> = calls.iter().map(|c| c.id).collect();
        let steps = map(
            &rows_for(&mut tx, sql::EXPORT_STEPS, &ids).await?,
            exported_step,
        )?;
        let responses = map(
            &rows_for(&mut tx, sql::EXPORT_RESPONSES, &ids).await?,
            exported_response,
        )?;
        let record_calls = map(
            &rows_for(&mut tx, sql::EXPORT_LINKS, &ids).await?,
            exported_link,
        )?;
        let mut records = map(
            &rows_for(&mut tx, sql::EXPORT_RECORDS, &ids).await?,
            exported_record,
        )?;
        // A record may come up in two chunks.
        records.sort_by_key(|r| r.id);
        records.dedup_by_key(|r| r.id);
        let audit_log = map(
            &rows_for(&mut tx, sql::EXPORT_AUDIT, &ids).await?,
            exported_audit,
        )?;
        tx.commit().await?;
        Ok(PersonalData {
            calls,
            steps,
            responses,
            records,
            record_calls,
            audit_log,
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
        sqlx::query(AUDIT_INSERT)
            .bind(by)
            .bind(Subject::Privacy.parts().0)
            .bind(Subject::Privacy.parts().1)
            .bind("erase")
            .bind(subject)
            .bind(note)
            .bind(now_ms)
            .execute(&mut *tx)
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
        sqlx::query(AUDIT_INSERT)
            .bind(by)
            .bind(Subject::Privacy.parts().0)
            .bind(Subject::Privacy.parts().1)
            .bind(action)
            .bind(subject)
            .bind(note)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
