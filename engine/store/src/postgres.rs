//! The PostgreSQL store: several Liza instances share one database. Webhooks are written by
//! writer threads, many per transaction (group commit, `batch.rs`); a transaction locks the
//! rows of the calls it answers (`SELECT … FOR UPDATE`, or the insert of a new call), so two
//! instances answering the same call serialise on the row lock.
//!
//! PostgreSQL is often on another machine, where each statement is a network round trip. So a
//! batch's writes are buffered and written one statement per kind of write, whatever the
//! number of webhooks: its new calls, its turns (steps, replay data and calls' rows together),
//! its status callbacks (docs/BENCHMARKS.md, "Round trips to PostgreSQL").

use std::collections::{BTreeSet, HashMap, HashSet};
use std::str::FromStr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use sqlx::postgres::{PgArguments, PgConnectOptions, PgRow};
use sqlx::query::Query;
use sqlx::{Connection, PgConnection, Postgres, Row};
use tokio::runtime::Runtime;

use super::batch::{Connector, WriterConn, Writers};
use super::dialect::POSTGRES;
use super::kinds::{KindIds, KindKey};
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
            // Every statement of a writer reads rows by a key (a call's id or sid, a kind's id;
            // the foreign-key checks of its inserts into `replays`, `outbox` and the records'
            // links too), so a sequential scan is never the plan it wants. PostgreSQL picks
            // one whenever its statistics call a table small against a batch's keys, as in a
            // new database until autovacuum's first ANALYZE, and keeps it for the
            // connection's cached statements. Measured on a new database:
            // PostgreSQL's CPU per webhook 22 to 42 % lower (docs/BENCHMARKS.md, "Writers
            // without sequential scans"). The dashboard's pool keeps them: its reports read
            // whole ranges.
            ("enable_seqscan", "off"),
            // A writer's statements are prepared once and run with arrays of any length. For
            // each run PostgreSQL weighs a plan for those arrays against the generic one,
            // which estimates a fixed number of rows per array. With a batch of one or two
            // webhooks (a few thousand live calls) it chose a new plan for about half the
            // runs: the batch's turns planned 5,671 times in 12,440 runs, 1.1 s of 3.7 s. The
            // generic plan is the same keyed lookups (no sequential scan, above), so it is
            // always kept.
            // Measured: docs/BENCHMARKS.md, "The writers keep their plans". PostgreSQL 12+.
            ("plan_cache_mode", "force_generic_plan"),
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
/// leaves behind (each turn updates the call's row and replaces its replay row), and every
/// webhook gets slower. Measured with `bench/soak.sh` at 500 live calls: p99 18 → 164 ms in
/// four minutes without it. A server that cannot tell is not warned
/// about.
pub(crate) async fn setup_warnings(pool: &sqlx::AnyPool) -> Vec<&'static str> {
    let setting = sqlx::query_scalar::<_, String>("SELECT current_setting('autovacuum')")
        .fetch_one(pool)
        .await;
    match setting.as_deref() {
        Ok("off") => vec![
            "PostgreSQL's autovacuum is off: dead versions of the rows of calls and replays will pile up and every webhook will get slower. Turn it on (autovacuum = on, the default) or vacuum these tables yourself.",
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
            kinds: KindIds::default(),
            absent: HashSet::new(),
            ids: Vec::new(),
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
    kinds: KindIds,
    /// Calls [`PREFETCH_CALLS`] looked for and did not find: a call opened by this batch is
    /// new, and its row is written with the batch's other new calls ([`FLUSH_OPENED`]).
    absent: HashSet<String>,
    /// Ids taken from the calls' sequence for new calls, in the order they are handed out.
    ids: Vec<i64>,
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
        // A statement on the call may create its row (a status callback for a call not yet
        // seen): from now on it is not known to be absent.
        self.absent.remove(call_sid);
        Ok(())
    }

    /// Writes the new calls opened since the last flush, in one statement. Another transaction
    /// (another instance answering the same call) may have opened one of them since the
    /// batch looked: then this batch answered it as new on a wrong premise, and fails with
    /// [`StoreError::Busy`] to run again one webhook at a time (each opening its call at once).
    fn write_opened(&mut self) -> Result<(), StoreError> {
        let o = std::mem::take(&mut self.pending.opened);
        if o.id.is_empty() {
            return Ok(());
        }
        let query = sqlx::query(&FLUSH_OPENED)
            .bind(&o.id)
            .bind(&o.sid)
            .bind(&o.caller_hash)
            .bind(&o.caller_masked)
            .bind(&o.to)
            .bind(&o.at)
            .bind(&o.flow_name)
            .bind(&o.flow_version)
            .bind(&o.language)
            .execute(&mut self.conn);
        let written = block_on(&self.runtime, query)?.rows_affected();
        if written as usize != o.id.len() {
            return Err(StoreError::Busy(
                format!(
                    "{} of {} new calls were opened by another transaction meanwhile",
                    o.id.len() - written as usize,
                    o.id.len()
                )
                .into(),
            ));
        }
        Ok(())
    }

    /// An id for a new call, from the calls' sequence ([`TAKE_IDS`] when none is left).
    fn take_id(&mut self) -> Result<i64, StoreError> {
        if self.ids.is_empty() {
            let query = sqlx::query_scalar::<_, i64>(TAKE_IDS).fetch_all(&mut self.conn);
            self.ids = block_on(&self.runtime, query)?;
            self.ids.reverse();
        }
        self.ids
            .pop()
            .ok_or_else(|| StoreError::Bug("the calls' sequence gave no id".into()))
    }

    /// Writes what is buffered: the new calls ([`Self::write_opened`]); then the turns' steps,
    /// replay data and calls, the record links and the status callbacks in one statement
    /// ([`FLUSH_WRITES`]), after the kinds of the steps if one is new to this writer.
    fn flush(&mut self) -> Result<(), StoreError> {
        self.write_opened()?;
        let mut p = std::mem::take(&mut self.pending);
        self.touched.clear();
        if p.calls.id.is_empty() && p.links.call_id.is_empty() && p.ended.sid.is_empty() {
            return Ok(());
        }
        let kinds: Vec<KindKey> = std::mem::take(&mut p.steps.node)
            .into_iter()
            .zip(std::mem::take(&mut p.steps.message_ids))
            .zip(std::mem::take(&mut p.steps.outcome))
            .map(|((node, message_ids), outcome)| (node, message_ids, outcome))
            .collect();
        let kind_ids = self.kind_ids(&kinds)?;
        let (c, s, l, e) = (&p.calls, &p.steps, &p.links, &p.ended);
        let query = sqlx::query(&FLUSH_WRITES)
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
            .bind(&c.twiml);
        let query = bind_steps(query, s, &kind_ids, &kinds)
            .bind(&l.record_id)
            .bind(&l.call_id)
            .bind(&l.at)
            .bind(&e.sid)
            .bind(&e.caller_hash)
            .bind(&e.caller_masked)
            .bind(&e.to)
            .bind(&e.at)
            .bind(&e.duration)
            .bind(&e.state);
        let conn = &mut self.conn;
        let written = block_on(&self.runtime, async {
            query.fetch_one(conn).await?.try_get::<i64, _>(0)
        })?;
        if written as usize == kinds.len() {
            return Ok(());
        }
        tracing::warn!(
            missing = kinds.len() - written as usize,
            "Step kinds this writer knew are gone from the database; keeping them again."
        );
        self.kinds.forget();
        let kind_ids = self.kind_ids(&kinds)?;
        let fill = bind_steps(sqlx::query(&FILL_STEPS), &p.steps, &kind_ids, &kinds);
        block_on(&self.runtime, fill.execute(&mut self.conn))?;
        Ok(())
    }

    /// The id of each of `kinds`, in their order. Kinds this writer knows no id of are kept
    /// ([`FLUSH_STEP_KINDS`]) and read ([`KIND_IDS`]) first.
    fn kind_ids(&mut self, kinds: &[KindKey]) -> Result<Vec<i64>, StoreError> {
        let unknown: BTreeSet<&KindKey> = kinds
            .iter()
            .filter(|kind| self.kinds.get(*kind).is_none())
            .collect();
        if !unknown.is_empty() {
            let mut columns: [Vec<&str>; 3] = Default::default();
            for (node, message_ids, outcome) in unknown {
                columns[0].push(node);
                columns[1].push(message_ids);
                columns[2].push(outcome);
            }
            let conn = &mut self.conn;
            let rows = block_on(&self.runtime, async move {
                let [node, message_ids, outcome] = &columns;
                sqlx::query(&FLUSH_STEP_KINDS)
                    .bind(node)
                    .bind(message_ids)
                    .bind(outcome)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query(KIND_IDS)
                    .bind(node)
                    .bind(message_ids)
                    .bind(outcome)
                    .fetch_all(&mut *conn)
                    .await
            })?;
            for row in rows {
                let kind = (
                    row.try_get("node")?,
                    row.try_get("message_ids")?,
                    row.try_get("outcome")?,
                );
                self.kinds.learnt(kind, row.try_get("id")?);
            }
        }
        kinds
            .iter()
            .map(|kind| {
                self.kinds.get(kind).ok_or_else(|| {
                    StoreError::Bug(format!("the step kind {kind:?} was kept but not found").into())
                })
            })
            .collect()
    }
}

