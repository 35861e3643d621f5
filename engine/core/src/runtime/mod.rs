//! The call state machine: (flow, call state, caller input) → actions, effects (folded) and a
//! new state.
//!
//! Pure: no HTTP, SQL, XML, clock or file system. When a node needs a stored record
//! (save-or-find an order, look one up) the turn pauses with [`Step::NeedRecord`];
//! the adapter fetches it and hands it back with [`Turn::provide`]. A `fetch` node pauses the
//! same way with [`Step::NeedFetch`]; its answer comes back with [`Turn::provide_fetch`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::flow::hours::Status;
use crate::flow::transfer::DialOutcome;
use crate::flow::{Flow, InputSpec, NodeId, NodeKind, Retry};
use crate::model::{CallStatus, Consent};
pub use crate::model::{RecordInfo, RecordRequest};
pub use fetch::{FetchAnswer, FetchOutcome, FetchRequest, ResolvedRequest};

mod fetch;

/// Looks up an `${env:NAME}` value (the adapter's environment; the core reads none).
pub type EnvLookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Most node visits one webhook may make; the compiler already rejects loops
/// without input, this guards against anything it missed.
const MAX_HOPS: u32 = 256;

/// What the caller did since the last answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The call just started.
    Start { from: String },
    /// Keys pressed (without the finish key).
    Digits(String),
    /// Words the caller said at a Gather that listens for speech (Twilio's `SpeechResult`),
    /// with Twilio's confidence in thousandths (`Confidence` 0.0–1.0; `None`: not sent or
    /// not a number, which counts as not understood).
    Speech {
        said: String,
        confidence: Option<u16>,
    },
    /// The Gather timed out with nothing pressed.
    NoInput,
    /// A `<Dial>` is over: Twilio's `DialCallStatus` (`completed`, `busy`, `no-answer`, …).
    Dialed(String),
    /// A `<Record>` ended with a recording (its action callback carried a `RecordingUrl`).
    Recorded,
}

/// Everything the engine remembers about a call between webhooks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallState {
    /// Language tag chosen at the start (`en-GB`).
    pub language: String,
    /// The input node waiting for the caller, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<String>,
    /// Failed answers so far at the waiting node.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
    pub ended: bool,
    /// The caller's consent decision so far (what the flow's `privacy:` block lets the
    /// adapters keep depends on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
}

impl CallState {
    /// Forgets what the caller entered (the flow's variables), for a call whose consent does
    /// not cover the conversation once it is over.
    pub fn forget_entries(&mut self) {
        self.vars.clear();
    }

    /// What a call that has ended keeps: its language and consent, and that it ended. A
    /// webhook Twilio delivers late is answered from that alone (the call hangs up); what the
    /// caller entered stays in the steps, as far as their consent lets it.
    pub fn after_end(&self) -> CallState {
        CallState {
            language: self.language.clone(),
            ended: true,
            consent: self.consent,
            ..CallState::default()
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What the caller hears and what Twilio is told to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Say(Vec<String>),
    /// Ask at an input node: its prompt inside a Gather, then a Redirect for no input.
    Ask(NodeId),
    /// Put the caller through at a `transfer` node to `to` (the number, SIP address or client
    /// with its `${env:…}` value filled in).
    Dial {
        node: NodeId,
        to: String,
    },
    /// Record the caller's message at a `voicemail` node.
    Record(NodeId),
    /// Play an audio file (`play` node), `repeat` times.
    Play {
        url: String,
        repeat: u32,
    },
    /// Silence, in seconds (`pause` node).
    Pause(u32),
    Hangup,
}

/// What a turn changes about the call, folded by the state machine as it goes: the adapters
/// store it as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    /// The call's status after this turn, when the turn set one (the last one set wins).
    pub status: Option<CallStatus>,
    /// The caller's consent answer, when this turn took one.
    pub consent: Option<Consent>,
    /// Ids of the stored records this turn saved or found, in order.
    pub records: Vec<i64>,
    /// Text messages this turn queued for the caller (`sms` nodes), in order.
    pub texts: Vec<TextOut>,
    /// Records a `persist` node saved (or found existing) in this turn, in order.
    pub saved: Vec<SavedRecord>,
}

/// A record a `persist` node saved, as events tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedRecord {
    pub id: i64,
    pub kind: String,
    pub key: String,
    pub status: String,
}

