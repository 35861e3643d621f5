//! The PostgreSQL store: several Liza instances share one database. Webhooks are written by
//! writer threads, many per transaction (group commit, `batch.rs`); a transaction locks the
//! rows of the calls it answers (`SELECT … FOR UPDATE`, or the upsert of a new call), so two
//! instances answering the same call serialise on the row lock.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{Connection, PgConnection, Row};
use tokio::runtime::Runtime;

use super::batch::{Connector, WriterConn, Writers};
use super::dialect::POSTGRES;
use super::sql as webhook_sql;
use super::sql_admin::SqlAdmin;
use super::sql_store::{open_pool, Local, SqlStore};
use super::{CallRow, NewCall, RecordingWrite, StatusUpdate, StoreError, StoreTx, TurnWrite};
use liza_model::CallStatus;
use liza_model::{RecordInfo, RecordRequest};

/// Writer threads per instance, each with one connection and one transaction at a time. Each
/// transaction holds many webhooks (group commit), so few writers keep PostgreSQL busy; more
/// only add lock waits, WAL flushes and context switches. Measured on 2 cores, PostgreSQL on the
/// same machine (docs/BENCHMARKS.md): 1 writer 5,100 req/s at 256 concurrent calls, live-call
/// p99 146 ms; 2 writers 8,500–8,800 req/s, p99 53–59 ms; 4 writers 7,300–9,900, p99 45–119 ms;
/// 8 writers 5,200, p99 190 ms.
const WRITERS: usize = 2;

/// Longest wait for one statement or a connection: a webhook must answer well inside
/// Twilio's 15 s, apology included.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(3);

/// Connects to `postgres://…` (or `postgresql://…`): the writers, and a pool that connects
/// lazily-on-demand after the first connection and replaces connections that broke while the
/// database was away.
pub(crate) async fn open(url: &str) -> Result<SqlStore, StoreError> {
    let options = PgConnectOptions::from_str(url)?
        .application_name("liza")
        // Server-side limits too: after a client-side timeout the server must not keep a
        // batch's locks while the reconnected writer queues behind them. (The pool's
        // connections set the same: `dialect.rs`.)
        .options([
            ("statement_timeout", "3s"),
            ("lock_timeout", "2s"),
            ("idle_in_transaction_session_timeout", "10s"),
        ]);
    let pool = open_pool(url, &POSTGRES).await?;
    let writers = Writers::start("postgres", WRITERS, PgConnector { options });
    Ok(SqlStore {
        admin: SqlAdmin {
            pool,
            dialect: &POSTGRES,
        },
        writers: Arc::new(writers),
        local: Local::Postgres,
    })
}

/// What a server's operator is told at start ([`crate::Store::setup_warnings`]): that the
/// server's autovacuum is off, when it is. Nothing then reclaims the row versions every turn
/// leaves behind (the call's row is updated each turn, a call's replay responses are deleted
/// when it ends), and every webhook gets slower. Measured with `bench/soak.sh` at 500 live
/// calls: p99 18 → 164 ms in four minutes without it. A server that cannot tell is not warned
/// about.
pub(crate) async fn setup_warnings(pool: &sqlx::AnyPool) -> Vec<&'static str> {
    let setting = sqlx::query_scalar::<_, String>("SELECT current_setting('autovacuum')")
        .fetch_one(pool)
        .await;
    match setting.as_deref() {
        Ok("off") => vec![
            "PostgreSQL's autovacuum is off: dead rows of calls and responses will pile up and every webhook will get slower. Turn it on (autovacuum = on, the default) or vacuum these tables yourself.",
        ],
        _ => Vec::new(),
    }
}

#[derive(Clone)]
struct PgConnector {
    options: PgConnectOptions,
}

impl Connector for PgConnector {
    type Conn = PgWriter;