impl WriterConn for PgWriter {
    fn begin(&mut self) -> Result<(), StoreError> {
        self.just_locked = None;
        self.absent.clear();
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
            .bind(&call_sids)
            .fetch_all(&mut self.conn);
        for row in block_on(&self.runtime, query)? {
            let call = call_row(&row)?;
            self.prefetched.insert(call.call_sid.clone(), call);
        }
        self.absent = call_sids
            .into_iter()
            .filter(|sid| !self.prefetched.contains_key(*sid))
            .map(str::to_owned)
            .collect();
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        self.prefetched.clear();
        self.flush()?;
        self.run("COMMIT")?;
        self.kinds.committed();
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        self.just_locked = None;
        self.prefetched.clear();
        self.absent.clear();
        // The ids held are dropped: after a failure (a database restored with its sequence
        // behind them, say) they may be other calls'. New ones come from the sequence.
        self.ids.clear();
        self.pending = Pending::default();
        self.touched.clear();
        self.kinds.forget();
        self.run("ROLLBACK")
    }
}

/// The steps of [`FLUSH_WRITES`], as columns.
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

/// One entry per answered turn: its replay data and the call's new state.
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

/// Links of [`LINKS_PART`], as columns.
#[derive(Default)]
struct PendingLinks {
    record_id: Vec<i64>,
    call_id: Vec<i64>,
    at: Vec<i64>,
}