/// A text message an `sms` node queued: sent by the adapter's outbox after the turn is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextOut {
    /// The node that queued it (with the turn, what makes it once only).
    pub node: String,
    /// The Fluent message that is its body.
    pub message: String,
}

/// What the adapter tells a turn about texting the caller: the core reads no environment and
/// keeps no number in its state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Texting {
    /// The caller's number as Twilio sent it (`From`).
    pub caller: String,
    /// Whether this server sends texts at all (a Twilio account and a sender number set).
    pub configured: bool,
}

/// Whether a text could go to the caller now, and if not, why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextVerdict {
    Possible,
    NotConfigured,
    NoConsent,
    NotMobile,
}

impl TextVerdict {
    /// Checked in this order: the server's settings, the caller's consent, their number.
    pub fn of(texting: &Texting, consent: Option<Consent>) -> Self {
        if !texting.configured {
            Self::NotConfigured
        } else if consent != Some(Consent::Given) {
            Self::NoConsent
        } else if !crate::privacy::is_mobile(&texting.caller) {
            Self::NotMobile
        } else {
            Self::Possible
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Possible => "possible",
            Self::NotConfigured => "not_configured",
            Self::NoConsent => "no_consent",
            Self::NotMobile => "not_mobile",
        }
    }
}

impl Effects {
    /// Sets the call's status; a call this turn marked `problem` stays `problem` (as in the store).
    fn set_status(&mut self, status: CallStatus) {
        if self.status != Some(CallStatus::Problem) {
            self.status = Some(status);
        }
    }
}

/// One node visited in this turn, for the conversation log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepTrace {
    pub node: String,
    pub messages: Vec<String>,
    pub digits: Option<String>,
    pub outcome: String,
    /// The caller's consent as it stood once this step was taken.
    pub consent: Option<Consent>,
    /// What happened here in words, beside what was said (a fetch: the request and the
    /// values its answer set); kept as the step's text.
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    NeedRecord(RecordRequest),
    /// A `fetch` node waits for its answer ([`Turn::provide_fetch`]).
    NeedFetch(FetchRequest),
    Done,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TurnOutput {
    pub actions: Vec<Action>,
    pub effects: Effects,
    pub steps: Vec<StepTrace>,
    pub state: CallState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Cursor {
    Enter(NodeId),
    Ask(NodeId),
    Answer(NodeId, Input),
    AwaitRecord(NodeId),
    AwaitFetch(NodeId),
    Done,
}

/// One webhook's worth of the flow.
pub struct Turn<'f> {
    flow: &'f Flow,
    /// The instant the turn is played at (epoch milliseconds), for `hours` nodes; the adapter
    /// gives it ([`Turn::at`]): the core has no clock.
    now: Option<jiff::Timestamp>,
    /// `${env:…}` values a `transfer` node dials ([`Turn::env`]); none: not configured.
    env: Option<&'f EnvLookup>,
    texting: Texting,
    out: TurnOutput,
    cursor: Cursor,
    hops: u32,
}

impl<'f> Turn<'f> {
    /// A turn for `input` on a call in `state`.
    pub fn new(flow: &'f Flow, state: CallState, input: Input) -> Self {
        let mut out = TurnOutput {
            state,
            ..TurnOutput::default()
        };
        let cursor = match input {
            Input::Start { from } => {
                out.state = CallState {
                    language: flow.language_for(&from).to_owned(),
                    ..CallState::default()
                };
                Cursor::Enter(flow.entry())
            }
            input => match out
                .state
                .waiting
                .as_deref()
                .and_then(|n| flow.node_named(n))
            {
                Some(id) if !out.state.ended => Cursor::Answer(id, input),
                _ => {
                    // A webhook for a call that is over (or lost its place): end it politely.
                    out.steps.push(StepTrace {
                        node: out.state.waiting.clone().unwrap_or_default(),
                        messages: vec![],
                        digits: None,
                        outcome: "call already ended".into(),
                        consent: out.state.consent,
                        note: None,
                    });
                    out.actions.push(Action::Hangup);
                    out.state.ended = true;
                    out.state.waiting = None;
                    Cursor::Done
                }
            },
        };
        Self {
            flow,
            now: None,
            env: None,
            texting: Texting::default(),
            out,
            cursor,
            hops: 0,
        }
    }

