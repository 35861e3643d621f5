//! Answers one Twilio webhook: one turn of the state machine, rendered to TwiML, run by a
//! store writer inside a transaction (shared with other webhooks: group commit) and answered
//! only after that transaction committed. Whatever goes wrong, the caller gets valid TwiML.
//!
//! Must not touch: HTTP types (the web layer parses requests), SQL (the store does).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tracing::{debug, error, info, warn};

use crate::fetch::{
    Fetcher, FlightKey, Flights, InFlight, MAX_FETCHES_PER_TURN, TURN_FETCH_BUDGET,
};
use crate::metrics::Metrics;
use crate::outbox::{self as out, EventCall, Outgoing};
use crate::registry::Registry;
use liza_core::flow::Flow;
use liza_core::model::Consent;
use liza_core::privacy::{Caller, PrivacyKey};
use liza_core::runtime::{CallState, FetchAnswer, FetchOutcome, FetchRequest, Input, Texting};
use liza_core::speech::{Speaker, SpeechConfig};
use liza_core::turn::{play_fetching, Turned};
use liza_core::twilio::{WebhookParams, MAX_DIGITS_LEN};
use liza_core::twiml::Response;
use liza_store::{
    now_ms, CallRow, ConsentAsked, NewCall, RecordingWrite, StatusUpdate, StepRow, Store,
    StoreError, StoreTx, TurnWrite, Work,
};

/// Which webhook Twilio called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hook {
    /// `/webhook/voice`: a call starts.
    Voice,
    /// `/webhook/status`: Twilio's status callback.
    Status,
    /// `/webhook/recording`: Twilio's recording status callback of a voicemail.
    Recording,
    /// `/webhook/whisper`: a transfer's person answered (`<Number url>`): what they hear first.
    Whisper,
    /// `/webhook/<name>`: an input node's answer.
    Node(String),
}

impl Hook {
    pub fn from_path(name: &str) -> Self {
        match name {
            "voice" => Self::Voice,
            "status" => Self::Status,
            liza_core::speech::WHISPER_WEBHOOK => Self::Whisper,
            liza_core::flow::voicemail::RECORDING_WEBHOOK => Self::Recording,
            other => Self::Node(other.to_owned()),
        }
    }
}