/// Final status callbacks of [`ENDED_PARTS`], as columns.
#[derive(Default)]
struct PendingEnded {
    sid: Vec<String>,
    caller_hash: Vec<String>,
    caller_masked: Vec<String>,
    to: Vec<String>,
    at: Vec<i64>,
    duration: Vec<Option<i64>>,
    state: Vec<Option<String>>,
}

impl PendingEnded {
    fn push(&mut self, update: &StatusUpdate<'_>) {
        self.sid.push(update.call_sid.to_owned());
        self.caller_hash.push(update.caller_hash.to_owned());
        self.caller_masked.push(update.caller_masked.to_owned());
        self.to.push(update.to.to_owned());
        self.at.push(update.now_ms);
        self.duration.push(update.duration_secs);
        self.state.push(update.forget_state.map(str::to_owned));
    }
}

/// New calls of [`FLUSH_OPENED`], as columns.
#[derive(Default)]
struct PendingOpened {
    id: Vec<i64>,
    sid: Vec<String>,
    caller_hash: Vec<String>,
    caller_masked: Vec<String>,
    to: Vec<String>,
    at: Vec<i64>,
    flow_name: Vec<String>,
    flow_version: Vec<String>,
    language: Vec<Option<String>>,
}

impl PendingOpened {
    fn push(&mut self, id: i64, new: &NewCall<'_>) {
        self.id.push(id);
        self.sid.push(new.call_sid.to_owned());
        self.caller_hash.push(new.caller_hash.to_owned());
        self.caller_masked.push(new.caller_masked.to_owned());
        self.to.push(new.to.to_owned());
        self.at.push(new.now_ms);
        self.flow_name.push(new.flow_name.to_owned());
        self.flow_version.push(new.flow_version.to_owned());
        self.language.push(new.language.map(str::to_owned));
    }
}

