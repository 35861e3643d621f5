//! A caller's data rights in the store (docs/privacy.md): everything kept about one person
//! (export, Art. 15), its irreversible removal (erasure, Art. 17), the retention purge of old
//! calls (Art. 5(1)(e)) and the one-time backfill of calls stored before callers were hashed.
//!
//! A person is found by the keyed hash of their number (`calls.caller_hash`) or by the
//! number itself (`calls.from_number`, kept in clear only after consent or before the
//! privacy migration). The store computes no hash: the caller gives it [`Person`] and
//! [`BackfillWrite`] with the values made in Rust (`liza_core::privacy`).
//!
//! Making a call anonymous keeps its row and everything the statistics read (time, language,
//! status, consent answer, duration, flow, node ids and outcomes) and removes: the number (in
//! clear, hashed and masked), the state, the consent question's rendered text (its message
//! id, locale and flow version still resolve it), step texts and digits, the stored TwiML
//! and the links to records; the records themselves stay (an order number and its status are
//! the shop's business). `purged_at` marks the call.
//!
//! Calls still in progress (no final status callback, and a webhook within
//! [`LIVE_CALL_MS`]) are never touched: an erasure says which it left, a purge waits for them.

use async_trait::async_trait;
use serde::Serialize;

use super::StoreError;

/// A call is live while it has no end and its last webhook is younger than this: Twilio ends
/// every call after four hours at most.
pub const LIVE_CALL_MS: i64 = 4 * 3_600_000;

/// One person as the store finds them: the keyed hash of their number and the number in
/// E.164 form (both made by the caller; neither may be empty).
#[derive(Debug, Clone, Copy)]
pub struct Person<'a> {
    pub caller_hash: &'a str,
    pub number: &'a str,
}

/// A call row as exported: every column.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, sqlx::FromRow)]
pub struct ExportedCall {
    pub id: i64,
    pub call_sid: String,
    pub from_number: String,
    pub caller_hash: Option<String>,
    pub caller_masked: Option<String>,
    pub to_number: String,
    pub language: Option<String>,
    pub status: String,
    pub consent: Option<String>,
    pub consent_at: Option<i64>,
    pub consent_asked_at: Option<i64>,
    pub consent_message: Option<String>,
    pub consent_locale: Option<String>,
    pub consent_text: Option<String>,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub duration_secs: Option<i64>,
    pub flow_name: Option<String>,
    pub flow_version: Option<String>,
    pub state: Option<String>,
    pub turn: i64,
    pub updated_at: i64,
    pub purged_at: Option<i64>,
}

/// A conversation step as exported.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, sqlx::FromRow)]
pub struct ExportedStep {
    pub call_id: i64,
    pub turn: i64,
    pub position: i64,
    pub node: String,
    pub message_ids: String,
    pub text: String,
    pub digits: Option<String>,
    pub outcome: String,
    pub created_at: i64,
}

/// A call's stored answer (the TwiML of its last turn, its replay data) as exported.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, sqlx::FromRow)]
pub struct ExportedResponse {
    pub call_id: i64,
    pub turn: i64,
    pub twiml: String,
}

