//! The SQL both backends run, written once.
//!
//! Every statement uses `$n` placeholders (numbered in order of first appearance, which is how
//! SQLite numbers them too), `ON CONFLICT`, `RETURNING` and epoch-millisecond BIGINT times,
//! which SQLite and PostgreSQL read alike. The webhook statements are run by each backend's
//! writer (`sqlite.rs` with rusqlite, `postgres.rs` with sqlx); `sql_store.rs` runs the rest
//! over one sqlx pool beside the backend's [`Writers`].
//!
//! [`Store`]: super::Store
//! [`Writers`]: super::batch::Writers
//!
//! The rules of a call's row (a `problem` call stays `problem`, consent keeps its first time)
//! are written once, in [`after_turn`] and [`status_becomes`]; PostgreSQL's batched statements
//! (`postgres.rs`) build their text from them too.

use std::sync::LazyLock;

/// The columns of [`CallRow`](super::CallRow), in this order.
macro_rules! call_columns {
    () => {
        "id, call_sid, status, flow_name, flow_version, state, turn"
    };
}

/// The columns a new call's row is written with ([`OPEN_CALL`]), in this order.
macro_rules! opened_columns {
    () => {
        "call_sid, from_number, caller_hash, caller_masked, to_number, status, started_at, flow_name, flow_version, language, updated_at"
    };
}

/// [`OPEN_CALL`]'s columns with the call's id first, for a writer that takes ids itself
/// (PostgreSQL's, for a batch's new calls).
pub const OPEN_CALL_INTO_WITH_ID: &str = concat!("INSERT INTO calls (id, ", opened_columns!(), ")");

/// Creates the call or touches it; the upsert takes the write lock at once, so two deliveries
/// of one webhook serialise here. The number is not kept in clear (`from_number` ''), only its
/// hash and masked form. `$1` sid, `$2` caller hash, `$3` masked caller, `$4` to, `$5` now,
/// `$6` flow, `$7` version, `$8` language (a call's row made earlier by its status callback
/// gets it here too).
pub const OPEN_CALL: &str = concat!(
    "INSERT INTO calls (",
    opened_columns!(),
    ")
     VALUES ($1, '', $2, $3, $4, 'in_progress', $5, $6, $7, $8, $5)
     ON CONFLICT (call_sid) DO UPDATE SET updated_at = excluded.updated_at,
         flow_name = COALESCE(calls.flow_name, excluded.flow_name),
         flow_version = COALESCE(calls.flow_version, excluded.flow_version),
         language = COALESCE(calls.language, excluded.language)
     RETURNING ",
    call_columns!()
);

/// Reads a call. `$1` sid. SQLite's writer holds the database's write lock already
/// (`BEGIN IMMEDIATE`); PostgreSQL's adds `FOR UPDATE` ([`LOCK_CALL_FOR_UPDATE`]). A read, not an
/// `UPDATE … RETURNING`: every row version costs PostgreSQL an entry in each of the calls
/// table's indexes, and the turn's own update follows anyway.
pub const LOCK_CALL: &str = concat!(
    "SELECT ",
    call_columns!(),
    " FROM calls WHERE call_sid = $1"
);

/// [`LOCK_CALL`] taking PostgreSQL's row lock, so two instances answering one call serialise.
pub const LOCK_CALL_FOR_UPDATE: &str = concat!(
    "SELECT ",
    call_columns!(),
    " FROM calls WHERE call_sid = $1 FOR UPDATE"
);

/// The TwiML turn `$2` of call `$1` answered, while it is the call's last turn (the only one
/// Twilio can deliver again: it asks for the next only once it has this one's answer).
pub const SAVED_RESPONSE: &str = "SELECT twiml FROM replays WHERE call_id = $1 AND turn = $2";