/// How a webhook was answered, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Answered,
    Replayed,
    StatusStored,
    Ignored,
    Apologised,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Replayed => "replayed",
            Self::StatusStored => "status_stored",
            Self::Ignored => "ignored",
            Self::Apologised => "apologised",
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("request has no valid CallSid")]
    NoCallSid,
    #[error("no call with this CallSid was started")]
    UnknownCall,
    #[error("webhook `{name}` is not a node of the call's flow")]
    UnknownWebhook {
        name: String,
        /// The call's flow and language, so the apology is in the caller's language.
        flow: Arc<Flow>,
        language: String,
    },
    #[error("the call's flow `{0}` is not loaded")]
    FlowGone(String),
    #[error("no flow is loaded")]
    NoFlow,
    #[error("a turn asked for a fetch it had an answer for")]
    FetchOutOfOrder,
    #[error("the call's stored state is unreadable: {0}")]
    State(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How long a webhook's work may wait in the queue before a writer starts it; unstarted after
/// that, it is answered with the apology. The caller waits until the store has answered it
/// ([`Store::answered_by`]: 10 s after the webhook came, Twilio waits 15 s), so the apology
/// does not come before the work's fate is known.
const DATABASE_WAIT: Duration = Duration::from_secs(5);

/// Everything needed to answer webhooks.
pub struct Engine {
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    pub registry: Arc<Registry>,
    pub speech: Arc<SpeechConfig>,
    /// The key of the callers' hashes (a caller's number is kept in clear only once they
    /// consented).
    pub privacy: Arc<PrivacyKey>,
    /// Performs the flows' `fetch` requests (outside the writers' transactions).
    pub fetcher: Arc<dyn Fetcher>,
    /// Fetches in flight, so a webhook delivered twice asks the shop once.
    pub in_flight: InFlight,
    /// What turns queue in the outbox: texts (`sms` nodes) and events.
    pub outgoing: Outgoing,
}

/// What a webhook's work came to.
enum Reply {
    /// TwiML, how it was reached, and the flow that spoke (for the log).
    Done(String, Outcome, Option<Arc<Flow>>),
    /// The turn's `index`-th fetch must be performed first; nothing of the turn was stored.
    Fetch { index: usize, request: FetchRequest },
}

type Answer = Result<Reply, Failure>;

impl Engine {
    /// Answers a webhook with TwiML. Never fails: problems become an apology and a hang-up,
    /// the call is marked `problem` where there is one, and the cause is logged.
    pub async fn answer(
        &self,
        hook: Hook,
        params: WebhookParams,
        seq: Option<i64>,
    ) -> (String, Outcome) {
        let Some(call_sid) = params.call_sid().map(str::to_owned) else {
            return self.apologise(Failure::NoCallSid, "", &hook);
        };
        if hook == Hook::Status && !params.call_status().is_some_and(|e| e.is_final()) {
            // Only the final status is stored; the others need no database.
            return (Response::new().render(), Outcome::Ignored);
        }
        // The caller's hash and mask (a parse and an HMAC) are made here, beside the other
        // webhooks, not on the store's writer thread that every webhook waits for.
        let job = match &hook {
            Hook::Voice => Job::Start(self.privacy.caller(params.from())),
            Hook::Status => Job::End(self.privacy.caller(params.from())),
            Hook::Whisper => Job::Whisper,
            Hook::Recording => Job::Recording,
            Hook::Node(name) => Job::Node(name.clone()),
        };
        let params = Arc::new(params);
        let now = now_ms();
        let started = Instant::now();
        // The turn is played on a writer; a fetch pauses it: the request is performed here,
        // outside the transaction, and the turn is played again with every answer so far.
        let mut fetched: Vec<FetchAnswer> = Vec::new();
        let mut flights = Flights::new(&self.in_flight);
        let answer = loop {
            let (reply, answer) = oneshot::channel();
            let deadline = Instant::now() + DATABASE_WAIT;
            self.store.submit(Box::new(WebhookWork {
                registry: self.registry.clone(),
                speech: self.speech.clone(),
                fetcher: self.fetcher.clone(),
                outgoing: self.outgoing,
                fetched: fetched.clone(),
                job: job.clone(),
                params: params.clone(),
                seq,
                now_ms: now,
                deadline,
                answer: None,
                reply: Some(reply),
            }));
            let answered_by = self.store.answered_by(deadline);
            let answer = match tokio::time::timeout_at(answered_by.into(), answer).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(_)) => Err(Failure::Store(StoreError::Closed)),
                Err(_) => Err(Failure::Store(StoreError::Timeout)),
            };
            match answer {
                Ok(Reply::Fetch { index, request }) if index == fetched.len() => {
                    let budget = TURN_FETCH_BUDGET.saturating_sub(started.elapsed());
                    let key = FlightKey {
                        call_sid: call_sid.clone(),
                        index,
                        shown: request.shown.clone(),
                    };
                    let fetch = async {
                        let answer = self.fetcher.fetch(&request, budget).await;
                        self.metrics
                            .fetched(answer.outcome, Duration::from_millis(answer.elapsed_ms));
                        answer
                    };
                    let answer = self.in_flight.once(key, &mut flights, fetch).await;
                    match answer.outcome {
                        FetchOutcome::Ok | FetchOutcome::NotFound => {
                            debug!(call_sid, node = %request.node, outcome = %answer.outcome_line(), "Fetched.")
                        }
                        _ => {
                            warn!(call_sid, node = %request.node, request = %request.template, outcome = %answer.outcome_line(), "A fetch failed; the flow goes on from its outcome.")
                        }
                    }
                    fetched.push(answer);
                }
                Ok(Reply::Fetch { .. }) => break Err(Failure::FetchOutOfOrder),
                other => break other,
            }
        };
        match answer {
            Ok(Reply::Fetch { .. }) => unreachable!("fetches are performed in the loop"),
            Ok(Reply::Done(twiml, outcome, flow)) => {
                match (&hook, outcome, &flow) {
                    (Hook::Voice, Outcome::Answered, Some(flow)) => {
                        info!(call_sid, flow = %flow.name, version = %flow.version, "Call started.")
                    }
                    (Hook::Status, Outcome::StatusStored, _) => info!(call_sid, "Call ended."),
                    _ => {
                        debug!(call_sid, hook = ?hook, outcome = outcome.as_str(), "Webhook answered.")
                    }
                }
                (twiml, outcome)
            }
            // The person who answered is put through without the whisper rather than hung up on.
            Err(failure) if hook == Hook::Whisper => {
                warn!(call_sid, problem = %failure, "No whisper for a transfer; putting the person through.");
                (Response::new().render(), Outcome::Ignored)
            }
            Err(failure) => self.apologise(failure, &call_sid, &hook),
        }
    }

    fn apologise(&self, failure: Failure, call_sid: &str, hook: &Hook) -> (String, Outcome) {
        match &failure {
            Failure::Store(e) => {
                self.metrics.database_error();
                error!(call_sid, hook = ?hook, error = %e, "Webhook failed on the database; apologising.");
                // Other failures were marked in the webhook's own transaction.
                if !call_sid.is_empty() {
                    self.store.submit_retrying(
                        Box::new(MarkProblem {
                            call_sid: call_sid.to_owned(),
                            metrics: self.metrics.clone(),
                            deadline: Instant::now() + DATABASE_WAIT,
                        }),
                        MARK_PROBLEM_RETRIES_FOR,
                    );
                }
            }
            other => {
                warn!(call_sid, hook = ?hook, problem = %other, "Webhook cannot continue the call; apologising.")
            }
        }
        let apology = match &failure {
            Failure::UnknownWebhook { flow, language, .. } => {
                apology_in(flow, language, &self.speech)
            }
            _ => self.apology(),
        };
        (apology, Outcome::Apologised)
    }

    /// An apology in the default flow's default language (the call's is not known).
    fn apology(&self) -> String {
        let snapshot = self.registry.current();
        let Some(flow) = snapshot.flow_for_number("") else {
            return fallback_apology();
        };
        apology_in(flow, "", &self.speech)
    }
}