/// A record one of the person's calls created or asked for.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, sqlx::FromRow)]
pub struct ExportedRecord {
    pub id: i64,
    pub kind: String,
    pub key: String,
    pub status: String,
    pub notes: String,
    pub call_id: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A link between a record and one of the person's calls.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, sqlx::FromRow)]
pub struct ExportedLink {
    pub record_id: i64,
    pub call_id: i64,
    pub created_at: i64,
}

/// A voicemail recorded on one of the person's calls (the audio stays at Twilio).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, sqlx::FromRow)]
pub struct ExportedRecording {
    pub call_id: i64,
    pub recording_sid: String,
    pub url: String,
    pub status: String,
    pub duration_secs: Option<i64>,
    pub created_at: i64,
}

/// An audit entry about one of the person's calls.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, sqlx::FromRow)]
pub struct ExportedAudit {
    pub id: i64,
    pub user_name: String,
    pub subject_kind: String,
    pub subject_id: i64,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub created_at: i64,
}

/// A text or event about one of the person's calls (the outbox), with what it carries while
/// it waits to be sent (a text: the number and the body).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, sqlx::FromRow)]
pub struct ExportedOutbox {
    pub id: i64,
    pub call_id: Option<i64>,
    pub kind: String,
    pub label: String,
    pub payload: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<i64>,
    pub created_at: i64,
}

/// Everything stored about one person, table by table.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct PersonalData {
    pub calls: Vec<ExportedCall>,
    pub steps: Vec<ExportedStep>,
    pub responses: Vec<ExportedResponse>,
    pub records: Vec<ExportedRecord>,
    pub record_calls: Vec<ExportedLink>,
    pub recordings: Vec<ExportedRecording>,
    pub audit_log: Vec<ExportedAudit>,
    pub outbox: Vec<ExportedOutbox>,
}

impl PersonalData {
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The calls still in progress (an erasure leaves them), by SID.
    pub fn live_calls(&self, now_ms: i64) -> Vec<&str> {
        self.calls
            .iter()
            .filter(|c| c.ended_at.is_none() && c.updated_at >= now_ms - LIVE_CALL_MS)
            .map(|c| c.call_sid.as_str())
            .collect()
    }
}

/// The document an export gives: `liza privacy export`, `GET /api/privacy/export` and the
/// dashboard's download alike. The number asked about, when, whether anything was found, and
/// every row, table by table.
#[derive(Debug, Serialize)]
pub struct ExportDocument<'a> {
    pub number: &'a str,
    pub exported_at: i64,
    pub found: bool,
    #[serde(flatten)]
    pub data: &'a PersonalData,
}

impl<'a> ExportDocument<'a> {
    pub fn new(number: &'a str, data: &'a PersonalData, now_ms: i64) -> Self {
        Self {
            number,
            exported_at: now_ms,
            found: !data.is_empty(),
            data,
        }
    }
}

impl PersonalData {
    /// The audit log's note of an export (counts only).
    pub fn export_note(&self) -> String {
        format!(
            "exported {} call(s), {} step(s), {} record(s)",
            self.calls.len(),
            self.steps.len(),
            self.records.len()
        )
    }
}

/// What making calls anonymous changed, row by row.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Anonymised {
    pub calls: u64,
    /// Steps whose text or digits were cleared.
    pub steps: u64,
    /// Stored answers (TwiML) deleted.
    pub responses: u64,
    /// Links between a call and a record deleted.
    pub record_links: u64,
    /// Records that no longer name the call that created them (the records stay).
    pub records_unlinked: u64,
    /// Voicemails' rows deleted (their URLs and durations).
    pub recordings: u64,
}

impl Anonymised {
    pub fn add(&mut self, other: Anonymised) {
        self.calls += other.calls;
        self.steps += other.steps;
        self.responses += other.responses;
        self.record_links += other.record_links;
        self.records_unlinked += other.records_unlinked;
        self.recordings += other.recordings;
    }
}

impl std::fmt::Display for Anonymised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} call(s) made anonymous, {} step(s) cleared, {} stored answer(s) deleted, \
             {} record link(s) deleted, {} record(s) unlinked, {} recording(s) deleted",
            self.calls,
            self.steps,
            self.responses,
            self.record_links,
            self.records_unlinked,
            self.recordings
        )
    }
}

/// What an erasure did, and the calls it left because they are still in progress.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Erasure {
    pub erased: Anonymised,
    /// SIDs of the person's calls still in progress: not touched; erase again once they ended.
    pub live_calls: Vec<String>,
}

/// A retention purge as `purge_runs` keeps it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PurgeRun {
    pub id: i64,
    pub started_at: i64,
    /// `None` while it runs (or when it was stopped before it finished).
    pub finished_at: Option<i64>,
    pub retention_days: i64,
    pub calls_purged: i64,
}