/// New calls, turns and status callbacks answered in this transaction and not yet written.
#[derive(Default)]
struct Pending {
    opened: PendingOpened,
    steps: PendingSteps,
    calls: PendingCalls,
    links: PendingLinks,
    ended: PendingEnded,
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

/// [`webhook_sql::KEEP_STEP_KIND`] for many kinds, in one order (two batches keeping the same
/// new kinds wait for each other instead of deadlocking). Its own statement before
/// [`KIND_IDS`]: that one's snapshot then sees every kind, whichever transaction kept it.
static FLUSH_STEP_KINDS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} SELECT DISTINCT * FROM UNNEST($1::text[], $2::text[], $3::text[]) ORDER BY 1, 2, 3 {}",
        webhook_sql::KEEP_STEP_KIND_INTO,
        webhook_sql::KEEP_STEP_KIND_ONCE
    )
});

/// The batch's new calls ([`webhook_sql::OPEN_CALL`] for calls the batch found absent), one
/// array per column: `$1` ids (from [`TAKE_IDS`]), `$2` sids, `$3` caller hashes, `$4` masked
/// callers, `$5` to, `$6` now, `$7` flow names, `$8` flow versions, `$9` languages. A call
/// opened meanwhile by another transaction is not written (fewer rows than given). In sid
/// order, so two batches opening the same calls wait for each other instead of deadlocking.
static FLUSH_OPENED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} SELECT u.id, u.sid, '', u.caller_hash, u.caller_masked, u.to_number, '{}', u.at,
                u.flow_name, u.flow_version, u.language, u.at
         FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
                     $7::text[], $8::text[], $9::text[])
             AS u(id, sid, caller_hash, caller_masked, to_number, at, flow_name, flow_version, language)
         ORDER BY u.sid
         ON CONFLICT (call_sid) DO NOTHING",
        webhook_sql::OPEN_CALL_INTO_WITH_ID,
        CallStatus::InProgress.as_str()
    )
});

/// Ids for new calls, taken from the calls' sequence a few at a time: one round trip for many
/// new calls. An id taken and not used (the server stopped) is a gap, as a rolled-back insert
/// leaves.
const TAKE_IDS: &str =
    "SELECT nextval(pg_get_serial_sequence('calls', 'id')) FROM generate_series(1, 32)";

/// The batch's final status callbacks ([`webhook_sql::CALL_ENDED`] with
/// [`webhook_sql::DROP_REPLAY`]), the `ended` and `dropped_replays` parts of [`FLUSH_WRITES`],
/// one array per column: `$25` sids, `$26` caller hashes, `$27` masked callers, `$28` to, `$29`
/// now, `$30` durations, `$31` the state each ended call keeps (NULL: as it is; always NULL for
/// a call the callback is the first to hear of, which has none). In sid order, as
/// [`FLUSH_OPENED`]. The replay data is looked up by the ended calls' ids (`= ANY`, an index
/// lookup each): as a join, PostgreSQL read the whole index of the table it used to be in when
/// its statistics called it small.
static ENDED_PARTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "ended AS (
         INSERT INTO calls ({}, state)
         SELECT u.sid, '', u.caller_hash, u.caller_masked, u.to_number, 'completed', u.at, u.at, u.duration, u.at, u.state
         FROM UNNEST($25::text[], $26::text[], $27::text[], $28::text[], $29::bigint[], $30::bigint[], $31::text[])
             AS u(sid, caller_hash, caller_masked, to_number, at, duration, state)
         ORDER BY u.sid
         ON CONFLICT (call_sid) DO UPDATE SET {}
         RETURNING id),
     dropped_replays AS (DELETE FROM replays WHERE call_id = ANY (ARRAY(SELECT id FROM ended)))",
        webhook_sql::ended_columns!(),
        webhook_sql::call_ended("excluded.state")
    )
});