/// The save of save-or-find: returns no row when the record exists, and then [`FIND_RECORD`]
/// reads it. (`DO UPDATE` would return it in one statement, but lock the row until commit:
/// every call about one order would queue behind the others' transactions.) PostgreSQL's
/// writers run both in one statement where they can (`SAVE_OR_FIND_RECORD` in postgres.rs).
/// `$1` kind, `$2` key, `$3` status, `$4` call id, `$5` now.
pub const SAVE_RECORD: &str =
    "INSERT INTO records (kind, key, status, call_id, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $5)
     ON CONFLICT (kind, key) DO NOTHING
     RETURNING id, status";

/// `$1` kind, `$2` key.
pub const FIND_RECORD: &str = "SELECT id, status FROM records WHERE kind = $1 AND key = $2";

/// Links a record to a call (once: a call asking twice about one record is one link).
pub const LINK_RECORD_INTO: &str = "INSERT INTO record_calls (record_id, call_id, created_at)";
/// Ends every statement of [`LINK_RECORD_INTO`].
pub const LINK_ONCE: &str = "ON CONFLICT DO NOTHING";
/// `$1` record id, `$2` call id, `$3` now.
pub static LINK_RECORD: LazyLock<String> =
    LazyLock::new(|| format!("{LINK_RECORD_INTO} VALUES ($1, $2, $3) {LINK_ONCE}"));

/// Keeps a step's kind (its node, message ids and outcome: the flow's words, the same in every
/// call) once; a step row then names it by its id ([`KIND_ID`], kept by the writer:
/// `kinds.rs`). `$1` node, `$2` message ids, `$3` outcome.
pub const KEEP_STEP_KIND_INTO: &str = "INSERT INTO step_kinds (node, message_ids, outcome)";
/// Ends every statement of [`KEEP_STEP_KIND_INTO`].
pub const KEEP_STEP_KIND_ONCE: &str = "ON CONFLICT DO NOTHING";
/// One step's kind: `$1` node, `$2` message ids, `$3` outcome.
pub static KEEP_STEP_KIND: LazyLock<String> =
    LazyLock::new(|| format!("{KEEP_STEP_KIND_INTO} VALUES ($1, $2, $3) {KEEP_STEP_KIND_ONCE}"));

/// A kept kind's id: `$1` node, `$2` message ids, `$3` outcome.
pub const KIND_ID: &str =
    "SELECT id FROM step_kinds WHERE node = $1 AND message_ids = $2 AND outcome = $3";

/// Every statement that writes step rows: a step names its kind by the kind's id.
pub const STEP_ROWS_INTO: &str =
    "INSERT INTO step_rows (call_id, turn, position, kind, text, digits, created_at)";

/// One step row: `$1` … `$7` call id, turn, position, kind id, text, digits, now. Readers
/// read the view `steps` (the kind's words beside the row's own columns).
pub static INSERT_STEP: LazyLock<String> =
    LazyLock::new(|| format!("{STEP_ROWS_INTO} VALUES ($1, $2, $3, $4, $5, $6, $7)"));

/// A call's replay data: the TwiML of its last turn, in place of the one before (a call has one
/// row in `replays` while it is in progress, where a row per turn was inserted and deleted
/// again before: docs/BENCHMARKS.md, "Replay data: the last answer only").
pub const SAVE_REPLAY_INTO: &str = "INSERT INTO replays (call_id, turn, twiml)";
/// Its conflict clause: a call's next turn replaces the row.
pub const REPLACE_REPLAY: &str =
    "ON CONFLICT (call_id) DO UPDATE SET turn = excluded.turn, twiml = excluded.twiml";
/// `$1` call id, `$2` turn, `$3` TwiML.
pub static SAVE_REPLAY: LazyLock<String> =
    LazyLock::new(|| format!("{SAVE_REPLAY_INTO} VALUES ($1, $2, $3) {REPLACE_REPLAY}"));