    fn connect(&self) -> Result<PgWriter, StoreError> {
        // Each writer drives its connection's I/O on a runtime of its own: on the server's
        // runtime every statement would wait for a worker busy with HTTP to poll its socket.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(crate::error::io)?;
        let conn = block_on(&runtime, PgConnection::connect_with(&self.options))?;
        Ok(PgWriter {
            conn,
            runtime,
            pending: Pending::default(),
            touched: HashSet::new(),
            prefetched: HashMap::new(),
            just_locked: None,
        })
    }
}

/// Runs one sqlx future to completion on the writer thread, within [`STATEMENT_TIMEOUT`].
fn block_on<T>(
    runtime: &Runtime,
    future: impl std::future::Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, StoreError> {
    match runtime.block_on(async { tokio::time::timeout(STATEMENT_TIMEOUT, future).await }) {
        Ok(result) => Ok(result?),
        Err(_) => Err(StoreError::Timeout),
    }
}

struct PgWriter {
    conn: PgConnection,
    runtime: Runtime,
    /// Turns buffered until commit (or until a statement on the same call needs them).
    pending: Pending,
    /// Calls this transaction has run a statement on.
    touched: HashSet<String>,
    /// Calls locked and read for the batch by [`PREFETCH_CALLS`], not yet handed out.
    prefetched: HashMap<String, CallRow>,
    /// The call the last statement locked and read, when that was the last statement.
    just_locked: Option<String>,
}

impl PgWriter {
    fn run(&mut self, statement: &'static str) -> Result<(), StoreError> {
        let conn = &mut self.conn;
        block_on(&self.runtime, async move {
            sqlx::raw_sql(statement).execute(conn).await.map(|_| ())
        })
    }
}

impl PgWriter {
    /// Before a statement on call `call_sid`: if this transaction touched the call already,
    /// its buffered writes are written first, so the statement sees them. Either way the call is
    /// touched afterwards, and its prefetched row (read before this statement) is no longer used.
    fn touch(&mut self, call_sid: &str) -> Result<(), StoreError> {
        if self.touched.contains(call_sid) {
            self.flush()?;
        }
        self.touched.insert(call_sid.to_owned());
        self.prefetched.remove(call_sid);
        Ok(())
    }

    /// Writes the buffered turns: one statement each for steps, responses and calls.
    fn flush(&mut self) -> Result<(), StoreError> {
        let p = std::mem::take(&mut self.pending);
        self.touched.clear();
        if p.calls.id.is_empty() && p.links.call_id.is_empty() {
            return Ok(());
        }
        let conn = &mut self.conn;
        block_on(&self.runtime, async move {
            if !p.steps.call_id.is_empty() {
                let s = &p.steps;
                sqlx::query(&FLUSH_STEP_KINDS)
                    .bind(&s.node)
                    .bind(&s.message_ids)
                    .bind(&s.outcome)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query(&FLUSH_STEPS)
                    .bind(&s.call_id)
                    .bind(&s.turn)
                    .bind(&s.position)
                    .bind(&s.node)
                    .bind(&s.message_ids)
                    .bind(&s.text)
                    .bind(&s.digits)
                    .bind(&s.outcome)
                    .bind(&s.at)
                    .execute(&mut *conn)
                    .await?;
            }
            if !p.links.call_id.is_empty() {
                sqlx::query(&FLUSH_LINKS)
                    .bind(&p.links.record_id)
                    .bind(&p.links.call_id)
                    .bind(&p.links.at)
                    .execute(&mut *conn)
                    .await?;
            }
            let c = &p.calls;
            if c.id.is_empty() {
                return Ok(());
            }
            sqlx::query(&FLUSH_RESPONSES)
                .bind(&c.id)
                .bind(&c.turn)
                .bind(&c.twiml)
                .bind(&c.at)
                .execute(&mut *conn)
                .await?;
            sqlx::query(&FLUSH_CALLS)
                .bind(&c.state)
                .bind(&c.turn)
                .bind(&c.at)
                .bind(&c.status)
                .bind(&c.consent)
                .bind(&c.from_number)
                .bind(&c.asked_message)
                .bind(&c.asked_locale)
                .bind(&c.asked_text)
                .bind(&c.id)
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    }
}

impl WriterConn for PgWriter {
    fn begin(&mut self) -> Result<(), StoreError> {
        self.just_locked = None;
        self.pending = Pending::default();
        self.touched.clear();
        self.run("BEGIN")
    }

    fn tx(&mut self) -> &mut dyn StoreTx {
        self
    }

    fn prefetch(&mut self, call_sids: Vec<&str>) -> Result<(), StoreError> {
        if call_sids.len() < 2 {
            return Ok(());
        }
        let query = sqlx::query(PREFETCH_CALLS)
            .bind(call_sids)
            .fetch_all(&mut self.conn);
        for row in block_on(&self.runtime, query)? {
            let call = call_row(&row)?;
            self.prefetched.insert(call.call_sid.clone(), call);
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        self.prefetched.clear();
        self.flush()?;
        self.run("COMMIT")
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        self.just_locked = None;
        self.prefetched.clear();
        self.pending = Pending::default();
        self.touched.clear();
        self.run("ROLLBACK")
    }
}

/// The steps of [`FLUSH_STEPS`], as columns.
#[derive(Default)]
struct PendingSteps {
    call_id: Vec<i64>,
    turn: Vec<i64>,
    position: Vec<i64>,
    node: Vec<String>,
    message_ids: Vec<String>,
    text: Vec<String>,
    digits: Vec<Option<String>>,
    outcome: Vec<String>,
    at: Vec<i64>,
}

/// One entry per answered turn: its response and the call's new state.
#[derive(Default)]
struct PendingCalls {
    id: Vec<i64>,
    turn: Vec<i64>,
    twiml: Vec<String>,
    state: Vec<String>,
    status: Vec<Option<&'static str>>,
    consent: Vec<Option<&'static str>>,
    at: Vec<i64>,
    from_number: Vec<Option<String>>,
    asked_message: Vec<Option<String>>,
    asked_locale: Vec<Option<String>>,
    asked_text: Vec<Option<String>>,
}

/// Links of [`FLUSH_LINKS`], as columns.
#[derive(Default)]
struct PendingLinks {
    record_id: Vec<i64>,
    call_id: Vec<i64>,
    at: Vec<i64>,
}

/// Turns answered in this transaction and not yet written.
#[derive(Default)]
struct Pending {
    steps: PendingSteps,
    calls: PendingCalls,
    links: PendingLinks,
}

impl Pending {
    fn push(&mut self, turn: &TurnWrite<'_>, state: String) {
        for (position, step) in turn.steps.iter().enumerate() {
            let s = &mut self.steps;
            s.call_id.push(turn.call_id);
            s.turn.push(turn.turn);
            s.position.push(position as i64);
            s.node.push(step.node.clone());
            s.message_ids.push(step.message_ids.clone());
            s.text.push(step.text.clone());
            s.digits.push(step.digits.clone());
            s.outcome.push(step.outcome.clone());
            s.at.push(turn.now_ms);
        }
        let c = &mut self.calls;
        c.id.push(turn.call_id);
        c.turn.push(turn.turn);
        c.twiml.push(turn.twiml.to_owned());
        c.state.push(state);
        c.status.push(turn.status.map(CallStatus::as_str));
        c.consent.push(turn.consent.map(|c| c.as_str()));
        c.at.push(turn.now_ms);
        c.from_number.push(turn.from_number.map(str::to_owned));
        let q = turn.consent_question;
        c.asked_message.push(q.map(|q| q.message.to_owned()));
        c.asked_locale.push(q.map(|q| q.locale.to_owned()));
        c.asked_text.push(q.map(|q| q.text.to_owned()));
    }
}

/// [`webhook_sql::LOCK_CALL_FOR_UPDATE`] for every existing call a batch will write (node
/// webhooks, status callbacks, problem marks), in one round trip and in id order, so two
/// batches (of one instance or several) take their locks in the same order. Only new calls and
/// a call's second statement in one batch lock later; a deadlock there is detected by
/// PostgreSQL and the batch runs again one by one. `$1` sids.
const PREFETCH_CALLS: &str = concat!(
    "SELECT ",
    webhook_sql::call_columns!(),
    " FROM calls WHERE call_sid = ANY($1) ORDER BY id FOR UPDATE"
);

/// [`webhook_sql::KEEP_STEP_KIND`] for many steps, in one order (two batches keeping the same
/// new kinds wait for each other instead of deadlocking). Its own statement before
/// [`FLUSH_STEPS`]: that one's snapshot then sees every kind, whichever transaction kept it.
static FLUSH_STEP_KINDS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} SELECT DISTINCT * FROM UNNEST($1::text[], $2::text[], $3::text[]) ORDER BY 1, 2, 3 {}",
        webhook_sql::KEEP_STEP_KIND_INTO,
        webhook_sql::KEEP_STEP_KIND_ONCE
    )
});