/// The step rows of `n` arrays from `$first` (call ids, turns, positions, kind ids, texts,
/// digits, times, then each kind's node, message ids and outcome), those whose kind id is the
/// kind in `step_kinds`: a step whose kind is gone (or, in a database restored under a running
/// server, is now another kind) is left out.
fn steps_of_known_kinds(first: usize) -> String {
    let types = [
        "bigint", "bigint", "bigint", "bigint", "text", "text", "bigint", "text", "text", "text",
    ];
    let arrays: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| format!("${}::{t}[]", first + i))
        .collect();
    format!(
        "{} SELECT u.call_id, u.turn, u.position, u.kind, u.text, u.digits, u.at
         FROM UNNEST({}) AS u(call_id, turn, position, kind, text, digits, at, node, message_ids, outcome)
         JOIN step_kinds k ON k.id = u.kind
             AND k.node = u.node AND k.message_ids = u.message_ids AND k.outcome = u.outcome",
        webhook_sql::STEP_ROWS_INTO,
        arrays.join(", ")
    )
}

/// The steps [`FLUSH_WRITES`] left out, with the same arrays (from `$1`): the rows written
/// already are skipped by their key.
static FILL_STEPS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} ON CONFLICT (call_id, turn, position) DO NOTHING",
        steps_of_known_kinds(1)
    )
});

/// The ids of step kinds: `$1` nodes, `$2` message ids, `$3` outcomes.
const KIND_IDS: &str = "SELECT k.id, k.node, k.message_ids, k.outcome
     FROM UNNEST($1::text[], $2::text[], $3::text[]) AS u(node, message_ids, outcome)
     JOIN step_kinds k ON k.node = u.node AND k.message_ids = u.message_ids AND k.outcome = u.outcome";

/// [`webhook_sql::SAVE_RECORD`], or when the record exists, [`webhook_sql::FIND_RECORD`], in one
/// statement: a record a call asks about is most often kept already (an order the shop's
/// system reported), which took two round trips. The find sees the records of the statement's
/// snapshot: a record kept by another transaction after it began (the insert waits for that
/// transaction, then does nothing) is found by [`webhook_sql::FIND_RECORD`] afterwards, as
/// before. `$1` kind, `$2` key, `$3` status, `$4` call id, `$5` now.
static SAVE_OR_FIND_RECORD: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH saved AS ({})
         SELECT id, status FROM saved
         UNION ALL
         SELECT id, status FROM records
         WHERE kind = $1 AND key = $2 AND NOT EXISTS (SELECT FROM saved)",
        webhook_sql::SAVE_RECORD
    )
});

/// [`webhook_sql::LINK_RECORD`] for many rows, the `links` part of [`FLUSH_WRITES`]: `$22`
/// record ids, `$23` call ids, `$24` times.
static LINKS_PART: LazyLock<String> = LazyLock::new(|| {
    format!(
        "links AS ({} SELECT * FROM UNNEST($22::bigint[], $23::bigint[], $24::bigint[]) {})",
        webhook_sql::LINK_RECORD_INTO,
        webhook_sql::LINK_ONCE
    )
});

