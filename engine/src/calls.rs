//! Answers one Twilio webhook: a store transaction around one turn of the state
//! machine, rendered to TwiML. Whatever goes wrong, the caller gets valid TwiML.
//!
//! Must not touch: HTTP types (the web layer parses requests), SQL (the store does).

use std::sync::Arc;

use tracing::{error, info, warn};

use crate::flow::Flow;
use crate::metrics::Metrics;
use crate::registry::Registry;
use crate::runtime::{CallState, Effect, Input, Step, Turn};
use crate::speech::{Speaker, SpeechConfig};
use crate::store::{
    now_ms, CallRow, NewCall, StatusUpdate, StepRow, Store, StoreError, StoreTx, TurnWrite,
};
use crate::twilio::{WebhookParams, MAX_DIGITS_LEN};
use crate::twiml::Response;

/// Which webhook Twilio called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook<'a> {
    /// `/webhook/voice`: a call starts.
    Voice,
    /// `/webhook/status`: Twilio's status callback.
    Status,
    /// `/webhook/<name>`: an input node's answer.
    Node(&'a str),
}

impl<'a> Hook<'a> {
    pub fn from_path(name: &'a str) -> Self {
        match name {
            "voice" => Self::Voice,
            "status" => Self::Status,
            other => Self::Node(other),
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
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Everything needed to answer webhooks.
pub struct Engine {
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    pub registry: Arc<Registry>,
    pub speech: SpeechConfig,
}

impl Engine {
    /// Answers a webhook with TwiML. Never fails: problems become an apology and a hang-up,
    /// the call is marked `problem` where there is one, and the cause is logged.
    pub async fn answer(
        &self,
        hook: Hook<'_>,
        params: &WebhookParams,
        seq: Option<i64>,
    ) -> (String, Outcome) {
        let call_sid = params.call_sid().unwrap_or("");
        match self.try_answer(hook, params, seq).await {
            Ok(answer) => answer,
            Err(failure) => {
                match &failure {
                    Failure::Store(e) => {
                        self.metrics.database_error();
                        error!(call_sid, hook = ?hook, error = %e, "Webhook failed on the database; apologising.")
                    }
                    other => {
                        warn!(call_sid, hook = ?hook, problem = %other, "Webhook cannot continue the call; apologising.")
                    }
                }
                if !matches!(failure, Failure::NoCallSid | Failure::UnknownCall) {
                    self.mark_problem(call_sid).await;
                }
                let apology = match &failure {
                    Failure::UnknownWebhook { flow, language, .. } => {
                        apology_in(flow, language, &self.speech)
                    }
                    _ => self.apology(),
                };
                (apology, Outcome::Apologised)
            }
        }
    }

    async fn try_answer(
        &self,
        hook: Hook<'_>,
        params: &WebhookParams,
        seq: Option<i64>,
    ) -> Result<(String, Outcome), Failure> {
        let call_sid = params.call_sid().ok_or(Failure::NoCallSid)?;
        match hook {
            Hook::Voice => self.start(call_sid, params).await,
            Hook::Status => self.status(call_sid, params).await,
            Hook::Node(name) => self.node(call_sid, name, params, seq).await,
        }
    }

    async fn start(
        &self,
        call_sid: &str,
        params: &WebhookParams,
    ) -> Result<(String, Outcome), Failure> {
        let snapshot = self.registry.current();
        let flow = snapshot
            .flow_for_number(params.to())
            .ok_or(Failure::NoFlow)?;
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        let call = tx
            .open_call(&NewCall {
                call_sid,
                from: params.from(),
                to: params.to(),
                flow_name: &flow.name,
                flow_version: &flow.version,
                now_ms: now,
            })
            .await?;
        if call.turn > 0 {
            // Twilio delivered the call's first webhook again.
            if let Some(twiml) = tx.saved_response(call.id, 0).await? {
                tx.commit().await?;
                return Ok((twiml, Outcome::Replayed));
            }
        }
        let flow = self.flow_of(&call).unwrap_or_else(|_| flow.clone());
        let input = Input::Start {
            from: params.from().to_owned(),
        };
        let twiml = self
            .run_turn(
                &mut *tx,
                &flow,
                &call,
                CallState::default(),
                input,
                0,
                None,
                now,
            )
            .await?;
        tx.commit().await?;
        info!(call_sid, flow = %flow.name, version = %flow.version, "Call started.");
        Ok((twiml, Outcome::Answered))
    }

    async fn node(
        &self,
        call_sid: &str,
        name: &str,
        params: &WebhookParams,
        seq: Option<i64>,
    ) -> Result<(String, Outcome), Failure> {
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        let call = tx
            .lock_call(call_sid, now)
            .await?
            .ok_or(Failure::UnknownCall)?;
        let Some(state) = call.state.clone() else {
            return Err(Failure::UnknownCall);
        };
        let turn = match seq {
            Some(k) if k >= 0 && k < call.turn => {
                if let Some(twiml) = tx.saved_response(call.id, k).await? {
                    tx.commit().await?;
                    return Ok((twiml, Outcome::Replayed));
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
        let digits = params.digits().map(str::trim).filter(|d| !d.is_empty());
        let input = match digits {
            Some(d) => Input::Digits(d.to_owned()),
            None => Input::NoInput,
        };
        let twiml = self
            .run_turn(&mut *tx, &flow, &call, state, input, turn, digits, now)
            .await?;
        tx.commit().await?;
        Ok((twiml, Outcome::Answered))
    }

    async fn status(
        &self,
        call_sid: &str,
        params: &WebhookParams,
    ) -> Result<(String, Outcome), Failure> {
        let empty = Response::new().render();
        let Some(event) = params.call_status() else {
            return Ok((empty, Outcome::Ignored));
        };
        if !event.is_final() {
            return Ok((empty, Outcome::Ignored));
        }
        let mut tx = self.store.begin().await?;
        tx.call_ended(&StatusUpdate {
            call_sid,
            from: params.from(),
            to: params.to(),
            duration_secs: params.call_duration_secs(),
            now_ms: now_ms(),
        })
        .await?;
        tx.commit().await?;
        info!(call_sid, duration_secs = ?params.call_duration_secs(), "Call ended.");
        Ok((empty, Outcome::StatusStored))
    }

    fn flow_of(&self, call: &CallRow) -> Result<Arc<Flow>, Failure> {
        self.registry
            .flow_for_call(call.flow_name.as_deref(), call.flow_version.as_deref())
            .ok_or_else(|| Failure::FlowGone(call.flow_name.clone().unwrap_or_default()))
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_turn(
        &self,
        tx: &mut dyn StoreTx,
        flow: &Flow,
        call: &CallRow,
        state: CallState,
        input: Input,
        turn: i64,
        digits: Option<&str>,
        now: i64,
    ) -> Result<String, Failure> {
        let mut machine = Turn::new(flow, state, input);
        while let Step::NeedRecord(request) = machine.run() {
            let record = tx.record(&request, call.id, now).await?;
            machine.provide(record);
        }
        let out = machine.finish();
        let mut speaker = Speaker::new(flow, &out.state, &self.speech);
        let twiml = speaker.response(&out.actions, turn + 1).render();
        let steps: Vec<StepRow> = out
            .steps
            .iter()
            .map(|s| StepRow {
                node: s.node.clone(),
                message_ids: s.messages.join(","),
                text: speaker.text(&s.messages),
                digits: s
                    .digits
                    .as_deref()
                    .map(|d| d.chars().take(MAX_DIGITS_LEN).collect()),
                outcome: s.outcome.clone(),
            })
            .collect();
        for problem in &speaker.problems {
            warn!(call_sid = %call.call_sid, flow = %flow.name, problem = %problem, "Message rendered with a problem.");
        }
        let mut status = None;
        let mut consent = None;
        let mut records = Vec::new();
        for effect in &out.effects {
            match effect {
                Effect::CallStatus(s) => status = Some(*s),
                Effect::Consent(c) => consent = Some(*c),
                Effect::RecordTouched { id } => records.push(*id),
            }
        }
        tx.save_turn(&TurnWrite {
            call_id: call.id,
            turn,
            state: &out.state,
            language: &out.state.language,
            status,
            consent,
            steps: &steps,
            records: &records,
            twiml: &twiml,
            now_ms: now,
        })
        .await?;
        if let Some(d) = digits {
            info!(call_sid = %call.call_sid, turn, digits_len = d.len(), outcome = %out.steps.first().map(|s| s.outcome.as_str()).unwrap_or(""), "Input handled.");
        }
        Ok(twiml)
    }

    /// Best effort: the database may be the reason we are here.
    async fn mark_problem(&self, call_sid: &str) {
        if call_sid.is_empty() {
            return;
        }
        let result: Result<(), StoreError> = async {
            let mut tx = self.store.begin().await?;
            if let Some(call) = tx.lock_call(call_sid, now_ms()).await? {
                tx.mark_problem(call.id, now_ms()).await?;
            }
            tx.commit().await
        }
        .await;
        if let Err(e) = result {
            self.metrics.database_error();
            error!(call_sid, error = %e, "Could not mark the call as a problem.");
        }
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
    response.push(crate::twiml::Verb::Hangup);
    response.render()
}