    /// The instant this turn is played at, in epoch milliseconds (the webhook's arrival).
    pub fn at(mut self, now_ms: i64) -> Self {
        self.now = jiff::Timestamp::from_millisecond(now_ms).ok();
        self
    }

    /// The environment values a `transfer` node may dial (`${env:SHOP_PHONE}`), as the adapter
    /// has them.
    pub fn env(mut self, env: &'f EnvLookup) -> Self {
        self.env = Some(env);
        self
    }

    /// Whether and to which number `sms` nodes may text (without it: `not_configured`).
    pub fn texting(mut self, texting: Texting) -> Self {
        self.texting = texting;
        self
    }

    /// Runs until the turn is done or needs a record.
    pub fn run(&mut self) -> Step {
        loop {
            self.hops += 1;
            if self.hops > MAX_HOPS {
                self.trace("", vec![], None, "too many steps without input");
                self.end(CallStatus::Problem);
                return Step::Done;
            }
            match std::mem::replace(&mut self.cursor, Cursor::Done) {
                Cursor::Done => return Step::Done,
                Cursor::AwaitRecord(id) => {
                    self.cursor = Cursor::AwaitRecord(id);
                    return Step::NeedRecord(self.record_request(id));
                }
                Cursor::AwaitFetch(id) => {
                    self.cursor = Cursor::AwaitFetch(id);
                    let NodeKind::Fetch(fetch) = &self.flow.node(id).kind else {
                        unreachable!("only fetch nodes await a fetch")
                    };
                    let node = &self.flow.node(id).name;
                    return Step::NeedFetch(FetchRequest::new(node, fetch, &self.out.state.vars));
                }
                Cursor::Enter(id) => self.enter(id),
                Cursor::Ask(id) => self.ask(id),
                Cursor::Answer(id, input) => self.answer(id, input),
            }
        }
    }

    /// Hands the requested record (or its absence) back to a paused turn.
    pub fn provide(&mut self, record: Option<RecordInfo>) {
        let Cursor::AwaitRecord(id) = self.cursor else {
            return;
        };
        let node = self.flow.node(id);
        match &node.kind {
            NodeKind::Persist {
                record: Some(write),
                next,
                ..
            } => {
                let outcome = match record {
                    Some(r) => {
                        if let Some(var) = &write.status_into {
                            self.out.state.vars.insert(var.clone(), r.status.clone());
                        }
                        self.out.effects.records.push(r.id);
                        self.out.effects.saved.push(SavedRecord {
                            id: r.id,
                            kind: write.kind.clone(),
                            key: self
                                .out
                                .state
                                .vars
                                .get(&write.key)
                                .cloned()
                                .unwrap_or_default(),
                            status: r.status.clone(),
                        });
                        format!("{} saved ({})", write.kind, r.status)
                    }
                    None => format!("{} not saved", write.kind),
                };
                self.trace(&node.name, vec![], None, &outcome);
                self.cursor = Cursor::Enter(*next);
            }
            NodeKind::Lookup {
                into,
                found,
                missing,
                kind,
                ..
            } => match record {
                Some(r) => {
                    self.out.state.vars.insert(into.clone(), r.status.clone());
                    self.out.effects.records.push(r.id);
                    self.trace(
                        &node.name,
                        vec![],
                        None,
                        &format!("{kind} found ({})", r.status),
                    );
                    self.cursor = Cursor::Enter(*found);
                }
                None => {
                    self.out.state.vars.remove(into);
                    self.trace(&node.name, vec![], None, &format!("{kind} missing"));
                    self.cursor = Cursor::Enter(*missing);
                }
            },
            _ => self.cursor = Cursor::Done,
        }
    }

