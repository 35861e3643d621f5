//! The dashboard's queries ([`CallsAndRecords`], [`Statistics`], [`Accounts`]) for both
//! backends: one implementation over sqlx's `Any` pool, binding the shared statements of
//! [`super::admin::sql`]. What differs between SQLite and PostgreSQL (the planner refresh, how
//! a login reservation serialises) is data in [`Dialect`].

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Row};

use super::admin::{
    sql, Accounts, ApiTokenInfo, AuditEntry, Bind, CallDetail, CallFilter, CallProgress,
    CallSummary, CallsAndRecords, Change, DaySpan, DayStats, ListQuery, LiveCalls, LocalDays,
    LoginLimit, LoginReservation, Overview, PasswordSet, RecordFilter, RecordRef, RecordSummary,
    RecordingSummary, SessionInfo, SessionUser, Statistics, StatsBucket, StatsHour, Subject,
    TimelineStep, TopRecord, User, DAY_MS,
};
use super::dialect::Dialect;
use super::StoreError;
use liza_model::CallStatus;

/// The dashboard's side of a store: a pool of its own, beside the webhooks' writers.
#[derive(Clone)]
pub(crate) struct SqlAdmin {
    pub(crate) pool: AnyPool,
    pub(crate) dialect: &'static Dialect,
}

type Query<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

fn bind_all<'q>(mut query: Query<'q>, binds: &'q [Bind]) -> Query<'q> {
    for bind in binds {
        query = match bind {
            Bind::Int(v) => query.bind(*v),
            Bind::Text(v) => query.bind(v.as_str()),
        };
    }
    query
}

fn call_summary(row: &AnyRow) -> Result<CallSummary, sqlx::Error> {
    Ok(CallSummary {
        id: row.try_get("id")?,
        call_sid: row.try_get("call_sid")?,
        from_number: row.try_get("from_number")?,
        caller_masked: row.try_get("caller_masked")?,
        language: row.try_get("language")?,
        status: row.try_get("status")?,
        consent: row.try_get("consent")?,
        started_at: row.try_get("started_at")?,
        duration_secs: row.try_get("duration_secs")?,
        records: Vec::new(),
    })
}

