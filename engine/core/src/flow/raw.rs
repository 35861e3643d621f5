//! The flow file as written: types that mirror the YAML 1:1, references as strings.
//! Nothing here is validated beyond shape; `compile` turns it into a [`super::Flow`].

use indexmap::IndexMap;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFlow {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub entry: String,
    /// Called numbers (`To`) this flow answers; empty = any.
    #[serde(default)]
    pub numbers: Vec<String>,
    pub languages: RawLanguages,
    #[serde(default)]
    pub records: IndexMap<String, RawRecordKind>,
    /// Where consent is asked and what it covers; none: nobody ever consents.
    #[serde(default)]
    pub privacy: Option<RawPrivacy>,
    /// Opening hours by name (see [`super::hours`]).
    #[serde(default)]
    pub schedules: IndexMap<String, RawSchedule>,
    /// Systems `fetch` nodes talk to, by name.
    #[serde(default)]
    pub connections: IndexMap<String, RawConnection>,
    pub nodes: IndexMap<String, RawNodeEntry>,
}

/// A node as written: what it does, and what the dashboard calls its step.
#[derive(Debug, Deserialize)]
pub struct RawNodeEntry {
    /// A Fluent message id: the step's name on the dashboard's call timeline.
    #[serde(default)]
    pub label: Option<String>,
    #[serde(flatten)]
    pub node: RawNode,
}

/// A system the flow talks to: its base URL and headers (`${env:NAME}` for secrets).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConnection {
    pub url: String,
    #[serde(default)]
    pub headers: IndexMap<String, String>,
}

/// Where a fetch's outcomes go.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFetchNext {
    #[serde(default)]
    pub ok: Option<String>,
    #[serde(default)]
    pub not_found: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default)]
    pub not_configured: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrivacy {
    /// The input node that asks.
    pub consent: String,
    /// What consent allows to be kept in clear (`caller_number`, `conversation`).
    pub covers: Vec<String>,
}

/// A schedule as written: weekly hours by day key (`mon-fri`), dates closed, dates with hours
/// of their own, named periods.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    pub timezone: String,
    #[serde(default)]
    pub weekly: IndexMap<String, RawHours>,
    #[serde(default)]
    pub closed: Vec<String>,
    #[serde(default)]
    pub special: IndexMap<String, RawHours>,
    #[serde(default)]
    pub periods: IndexMap<String, IndexMap<String, RawHours>>,
}

/// One range of hours (`09:00-17:00`) or several; an empty list: closed.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum RawHours {
    One(String),
    Many(Vec<String>),
}