/// Everything a batch buffered, in one statement (one round trip): its turns' steps
/// ([`webhook_sql::INSERT_STEP`]) and replay data ([`webhook_sql::SAVE_REPLAY`]) in two
/// data-modifying `WITH` parts, and [`webhook_sql::after_turn`]'s update for every call, with
/// the same rules; its record links ([`LINKS_PART`]); its final status callbacks
/// ([`ENDED_PARTS`]). A call is in it at most once, in one of these: a second statement on a
/// call in one transaction flushes the first (so no row is changed twice in the statement). One
/// array per column: `$1`-`$11` one entry per turn, `$12`-`$21` one per step (empty arrays
/// write no step), each step naming its kind by id ([`KindIds`]), then the links' and the
/// callbacks' arrays. Each was a statement of its own until 2026-12-03: a round trip each, and
/// PostgreSQL's own cost per statement (docs/BENCHMARKS.md, "Fewer statements per batch").
/// Gives the number of steps written: a step whose kind id is not that kind in `step_kinds` is
/// left out, not an error, so that [`FILL_STEPS`] can write it once the kind is kept again.
static FLUSH_WRITES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH {links}, {ended}, steps AS ({steps}), saved_replays AS ({replays}), turned AS (
         UPDATE calls SET {after}
         FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[],
                     $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[])
             AS u(state, turn, at, status, consent, from_number, asked_message, asked_locale, asked_text, id)
         WHERE calls.id = u.id)
     SELECT COUNT(*) FROM steps",
        links = *LINKS_PART,
        ended = *ENDED_PARTS,
        steps = format_args!("{} RETURNING 1", steps_of_known_kinds(12)),
        replays = format_args!(
            "{} SELECT * FROM UNNEST($10::bigint[], $2::bigint[], $11::text[]) {}",
            webhook_sql::SAVE_REPLAY_INTO,
            webhook_sql::REPLACE_REPLAY
        ),
        after = webhook_sql::after_turn(&webhook_sql::TurnValues {
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

/// Binds the step columns of [`FLUSH_WRITES`] (after its turn columns) and of [`FILL_STEPS`]:
/// `s`, each step's kind id and its kind.
fn bind_steps<'q>(
    query: Query<'q, Postgres, PgArguments>,
    s: &'q PendingSteps,
    kind_ids: &'q [i64],
    kinds: &'q [KindKey],
) -> Query<'q, Postgres, PgArguments> {
    let column = |pick: fn(&KindKey) -> &str| kinds.iter().map(pick).collect::<Vec<&str>>();
    query
        .bind(&s.call_id)
        .bind(&s.turn)
        .bind(&s.position)
        .bind(kind_ids)
        .bind(&s.text)
        .bind(&s.digits)
        .bind(&s.at)
        .bind(column(|k| &k.0))
        .bind(column(|k| &k.1))
        .bind(column(|k| &k.2))
}

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
        self.just_locked = None;
        // Not touched yet in this batch (`touch` takes a call out of `absent`).
        if self.absent.remove(new.call_sid) {
            // New, as the batch found: its row is written at the next flush, as
            // OPEN_CALL would have written it.
            self.touched.insert(new.call_sid.to_owned());
            let id = self.take_id()?;
            self.pending.opened.push(id, new);
            return CallRow::from_columns(
                id,
                new.call_sid.to_owned(),
                CallStatus::InProgress.as_str(),
                Some(new.flow_name.to_owned()),
                Some(new.flow_version.to_owned()),
                None,
                0,
            );
        }
        self.touch(new.call_sid)?;
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
        // The record names its call, which may be new in this batch.
        self.write_opened()?;
        let row = match &request.create_with_status {
            Some(status) => {
                let query = sqlx::query(&SAVE_OR_FIND_RECORD)
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
        let row = match row {
            Some(row) => Some(row),
            // Not asked to save, or kept by another transaction since this statement began.
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
        // call has nothing buffered: no flush of the batch's other writes for it.
        if self.just_locked.take().as_deref() != Some(update.call_sid) {
            self.touch(update.call_sid)?;
        }
        // Buffered: written with the batch's other callbacks in one statement.
        self.pending.ended.push(update);
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
        // The row names its call, which may be new in this batch.
        self.write_opened()?;
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