/// What a webhook asks of the writer, with what was prepared for it before it was queued.
#[derive(Clone)]
enum Job {
    /// A call starts; the caller as kept until they consent.
    Start(Caller),
    /// The final status callback; the caller as kept until they consent.
    End(Caller),
    /// The whisper of the transfer the call (`ParentCallSid`) waits at.
    Whisper,
    /// A voicemail's recording, kept with the call if its caller consented.
    Recording,
    /// An input node's answer.
    Node(String),
}

/// One webhook, answered on a store writer inside its transaction.
struct WebhookWork {
    registry: Arc<Registry>,
    speech: Arc<SpeechConfig>,
    fetcher: Arc<dyn Fetcher>,
    outgoing: Outgoing,
    /// The answers of the turn's fetches so far, in order.
    fetched: Vec<FetchAnswer>,
    job: Job,
    params: Arc<WebhookParams>,
    seq: Option<i64>,
    now_ms: i64,
    deadline: Instant,
    answer: Option<Answer>,
    reply: Option<oneshot::Sender<Answer>>,
}

impl Work for WebhookWork {
    fn run(&mut self, tx: &mut dyn StoreTx) -> Result<(), StoreError> {
        if self.reply.is_none() {
            // Answered in an earlier run (a paused turn, see below): running it again (the
            // batch failed and its work runs one by one) would only ask for the same fetch.
            return Ok(());
        }
        let turn = Webhook {
            registry: &self.registry,
            speech: &self.speech,
            fetcher: self.fetcher.as_ref(),
            outgoing: self.outgoing,
            fetched: &self.fetched,
            tx,
            params: &self.params,
            now: self.now_ms,
        };
        let answer = match &self.job {
            Job::Start(caller) => turn.start(caller),
            Job::End(caller) => turn.status(caller),
            Job::Node(name) => turn.node(name, self.seq),
            Job::Whisper => turn.whisper(),
            Job::Recording => turn.recording(),
        };
        if let Ok(Reply::Fetch { .. }) = &answer {
            // A turn paused at a fetch wrote nothing its resumption does not write again (it
            // opens or finds the same call and records), so it is answered now, not after the
            // batch's other work and commit: the request starts that much sooner, and the
            // caller, who waits for the fetch and a second transaction anyway, waits less.
            if let Some(reply) = self.reply.take() {
                let _ = reply.send(answer);
            }
            return Ok(());
        }
        self.answer = Some(match answer {
            Err(Failure::Store(e)) => return Err(e),
            Err(failure) => {
                if !matches!(failure, Failure::NoCallSid | Failure::UnknownCall)
                    && !matches!(self.job, Job::Whisper)
                {
                    let sid = self.params.call_sid().unwrap_or("");
                    tx.mark_problem(sid, self.now_ms)?;
                }
                Err(failure)
            }
            ok => ok,
        });
        Ok(())
    }

