//! A call without Twilio, server or database: the state machine driven directly,
//! with records kept in memory. Used by `liza simulate` and `liza test`.
//!
//! Must not touch: HTTP, SQL.

use std::collections::BTreeMap;
use std::convert::Infallible;

use liza_core::flow::Flow;
use liza_core::runtime::{CallState, Input, RecordInfo, RecordRequest, Texting};
use liza_core::speech::SpeechConfig;
use liza_core::turn::{play_fetching, ConsentQuestion, Text, Turned};

use crate::fetchstub::{self, FetchStubs};
use liza_model::{CallStatus, Consent};

/// Records as a flow sees them: (kind, key) → status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryRecords {
    records: BTreeMap<(String, String), (i64, String)>,
}

impl MemoryRecords {
    pub fn insert(&mut self, kind: &str, key: &str, status: &str) {
        let id = self.records.len() as i64 + 1;
        self.records
            .insert((kind.to_owned(), key.to_owned()), (id, status.to_owned()));
    }

    /// The record a turn asks for: found by kind and key, or created with the status the
    /// request gives (save-or-find), as the store does.
    fn save_or_find(&mut self, request: &RecordRequest) -> Option<RecordInfo> {
        let key = (request.kind.clone(), request.key.clone());
        if let Some((id, status)) = self.records.get(&key) {
            return Some(RecordInfo {
                id: *id,
                status: status.clone(),
            });
        }
        let status = request.create_with_status.clone()?;
        let id = self.records.len() as i64 + 1;
        self.records.insert(key, (id, status.clone()));
        Some(RecordInfo { id, status })
    }

    /// Sets a record's status (as staff would on the dashboard); `false` if there is none.
    pub fn set_status(&mut self, kind: &str, key: &str, status: &str) -> bool {
        match self.records.get_mut(&(kind.to_owned(), key.to_owned())) {
            Some((_, current)) => {
                *current = status.to_owned();
                true
            }
            None => false,
        }
    }

    /// (kind, key) of the record with this id.
    fn key_of(&self, id: i64) -> Option<&(String, String)> {
        self.records
            .iter()
            .find(|(_, (record_id, _))| *record_id == id)
            .map(|(key, _)| key)
    }

    /// (kind, key, status) of every record, sorted.
    pub fn all(&self) -> Vec<(String, String, String)> {
        self.records
            .iter()
            .map(|((kind, key), (_, status))| (kind.clone(), key.clone(), status.clone()))
            .collect()
    }
}

/// One thing Liza said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub node: String,
    pub message: String,
    pub text: String,
}

/// One node visited, with what happened there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    pub node: String,
    pub digits: Option<String>,
    pub outcome: String,
    /// What happened here in words (a fetch: the request and what its answer set).
    pub note: Option<String>,
    /// What Liza said at this node, in order.
    pub said: Vec<Said>,
    /// The caller's consent as it stood once this node was passed.
    pub consent: Option<Consent>,
}

impl Visit {
    /// The visit as transcript lines: what happened (unless the node only spoke or asked),
    /// then what Liza said, each with its message id so staff know what to edit.
    pub fn transcript(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if !matches!(
            self.outcome.as_str(),
            "said" | "asked" | "played" | "paused"
        ) {
            // Digits said in words come with a note of what was heard.
            let spoken = self
                .note
                .as_deref()
                .is_some_and(|n| n.starts_with("heard "));
            let keys = self
                .digits
                .as_deref()
                .map(|d| format!(" ({} {d})", if spoken { "said" } else { "keys" }))
                .unwrap_or_default();
            lines.push(format!("  [{}] → {}{keys}", self.node, self.outcome));
        }
        if let Some(note) = &self.note {
            lines.push(format!("  [{}]   {note}", self.node));
        }
        for said in &self.said {
            lines.push(format!(
                "[{}] Liza: {}  ‹{}›",
                said.node, said.text, said.message
            ));
        }
        lines
    }
}

/// What one turn produced.
#[derive(Debug, Clone, Default)]
pub struct TurnReport {
    pub said: Vec<Said>,
    pub visits: Vec<Visit>,
    /// The node now waiting for keys, if the call goes on.
    pub waiting: Option<String>,
    pub ended: bool,
    /// Rendering problems (a missing variable).
    pub problems: Vec<String>,
    /// The consent question, when the flow's consent node asked in this turn.
    pub consent_question: Option<ConsentQuestion>,
    /// Text messages queued in this turn (`sms` nodes).
    pub texts: Vec<Text>,
}

/// A whole call in memory.
pub struct OfflineCall<'f> {
    flow: &'f Flow,
    speech: SpeechConfig,
    pub state: CallState,
    pub records: MemoryRecords,
    /// How the flow's fetches are answered (by node; none: `not_configured`).
    pub fetches: FetchStubs,
    pub status: CallStatus,
    pub consent: Option<Consent>,
    pub said: Vec<Said>,
    pub visits: Vec<Visit>,
    /// (kind, key) of every record the call saved or found, in order, without repeats: what
    /// the store links to the call.
    pub touched: Vec<(String, String)>,
    /// The instant every turn is played at (epoch milliseconds): the clock's when the call
    /// was made, or `liza simulate --at` / a flow test's `at:`.
    pub now_ms: i64,
    /// Whether `sms` nodes may text (the caller's number is the one the call starts from):
    /// offline, as a server with Twilio's account and a sender number set, unless told not.
    pub texting: Texting,
    /// Every text message the call queued, in order.
    pub texts: Vec<Text>,
}

