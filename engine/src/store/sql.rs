//! The SQL both backends run, written once.
//!
//! Every statement uses `$n` placeholders, `ON CONFLICT`, `RETURNING` and epoch-millisecond
//! BIGINT times, which SQLite and PostgreSQL read alike. `sql_store!` implements [`Store`] and
//! [`StoreTx`] for a backend's store type (which owns a `pool`) over its sqlx `Database`; the
//! backend modules only open the pool and choose the migrations. A macro rather than generic
//! functions because sqlx's executor bounds (`for<'c> &'c mut DB::Connection: Executor<'c>`, one
//! `Encode`/`Type` bound per bound type) would be longer than the SQL they carry.
//!
//! The module invoking the macro must import the store's types and define `MIGRATOR`.
//!
//! [`Store`]: super::Store
//! [`StoreTx`]: super::StoreTx

/// Implements `Store` for `$store` (a struct with a `pool: sqlx::Pool<$db>`) and defines `$tx`.
macro_rules! sql_store {
    // `with_admin`: the backend also implements `AdminStore` (the dashboard's queries).
    ($store:ident, $tx:ident, $db:ty $(, $with_admin:ident)?) => {
        #[async_trait]
        impl $crate::store::Store for $store {
            async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError> {
                Ok(Box::new($tx {
                    tx: self.pool.begin().await?,
                }))
            }

            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn migrate(&self) -> Result<(), StoreError> {
                MIGRATOR.run(&self.pool).await?;
                Ok(())
            }

            async fn register_flow_version(
                &self,
                name: &str,
                version: &str,
                now_ms: i64,
            ) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO flow_versions (version, name, loaded_at) VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING")
                    .bind(version)
                    .bind(name)
                    .bind(now_ms)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn close(&self) {
                self.before_close().await;
                self.pool.close().await;
            }

            $(
                fn admin(&self) -> Option<std::sync::Arc<dyn $crate::store::admin::AdminStore>> {
                    let _ = stringify!($with_admin);
                    Some(std::sync::Arc::new(self.clone()))
                }
            )?
        }

        pub struct $tx {
            tx: sqlx::Transaction<'static, $db>,
        }

        const CALL_COLUMNS: &str = "id, call_sid, status, flow_name, flow_version, state, turn";

        fn call_row(row: &<$db as sqlx::Database>::Row) -> Result<CallRow, StoreError> {
            let state: Option<String> = row.try_get("state")?;
            let status: String = row.try_get("status")?;
            Ok(CallRow {
                id: row.try_get("id")?,
                call_sid: row.try_get("call_sid")?,
                status: CallStatus::parse(&status).unwrap_or(CallStatus::Problem),
                flow_name: row.try_get("flow_name")?,
                flow_version: row.try_get("flow_version")?,
                state: state.map(|s| serde_json::from_str(&s)).transpose()?,
                turn: row.try_get("turn")?,
            })
        }

        #[async_trait]
        impl $crate::store::StoreTx for $tx {
            async fn open_call(&mut self, new: &NewCall<'_>) -> Result<CallRow, StoreError> {
                // The upsert takes the write lock at once, so two deliveries of one webhook serialise here.
                let sql = format!(
                    "INSERT INTO calls (call_sid, from_number, to_number, status, started_at, flow_name, flow_version, updated_at)
                     VALUES ($1, $2, $3, 'in_progress', $4, $5, $6, $4)
                     ON CONFLICT (call_sid) DO UPDATE SET updated_at = excluded.updated_at,
                         flow_name = COALESCE(calls.flow_name, excluded.flow_name),
                         flow_version = COALESCE(calls.flow_version, excluded.flow_version)
                     RETURNING {CALL_COLUMNS}"
                );
                let row = sqlx::query(&sql)
                    .bind(new.call_sid)
                    .bind(new.from)
                    .bind(new.to)
                    .bind(new.now_ms)
                    .bind(new.flow_name)
                    .bind(new.flow_version)
                    .fetch_one(&mut *self.tx)
                    .await?;
                call_row(&row)
            }

            async fn lock_call(
                &mut self,
                call_sid: &str,
                now_ms: i64,
            ) -> Result<Option<CallRow>, StoreError> {
                let sql = format!(
                    "UPDATE calls SET updated_at = $1 WHERE call_sid = $2 RETURNING {CALL_COLUMNS}"
                );
                let row = sqlx::query(&sql)
                    .bind(now_ms)
                    .bind(call_sid)
                    .fetch_optional(&mut *self.tx)
                    .await?;
                row.as_ref().map(call_row).transpose()
            }

            async fn saved_response(
                &mut self,
                call_id: i64,
                turn: i64,
            ) -> Result<Option<String>, StoreError> {
                let twiml =
                    sqlx::query_scalar("SELECT twiml FROM responses WHERE call_id = $1 AND turn = $2")
                        .bind(call_id)
                        .bind(turn)
                        .fetch_optional(&mut *self.tx)
                        .await?;
                Ok(twiml)
            }

            async fn record(
                &mut self,
                request: &RecordRequest,
                call_id: i64,
                now_ms: i64,
            ) -> Result<Option<RecordInfo>, StoreError> {
                let row = match &request.create_with_status {
                    Some(status) => Some(
                        sqlx::query(
                            "INSERT INTO records (kind, key, status, call_id, created_at, updated_at)
                             VALUES ($1, $2, $3, $4, $5, $5)
                             ON CONFLICT (kind, key) DO UPDATE SET kind = records.kind
                             RETURNING id, status",
                        )
                        .bind(&request.kind)
                        .bind(&request.key)
                        .bind(status)
                        .bind(call_id)
                        .bind(now_ms)
                        .fetch_one(&mut *self.tx)
                        .await?,
                    ),
                    None => {
                        sqlx::query("SELECT id, status FROM records WHERE kind = $1 AND key = $2")
                            .bind(&request.kind)
                            .bind(&request.key)
                            .fetch_optional(&mut *self.tx)
                            .await?
                    }
                };
                let Some(row) = row else {
                    return Ok(None);
                };
                let info = RecordInfo {
                    id: row.try_get("id")?,
                    status: row.try_get("status")?,
                };
                sqlx::query("INSERT INTO record_calls (record_id, call_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                    .bind(info.id)
                    .bind(call_id)
                    .bind(now_ms)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(Some(info))
            }

            async fn save_turn(&mut self, turn: &TurnWrite<'_>) -> Result<(), StoreError> {
                // All of a turn's steps in one statement: fewer round trips per webhook.
                if !turn.steps.is_empty() {
                    let mut insert = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO steps (call_id, turn, position, node, message_ids, text, digits, outcome, created_at) ",
                    );
                    insert.push_values(turn.steps.iter().enumerate(), |mut row, (position, step)| {
                        row.push_bind(turn.call_id)
                            .push_bind(turn.turn)
                            .push_bind(position as i64)
                            .push_bind(step.node.as_str())
                            .push_bind(step.message_ids.as_str())
                            .push_bind(step.text.as_str())
                            .push_bind(step.digits.as_deref())
                            .push_bind(step.outcome.as_str())
                            .push_bind(turn.now_ms);
                    });
                    insert.build().execute(&mut *self.tx).await?;
                }
                sqlx::query(
                    "INSERT INTO responses (call_id, turn, twiml, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(turn.call_id)
                .bind(turn.turn)
                .bind(turn.twiml)
                .bind(turn.now_ms)
                .execute(&mut *self.tx)
                .await?;
                let state = serde_json::to_string(turn.state)?;
                sqlx::query(
                    "UPDATE calls SET state = $1, turn = $2, language = $3, updated_at = $4,
                         status = CASE WHEN status = 'problem' THEN status ELSE COALESCE($5, status) END,
                         consent = COALESCE($6, consent),
                         consent_at = CASE WHEN $6 IS NULL THEN consent_at ELSE $4 END
                     WHERE id = $7",
                )
                .bind(state)
                .bind(turn.turn + 1)
                .bind(turn.language)
                .bind(turn.now_ms)
                .bind(turn.status.map(CallStatus::as_str))
                .bind(turn.consent.map(|c| c.as_str()))
                .bind(turn.call_id)
                .execute(&mut *self.tx)
                .await?;
                Ok(())
            }

            async fn mark_problem(&mut self, call_id: i64, now_ms: i64) -> Result<(), StoreError> {
                sqlx::query("UPDATE calls SET status = 'problem', updated_at = $1 WHERE id = $2")
                    .bind(now_ms)
                    .bind(call_id)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }

            async fn call_ended(&mut self, update: &StatusUpdate<'_>) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO calls (call_sid, from_number, to_number, status, started_at, ended_at, duration_secs, updated_at)
                     VALUES ($1, $2, $3, 'completed', $4, $4, $5, $4)
                     ON CONFLICT (call_sid) DO UPDATE SET
                         status = CASE WHEN calls.status = 'problem' THEN 'problem' ELSE 'completed' END,
                         ended_at = COALESCE(calls.ended_at, excluded.ended_at),
                         duration_secs = COALESCE(excluded.duration_secs, calls.duration_secs),
                         updated_at = excluded.updated_at",
                )
                .bind(update.call_sid)
                .bind(update.from)
                .bind(update.to)
                .bind(update.now_ms)
                .bind(update.duration_secs)
                .execute(&mut *self.tx)
                .await?;
                Ok(())
            }

            async fn commit(self: Box<Self>) -> Result<(), StoreError> {
                self.tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(crate) use sql_store;
