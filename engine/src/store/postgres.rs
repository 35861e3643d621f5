//! The PostgreSQL store: several Liza instances share one database. Each webhook's
//! transaction starts by updating the call row (`UPDATE … RETURNING` or the upsert), which
//! takes PostgreSQL's row lock, so two instances answering the same call serialise on it.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{Connection, PgConnection, PgPool, Postgres, Row};
use tokio::runtime::Handle;

use super::batch::{Connector, WriterConn, Writers};
use super::sql as webhook_sql;
use super::{CallRow, NewCall, StatusUpdate, StoreError, StoreTx, TurnWrite};
use crate::model::CallStatus;
use crate::runtime::{RecordInfo, RecordRequest};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Writer threads per instance, each with one connection and one transaction at a time. Each
/// transaction holds many webhooks (group commit), so a few writers keep PostgreSQL busy;
/// more would only add lock waits and WAL flushes.
const WRITERS: usize = 4;

/// The dashboard's pool (reads, status edits). Writers and pool together stay far below
/// PostgreSQL's default `max_connections` (100) even with several instances.
const POOL_CONNECTIONS: u32 = 8;

/// Longest wait for one statement or a connection: a webhook must answer well inside
/// Twilio's 15 s, apology included.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    writers: Arc<Writers>,
}

