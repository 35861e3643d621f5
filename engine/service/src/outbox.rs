//! The outbox: what a turn queues (its text messages and, when `LIZA_EVENTS_URL` is set, its
//! events: docs/events.md), written by the turn's own work in its transaction (`calls.rs`),
//! and the sender that sends the rows once that transaction committed ([`Sender`]): it claims
//! due rows in small batches, hands each to a [`Courier`] (`liza-outbound` is the HTTP one)
//! and marks it sent, due again after a backoff, or failed with the reason.
//!
//! Must not touch: HTTP types, SQL.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tracing::{debug, error, info, warn};

use crate::metrics::{Metrics, SendResult};
use liza_core::model::Consent;
use liza_core::runtime::SavedRecord;
use liza_core::turn::Text;
use liza_store::now_ms;
use liza_store::outbox::{Outbox, OutboxWrite};
pub use liza_store::outbox::{OutboxItem, OutboxKind};
use serde_json::{json, Value};

/// What this server sends (decided once at start from its settings).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outgoing {
    /// Texts: Twilio's account SID and auth token and a sender number are set.
    pub sms: bool,
    /// Events: `LIZA_EVENTS_URL` and `LIZA_EVENTS_SECRET` are set.
    pub events: bool,
}

/// The event types (docs/events.md).
pub mod event {
    pub const CALL_STARTED: &str = "call.started";
    pub const CALL_ENDED: &str = "call.ended";
    pub const RECORD_SAVED: &str = "record.saved";
    pub const CONSENT_GIVEN: &str = "consent.given";
    pub const CONSENT_REFUSED: &str = "consent.refused";
}

/// A call as an event names it: its SID and the caller, masked unless the caller consented
/// to their number being kept (then in E.164).
#[derive(Debug, Clone)]
pub struct EventCall<'a> {
    pub id: i64,
    pub sid: &'a str,
    /// The caller's number as kept: masked (`+49 151 ••• ••78`), or in clear with consent.
    pub caller: &'a str,
}

/// A text message row: one per (call, turn, node), so a webhook delivered twice queues it once.
pub fn text(call: &EventCall<'_>, turn: i64, to: &str, text: &Text, now_ms: i64) -> OutboxWrite {
    OutboxWrite {
        call_id: call.id,
        kind: OutboxKind::Sms,
        label: text.message.clone(),
        idempotency_key: format!("sms:{}:{turn}:{}", call.id, text.node),
        payload: json!({
            "to": to,
            "body": text.body,
            "message": text.message,
            "node": text.node,
            "call_sid": call.sid,
        })
        .to_string(),
        now_ms,
    }
}

/// An event row. `scope` makes its key unique: the same event of the same call (and turn, and
/// record) is queued once.
pub fn event(
    call: &EventCall<'_>,
    kind: &str,
    scope: &str,
    data: Value,
    now_ms: i64,
) -> OutboxWrite {
    let id = format!("{}:{kind}{scope}", call.sid);
    OutboxWrite {
        call_id: call.id,
        kind: OutboxKind::Event,
        label: kind.to_owned(),
        idempotency_key: format!("event:{id}"),
        payload: json!({
            "id": id,
            "type": kind,
            "at_ms": now_ms,
            "call": { "sid": call.sid, "caller": call.caller },
            "data": data,
        })
        .to_string(),
        now_ms,
    }
}

/// The events of one stored turn: the call's start (its first turn), the consent decision,
/// the records saved.
pub fn turn_events(
    call: &EventCall<'_>,
    turn: i64,
    flow: &str,
    language: &str,
    consent: Option<Consent>,
    saved: &[SavedRecord],
    now_ms: i64,
) -> Vec<OutboxWrite> {
    let mut out = Vec::new();
    if turn == 0 {
        out.push(event(
            call,
            event::CALL_STARTED,
            "",
            json!({ "flow": flow, "language": language }),
            now_ms,
        ));
    }
    match consent {
        Some(Consent::Given) => out.push(event(call, event::CONSENT_GIVEN, "", json!({}), now_ms)),
        Some(Consent::Refused) => {
            out.push(event(call, event::CONSENT_REFUSED, "", json!({}), now_ms))
        }
        None => {}
    }
    for record in saved {
        out.push(event(
            call,
            event::RECORD_SAVED,
            &format!(":{}:{turn}", record.id),
            json!({ "kind": record.kind, "key": record.key, "status": record.status }),
            now_ms,
        ));
    }
    out
}

/// How one attempt to send a row ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The other side took it (Twilio queued the text; the events URL answered 2xx).
    Sent,
    /// It may work later (a 429 or 5xx, a connection that failed, a timeout): the reason.
    Retry(String),
    /// It never will (Twilio refused the text: a 4xx with its error): the reason.
    Refused(String),
}

/// Sends outbox rows: Twilio's Messages API for texts, the events URL for events.
pub trait Courier: Send + Sync + 'static {
    /// Sends one row. Never fails: every problem is a [`Delivery`].
    fn deliver<'a>(
        &'a self,
        item: &'a OutboxItem,
    ) -> Pin<Box<dyn Future<Output = Delivery> + Send + 'a>>;
}

/// The waits before each further attempt by default (LIZA_OUTBOX_BACKOFF): 5 s, 30 s,
/// 2 min, 10 min; after the fifth attempt the row is given up.
pub const BACKOFF: [Duration; 4] = [
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
];

/// When a row that failed its `attempts`-th attempt at `now_ms` is due again, waiting
/// `backoff[attempts - 1]`; `None`: its attempts are used up.
pub fn next_attempt(backoff: &[Duration], attempts: i64, now_ms: i64) -> Option<i64> {
    let wait = backoff.get(usize::try_from(attempts - 1).ok()?)?;
    Some(now_ms + wait.as_millis() as i64)
}