    /// Hands a fetch's answer back to a turn paused at a `fetch` node: an `ok` answer sets
    /// the node's variables (other outcomes leave them as they were), and the turn goes on to
    /// the outcome's node.
    pub fn provide_fetch(&mut self, answer: &FetchAnswer) {
        let Cursor::AwaitFetch(id) = self.cursor else {
            return;
        };
        let node = self.flow.node(id);
        let NodeKind::Fetch(fetch) = &node.kind else {
            self.cursor = Cursor::Done;
            return;
        };
        let request = FetchRequest::new(&node.name, fetch, &self.out.state.vars);
        let mut note = request.shown;
        if answer.outcome == FetchOutcome::Ok {
            for (var, value) in &answer.values {
                self.out.state.vars.insert(var.clone(), value.clone());
            }
            let set: Vec<String> = answer
                .values
                .iter()
                .map(|(var, value)| format!("{var} = {value}"))
                .collect();
            if !set.is_empty() {
                note = format!("{note} → {}", set.join(", "));
            }
        }
        let next = &fetch.next;
        let target = match answer.outcome {
            FetchOutcome::Ok => next.ok,
            FetchOutcome::NotFound => next.not_found,
            FetchOutcome::Error => next.error,
            FetchOutcome::Timeout => next.timeout,
            FetchOutcome::NotConfigured => next.not_configured,
        };
        self.trace_noted(&node.name, vec![], None, &answer.outcome_line(), Some(note));
        self.cursor = Cursor::Enter(target);
    }

    pub fn finish(self) -> TurnOutput {
        self.out
    }

    /// Runs the whole turn, answering record requests with `records`; a fetch is answered
    /// `not_configured` (nothing performs it).
    pub fn run_with(
        mut self,
        mut records: impl FnMut(&RecordRequest) -> Option<RecordInfo>,
    ) -> TurnOutput {
        loop {
            match self.run() {
                Step::NeedRecord(request) => {
                    let answer = records(&request);
                    self.provide(answer);
                }
                Step::NeedFetch(_) => {
                    self.provide_fetch(&FetchAnswer::not_configured("no fetch performed here"))
                }
                Step::Done => return self.finish(),
            }
        }
    }

    fn trace(&mut self, node: &str, messages: Vec<String>, digits: Option<String>, outcome: &str) {
        self.trace_noted(node, messages, digits, outcome, None);
    }

    /// A step with a note beside it (what the caller said, in words).
    fn trace_noted(
        &mut self,
        node: &str,
        messages: Vec<String>,
        digits: Option<String>,
        outcome: &str,
        note: Option<String>,
    ) {
        self.out.steps.push(StepTrace {
            node: node.to_owned(),
            messages,
            digits,
            outcome: outcome.to_owned(),
            consent: self.out.state.consent,
            note,
        });
    }

    fn say(&mut self, messages: &[String]) {
        if !messages.is_empty() {
            self.out.actions.push(Action::Say(messages.to_vec()));
        }
    }

    fn end(&mut self, status: CallStatus) {
        self.out.actions.push(Action::Hangup);
        self.out.effects.set_status(status);
        self.out.state.ended = true;
        self.out.state.waiting = None;
        self.cursor = Cursor::Done;
    }

    fn record_request(&self, id: NodeId) -> RecordRequest {
        match &self.flow.node(id).kind {
            NodeKind::Persist {
                record: Some(w), ..
            } => RecordRequest {
                kind: w.kind.clone(),
                key: self.out.state.vars.get(&w.key).cloned().unwrap_or_default(),
                create_with_status: self.flow.records.get(&w.kind).map(|k| k.initial.clone()),
            },
            NodeKind::Lookup { kind, key, .. } => RecordRequest {
                kind: kind.clone(),
                key: self.out.state.vars.get(key).cloned().unwrap_or_default(),
                create_with_status: None,
            },
            _ => unreachable!("only persist and lookup nodes await records"),
        }
    }