impl PgStore {
    /// Connects to `postgres://…` (or `postgresql://…`). The pool connects lazily-on-demand
    /// after the first connection, and replaces connections that broke while the database was away.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?.application_name("liza");
        let pool = PgPoolOptions::new()
            .max_connections(POOL_CONNECTIONS)
            .acquire_timeout(STATEMENT_TIMEOUT)
            .connect_with(options.clone())
            .await?;
        let writers = Writers::start(
            "postgres",
            WRITERS,
            PgConnector {
                options,
                runtime: Handle::current(),
            },
        );
        Ok(Self {
            pool,
            writers: Arc::new(writers),
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl PgStore {
    /// PostgreSQL needs nothing before its connections close.
    async fn before_close(&self) {}
}

super::sql::sql_store!(PgStore, with_admin);

#[derive(Clone)]
struct PgConnector {
    options: PgConnectOptions,
    /// The writers are plain threads; they drive sqlx's async I/O on the server's runtime.
    runtime: Handle,
}

impl Connector for PgConnector {
    type Conn = PgWriter;

    fn connect(&self) -> Result<PgWriter, StoreError> {
        let conn = block_on(&self.runtime, PgConnection::connect_with(&self.options))?;
        Ok(PgWriter {
            conn,
            runtime: self.runtime.clone(),
        })
    }
}

/// Runs one sqlx future to completion on the writer thread, within [`STATEMENT_TIMEOUT`].
fn block_on<T>(
    runtime: &Handle,
    future: impl std::future::Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, StoreError> {
    match runtime.block_on(async { tokio::time::timeout(STATEMENT_TIMEOUT, future).await }) {
        Ok(result) => Ok(result?),
        Err(_) => Err(StoreError::Timeout),
    }
}

struct PgWriter {
    conn: PgConnection,
    runtime: Handle,
}

impl PgWriter {
    fn run(&mut self, statement: &'static str) -> Result<(), StoreError> {
        let conn = &mut self.conn;
        block_on(&self.runtime, async move {
            sqlx::raw_sql(statement).execute(conn).await.map(|_| ())
        })
    }
}

impl WriterConn for PgWriter {
    fn begin(&mut self) -> Result<(), StoreError> {
        self.run("BEGIN")
    }

    fn tx(&mut self) -> &mut dyn StoreTx {
        self
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        self.run("COMMIT")
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        self.run("ROLLBACK")
    }
}

fn call_row(row: &PgRow) -> Result<CallRow, StoreError> {
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

impl StoreTx for PgWriter {
    fn open_call(&mut self, new: &NewCall<'_>) -> Result<CallRow, StoreError> {
        let query = sqlx::query(webhook_sql::OPEN_CALL)
            .bind(new.call_sid)
            .bind(new.from)
            .bind(new.to)
            .bind(new.now_ms)
            .bind(new.flow_name)
            .bind(new.flow_version)
            .fetch_one(&mut self.conn);
        call_row(&block_on(&self.runtime, query)?)
    }

    fn lock_call(&mut self, call_sid: &str, now_ms: i64) -> Result<Option<CallRow>, StoreError> {
        let query = sqlx::query(webhook_sql::LOCK_CALL)
            .bind(now_ms)
            .bind(call_sid)
            .fetch_optional(&mut self.conn);
        block_on(&self.runtime, query)?
            .as_ref()
            .map(call_row)
            .transpose()
    }

    fn saved_response(&mut self, call_id: i64, turn: i64) -> Result<Option<String>, StoreError> {
        let query = sqlx::query_scalar(webhook_sql::SAVED_RESPONSE)
            .bind(call_id)
            .bind(turn)
            .fetch_optional(&mut self.conn);
        block_on(&self.runtime, query)
    }

    fn record(
        &mut self,
        request: &RecordRequest,
        call_id: i64,
        now_ms: i64,
    ) -> Result<Option<RecordInfo>, StoreError> {
        let row = match &request.create_with_status {
            Some(status) => {
                let query = sqlx::query(webhook_sql::SAVE_OR_FIND_RECORD)
                    .bind(&request.kind)
                    .bind(&request.key)
                    .bind(status)
                    .bind(call_id)
                    .bind(now_ms)
                    .fetch_one(&mut self.conn);
                Some(block_on(&self.runtime, query)?)
            }
            None => {
                let query = sqlx::query(webhook_sql::FIND_RECORD)
                    .bind(&request.kind)
                    .bind(&request.key)
                    .fetch_optional(&mut self.conn);
                block_on(&self.runtime, query)?
            }
        };
        let Some(row) = row else {
            return Ok(None);
        };
        let info = RecordInfo {
            id: row.try_get("id")?,
            status: row.try_get("status")?,
        };
        let query = sqlx::query(webhook_sql::LINK_RECORD)
            .bind(info.id)
            .bind(call_id)
            .bind(now_ms)
            .execute(&mut self.conn);
        block_on(&self.runtime, query)?;
        Ok(Some(info))
    }

    fn save_turn(&mut self, turn: &TurnWrite<'_>) -> Result<(), StoreError> {
        // All of a turn's steps in one statement: each statement is a network round trip.
        if !turn.steps.is_empty() {
            let mut insert = sqlx::QueryBuilder::<Postgres>::new(webhook_sql::INSERT_STEPS);
            insert.push_values(
                turn.steps.iter().enumerate(),
                |mut row, (position, step)| {
                    row.push_bind(turn.call_id)
                        .push_bind(turn.turn)
                        .push_bind(position as i64)
                        .push_bind(step.node.as_str())
                        .push_bind(step.message_ids.as_str())
                        .push_bind(step.text.as_str())
                        .push_bind(step.digits.as_deref())
                        .push_bind(step.outcome.as_str())
                        .push_bind(turn.now_ms);
                },
            );
            let query = insert.build().execute(&mut self.conn);
            block_on(&self.runtime, query)?;
        }
        let query = sqlx::query(webhook_sql::INSERT_RESPONSE)
            .bind(turn.call_id)
            .bind(turn.turn)
            .bind(turn.twiml)
            .bind(turn.now_ms)
            .execute(&mut self.conn);
        block_on(&self.runtime, query)?;
        let state = serde_json::to_string(turn.state)?;
        let query = sqlx::query(webhook_sql::UPDATE_CALL_AFTER_TURN)
            .bind(state)
            .bind(turn.turn + 1)
            .bind(turn.language)
            .bind(turn.now_ms)
            .bind(turn.status.map(CallStatus::as_str))
            .bind(turn.consent.map(|c| c.as_str()))
            .bind(turn.call_id)
            .execute(&mut self.conn);
        block_on(&self.runtime, query)?;
        Ok(())
    }

    fn mark_problem(&mut self, call_sid: &str, now_ms: i64) -> Result<(), StoreError> {
        let query = sqlx::query(webhook_sql::MARK_PROBLEM)
            .bind(now_ms)
            .bind(call_sid)
            .execute(&mut self.conn);
        block_on(&self.runtime, query)?;
        Ok(())
    }

    fn call_ended(&mut self, update: &StatusUpdate<'_>) -> Result<(), StoreError> {
        let query = sqlx::query(webhook_sql::CALL_ENDED)
            .bind(update.call_sid)
            .bind(update.from)
            .bind(update.to)
            .bind(update.now_ms)
            .bind(update.duration_secs)
            .execute(&mut self.conn);
        block_on(&self.runtime, query)?;
        Ok(())
    }

    fn ping(&mut self) -> Result<(), StoreError> {
        let query = sqlx::query("SELECT 1").execute(&mut self.conn);
        block_on(&self.runtime, query)?;
        Ok(())
    }
}

super::sql_admin::admin_store!(
    PgStore,
    Postgres,
    planner: ["ANALYZE calls", "ANALYZE records", "ANALYZE record_calls"],
    // Seeded calls carry their ids; the sequence must move past them.
    after_seed: ["SELECT setval(pg_get_serial_sequence('calls', 'id'), (SELECT MAX(id) FROM calls))"]
);