fn record_summary(row: &AnyRow) -> Result<RecordSummary, sqlx::Error> {
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

/// A row of a records list ([`sql::RECORD_LIST_SELECT`]).
fn record_listed(row: &AnyRow) -> Result<RecordSummary, sqlx::Error> {
    Ok(RecordSummary {
        caller_number: row.try_get("caller_number")?,
        caller_masked: row.try_get("caller_masked")?,
        calls: Some(row.try_get("calls")?),
        ..record_summary(row)?
    })
}

fn api_token_info(row: &AnyRow) -> Result<ApiTokenInfo, sqlx::Error> {
    Ok(ApiTokenInfo {
        id: row.try_get("id")?,
        user_name: row.try_get("name")?,
        label: row.try_get("label")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

/// One local day's calls per local hour: counted per quarter of an hour since the day's start,
/// each quarter named by its local hour.
async fn day_hours<'e, E: sqlx::Executor<'e, Database = Any>>(
    executor: E,
    span: &DaySpan,
    hour_of: &(dyn Fn(i64) -> i64 + Send + Sync),
) -> Result<Vec<StatsHour>, sqlx::Error> {
    let rows = sqlx::query(sql::STATS_DAY_QUARTERS)
        .bind(span.start_ms)
        .bind(span.end_ms)
        .fetch_all(executor)
        .await?;
    let mut calls = [0i64; 24];
    for row in &rows {
        let quarter: i64 = row.try_get("quarter")?;
        let hour = hour_of(span.start_ms + quarter * 900_000).clamp(0, 23);
        calls[hour as usize] += row.try_get::<i64, _>("calls")?;
    }
    Ok((0..24)
        .filter(|&hour| calls[hour] > 0)
        .map(|hour| StatsHour {
            day: span.day,
            hour: hour as i64,
            calls: calls[hour],
        })
        .collect())
}

/// Writes an audit entry (inside a transaction, or on its own on the pool).
pub(crate) async fn audit<'e, E: sqlx::Executor<'e, Database = Any>>(
    executor: E,
    by: &str,
    subject: Subject,
    field: &str,
    old: Option<&str>,
    new: Option<&str>,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    let (kind, subject_id) = subject.parts();
    sqlx::query(sql::AUDIT_INSERT)
        .bind(by)
        .bind(kind)
        .bind(subject_id)
        .bind(field)
        .bind(old)
        .bind(new)
        .bind(now_ms)
        .execute(executor)
        .await?;
    Ok(())
}

impl SqlAdmin {
    /// Reads `column` of one row, updates it when it differs, audits the change; one transaction.
    async fn change_column(
        &self,
        subject: Subject,
        column: &str,
        new: &str,
        user: &str,
        now_ms: i64,
    ) -> Result<Change, StoreError> {
        let (table, id) = match subject {
            Subject::Call(id) => ("calls", id),
            Subject::Record(id) => ("records", id),
            // Users are changed by their own methods, never column by column.
            Subject::User(_) | Subject::Privacy | Subject::Export => return Ok(Change::NotFound),
        };
        let mut tx = self.pool.begin().await?;
        // A no-op write first takes SQLite's write lock, so the read below cannot go stale.
        let old: Option<String> = sqlx::query_scalar(&format!(
            "UPDATE {table} SET {column} = {column} WHERE id = $1 RETURNING {column}"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(old) = old else {
            return Ok(Change::NotFound);
        };
        if old == new {
            return Ok(Change::Unchanged);
        }
        sqlx::query(&format!(
            "UPDATE {table} SET {column} = $1, updated_at = $2 WHERE id = $3"
        ))
        .bind(new)
        .bind(now_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if let Subject::Call(call_id) = subject {
            sqlx::query(sql::STATS_FORGET_CALL_DAY)
                .bind(call_id)
                .execute(&mut *tx)
                .await?;
        }
        audit(
            &mut *tx,
            user,
            subject,
            column,
            Some(old.as_str()),
            Some(new),
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(Change::Changed { old })
    }
}

#[async_trait]
impl CallsAndRecords for SqlAdmin {
    async fn list_calls(&self, filter: &CallFilter) -> Result<Vec<CallSummary>, StoreError> {
        let (text, binds) = ListQuery::calls(filter);
        let rows = bind_all(sqlx::query(&text), &binds)
            .fetch_all(&self.pool)
            .await?;
        let mut calls: Vec<CallSummary> =
            rows.iter().map(call_summary).collect::<Result<_, _>>()?;
        if calls.is_empty() {
            return Ok(calls);
        }
        // The page's records in one more query (never one per call).
        let placeholders: Vec<String> = (1..=calls.len()).map(|n| format!("${n}")).collect();
        let text = format!(
            "{} ({}) ORDER BY rc.call_id, r.kind, r.key",
            sql::CALL_RECORDS_OF,
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&text);
        for call in &calls {
            query = query.bind(call.id);
        }
        for row in query.fetch_all(&self.pool).await? {
            let call_id: i64 = row.try_get("call_id")?;
            let record = RecordRef {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                key: row.try_get("key")?,
            };
            if let Some(call) = calls.iter_mut().find(|c| c.id == call_id) {
                call.records.push(record);
            }
        }
        Ok(calls)
    }

    async fn call(&self, id: i64) -> Result<Option<CallDetail>, StoreError> {
        let row = sqlx::query(sql::CALL_DETAIL)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(CallDetail {
            summary: call_summary(&row)?,
            to_number: row.try_get("to_number")?,
            consent_at: row.try_get("consent_at")?,
            ended_at: row.try_get("ended_at")?,
            flow_name: row.try_get("flow_name")?,
            flow_version: row.try_get("flow_version")?,
            consent_asked_at: row.try_get("consent_asked_at")?,
            consent_message: row.try_get("consent_message")?,
            consent_locale: row.try_get("consent_locale")?,
            consent_text: row.try_get("consent_text")?,
        }))
    }

    async fn call_progress(&self, id: i64) -> Result<Option<CallProgress>, StoreError> {
        let row = sqlx::query(sql::CALL_PROGRESS)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Some(CallProgress {
                status: row.try_get(0)?,
                turns: row.try_get(1)?,
                ended_at: row.try_get(2)?,
                duration_secs: row.try_get(3)?,
                started_at: row.try_get(4)?,
            }),
            None => None,
        })
    }

    async fn call_id_by_sid(&self, call_sid: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(sql::CALL_ID_BY_SID)
            .bind(call_sid)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn call_timeline(&self, call_id: i64) -> Result<Vec<TimelineStep>, StoreError> {
        let rows = sqlx::query(sql::CALL_TIMELINE)
            .bind(call_id)
            .fetch_all(&self.pool)
            .await?;
        let steps = rows
            .iter()
            .map(|row| {
                Ok(TimelineStep {
                    turn: row.try_get("turn")?,
                    node: row.try_get("node")?,
                    text: row.try_get("text")?,
                    digits: row.try_get("digits")?,
                    outcome: row.try_get("outcome")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(steps)
    }

    async fn call_records(&self, call_id: i64) -> Result<Vec<RecordSummary>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {} FROM records r JOIN record_calls rc ON rc.record_id = r.id
             WHERE rc.call_id = $1 ORDER BY r.id",
            sql::RECORD_COLUMNS
        ))
        .bind(call_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(record_summary).collect::<Result<_, _>>()?)
    }

    async fn call_recordings(&self, call_id: i64) -> Result<Vec<RecordingSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT recording_sid, url, status, duration_secs, created_at FROM recordings
             WHERE call_id = $1 ORDER BY id",
        )
        .bind(call_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(<RecordingSummary as sqlx::FromRow<'_, sqlx::any::AnyRow>>::from_row)
            .collect::<Result<_, _>>()?)
    }

    async fn list_records(&self, filter: &RecordFilter) -> Result<Vec<RecordSummary>, StoreError> {
        let (text, binds) = ListQuery::records(filter);
        let rows = bind_all(sqlx::query(&text), &binds)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(record_listed).collect::<Result<_, _>>()?)
    }

    async fn count_calls(&self, filter: &CallFilter) -> Result<i64, StoreError> {
        let (text, binds) = ListQuery::count_calls(filter);
        let row = bind_all(sqlx::query(&text), &binds)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }

    async fn count_records(&self, filter: &RecordFilter) -> Result<i64, StoreError> {
        let (text, binds) = ListQuery::count_records(filter);
        let row = bind_all(sqlx::query(&text), &binds)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }

    async fn audit_export(
        &self,
        by: &str,
        what: &str,
        filter: &str,
        note: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        audit(
            &self.pool,
            by,
            Subject::Export,
            what,
            Some(filter),
            Some(note),
            now_ms,
        )
        .await?;
        Ok(())
    }

    async fn record(&self, id: i64) -> Result<Option<RecordSummary>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {} FROM records r WHERE r.id = $1",
            sql::RECORD_COLUMNS
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(record_summary).transpose()?)
    }

    async fn record_calls(
        &self,
        record_id: i64,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<CallSummary>, StoreError> {
        let rows = sqlx::query(sql::RECORD_CALLS_PAGE)
            .bind(record_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(call_summary).collect::<Result<_, _>>()?)
    }

    async fn count_record_calls(&self, record_id: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(sql::COUNT_RECORD_CALLS)
            .bind(record_id)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn audit_log(&self, subject: Subject) -> Result<Vec<AuditEntry>, StoreError> {
        let (kind, id) = subject.parts();
        let rows = sqlx::query(sql::AUDIT_LOG)
            .bind(kind)
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        let entries = rows
            .iter()
            .map(|row| {
                Ok(AuditEntry {
                    user_name: row.try_get("user_name")?,
                    field: row.try_get("field")?,
                    old_value: row.try_get("old_value")?,
                    new_value: row.try_get("new_value")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(entries)
    }

    async fn set_call_status(
        &self,
        id: i64,
        status: CallStatus,
        user: &str,
        now_ms: i64,
    ) -> Result<Change, StoreError> {
        self.change_column(Subject::Call(id), "status", status.as_str(), user, now_ms)
            .await
    }

    async fn set_record_status(
        &self,
        id: i64,
        status: &str,
        user: &str,
        now_ms: i64,
    ) -> Result<Change, StoreError> {
        self.change_column(Subject::Record(id), "status", status, user, now_ms)
            .await
    }

    async fn set_record_notes(
        &self,
        id: i64,
        notes: &str,
        user: &str,
        now_ms: i64,
    ) -> Result<Change, StoreError> {
        self.change_column(Subject::Record(id), "notes", notes, user, now_ms)
            .await
    }
}

#[async_trait]
impl Statistics for SqlAdmin {
    async fn overview(&self, today_ms: i64, week_ms: i64) -> Result<Overview, StoreError> {
        let count = |text: &'static str| sqlx::query_scalar::<_, i64>(text);
        Ok(Overview {
            calls_today: count(sql::COUNT_CALLS_SINCE)
                .bind(today_ms)
                .fetch_one(&self.pool)
                .await?,
            calls_this_week: count(sql::COUNT_CALLS_SINCE)
                .bind(week_ms)
                .fetch_one(&self.pool)
                .await?,
            consent_given_this_week: count(sql::COUNT_CONSENT_SINCE)
                .bind("given")
                .bind(week_ms)
                .fetch_one(&self.pool)
                .await?,
            consent_refused_this_week: count(sql::COUNT_CONSENT_SINCE)
                .bind("refused")
                .bind(week_ms)
                .fetch_one(&self.pool)
                .await?,
            open_problems: count(sql::COUNT_PROBLEMS).fetch_one(&self.pool).await?,
        })
    }

    async fn problems_since(&self, since_ms: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(sql::COUNT_PROBLEMS_SINCE)
            .bind(since_ms)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn live_calls(&self) -> Result<LiveCalls, StoreError> {
        let row = sqlx::query(sql::LIVE_CALLS).fetch_one(&self.pool).await?;
        let in_progress: i64 = row.try_get(0)?;
        let sum: i64 = row.try_get(1)?;
        Ok(LiveCalls {
            in_progress,
            // The count beside the sum: a set that lost one call and gained another with the
            // same id sum is not the same size (and ids are never reused).
            signature: sum.wrapping_mul(31).wrapping_add(in_progress),
        })
    }

    async fn stats(&self, local: &LocalDays<'_>) -> Result<DayStats, StoreError> {
        let (Some(first), Some(last)) = (local.days.first(), local.days.last()) else {
            return Ok(DayStats::default());
        };
        // Yesterday and today still change (late status callbacks); older days do not.
        let live = local.days.len().saturating_sub(2);
        let (closed, live) = local.days.split_at(live);
        let live_from = live.first().map_or(last.day + 1, |d| d.day);
        let done: Vec<i64> = sqlx::query_scalar(sql::STATS_DAYS_DONE)
            .bind(local.zone)
            .bind(first.day)
            .bind(live_from)
            .fetch_all(&self.pool)
            .await?;
        let missing: Vec<&DaySpan> = closed.iter().filter(|d| !done.contains(&d.day)).collect();
        if !missing.is_empty() {
            let mut tx = self.pool.begin().await?;
            for span in missing {
                for drop in [sql::STATS_DROP_DAY, sql::STATS_DROP_DAY_HOURS] {
                    sqlx::query(drop)
                        .bind(local.zone)
                        .bind(span.day)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(sql::STATS_CLOSE_DAY)
                    .bind(span.start_ms)
                    .bind(span.end_ms)
                    .bind(span.day)
                    .bind(local.zone)
                    .execute(&mut *tx)
                    .await?;
                for hour in day_hours(&mut *tx, span, local.hour_of).await? {
                    sqlx::query(sql::STATS_KEEP_HOUR)
                        .bind(local.zone)
                        .bind(hour.day)
                        .bind(hour.hour)
                        .bind(hour.calls)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(sql::STATS_DAY_DONE)
                    .bind(local.zone)
                    .bind(span.day)
                    .bind(span.start_ms)
                    .bind(span.end_ms)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        let mut rows = sqlx::query(sql::STATS_CLOSED)
            .bind(local.zone)
            .bind(first.day)
            .bind(live_from)
            .fetch_all(&self.pool)
            .await?;
        let mut hours = sqlx::query(sql::STATS_CLOSED_HOURS)
            .bind(local.zone)
            .bind(first.day)
            .bind(live_from)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok(StatsHour {
                    day: row.try_get("day")?,
                    hour: row.try_get("hour")?,
                    calls: row.try_get("calls")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        for span in live {
            rows.extend(
                sqlx::query(sql::STATS_DAY)
                    .bind(span.start_ms)
                    .bind(span.end_ms)
                    .bind(span.day)
                    .fetch_all(&self.pool)
                    .await?,
            );
            let mut conn = self.pool.acquire().await?;
            hours.extend(day_hours(&mut *conn, span, local.hour_of).await?);
        }
        let optional = |text: String| (!text.is_empty()).then_some(text);
        let buckets = rows
            .iter()
            .map(|row| {
                Ok(StatsBucket {
                    day: row.try_get("day")?,
                    language: optional(row.try_get("language")?),
                    status: row.try_get("status")?,
                    consent: optional(row.try_get("consent")?),
                    calls: row.try_get("calls")?,
                    duration_secs_sum: row.try_get("duration_sum")?,
                    durations: row.try_get("durations")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(DayStats { buckets, hours })
    }

    async fn forget_day_sums(&self) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for forget in [
            sql::STATS_FORGET_DAYS_DONE,
            sql::STATS_FORGET_DAY_SUMS,
            sql::STATS_FORGET_HOUR_SUMS,
        ] {
            sqlx::query(forget).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn top_records(
        &self,
        kind: &str,
        since_ms: i64,
        limit: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(sql::TOP_RECORDS)
            .bind(since_ms)
            .bind(kind)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let top = rows
            .iter()
            .map(|row| Ok((row.try_get("key")?, row.try_get("calls")?)))
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(top)
    }

    async fn top_records_between(
        &self,
        kind: &str,
        since_ms: i64,
        until_ms: i64,
        limit: i64,
    ) -> Result<Vec<TopRecord>, StoreError> {
        let rows = sqlx::query(sql::TOP_RECORDS_BETWEEN)
            .bind(since_ms)
            .bind(kind)
            .bind(limit)
            .bind(until_ms)
            .fetch_all(&self.pool)
            .await?;
        let top = rows
            .iter()
            .map(|row| {
                Ok(TopRecord {
                    id: row.try_get("id")?,
                    key: row.try_get("key")?,
                    calls: row.try_get("calls")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(top)
    }

    async fn oldest_call_start(&self) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(sql::OLDEST_CALL)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn refresh_planner_stats(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        for statement in self.dialect.planner {
            sqlx::query(statement).execute(&mut *conn).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Accounts for SqlAdmin {
    async fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(sql::USER_BY_NAME)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(User {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            password_hash: row.try_get("password_hash")?,
        }))
    }

    async fn upsert_user(
        &self,
        name: &str,
        password_hash: &str,
        by: &str,
        now_ms: i64,
    ) -> Result<PasswordSet, StoreError> {
        let mut tx = self.pool.begin().await?;
        let changed: Option<i64> = sqlx::query_scalar(sql::CHANGE_PASSWORD)
            .bind(name)
            .bind(password_hash)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(user_id) = changed else {
            sqlx::query(sql::CREATE_USER)
                .bind(name)
                .bind(password_hash)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(PasswordSet::Created);
        };
        // Whoever knew the old password may hold a session or a token: end them all.
        let sessions_ended = sqlx::query(sql::END_ALL_SESSIONS)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let tokens_revoked = sqlx::query(sql::REVOKE_USER_API_TOKENS)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let note = format!(
            "changed; {sessions_ended} session(s) ended, {tokens_revoked} API token(s) revoked"
        );
        audit(
            &mut *tx,
            by,
            Subject::User(user_id),
            "password",
            None,
            Some(&note),
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(PasswordSet::Changed {
            sessions_ended,
            tokens_revoked,
        })
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf_token: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::DELETE_EXPIRED_SESSIONS)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        sqlx::query(sql::CREATE_SESSION)
            .bind(token_hash)
            .bind(user_id)
            .bind(csrf_token)
            .bind(now_ms)
            .bind(expires_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn session(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<SessionUser>, StoreError> {
        let row = sqlx::query(sql::SESSION)
            .bind(token_hash)
            .bind(now_ms)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SessionUser {
            session_id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            user_name: row.try_get("name")?,
            csrf_token: row.try_get("csrf_token")?,
        }))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query(sql::DELETE_SESSION)
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn list_sessions(
        &self,
        user_id: i64,
        now_ms: i64,
    ) -> Result<Vec<SessionInfo>, StoreError> {
        let rows = sqlx::query(sql::LIST_SESSIONS)
            .bind(user_id)
            .bind(now_ms)
            .fetch_all(&self.pool)
            .await?;
        let sessions = rows
            .iter()
            .map(|row| {
                Ok(SessionInfo {
                    id: row.try_get("id")?,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(sessions)
    }

    async fn end_session(
        &self,
        user_id: i64,
        session_id: i64,
        by: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let ended: Option<i64> = sqlx::query_scalar(sql::END_SESSION)
            .bind(session_id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
        if ended.is_none() {
            return Ok(false);
        }
        let what = format!("#{session_id}");
        audit(
            &mut *tx,
            by,
            Subject::User(user_id),
            "session",
            Some(&what),
            Some("ended"),
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn end_all_sessions(
        &self,
        user_id: i64,
        by: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let ended = sqlx::query(sql::END_ALL_SESSIONS)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let what = format!("{ended} open");
        audit(
            &mut *tx,
            by,
            Subject::User(user_id),
            "sessions",
            Some(&what),
            Some("ended"),
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(ended)
    }

    async fn create_api_token(
        &self,
        token_hash: &str,
        user_id: i64,
        label: &str,
        now_ms: i64,
        expires_ms: Option<i64>,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(sql::CREATE_API_TOKEN)
            .bind(token_hash)
            .bind(user_id)
            .bind(label)
            .bind(now_ms)
            .bind(expires_ms)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn api_token_user(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(sql::API_TOKEN_USER)
            .bind(token_hash)
            .bind(now_ms)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let last_used: Option<i64> = row.try_get("last_used_at")?;
        if last_used.is_none_or(|at| now_ms - at >= 60_000) {
            sqlx::query(sql::API_TOKEN_USED)
                .bind(now_ms)
                .bind(row.try_get::<i64, _>("id")?)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(row.try_get("name")?))
    }

    async fn list_api_tokens(&self, user_id: Option<i64>) -> Result<Vec<ApiTokenInfo>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {} FROM api_tokens t JOIN users u ON u.id = t.user_id
             WHERE $1 IS NULL OR t.user_id = $1 ORDER BY t.id",
            sql::API_TOKEN_COLUMNS
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(api_token_info).collect::<Result<_, _>>()?)
    }

    async fn revoke_api_token(
        &self,
        id: i64,
        owner: Option<i64>,
        by: &str,
        now_ms: i64,
    ) -> Result<Option<ApiTokenInfo>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(sql::REVOKE_API_TOKEN)
            .bind(id)
            .bind(owner)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let token = api_token_info(&row)?;
        let user_id: i64 = row.try_get("user_id")?;
        let what = format!("#{} {}", token.id, token.label);
        audit(
            &mut *tx,
            by,
            Subject::User(user_id),
            "api_token",
            Some(&what),
            Some("revoked"),
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(token))
    }

    async fn reserve_login_attempt(
        &self,
        limits: &[LoginLimit<'_>],
        since_ms: i64,
        now_ms: i64,
    ) -> Result<LoginReservation, StoreError> {
        let mut tx = self.pool.begin().await?;
        for statement in self.dialect.lock_logins {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        sqlx::query(sql::FORGET_OLD_LOGIN_FAILURES)
            .bind(now_ms - DAY_MS)
            .execute(&mut *tx)
            .await?;
        let mut counts = Vec::with_capacity(limits.len());
        for (index, limit) in limits.iter().enumerate() {
            let count: i64 = sqlx::query_scalar(sql::LOGIN_FAILURES_SINCE)
                .bind(limit.key)
                .bind(since_ms)
                .fetch_one(&mut *tx)
                .await?;
            if limit.max.is_some_and(|max| count >= max) {
                tx.commit().await?;
                return Ok(LoginReservation::Refused { index });
            }
            counts.push(count);
        }
        let mut ids = Vec::with_capacity(limits.len());
        for limit in limits {
            ids.push(
                sqlx::query_scalar(sql::LOGIN_ATTEMPT)
                    .bind(limit.key)
                    .bind(now_ms)
                    .fetch_one(&mut *tx)
                    .await?,
            );
        }
        tx.commit().await?;
        Ok(LoginReservation::Reserved { ids, counts })
    }

    async fn release_login_attempt(&self, ids: &[i64]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for id in ids {
            sqlx::query(sql::RELEASE_LOGIN_ATTEMPT)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query(sql::CLEAR_LOGIN_FAILURES)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