    fn done(mut self: Box<Self>, result: Result<(), StoreError>) {
        let answer = match result {
            Ok(()) => self
                .answer
                .take()
                .unwrap_or(Err(Failure::Store(StoreError::Closed))),
            Err(e) => Err(Failure::Store(e)),
        };
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(answer);
        }
    }

    fn deadline(&self) -> Instant {
        self.deadline
    }

    fn call_sid(&self) -> Option<&str> {
        match self.job {
            // A new call's row does not exist yet (unless Twilio delivered its first webhook
            // again): the writer learns that it is new.
            Job::Start(_) | Job::Node(_) | Job::End(_) | Job::Recording => self.params.call_sid(),
            Job::Whisper => self.params.parent_call_sid(),
        }
    }
}

/// How long a failed "mark the call `problem`" is retried (the store retries once a second):
/// the database that failed the webhook is often back within seconds, and the call should not
/// end `completed`.
const MARK_PROBLEM_RETRIES_FOR: Duration = Duration::from_secs(60);

/// Marks a call `problem` after its webhook failed on the database; the store retries it while
/// the database is away, then it is given up with an error in the log.
struct MarkProblem {
    call_sid: String,
    metrics: Arc<Metrics>,
    deadline: Instant,
}

impl Work for MarkProblem {
    fn run(&mut self, tx: &mut dyn StoreTx) -> Result<(), StoreError> {
        tx.mark_problem(&self.call_sid, now_ms())
    }

    fn failed_attempt(&mut self, _error: &StoreError) {
        self.metrics.database_error();
    }

    fn done(self: Box<Self>, result: Result<(), StoreError>) {
        let Err(e) = result else { return };
        self.metrics.database_error();
        error!(call_sid = %self.call_sid, error = %e, "Could not mark the call as a problem.");
    }

    fn deadline(&self) -> Instant {
        self.deadline
    }

    fn call_sid(&self) -> Option<&str> {
        Some(&self.call_sid)
    }
}

/// The synchronous part of a webhook: statements and one turn of the state machine.
struct Webhook<'a> {
    registry: &'a Registry,
    speech: &'a SpeechConfig,
    fetcher: &'a dyn Fetcher,
    outgoing: Outgoing,
    fetched: &'a [FetchAnswer],
    tx: &'a mut dyn StoreTx,
    params: &'a WebhookParams,
    now: i64,
}