/// A call written before callers were hashed, as the backfill reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillRow {
    pub id: i64,
    pub from_number: String,
    pub consent: Option<String>,
}

/// What the backfill writes for one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillWrite {
    pub id: i64,
    pub caller_hash: String,
    pub caller_masked: String,
}

/// What the backfill changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backfilled {
    /// Calls that got their caller's hash and masked number.
    pub hashed: u64,
    /// Of those, calls without consent whose number, state, step texts and digits were removed.
    pub minimised: u64,
}

/// The store's side of the data rights; one implementation for both backends
/// (`sql_privacy.rs`), on the dashboard's pool.
#[async_trait]
pub trait Privacy: Send + Sync + 'static {
    /// Every row about `person`'s calls: the calls, their steps, stored answers, the records
    /// they touched and their links, and the audit entries about them. Empty for an unknown
    /// person.
    async fn export_person(&self, person: &Person<'_>) -> Result<PersonalData, StoreError>;
    /// Makes every call of `person` that is not in progress anonymous, in one transaction,
    /// and audits it (one entry per call, and one `privacy` entry with the counts and
    /// `subject`, which must not hold the number). Idempotent: an erased person is unknown.
    async fn erase_person(
        &self,
        person: &Person<'_>,
        by: &str,
        subject: &str,
        now_ms: i64,
    ) -> Result<Erasure, StoreError>;
    /// Makes at most `limit` calls that started before `older_than_ms` anonymous (oldest
    /// first, none in progress), in one short transaction. Fewer than `limit`: none are left.
    async fn purge_batch(
        &self,
        older_than_ms: i64,
        limit: i64,
        now_ms: i64,
    ) -> Result<Anonymised, StoreError>;
    /// Notes that a purge with `retention_days` started; its id.
    async fn start_purge_run(&self, retention_days: u32, now_ms: i64) -> Result<i64, StoreError>;
    /// Notes how many calls the purge `id` made anonymous so far, and whether it finished.
    async fn update_purge_run(
        &self,
        id: i64,
        calls_purged: u64,
        finished_at: Option<i64>,
    ) -> Result<(), StoreError>;
    /// The latest purge (for the dashboard's overview), if one ever ran.
    async fn last_purge_run(&self) -> Result<Option<PurgeRun>, StoreError>;
    /// At most `limit` calls after id `after_id`, stored before the privacy migration, whose
    /// caller has no hash yet and that are not in progress, by id.
    async fn calls_to_backfill(
        &self,
        after_id: i64,
        limit: i64,
        now_ms: i64,
    ) -> Result<Vec<BackfillRow>, StoreError>;
    /// Stores the hashes and masks of `rows` (only where none is stored yet), and removes the
    /// number, state, step texts and digits of those calls without given consent; one
    /// transaction.
    async fn backfill(&self, rows: &[BackfillWrite]) -> Result<Backfilled, StoreError>;
    /// Audits a data-rights action that changed nothing (an export): `subject` must not hold
    /// the number.
    async fn audit_privacy(
        &self,
        by: &str,
        action: &str,
        subject: &str,
        note: &str,
        now_ms: i64,
    ) -> Result<(), StoreError>;
}

/// The SQL every backend runs. `{ids}` in a template is a list of call ids the store read
/// from the database (integers, never user input), at most [`IDS_PER_STATEMENT`] at a time.
pub mod sql {
    /// Ids written into one statement.
    pub const IDS_PER_STATEMENT: usize = 500;