impl RawHours {
    pub fn ranges(&self) -> Vec<&str> {
        match self {
            Self::One(r) => vec![r.as_str()],
            Self::Many(rs) => rs.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLanguages {
    pub default: String,
    #[serde(default)]
    pub prefixes: IndexMap<String, String>,
    #[serde(default)]
    pub voices: IndexMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRecordKind {
    pub statuses: Vec<String>,
    pub initial: String,
    #[serde(default)]
    pub title: Option<String>,
}

/// One message id or several, spoken in order.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum RawMessages {
    One(String),
    Many(Vec<String>),
}

impl RawMessages {
    pub fn ids(&self) -> Vec<&str> {
        match self {
            Self::One(id) => vec![id.as_str()],
            Self::Many(ids) => ids.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetry {
    #[serde(default)]
    pub say: Option<RawMessages>,
    #[serde(default)]
    pub goto: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RawNode {
    Say {
        say: RawMessages,
        next: String,
    },
    GatherDigits {
        webhook: String,
        prompt: RawMessages,
        into: String,
        #[serde(default = "default_min_length")]
        min_length: u32,
        max_length: u32,
        #[serde(default = "default_finish_key")]
        finish_on_key: String,
        #[serde(default = "default_timeout")]
        timeout: u32,
        #[serde(default)]
        pattern: Option<String>,
        #[serde(default = "default_attempts")]
        attempts: u32,
        /// How the caller may answer: `dtmf` (keys), `speech` (words); default keys only.
        #[serde(default)]
        input: Option<Vec<String>>,
        /// A Fluent message whose text lists words that help Twilio recognise speech.
        #[serde(default)]
        hints: Option<String>,
        /// Below this confidence (0–1) an answer in words is not understood.
        #[serde(default)]
        min_confidence: Option<f64>,
        #[serde(default)]
        on_invalid: Option<RawRetry>,
        #[serde(default)]
        on_no_input: Option<RawRetry>,
        on_exhausted: String,
        next: String,
    },
    Confirm {
        webhook: String,
        prompt: RawMessages,
        choices: IndexMap<String, String>,
        /// Per choice, a Fluent message listing what a caller may say for it, comma-separated
        /// (`consent-yes-words = ja, jawohl, gerne`); needs `speech` in `input`.
        #[serde(default)]
        words: IndexMap<String, String>,
        #[serde(default = "default_timeout")]
        timeout: u32,
        #[serde(default = "default_attempts")]
        attempts: u32,
        /// How the caller may answer: `dtmf` (keys), `speech` (words); default keys only.
        #[serde(default)]
        input: Option<Vec<String>>,
        /// A Fluent message whose text lists words that help Twilio recognise speech.
        #[serde(default)]
        hints: Option<String>,
        /// Below this confidence (0–1) an answer in words is not understood.
        #[serde(default)]
        min_confidence: Option<f64>,
        #[serde(default)]
        on_invalid: Option<RawRetry>,
        #[serde(default)]
        on_no_input: Option<RawRetry>,
        on_exhausted: String,
    },
    Branch {
        on: String,
        cases: IndexMap<String, String>,
        default: String,
    },
    Persist {
        #[serde(default)]
        call_status: Option<String>,
        #[serde(default)]
        consent: Option<String>,
        #[serde(default)]
        record: Option<RawRecordWrite>,
        next: String,
    },
    Lookup {
        record: String,
        key: String,
        into: String,
        found: String,
        missing: String,
    },
    Goto {
        next: String,
    },
    /// An audio file played to the caller (`<Play>`), then on to `next`.
    Play {
        url: String,
        /// How many times it is played (`loop`).
        #[serde(default, rename = "loop")]
        repeat: Option<u32>,
        next: String,
    },
    /// Silence (`<Pause length>`), then on to `next`.
    Pause {
        /// Seconds.
        length: u32,
        next: String,
    },
    /// Sets variables (see [`super::set`]): variable → literal, `$other` or text with
    /// `{ $other }` placeholders.
    Set {
        values: IndexMap<String, serde_json::Value>,
        next: String,
    },
    /// Goes on by a schedule at the turn's instant: `open`, `closed` or a named period.
    Hours {
        schedule: String,
        open: String,
        closed: String,
        #[serde(default)]
        periods: IndexMap<String, String>,
    },
    Hangup {
        #[serde(default)]
        say: Option<RawMessages>,
        #[serde(default)]
        call_status: Option<String>,
    },
    /// A text message to the caller (queued in the outbox, sent after the turn commits), or
    /// with `check: true` only whether one could be sent.
    Sms {
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        check: bool,
        next: String,
        not_mobile: String,
        no_consent: String,
        not_configured: String,
    },
    Fetch {
        #[serde(default)]
        connection: Option<String>,
        #[serde(default)]
        method: Option<String>,
        #[serde(default)]
        url: Option<String>,
        #[serde(default)]
        path: Option<String>,
        #[serde(default)]
        headers: IndexMap<String, String>,
        #[serde(default)]
        body: Option<serde_json::Value>,
        /// Seconds (fractions allowed).
        #[serde(default)]
        timeout: Option<f64>,
        #[serde(default)]
        set: IndexMap<String, String>,
        #[serde(default)]
        next: RawFetchNext,
    },
    /// A `<Dial>` to a person (see [`super::transfer`]); exactly one of `to`, `sip`, `client`.
    Transfer {
        #[serde(default)]
        to: Option<String>,
        #[serde(default)]
        sip: Option<String>,
        #[serde(default)]
        client: Option<String>,
        #[serde(default)]
        caller_id: Option<String>,
        #[serde(default)]
        timeout: Option<u32>,
        /// Said to the caller before the dial (only when it is made).
        #[serde(default)]
        say: Option<RawMessages>,
        #[serde(default)]
        whisper: Option<String>,
        /// `true`: dial nothing, only go on by whether the call could be put through.
        #[serde(default)]
        check: bool,
        /// Required unless `check: true`.
        #[serde(default)]
        webhook: Option<String>,
        #[serde(default)]
        next: RawTransferNext,
    },
    /// A `<Record>` of the caller's message, only after consent (see [`super::voicemail`]).
    Voicemail {
        #[serde(default)]
        say: Option<RawMessages>,
        #[serde(default)]
        max_length: Option<u32>,
        #[serde(default)]
        finish_on_key: Option<String>,
        #[serde(default)]
        beep: Option<bool>,
        webhook: String,
        #[serde(default)]
        next: RawVoicemailNext,
    },
}

/// A voicemail's outcomes as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVoicemailNext {
    #[serde(default)]
    pub recorded: Option<String>,
    #[serde(default)]
    pub empty: Option<String>,
    #[serde(default)]
    pub no_consent: Option<String>,
}

/// A transfer's outcomes as written; each one missing is named by `liza check`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTransferNext {
    /// With `check: true`: the call could be put through.
    #[serde(default)]
    pub ready: Option<String>,
    #[serde(default)]
    pub answered: Option<String>,
    #[serde(default)]
    pub busy: Option<String>,
    #[serde(default)]
    pub no_answer: Option<String>,
    #[serde(default)]
    pub failed: Option<String>,
    #[serde(default)]
    pub not_configured: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRecordWrite {
    pub kind: String,
    pub key: String,
    #[serde(default)]
    pub status_into: Option<String>,
}

fn default_min_length() -> u32 {
    1
}
fn default_finish_key() -> String {
    "#".into()
}
fn default_timeout() -> u32 {
    5
}
fn default_attempts() -> u32 {
    3
}