/// [`webhook_sql::INSERT_STEP`] for many rows, one array per column.
static FLUSH_STEPS: LazyLock<String> = LazyLock::new(|| {
    webhook_sql::insert_steps_from(
        "UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[])
             AS u(call_id, turn, position, node, message_ids, text, digits, outcome, at)",
    )
});

/// [`webhook_sql::LINK_RECORD`] for many rows.
static FLUSH_LINKS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[]) {}",
        webhook_sql::LINK_RECORD_INTO,
        webhook_sql::LINK_ONCE
    )
});

/// [`webhook_sql::INSERT_RESPONSE`] for many rows.
static FLUSH_RESPONSES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::bigint[])",
        webhook_sql::INSERT_RESPONSE_INTO
    )
});

/// [`webhook_sql::after_turn`]'s update for many calls (each call at most once: a second
/// turn of a call in one transaction flushes the first), with the same rules.
static FLUSH_CALLS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE calls SET {}
     FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[],
                 $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[])
         AS u(state, turn, at, status, consent, from_number, asked_message, asked_locale, asked_text, id)
     WHERE calls.id = u.id",
        webhook_sql::after_turn(&webhook_sql::TurnValues {
            state: "u.state",
            next_turn: "u.turn + 1",
            at: "u.at",
            status: "u.status",
            consent: "u.consent",
            from_number: "u.from_number",
            asked_message: "u.asked_message",
            asked_locale: "u.asked_locale",
            asked_text: "u.asked_text",
        })
    )
});