    /// A person: `$1` caller hash, `$2` number.
    pub const EXPORT_CALLS: &str =
        "SELECT id, call_sid, from_number, caller_hash, caller_masked, to_number,
            language, status, consent, consent_at, consent_asked_at, consent_message,
            consent_locale, consent_text, started_at, ended_at, duration_secs, flow_name,
            flow_version, state, turn, updated_at, purged_at
         FROM calls WHERE caller_hash = $1 OR from_number = $2 ORDER BY started_at, id";
    pub const EXPORT_STEPS: &str =
        "SELECT call_id, turn, position, node, message_ids, text, digits, outcome, created_at
         FROM steps WHERE call_id IN ({ids}) ORDER BY call_id, turn, position";
    /// A call's replay data: the TwiML of its last turn, kept until its final status callback.
    pub const EXPORT_RESPONSES: &str = "SELECT call_id, turn, twiml
         FROM replays WHERE call_id IN ({ids}) ORDER BY call_id";
    pub const EXPORT_LINKS: &str = "SELECT record_id, call_id, created_at
         FROM record_calls WHERE call_id IN ({ids}) ORDER BY call_id, record_id";
    pub const EXPORT_RECORDS: &str =
        "SELECT id, kind, key, status, notes, call_id, created_at, updated_at
         FROM records WHERE call_id IN ({ids})
            OR id IN (SELECT record_id FROM record_calls WHERE call_id IN ({ids}))
         ORDER BY id";
    pub const EXPORT_OUTBOX: &str = "SELECT id, call_id, kind, label, payload, status, attempts,
            last_error, sent_at, created_at
         FROM outbox WHERE call_id IN ({ids}) ORDER BY id";
    pub const EXPORT_RECORDINGS: &str =
        "SELECT call_id, recording_sid, url, status, duration_secs, created_at
         FROM recordings WHERE call_id IN ({ids}) ORDER BY call_id, id";
    pub const EXPORT_AUDIT: &str =
        "SELECT id, user_name, subject_kind, subject_id, field, old_value, new_value, created_at
         FROM audit_log WHERE subject_kind = 'call' AND subject_id IN ({ids}) ORDER BY id";

    /// Picks a person's calls that are not in progress and marks them, taking the write lock
    /// first (SQLite) and the rows' locks (PostgreSQL). `$1` hash, `$2` number, `$3` now,
    /// `$4` live since (now − [`super::LIVE_CALL_MS`]).
    pub const ERASE_PICK: &str = "UPDATE calls SET purged_at = $3
         WHERE (caller_hash = $1 OR from_number = $2) AND (ended_at IS NOT NULL OR updated_at < $4)
         RETURNING id";
    /// A person's calls left: the ones in progress. `$1` hash, `$2` number.
    pub const LIVE_LEFT: &str =
        "SELECT call_sid FROM calls WHERE caller_hash = $1 OR from_number = $2 ORDER BY started_at, id";
    /// Picks the oldest calls to purge (the partial index `calls_to_purge`) and marks them.
    /// `$1` started before, `$2` now, `$3` limit, `$4` live since.
    pub const PURGE_PICK: &str = "UPDATE calls SET purged_at = $2 WHERE id IN (
            SELECT id FROM calls WHERE started_at < $1 AND purged_at IS NULL
                AND (ended_at IS NOT NULL OR updated_at < $4)
            ORDER BY started_at LIMIT $3)
         RETURNING id";

    /// Making the picked calls anonymous, in this order.
    pub const CLEAR_STEPS: &str = "UPDATE step_rows SET text = '', digits = NULL
         WHERE call_id IN ({ids}) AND (text <> '' OR digits IS NOT NULL)";
    pub const DELETE_RESPONSES: &str = "DELETE FROM replays WHERE call_id IN ({ids})";
    pub const DELETE_LINKS: &str = "DELETE FROM record_calls WHERE call_id IN ({ids})";
    pub const DELETE_RECORDINGS: &str = "DELETE FROM recordings WHERE call_id IN ({ids})";
    pub const UNLINK_RECORDS: &str = "UPDATE records SET call_id = NULL WHERE call_id IN ({ids})";
    pub const ANONYMISE_CALLS: &str =
        "UPDATE calls SET from_number = '', caller_hash = NULL, caller_masked = NULL,
            state = NULL, consent_text = NULL
         WHERE id IN ({ids})";

    /// One audit entry per erased call. `$1` user, `$2` now.
    pub const AUDIT_ERASED_CALLS: &str = "INSERT INTO audit_log (user_name, subject_kind, subject_id, field, old_value, new_value, created_at)
         SELECT $1, 'call', id, 'personal data', NULL, 'erased', $2 FROM calls WHERE id IN ({ids})";

    pub const START_PURGE_RUN: &str =
        "INSERT INTO purge_runs (started_at, retention_days, calls_purged)
         VALUES ($1, $2, 0) RETURNING id";
    /// `$1` calls purged, `$2` finished at or NULL, `$3` id.
    pub const UPDATE_PURGE_RUN: &str =
        "UPDATE purge_runs SET calls_purged = $1, finished_at = $2 WHERE id = $3";
    pub const LAST_PURGE_RUN: &str =
        "SELECT id, started_at, finished_at, retention_days, calls_purged
         FROM purge_runs ORDER BY id DESC LIMIT 1";

    /// Calls stored before the privacy migration (`privacy_backfill`) still without a hash,
    /// by the partial index `calls_to_backfill`. `$1` after id, `$2` limit, `$3` live since.
    pub const TO_BACKFILL: &str = "SELECT id, from_number, consent FROM calls
         WHERE caller_hash IS NULL AND purged_at IS NULL AND id > $1
            AND id <= (SELECT up_to_call_id FROM privacy_backfill WHERE id = 1)
            AND (ended_at IS NOT NULL OR updated_at < $3)
         ORDER BY id LIMIT $2";
    /// The write comes first (SQLite's write lock). `$1` hash, `$2` masked, `$3` id.
    pub const BACKFILL_HASH: &str = "UPDATE calls SET caller_hash = $1, caller_masked = $2
         WHERE id = $3 AND caller_hash IS NULL RETURNING consent";
    /// `$1` id.
    pub const BACKFILL_MINIMISE_CALL: &str =
        "UPDATE calls SET from_number = '', state = NULL WHERE id = $1";
    pub const BACKFILL_MINIMISE_STEPS: &str =
        "UPDATE step_rows SET text = '', digits = NULL WHERE call_id = $1";
}