    fn enter(&mut self, id: NodeId) {
        let flow = self.flow;
        let node = flow.node(id);
        match &node.kind {
            NodeKind::Say { messages, next } => {
                self.say(messages);
                self.trace(&node.name, messages.clone(), None, "said");
                self.cursor = Cursor::Enter(*next);
            }
            NodeKind::Gather(_) | NodeKind::Confirm(_) => {
                self.out.state.attempts = 0;
                self.cursor = Cursor::Ask(id);
            }
            NodeKind::Branch { on, cases, default } => {
                let value = self.out.state.vars.get(on).map(String::as_str);
                let (label, target) = cases
                    .iter()
                    .find(|(case, _)| Some(case.as_str()) == value)
                    .map(|(case, target)| (case.clone(), *target))
                    .unwrap_or(("default".into(), *default));
                self.trace(&node.name, vec![], None, &format!("case {label}"));
                self.cursor = Cursor::Enter(target);
            }
            NodeKind::Persist {
                call_status,
                consent,
                record,
                next,
            } => {
                let mut done = Vec::new();
                if let Some(status) = call_status {
                    self.out.effects.set_status(*status);
                    done.push(format!("call {}", status.as_str()));
                }
                if let Some(consent) = consent {
                    self.out.effects.consent = Some(*consent);
                    self.out.state.consent = Some(*consent);
                    done.push(format!("consent {}", consent.as_str()));
                }
                if record.is_some() {
                    if !done.is_empty() {
                        self.trace(&node.name, vec![], None, &done.join(", "));
                    }
                    self.cursor = Cursor::AwaitRecord(id);
                } else {
                    self.trace(&node.name, vec![], None, &done.join(", "));
                    self.cursor = Cursor::Enter(*next);
                }
            }
            NodeKind::Lookup { .. } => self.cursor = Cursor::AwaitRecord(id),
            NodeKind::Fetch(_) => self.cursor = Cursor::AwaitFetch(id),
            NodeKind::Sms(sms) => {
                let verdict = TextVerdict::of(&self.texting, self.out.state.consent);
                let (outcome, target) = match verdict {
                    TextVerdict::Possible => match &sms.message {
                        Some(message) => {
                            self.out.effects.texts.push(TextOut {
                                node: node.name.clone(),
                                message: message.clone(),
                            });
                            (format!("text queued ({message})"), sms.next)
                        }
                        None => ("text possible".to_owned(), sms.next),
                    },
                    TextVerdict::NotConfigured => ("not_configured".to_owned(), sms.not_configured),
                    TextVerdict::NoConsent => ("no_consent".to_owned(), sms.no_consent),
                    TextVerdict::NotMobile => ("not_mobile".to_owned(), sms.not_mobile),
                };
                self.trace(&node.name, vec![], None, &outcome);
                self.cursor = Cursor::Enter(target);
            }
            NodeKind::Goto(next) => self.cursor = Cursor::Enter(*next),
            NodeKind::Play { url, repeat, next } => {
                self.out.actions.push(Action::Play {
                    url: url.clone(),
                    repeat: *repeat,
                });
                let times = if *repeat > 1 {
                    format!(" ×{repeat}")
                } else {
                    String::new()
                };
                let note = format!("[plays {url}{times}]");
                self.trace_noted(&node.name, vec![], None, "played", Some(note));
                self.cursor = Cursor::Enter(*next);
            }
            NodeKind::Pause { secs, next } => {
                self.out.actions.push(Action::Pause(*secs));
                let note = format!("[pause {secs} s]");
                self.trace_noted(&node.name, vec![], None, "paused", Some(note));
                self.cursor = Cursor::Enter(*next);
            }
            NodeKind::Hours {
                schedule,
                open,
                closed,
                periods,
            } => {
                let schedule = &flow.schedules[*schedule];
                let wanted: Vec<&str> = periods.iter().map(|(p, _)| p.as_str()).collect();
                let (outcome, target) = match self.now.map(|now| schedule.at(now, &wanted)) {
                    Some(Status::Open) => ("open".to_owned(), *open),
                    Some(Status::Closed) => ("closed".to_owned(), *closed),
                    Some(Status::Period(period)) => {
                        let target = periods
                            .iter()
                            .find(|(p, _)| p == period)
                            .map_or(*open, |(_, t)| *t);
                        (format!("period {period}"), target)
                    }
                    // An adapter that gave no instant: closed is the safe answer.
                    None => ("closed (no clock given)".to_owned(), *closed),
                };
                self.trace(&node.name, vec![], None, &outcome);
                self.cursor = Cursor::Enter(target);
            }
            NodeKind::Transfer(transfer) => {
                let env = |name: &str| self.env.and_then(|env| env(name));
                let shown = transfer.target.value().shown();
                let Some(to) = transfer.target.value().resolve(&env) else {
                    let note = Some(format!("{shown} is not set"));
                    self.trace_noted(&node.name, vec![], None, "dial not_configured", note);
                    self.cursor = Cursor::Enter(transfer.next.not_configured);
                    return;
                };
                if let Some(ready) = transfer.check {
                    // A check: nothing dialled, nothing said; only whether a dial could be made.
                    self.trace(&node.name, vec![], None, "dial possible");
                    self.cursor = Cursor::Enter(ready);
                    return;
                }
                self.say(&transfer.say);
                self.out.actions.push(Action::Dial { node: id, to });
                self.out.state.waiting = Some(node.name.clone());
                self.out.state.attempts = 0;
                // The whisper is said to the person who answers, not to the caller.
                let note = Some(format!("{} {shown}", transfer.target.noun()));
                self.trace_noted(&node.name, transfer.say.clone(), None, "dial started", note);
                self.cursor = Cursor::Done;
            }
            NodeKind::Voicemail(voicemail) => {
                if self.out.state.consent == Some(Consent::Given) {
                    self.say(&voicemail.prompt);
                    self.out.actions.push(Action::Record(id));
                    self.out.state.waiting = Some(node.name.clone());
                    self.out.state.attempts = 0;
                    self.trace(
                        &node.name,
                        voicemail.prompt.clone(),
                        None,
                        "voicemail started",
                    );
                    self.cursor = Cursor::Done;
                } else {
                    // Only after consent: nothing is recorded, nothing said of it here.
                    self.trace(&node.name, vec![], None, "voicemail no_consent");
                    self.cursor = Cursor::Enter(voicemail.next.no_consent);
                }
            }
            NodeKind::Set { values, next } => {
                for (variable, template) in values {
                    let value = template.render(&self.out.state.vars);
                    self.out.state.vars.insert(variable.clone(), value);
                }
                // Names only: a value may hold what the caller entered (the outcome is kept
                // without consent).
                let names: Vec<&str> = values.iter().map(|(v, _)| v.as_str()).collect();
                self.trace(
                    &node.name,
                    vec![],
                    None,
                    &format!("set {}", names.join(", ")),
                );
                self.cursor = Cursor::Enter(*next);
            }
            NodeKind::Hangup {
                messages,
                call_status,
            } => {
                self.say(messages);
                self.trace(
                    &node.name,
                    messages.clone(),
                    None,
                    &format!("hangup ({})", call_status.as_str()),
                );
                self.end(*call_status);
            }
        }
    }