impl<'a> Webhook<'a> {
    fn call_sid(&self) -> Result<&'a str, Failure> {
        self.params.call_sid().ok_or(Failure::NoCallSid)
    }

    fn start(mut self, caller: &Caller) -> Answer {
        let call_sid = self.call_sid()?;
        let snapshot = self.registry.current();
        let flow = snapshot
            .flow_for_number(self.params.to())
            .ok_or(Failure::NoFlow)?;
        // The caller as kept until they consent: a keyed hash and a masked form, never the number.
        let call = self.tx.open_call(&NewCall {
            call_sid,
            caller_hash: &caller.hash,
            caller_masked: &caller.masked,
            to: self.params.to(),
            flow_name: &flow.name,
            flow_version: &flow.version,
            language: Some(flow.language_for(self.params.from())),
            now_ms: self.now,
        })?;
        if call.turn > 0 {
            // Twilio delivered the call's first webhook again: it hears the call's last answer
            // (see `node`).
            if let Some(twiml) = self.tx.last_answer(&call)? {
                return Ok(Reply::Done(twiml, Outcome::Replayed, None));
            }
        }
        let flow = match self.flow_of(&call) {
            Err(Failure::Store(e)) => return Err(Failure::Store(e)),
            found => found.unwrap_or_else(|_| flow.clone()),
        };
        let input = Input::Start {
            from: self.params.from().to_owned(),
        };
        self.run_turn(flow, &call, CallState::default(), input, 0)
    }

    fn node(mut self, name: &str, seq: Option<i64>) -> Answer {
        let call_sid = self.call_sid()?;
        let call = self.tx.lock_call(call_sid)?.ok_or(Failure::UnknownCall)?;
        let Some(state) = call.state.as_deref() else {
            return Err(Failure::UnknownCall);
        };
        let state: CallState = serde_json::from_str(state)?;
        let turn = match seq {
            Some(k) if k >= 0 && k < call.turn => {
                // Twilio delivered an answered webhook again: a retry, of the last turn (Twilio
                // asks for the next turn only once it has an answer). A call keeps that answer
                // only; an older webhook hears it too (the question the call is at) and is not
                // run again with its stale input.
                if let Some(twiml) = self.tx.last_answer(&call)? {
                    return Ok(Reply::Done(twiml, Outcome::Replayed, None));
                }
                call.turn
            }
            _ => call.turn,
        };
        let flow = self.flow_of(&call)?;
        if flow.webhook(name).is_none() {
            return Err(Failure::UnknownWebhook {
                name: name.to_owned(),
                flow,
                language: state.language,
            });
        }
        let recorded = self
            .params
            .get("RecordingUrl")
            .is_some_and(|url| !url.trim().is_empty());
        let input = match (self.params.get("DialCallStatus"), self.params.digits()) {
            // A `<Dial>`'s action callback (docs/twilio.md).
            (Some(status), _) => Input::Dialed(status.trim().chars().take(32).collect()),
            // A `<Record>`'s: the recording itself is kept from its status callback.
            _ if recorded => Input::Recorded,
            (None, Some(d)) if !d.trim().is_empty() => Input::Digits(d.trim().to_owned()),
            // Words, at a Gather that listens for them (too long: not understood, later).
            _ => match self.params.speech_result() {
                Some(said) => Input::Speech {
                    said: said
                        .chars()
                        .take(liza_core::heard::MAX_SPEECH_LEN + 1)
                        .collect(),
                    confidence: self.params.confidence(),
                },
                None => Input::NoInput,
            },
        };
        self.run_turn(flow, &call, state, input, turn)
    }

    /// What the person who answered a transfer hears: the whisper of the transfer node the
    /// caller's call (`ParentCallSid`: this request is the dialled leg's) waits at. Nothing is
    /// stored.
    fn whisper(mut self) -> Answer {
        let parent = self.params.parent_call_sid().ok_or(Failure::NoCallSid)?;
        let call = self.tx.lock_call(parent)?.ok_or(Failure::UnknownCall)?;
        let state: CallState = match call.state.as_deref() {
            Some(json) => serde_json::from_str(json)?,
            None => return Err(Failure::UnknownCall),
        };
        let flow = self.flow_of(&call)?;
        let node = state
            .waiting
            .as_deref()
            .and_then(|name| flow.node_named(name))
            .ok_or(Failure::UnknownCall)?;
        let twiml = Speaker::new(&flow, &state, self.speech)
            .whisper(node)
            .render();
        Ok(Reply::Done(twiml, Outcome::Answered, None))
    }

    /// Twilio's recording status callback: the voicemail's URL, status and duration kept with
    /// the call — only a call whose caller consented (the store checks the call's row), and
    /// only Twilio's own `https://api.twilio.com/` URLs.
    fn recording(self) -> Answer {
        let call_sid = self.call_sid()?;
        let p = self.params;
        let sid = p.get("RecordingSid").map(str::trim).filter(|s| {
            !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric())
        });
        let url = p
            .get("RecordingUrl")
            .map(str::trim)
            .filter(|u| u.starts_with("https://") && u.len() <= 512);
        let (Some(sid), Some(url)) = (sid, url) else {
            warn!(
                call_sid,
                "A recording callback without a usable RecordingSid or RecordingUrl: ignored."
            );
            return Ok(Reply::Done(
                Response::new().render(),
                Outcome::Ignored,
                None,
            ));
        };
        let status: String = p
            .get("RecordingStatus")
            .unwrap_or("completed")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(32)
            .collect();
        let duration_secs = p
            .get("RecordingDuration")
            .and_then(|d| d.trim().parse::<i64>().ok())
            .filter(|d| *d >= 0);
        let stored = self.tx.save_recording(&RecordingWrite {
            call_sid,
            recording_sid: sid,
            url,
            status: &status,
            duration_secs,
            now_ms: self.now,
        })?;
        if !stored {
            warn!(
                call_sid,
                "A recording for a call without consent (or unknown): not kept."
            );
        }
        let outcome = if stored {
            Outcome::StatusStored
        } else {
            Outcome::Ignored
        };
        Ok(Reply::Done(Response::new().render(), outcome, None))
    }

    fn status(mut self, caller: &Caller) -> Answer {
        let call_sid = self.call_sid()?;
        // Now that the call is over it keeps only what a late webhook needs (language, consent,
        // that it ended): what the caller entered (the flow's variables) is forgotten, and the
        // store drops the call's replay data (the TwiML of its last turn, which reads it back)
        // here too.
        let mut forgotten = None;
        let mut ended = None;
        if let Some(call) = self.tx.lock_call(call_sid)? {
            let state: Option<CallState> = match call.state.as_deref() {
                Some(json) => serde_json::from_str(json).ok(),
                None => None,
            };
            let kept = match self.flow_of(&call) {
                Ok(flow) => flow.keeps(state.as_ref().and_then(|s| s.consent)),
                Err(Failure::Store(e)) => return Err(Failure::Store(e)),
                Err(_) => Default::default(),
            };
            ended = Some((call.id, kept.caller_number));
            if let Some(state) = state {
                forgotten = Some(serde_json::to_string(&state.after_end())?);
            }
        }
        self.tx.call_ended(&StatusUpdate {
            call_sid,
            caller_hash: &caller.hash,
            caller_masked: &caller.masked,
            to: self.params.to(),
            duration_secs: self.params.call_duration_secs(),
            now_ms: self.now,
            forget_state: forgotten.as_deref(),
        })?;
        if let (true, Some((id, number_kept))) = (self.outgoing.events, ended) {
            let caller = self.caller_as_kept(number_kept);
            let call = EventCall {
                id,
                sid: call_sid,
                caller: &caller,
            };
            let data = serde_json::json!({ "duration_secs": self.params.call_duration_secs() });
            self.tx.enqueue(&out::event(
                &call,
                out::event::CALL_ENDED,
                "",
                data,
                self.now,
            ))?;
        }
        Ok(Reply::Done(
            Response::new().render(),
            Outcome::StatusStored,
            None,
        ))
    }

    /// The caller's number as events may tell it: in E.164 once they consented to it being
    /// kept, else masked.
    fn caller_as_kept(&self, in_clear: bool) -> String {
        if in_clear {
            liza_core::privacy::normalised(self.params.from())
        } else {
            liza_core::privacy::mask(self.params.from())
        }
    }

    /// The flow version the call started with: loaded here, or stored by the instance that
    /// loaded it; if it is known nowhere, the current flow of the same name.
    fn flow_of(&mut self, call: &CallRow) -> Result<Arc<Flow>, Failure> {
        if let Some(version) = call.flow_version.as_deref() {
            if let Some(flow) = self.registry.version(version) {
                return Ok(flow);
            }
            if let Some(stored) = self.tx.flow_source(version)? {
                match liza_core::flow::load::from_stored(&stored, version) {
                    Ok(flow) => {
                        let flow = Arc::new(flow);
                        self.registry.add_version(flow.clone());
                        info!(flow = %flow.name, version, "Flow version loaded from the database for a call pinned to it.");
                        return Ok(flow);
                    }
                    Err(e) => {
                        warn!(version, problems = %e, "A stored flow version does not compile here.")
                    }
                }
            }
        }
        call.flow_name
            .as_deref()
            .and_then(|name| self.registry.current_named(name))
            .ok_or_else(|| Failure::FlowGone(call.flow_name.clone().unwrap_or_default()))
    }

    /// Plays one turn, saves it with everything it changed, and gives its TwiML; or, when
    /// the turn reaches a fetch it has no answer for, the request (nothing of the turn saved).
    fn run_turn(
        self,
        flow: Arc<Flow>,
        call: &CallRow,
        state: CallState,
        input: Input,
        turn: i64,
    ) -> Answer {
        let texting = Texting {
            caller: self.params.from().to_owned(),
            configured: self.outgoing.sms,
        };
        let (outgoing, params, now) = (self.outgoing, self.params, self.now);
        let caller_in_clear = |consent: Option<Consent>| {
            consent == Some(Consent::Given) && flow.keeps(Some(Consent::Given)).caller_number
        };
        let caller = |consent| {
            if caller_in_clear(consent) {
                liza_core::privacy::normalised(params.from())
            } else {
                liza_core::privacy::mask(params.from())
            }
        };
        let tx = self.tx;
        let (fetched, fetcher) = (self.fetched, self.fetcher);
        let turned = play_fetching(
            &flow,
            self.speech,
            state,
            input,
            turn + 1,
            self.now,
            &texting,
            |request| tx.record(request, call.id, self.now),
            |request, index| {
                fetched.get(index).cloned().or_else(|| {
                    if index >= MAX_FETCHES_PER_TURN {
                        Some(FetchAnswer::error(
                            format!("more than {MAX_FETCHES_PER_TURN} fetches in one turn"),
                            0,
                        ))
                    } else {
                        fetcher.at_once(request)
                    }
                })
            },
        )?;
        let played = match turned {
            Turned::Played(played) => played,
            Turned::Paused { index, request } => return Ok(Reply::Fetch { index, request }),
        };
        for problem in &played.problems {
            warn!(call_sid = %call.call_sid, flow = %flow.name, problem = %problem, "Message rendered with a problem.");
        }
        // Until the caller consents (and for good without), a step keeps its node, message ids
        // and outcome: not what was said nor the keys pressed.
        let steps: Vec<StepRow> = played
            .steps
            .iter()
            .map(|s| {
                let kept = flow.keeps(s.consent).conversation;
                StepRow {
                    node: s.node.clone(),
                    message_ids: s.messages.join(","),
                    text: if kept { s.text() } else { String::new() },
                    digits: s
                        .digits
                        .as_deref()
                        .filter(|_| kept)
                        .map(|d| d.chars().take(MAX_DIGITS_LEN).collect()),
                    outcome: s.outcome.clone(),
                }
            })
            .collect();
        let mut state = played.state.clone();
        if played.ended && !flow.keeps(state.consent).conversation {
            state.forget_entries();
        }
        let state = serde_json::to_string(&state)?;
        // The number in clear, from the turn the caller gave a consent that covers it.
        let from_number = (played.effects.consent == Some(Consent::Given)
            && flow.keeps(Some(Consent::Given)).caller_number)
            .then(|| self.params.from());
        // The question is proof only of a decision taken later.
        let question = played
            .consent_question
            .as_ref()
            .filter(|_| played.effects.consent.is_none());
        tx.save_turn(&TurnWrite {
            from_number,
            consent_question: question.map(|q| ConsentAsked {
                message: &q.message,
                locale: &q.locale,
                text: &q.text,
            }),
            call_id: call.id,
            turn,
            state: &state,
            status: played.effects.status,
            consent: played.effects.consent,
            steps: &steps,
            records: &played.effects.records,
            twiml: &played.twiml,
            now_ms: self.now,
        })?;
        // The turn's texts and events, in its transaction: they exist once it committed.
        if !played.texts.is_empty() || outgoing.events {
            let caller = caller(played.state.consent);
            let who = EventCall {
                id: call.id,
                sid: &call.call_sid,
                caller: &caller,
            };
            for text in &played.texts {
                tx.enqueue(&out::text(&who, turn, params.from(), text, now))?;
            }
            if outgoing.events {
                let events = out::turn_events(
                    &who,
                    turn,
                    &flow.name,
                    &played.state.language,
                    played.effects.consent,
                    &played.effects.saved,
                    now,
                );
                for event in &events {
                    tx.enqueue(event)?;
                }
            }
        }
        if let Some(step) = played.steps.iter().find(|s| s.digits.is_some()) {
            debug!(call_sid = %call.call_sid, turn, outcome = %step.outcome, "Input handled.");
        }
        Ok(Reply::Done(played.twiml, Outcome::Answered, Some(flow)))
    }
}

/// An apology in `language` (empty: the flow's default) from the flow's `engine-error` message.
fn apology_in(flow: &Flow, language: &str, speech: &SpeechConfig) -> String {
    let state = CallState {
        language: language.to_owned(),
        ..CallState::default()
    };
    Speaker::new(flow, &state, speech).apology().render()
}

fn fallback_apology() -> String {
    let mut response = Response::new();
    response.push(liza_core::twiml::Verb::Hangup);
    response.render()
}