/// How audit entries name a person: a prefix of their keyed hash, never their number.
pub fn audit_subject(caller_hash: &str) -> String {
    format!("caller {}…", &caller_hash[..caller_hash.len().min(12)])
}

/// `ids` as a list for `{ids}`: integers read from the database.
pub(crate) fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_lists_are_plain_integers() {
        assert_eq!(id_list(&[1, 22, 333]), "1, 22, 333");
        assert_eq!(
            sql::CLEAR_STEPS.replace("{ids}", &id_list(&[7])),
            "UPDATE step_rows SET text = '', digits = NULL\n         WHERE call_id IN (7) AND (text <> '' OR digits IS NOT NULL)"
        );
    }

    #[test]
    fn live_calls_are_the_unended_ones_with_a_recent_webhook() {
        let call = |sid: &str, ended_at, updated_at| ExportedCall {
            id: 1,
            call_sid: sid.into(),
            from_number: String::new(),
            caller_hash: None,
            caller_masked: None,
            to_number: String::new(),
            language: None,
            status: "in_progress".into(),
            consent: None,
            consent_at: None,
            consent_asked_at: None,
            consent_message: None,
            consent_locale: None,
            consent_text: None,
            started_at: 0,
            ended_at,
            duration_secs: None,
            flow_name: None,
            flow_version: None,
            state: None,
            turn: 0,
            updated_at,
            purged_at: None,
        };
        let now = 10 * LIVE_CALL_MS;
        let data = PersonalData {
            calls: vec![
                call("CAlive", None, now - 1000),
                call("CAended", Some(now - 500), now - 500),
                call("CAstale", None, now - LIVE_CALL_MS - 1),
            ],
            ..PersonalData::default()
        };
        assert_eq!(data.live_calls(now), vec!["CAlive"]);
    }
}