/// What one answered turn writes into its call's row, from `v`: the call's columns are
/// `calls.…`, the new values are expressions (placeholders of one turn, or columns of a batch).
/// Every statement that saves a turn uses this text, so its rules are written only here.
pub fn after_turn(v: &TurnValues) -> String {
    let TurnValues {
        state,
        next_turn,
        at,
        status,
        consent,
        from_number,
        asked_message,
        asked_locale,
        asked_text,
    } = v;
    // The question is kept while the call has no decision: the last one heard before it.
    let asked = format!("{asked_message} IS NOT NULL AND calls.consent IS NULL");
    format!(
        "state = {state}, turn = {next_turn}, updated_at = {at},
         status = {},
         consent = COALESCE({consent}, calls.consent),
         consent_at = CASE WHEN {consent} IS NULL THEN calls.consent_at ELSE {at} END,
         from_number = COALESCE({from_number}, calls.from_number),
         consent_asked_at = CASE WHEN {asked} THEN {at} ELSE calls.consent_asked_at END,
         consent_message = CASE WHEN {asked} THEN {asked_message} ELSE calls.consent_message END,
         consent_locale = CASE WHEN {asked} THEN {asked_locale} ELSE calls.consent_locale END,
         consent_text = CASE WHEN {asked} THEN {asked_text} ELSE calls.consent_text END",
        status_becomes(&format!("COALESCE({status}, calls.status)"))
    )
}

/// The value expressions [`after_turn`] writes.
pub struct TurnValues {
    pub state: &'static str,
    pub next_turn: &'static str,
    pub at: &'static str,
    /// The new status, or NULL to keep it.
    pub status: &'static str,
    /// The consent answer, or NULL when the turn got none.
    pub consent: &'static str,
    /// The caller's number in clear (consent covering it given in this turn), or NULL.
    pub from_number: &'static str,
    /// The consent question asked in this turn (message ids, locale, text), or NULLs.
    pub asked_message: &'static str,
    pub asked_locale: &'static str,
    pub asked_text: &'static str,
}

/// The status of a call that something sets to `new`: a `problem` call stays `problem` (a
/// caller heard the apology; neither a later turn nor Twilio's final callback hides that).
pub fn status_becomes(new: &str) -> String {
    format!("CASE WHEN calls.status = '{PROBLEM}' THEN calls.status ELSE {new} END")
}

/// The status of a call whose caller heard the apology.
pub const PROBLEM: &str = "problem";

/// `$1` now, `$2` sid.
pub static MARK_PROBLEM: LazyLock<String> = LazyLock::new(|| {
    format!("UPDATE calls SET status = '{PROBLEM}', updated_at = $1 WHERE call_sid = $2")
});

/// The columns a status callback writes a call it is the first to hear of with
/// ([`CALL_ENDED`]), in this order.
macro_rules! ended_columns {
    () => {
        "call_sid, from_number, caller_hash, caller_masked, to_number, status, started_at, ended_at, duration_secs, updated_at"
    };
}

/// A final status callback. `$1` sid, `$2` caller hash, `$3` masked caller, `$4` to, `$5` now,
/// `$6` duration, `$7` the state an ended call keeps (or NULL to keep it as it is). A call
/// the callback is the first to hear of keeps no number in clear either.
pub static CALL_ENDED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO calls ({})
     VALUES ($1, '', $2, $3, $4, 'completed', $5, $5, $6, $5)
     ON CONFLICT (call_sid) DO UPDATE SET {}",
        ended_columns!(),
        call_ended("$7")
    )
});

/// What a final status callback writes into the row of a call that exists (`excluded`: the row
/// it would have inserted), with `state` the state the ended call keeps (NULL: as it is). Every
/// statement of a status callback uses this text.
pub fn call_ended(state: &str) -> String {
    format!(
        "status = {},
         ended_at = COALESCE(calls.ended_at, excluded.ended_at),
         duration_secs = COALESCE(excluded.duration_secs, calls.duration_secs),
         state = COALESCE({state}, calls.state),
         updated_at = excluded.updated_at",
        status_becomes("'completed'")
    )
}