/// The sender's pace.
#[derive(Debug, Clone)]
pub struct Pace {
    /// How often due rows are looked for.
    pub poll: Duration,
    /// Rows claimed at once (sent together).
    pub batch: i64,
    /// How long a claim holds: longer than a batch's sends take (each is bounded by the
    /// courier's timeout, 10 s), so a row is not claimed again while it is being sent.
    pub lease: Duration,
    /// The waits before each further attempt; one more attempt than waits.
    pub backoff: Vec<Duration>,
}

impl Default for Pace {
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(500),
            batch: 20,
            lease: Duration::from_secs(60),
            backoff: BACKOFF.to_vec(),
        }
    }
}

/// Sends the outbox's due rows until shut down.
pub struct Sender {
    pub outbox: Arc<dyn Outbox>,
    pub courier: Arc<dyn Courier>,
    pub metrics: Arc<Metrics>,
    pub pace: Pace,
}

impl Sender {
    /// Polls until `shutdown` resolves; a batch being sent is finished first (its sends are
    /// bounded by the courier's timeout).
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut tick = tokio::time::interval(self.pace.poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tick.tick() => {}
            }
            // A full batch: there may be more due at once.
            while self.once().await >= self.pace.batch as usize {}
        }
        debug!("The outbox's sender stopped.");
    }

    /// Claims and sends one batch; how many rows it claimed.
    pub async fn once(&self) -> usize {
        let now = now_ms();
        let lease = now + self.pace.lease.as_millis() as i64;
        let items = match self.outbox.claim_due(now, self.pace.batch, lease).await {
            Ok(items) => items,
            Err(e) => {
                self.metrics.database_error();
                warn!(error = %e, "The outbox could not be read; trying again shortly.");
                return 0;
            }
        };
        let count = items.len();
        let mut sends = tokio::task::JoinSet::new();
        for item in items {
            let courier = self.courier.clone();
            sends.spawn(async move {
                let delivery = courier.deliver(&item).await;
                (item, delivery)
            });
        }
        while let Some(done) = sends.join_next().await {
            match done {
                Ok((item, delivery)) => self.settle(&item, delivery).await,
                Err(e) => {
                    error!(error = %e, "An outbox send panicked; its row is due again after its claim.")
                }
            }
        }
        count
    }

    /// Marks a row by how its attempt ended.
    async fn settle(&self, item: &OutboxItem, delivery: Delivery) {
        let sms = item.kind == OutboxKind::Sms;
        let now = now_ms();
        let (result, marked) = match delivery {
            Delivery::Sent => {
                debug!(id = item.id, kind = item.kind.as_str(), label = %item.label, "Outbox row sent.");
                (SendResult::Sent, self.outbox.mark_sent(item.id, now).await)
            }
            Delivery::Retry(why) => match next_attempt(&self.pace.backoff, item.attempts, now) {
                Some(at) => {
                    info!(id = item.id, kind = item.kind.as_str(), attempt = item.attempts, reason = %why, "Outbox row not sent; trying again later.");
                    (
                        SendResult::Retried,
                        self.outbox.mark_retry(item.id, &why, at).await,
                    )
                }
                None => {
                    let why = format!("gave up after {} attempts: {why}", item.attempts);
                    warn!(id = item.id, kind = item.kind.as_str(), reason = %why, "Outbox row given up.");
                    (
                        SendResult::Failed,
                        self.outbox.mark_failed(item.id, &why).await,
                    )
                }
            },
            Delivery::Refused(why) => {
                warn!(id = item.id, kind = item.kind.as_str(), reason = %why, "Outbox row refused; not sent again.");
                (
                    SendResult::Failed,
                    self.outbox.mark_failed(item.id, &why).await,
                )
            }
        };
        self.metrics.outbox_attempt(sms, result);
        if let Err(e) = marked {
            // A text whose mark is lost stays `sending` and is failed once its claim lapses,
            // never sent again; an event is sent again then (its id lets the receiver see it).
            self.metrics.database_error();
            error!(id = item.id, error = %e, "An outbox row's result could not be stored.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> EventCall<'static> {
        EventCall {
            id: 7,
            sid: "CA1",
            caller: "+49 151 ••• ••78",
        }
    }

    #[test]
    fn a_first_turn_tells_the_start_and_the_records_saved() {
        let saved = [SavedRecord {
            id: 3,
            kind: "order".into(),
            key: "12345".into(),
            status: "received".into(),
        }];
        let rows = turn_events(&call(), 0, "liza", "de-DE", None, &saved, 1000);
        let labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["call.started", "record.saved"]);
        let payload: Value = serde_json::from_str(&rows[1].payload).unwrap();
        assert_eq!(payload["data"]["key"], "12345");
        assert_eq!(payload["call"]["caller"], "+49 151 ••• ••78");
        assert_eq!(rows[0].idempotency_key, "event:CA1:call.started");
    }

    #[test]
    fn attempts_back_off_then_give_up() {
        assert_eq!(next_attempt(&BACKOFF, 1, 0), Some(5_000));
        assert_eq!(next_attempt(&BACKOFF, 2, 0), Some(30_000));
        assert_eq!(next_attempt(&BACKOFF, 4, 0), Some(600_000));
        assert_eq!(
            next_attempt(&BACKOFF, 5, 0),
            None,
            "five attempts, then failed"
        );
        assert_eq!(next_attempt(&BACKOFF, 0, 0), None);
    }

    #[test]
    fn a_later_turn_tells_the_consent_decision_once() {
        let rows = turn_events(&call(), 2, "liza", "de-DE", Some(Consent::Refused), &[], 1);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].label, "consent.refused");
        assert_eq!(rows[0].idempotency_key, "event:CA1:consent.refused");
    }
}