fn call_row(row: &PgRow) -> Result<CallRow, StoreError> {
    let status: String = row.try_get("status")?;
    let state: Option<String> = row.try_get("state")?;
    CallRow::from_columns(
        row.try_get("id")?,
        row.try_get("call_sid")?,
        &status,
        row.try_get("flow_name")?,
        row.try_get("flow_version")?,
        state,
        row.try_get("turn")?,
    )
}

impl StoreTx for PgWriter {
    fn open_call(&mut self, new: &NewCall<'_>) -> Result<CallRow, StoreError> {
        self.touch(new.call_sid)?;
        self.just_locked = None;
        let query = sqlx::query(webhook_sql::OPEN_CALL)
            .bind(new.call_sid)
            .bind(new.caller_hash)
            .bind(new.caller_masked)
            .bind(new.to)
            .bind(new.now_ms)
            .bind(new.flow_name)
            .bind(new.flow_version)
            .bind(new.language)
            .fetch_one(&mut self.conn);
        call_row(&block_on(&self.runtime, query)?)
    }

    fn lock_call(&mut self, call_sid: &str) -> Result<Option<CallRow>, StoreError> {
        self.just_locked = Some(call_sid.to_owned());
        if !self.touched.contains(call_sid) {
            if let Some(call) = self.prefetched.remove(call_sid) {
                self.touched.insert(call_sid.to_owned());
                return Ok(Some(call));
            }
        }
        self.touch(call_sid)?;
        let query = sqlx::query(webhook_sql::LOCK_CALL_FOR_UPDATE)
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
        self.just_locked = None;
        let saved = match &request.create_with_status {
            Some(status) => {
                let query = sqlx::query(webhook_sql::SAVE_RECORD)
                    .bind(&request.kind)
                    .bind(&request.key)
                    .bind(status)
                    .bind(call_id)
                    .bind(now_ms)
                    .fetch_optional(&mut self.conn);
                block_on(&self.runtime, query)?
            }
            None => None,
        };
        let row = match saved {
            Some(row) => Some(row),
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
        // Buffered like the turn: written at commit (or before the next statement on the call).
        let links = &mut self.pending.links;
        links.record_id.push(info.id);
        links.call_id.push(call_id);
        links.at.push(now_ms);
        Ok(Some(info))
    }

    fn save_turn(&mut self, turn: &TurnWrite<'_>) -> Result<(), StoreError> {
        self.just_locked = None;
        // Buffered: written with the batch's other turns in three statements at commit.
        let state = turn.state;
        self.pending.push(turn, state.to_owned());
        Ok(())
    }

    fn mark_problem(&mut self, call_sid: &str, now_ms: i64) -> Result<(), StoreError> {
        self.just_locked = None;
        self.touch(call_sid)?;
        let query = sqlx::query(&webhook_sql::MARK_PROBLEM)
            .bind(now_ms)
            .bind(call_sid)
            .execute(&mut self.conn);
        block_on(&self.runtime, query)?;
        Ok(())
    }

    fn call_ended(&mut self, update: &StatusUpdate<'_>) -> Result<(), StoreError> {
        // Read just before by `lock_call` (which wrote the call's buffered turns first), the
        // call has nothing buffered: no flush of the batch's other turns for it.
        if self.just_locked.take().as_deref() != Some(update.call_sid) {
            self.touch(update.call_sid)?;
        }
        let query = sqlx::query(&webhook_sql::CALL_ENDED_DROPPING_RESPONSES)
            .bind(update.call_sid)
            .bind(update.caller_hash)
            .bind(update.caller_masked)
            .bind(update.to)
            .bind(update.now_ms)
            .bind(update.duration_secs)
            .bind(update.forget_state)
            .execute(&mut self.conn);
        block_on(&self.runtime, query)?;
        Ok(())
    }

    fn flow_source(&mut self, version: &str) -> Result<Option<String>, StoreError> {
        let query = sqlx::query_scalar::<_, Option<String>>(webhook_sql::FLOW_SOURCE)
            .bind(version)
            .fetch_optional(&mut self.conn);
        Ok(block_on(&self.runtime, query)?.flatten())
    }

    fn save_recording(&mut self, r: &RecordingWrite<'_>) -> Result<bool, StoreError> {
        // The call's consent may sit in a turn buffered in this batch.
        self.just_locked = None;
        self.touch(r.call_sid)?;
        let query = sqlx::query(webhook_sql::SAVE_RECORDING)
            .bind(r.recording_sid)
            .bind(r.url)
            .bind(r.status)
            .bind(r.duration_secs)
            .bind(r.now_ms)
            .bind(r.call_sid)
            .execute(&mut self.conn);
        Ok(block_on(&self.runtime, query)?.rows_affected() > 0)
    }

    fn probe(&mut self, now_ms: i64) -> Result<(), StoreError> {
        let query = sqlx::query(webhook_sql::PROBE)
            .bind(now_ms)
            .execute(&mut self.conn);
        block_on(&self.runtime, query)?;
        Ok(())
    }

    fn enqueue(&mut self, row: &crate::outbox::OutboxWrite) -> Result<(), StoreError> {
        // Its own round trip (a turn queues one at most a few times a call; most turns none).
        // It touches no call row, so the batch's buffered turns stay buffered.
        self.just_locked = None;
        let query = sqlx::query(crate::outbox::sql::ENQUEUE)
            .bind(row.call_id)
            .bind(row.kind.as_str())
            .bind(&row.label)
            .bind(&row.idempotency_key)
            .bind(&row.payload)
            .bind(row.now_ms)
            .execute(&mut self.conn);
        block_on(&self.runtime, query)?;
        Ok(())
    }
}