/// [`CALL_ENDED`] giving the call's id, for [`DROP_REPLAY`].
pub static CALL_ENDED_RETURNING_ID: LazyLock<String> =
    LazyLock::new(|| format!("{} RETURNING id", *CALL_ENDED));

/// The replay data of a call that ended: after the final status callback Twilio delivers none
/// of its webhooks again (what a user sees, the steps, stays). `$1` call id.
pub const DROP_REPLAY: &str = "DELETE FROM replays WHERE call_id = $1";

/// A voicemail's recording status callback, kept only for a call whose caller consented;
/// delivered again (or `in-progress` then `completed`), the row is updated. `$1`
/// RecordingSid, `$2` RecordingUrl, `$3` RecordingStatus, `$4` RecordingDuration or NULL,
/// `$5` now, `$6` call sid.
pub const SAVE_RECORDING: &str =
    "INSERT INTO recordings (call_id, recording_sid, url, status, duration_secs, created_at, updated_at)
     SELECT id, $1, $2, $3, $4, $5, $5 FROM calls WHERE call_sid = $6 AND consent = 'given'
     ON CONFLICT (recording_sid) DO UPDATE SET
         url = excluded.url,
         status = excluded.status,
         duration_secs = COALESCE(excluded.duration_secs, recordings.duration_secs),
         updated_at = excluded.updated_at";

/// `$1` version, `$2` name, `$3` now, `$4` source.
pub const REGISTER_FLOW_VERSION: &str =
    "INSERT INTO flow_versions (version, name, loaded_at, source) VALUES ($1, $2, $3, $4)
     ON CONFLICT (version) DO UPDATE SET source = COALESCE(flow_versions.source, excluded.source)";

/// The health check's write: the one row of `health_probe`. `$1` now.
pub const PROBE: &str = "INSERT INTO health_probe (id, probed_at) VALUES (1, $1)
     ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at";

/// Keeps the privacy key once. `$1` check value, `$2` generated key or NULL, `$3` now.
pub const KEEP_PRIVACY_KEY: &str =
    "INSERT INTO privacy_key (id, key_check, generated_key, created_at) VALUES (1, $1, $2, $3)
     ON CONFLICT (id) DO NOTHING";

/// The kept privacy key.
pub const PRIVACY_KEY: &str = "SELECT key_check, generated_key FROM privacy_key WHERE id = 1";

/// `$1` version.
pub const FLOW_SOURCE: &str = "SELECT source FROM flow_versions WHERE version = $1";

pub(crate) use call_columns;
pub(crate) use ended_columns;

#[cfg(test)]
mod tests {
    use super::*;

    /// The `$n` of `sql` in order of first appearance.
    fn first_appearances(sql: &str) -> Vec<usize> {
        let mut seen = Vec::new();
        let bytes = sql.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'$' {
                let digits: String = sql[i + 1..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                if let Ok(n) = digits.parse::<usize>() {
                    if !seen.contains(&n) {
                        seen.push(n);
                    }
                }
                i += digits.len();
            }
            i += 1;
        }
        seen
    }

    /// SQLite numbers `$n` parameters in order of first appearance, not by `n`: a statement
    /// that names `$8` before `$7` would bind its values to the wrong columns there.
    #[test]
    fn placeholders_appear_in_their_order() {
        for sql in [
            OPEN_CALL,
            CALL_ENDED.as_str(),
            CALL_ENDED_RETURNING_ID.as_str(),
            KEEP_STEP_KIND.as_str(),
            KIND_ID,
            INSERT_STEP.as_str(),
            SAVE_REPLAY.as_str(),
            SAVE_RECORD,
            MARK_PROBLEM.as_str(),
            KEEP_PRIVACY_KEY,
            SAVE_RECORDING,
        ] {
            let order = first_appearances(sql);
            let expected: Vec<usize> = (1..=order.len()).collect();
            assert_eq!(order, expected, "{sql}");
        }
    }
}