impl<'f> OfflineCall<'f> {
    pub fn new(flow: &'f Flow, speech: SpeechConfig, records: MemoryRecords) -> Self {
        Self {
            flow,
            speech,
            state: CallState::default(),
            records,
            fetches: FetchStubs::new(),
            status: CallStatus::InProgress,
            consent: None,
            said: Vec::new(),
            visits: Vec::new(),
            touched: Vec::new(),
            now_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            texting: Texting {
                caller: String::new(),
                configured: true,
            },
            texts: Vec::new(),
        }
    }

    /// Plays the call as a server without Twilio's account or a sender number: every `sms`
    /// node goes on `not_configured`.
    pub fn without_texting(mut self) -> Self {
        self.texting.configured = false;
        self
    }

    /// Plays every turn at `now_ms` (epoch milliseconds) instead of the clock's time.
    pub fn at(mut self, now_ms: i64) -> Self {
        self.now_ms = now_ms;
        self
    }

    pub fn start(&mut self, from: &str) -> TurnReport {
        self.texting.caller = from.to_owned();
        self.turn(Input::Start {
            from: from.to_owned(),
        })
    }

    /// Keys pressed (`None`: the caller pressed nothing).
    pub fn press(&mut self, digits: Option<&str>) -> TurnReport {
        let input = match digits.map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => Input::Digits(d.to_owned()),
            None => Input::NoInput,
        };
        self.turn(input)
    }

    /// Words the caller said (Twilio's `SpeechResult`) with Twilio's confidence in thousandths
    /// (`1000`: sure).
    pub fn say(&mut self, words: &str, confidence: u16) -> TurnReport {
        self.turn(Input::Speech {
            said: words.trim().to_owned(),
            confidence: Some(confidence),
        })
    }

    /// How the node the call waits at takes its answer (`None`: it waits for no answer, or
    /// for a dial or a recording).
    pub fn listening(&self) -> Option<&liza_core::flow::Listen> {
        let id = self.flow.node_named(self.state.waiting.as_deref()?)?;
        match &self.flow.node(id).kind {
            liza_core::flow::NodeKind::Gather(g) => Some(&g.input.listen),
            liza_core::flow::NodeKind::Confirm(c) => Some(&c.input.listen),
            _ => None,
        }
    }

    /// A transfer's dial is over: Twilio's `DialCallStatus` (`busy`, `no-answer`, `completed`).
    pub fn dialed(&mut self, status: &str) -> TurnReport {
        self.turn(Input::Dialed(status.to_owned()))
    }

    /// The caller's message at a voicemail was recorded.
    pub fn recorded(&mut self) -> TurnReport {
        self.turn(Input::Recorded)
    }

    /// The caller hangs up: what Twilio's status callback would record.
    pub fn hang_up(&mut self) {
        self.state.ended = true;
        if self.status != CallStatus::Problem {
            self.status = CallStatus::Completed;
        }
    }

    pub fn ended(&self) -> bool {
        self.state.ended
    }

    fn turn(&mut self, input: Input) -> TurnReport {
        let records = &mut self.records;
        let stubs = &self.fetches;
        let played = play_fetching(
            self.flow,
            &self.speech,
            self.state.clone(),
            input,
            0,
            self.now_ms,
            &self.texting,
            |request| Ok::<_, Infallible>(records.save_or_find(request)),
            |request, _| Some(fetchstub::answer(stubs, request)),
        );
        let played = match played {
            Ok(Turned::Played(played)) => played,
            Ok(Turned::Paused { .. }) => unreachable!("every fetch is answered from a stub"),
            Err(never) => match never {},
        };
        let mut report = TurnReport::default();
        for step in played.steps {
            let said: Vec<Said> = step
                .messages
                .into_iter()
                .zip(step.texts)
                .map(|(message, text)| Said {
                    node: step.node.clone(),
                    message,
                    text,
                })
                .collect();
            report.said.extend(said.iter().cloned());
            report.visits.push(Visit {
                node: step.node,
                digits: step.digits,
                outcome: step.outcome,
                note: step.note,
                said,
                consent: step.consent,
            });
        }
        report.problems = played.problems;
        report.consent_question = played.consent_question;
        if let Some(status) = played.effects.status {
            // As the store does: a call that was a problem stays one.
            if self.status != CallStatus::Problem {
                self.status = status;
            }
        }
        if let Some(consent) = played.effects.consent {
            self.consent = Some(consent);
        }
        for id in &played.effects.records {
            if let Some(key) = self.records.key_of(*id) {
                if !self.touched.contains(key) {
                    self.touched.push(key.clone());
                }
            }
        }
        report.texts = played.texts;
        self.texts.extend(report.texts.iter().cloned());
        report.ended = played.ended;
        report.waiting = played.state.waiting.clone();
        self.state = played.state;
        self.said.extend(report.said.iter().cloned());
        self.visits.extend(report.visits.iter().cloned());
        report
    }

    /// Nodes visited in order, repeats in a row folded.
    pub fn path(&self) -> Vec<String> {
        let mut path: Vec<String> = Vec::new();
        for visit in &self.visits {
            if path.last() != Some(&visit.node) && !visit.node.is_empty() {
                path.push(visit.node.clone());
            }
        }
        path
    }
}