    fn ask(&mut self, id: NodeId) {
        let node = self.flow.node(id);
        let prompt = input_spec(&node.kind)
            .map(|s| s.prompt.clone())
            .unwrap_or_default();
        self.out.state.waiting = Some(node.name.clone());
        self.out.actions.push(Action::Ask(id));
        self.trace(&node.name, prompt, None, "asked");
        self.cursor = Cursor::Done;
    }

    fn answer(&mut self, id: NodeId, input: Input) {
        let flow = self.flow;
        let node = flow.node(id);
        if let NodeKind::Voicemail(voicemail) = &node.kind {
            // The Record's action callback, or its Redirect when nothing was recorded.
            self.out.state.waiting = None;
            self.out.state.attempts = 0;
            let (outcome, target) = match input {
                Input::Recorded => ("voicemail recorded", voicemail.next.recorded),
                _ => ("voicemail empty", voicemail.next.empty),
            };
            self.trace(&node.name, vec![], None, outcome);
            self.cursor = Cursor::Enter(target);
            return;
        }
        if let NodeKind::Transfer(transfer) = &node.kind {
            // Only the dial's action callback answers a transfer; anything else (no status)
            // is a dial that failed.
            let status = match &input {
                Input::Dialed(status) => status.as_str(),
                _ => "",
            };
            let outcome = DialOutcome::from_status(status);
            self.out.state.waiting = None;
            self.out.state.attempts = 0;
            let note = (!status.is_empty()).then(|| format!("DialCallStatus {status}"));
            self.trace_noted(
                &node.name,
                vec![],
                None,
                &format!("dial {}", outcome.as_str()),
                note,
            );
            self.cursor = Cursor::Enter(outcome.target(&transfer.next));
            return;
        }
        let Some(spec) = input_spec(&node.kind) else {
            self.end(CallStatus::Problem);
            return;
        };
        // Words are read as the digits they say, in the call's language, and then checked as
        // keys are; words heard with too little confidence are not understood.
        let mut note = None;
        let mut understood = true;
        let digits = match &input {
            Input::Digits(d) if !d.is_empty() => Some(d.clone()),
            Input::Speech { said, confidence } => {
                let shown: String = said.chars().take(crate::heard::MAX_SPEECH_LEN).collect();
                note = Some(match confidence {
                    Some(c) => format!(
                        "heard \"{shown}\" (confidence {:.2})",
                        f64::from(*c) / 1000.0
                    ),
                    None => format!("heard \"{shown}\" (no confidence)"),
                });
                if !spec.listen.speech {
                    // A Gather that listens for keys only was answered in words: not valid.
                    Some(String::new())
                } else if confidence.unwrap_or(0) < spec.listen.min_confidence {
                    understood = false;
                    None
                } else {
                    // A confirm's own words for a choice, else the digits said; words that say
                    // neither are an invalid answer, as a wrong key is.
                    let language = &self.out.state.language;
                    let choice = match &node.kind {
                        NodeKind::Confirm(c) => flow.choice_said(c, language, said),
                        _ => None,
                    };
                    Some(
                        choice
                            .or_else(|| crate::heard::read(said, language))
                            .unwrap_or_default(),
                    )
                }
            }
            _ => None,
        };
        let chosen = match (&node.kind, &digits) {
            (NodeKind::Gather(g), Some(d)) if g.accepts(d) => {
                self.out.state.vars.insert(g.into.clone(), d.clone());
                Some(g.next)
            }
            (NodeKind::Confirm(c), Some(d)) => {
                c.choices.iter().find(|(k, _)| k == d).map(|(_, t)| *t)
            }
            _ => None,
        };
        let digits = digits.filter(|d| !d.is_empty());
        if let Some(target) = chosen {
            self.out.state.waiting = None;
            self.out.state.attempts = 0;
            let outcome = match &node.kind {
                NodeKind::Confirm(_) => format!("chose {}", digits.as_deref().unwrap_or_default()),
                _ => "accepted".to_owned(),
            };
            self.trace_noted(&node.name, vec![], digits, &outcome, note);
            self.cursor = Cursor::Enter(target);
            return;
        }
        // Not understood (too little confidence) is asked again as an invalid answer is.
        let (retry, what): (&Retry, &str) = match (understood, &input) {
            (false, _) => (&spec.on_invalid, "not understood"),
            (true, Input::Speech { .. }) => (&spec.on_invalid, "invalid"),
            _ if digits.is_some() => (&spec.on_invalid, "invalid"),
            _ => (&spec.on_no_input, "no input"),
        };
        self.out.state.attempts += 1;
        if self.out.state.attempts >= spec.attempts {
            self.trace_noted(
                &node.name,
                vec![],
                digits,
                &format!("{what}, attempts exhausted"),
                note,
            );
            self.out.state.waiting = None;
            self.out.state.attempts = 0;
            self.cursor = Cursor::Enter(spec.on_exhausted);
            return;
        }
        let left = spec.attempts - self.out.state.attempts;
        self.say(&retry.messages);
        self.trace_noted(
            &node.name,
            retry.messages.clone(),
            digits,
            &format!("{what}, {left} attempts left"),
            note,
        );
        self.cursor = match retry.goto {
            Some(goto) => Cursor::Enter(goto),
            None => Cursor::Ask(id),
        };
    }
}

fn input_spec(kind: &NodeKind) -> Option<&InputSpec> {
    match kind {
        NodeKind::Gather(g) => Some(&g.input),
        NodeKind::Confirm(c) => Some(&c.input),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
