//! The outbox's HTTP courier: a text through Twilio's Messages REST API, an event to
//! `LIZA_EVENTS_URL` signed with `LIZA_EVENTS_SECRET` (docs/events.md).
//!
//! Twilio: `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, form `To`, `From`,
//! `Body`, HTTP basic auth with the account SID and auth token. A 2xx is sent; a 429 or 5xx, a
//! failed connection or a timeout is tried again later; any other answer is Twilio refusing the
//! text for good, with the reason from its error JSON (`code`, `message`).
//!
//! Errors are told by kind and status, never by reqwest's text; a reason that quotes the
//! caller's number (Twilio's messages do) has it masked.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use hmac::{Hmac, Mac};
use liza_service::outbox::{Courier, Delivery, OutboxItem, OutboxKind};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// Twilio's REST API where Liza sends texts.
#[derive(Clone)]
pub struct TwilioAccount {
    pub account_sid: String,
    pub auth_token: SecretString,
    /// The sender: a Twilio number (E.164) or a messaging service's alphanumeric sender.
    pub from: String,
    /// `https://api.twilio.com` (TWILIO_API_BASE: a test's fake Twilio).
    pub api_base: String,
}

/// Where events go.
#[derive(Clone)]
pub struct EventsTarget {
    pub url: String,
    pub secret: SecretString,
}

/// Sends outbox rows over HTTP.
pub struct HttpCourier {
    client: reqwest::Client,
    twilio: Option<TwilioAccount>,
    events: Option<EventsTarget>,
}

/// How long one send may take.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The signature header of an event: `sha256=` and the hex HMAC-SHA256 of
/// `{timestamp}.{body}` with the events secret.
pub const SIGNATURE_HEADER: &str = "X-Liza-Signature";
/// The time the event was signed, in Unix seconds (part of the signed text).
pub const TIMESTAMP_HEADER: &str = "X-Liza-Timestamp";
/// The event's id (also in its body), for receivers that drop repeats.
pub const EVENT_ID_HEADER: &str = "X-Liza-Event-Id";

/// The signature of an event body sent at `timestamp` (Unix seconds).
pub fn sign_event(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(7 + digest.len() * 2);
    hex.push_str("sha256=");
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

impl HttpCourier {
    pub fn new(
        twilio: Option<TwilioAccount>,
        events: Option<EventsTarget>,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Liza/", env!("CARGO_PKG_VERSION")))
            .timeout(SEND_TIMEOUT)
            .build()
            .map_err(|e| format!("the HTTP client cannot start: {e}"))?;
        Ok(Self {
            client,
            twilio,
            events,
        })
    }

    async fn text(&self, item: &OutboxItem) -> Delivery {
        let Some(twilio) = &self.twilio else {
            return Delivery::Refused(
                "this server has no Twilio account for texts (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, LIZA_SMS_FROM)".into(),
            );
        };
        let payload: serde_json::Value = match serde_json::from_str(&item.payload) {
            Ok(payload) => payload,
            Err(_) => return Delivery::Refused("the queued text is unreadable".into()),
        };
        let (Some(to), Some(body)) = (payload["to"].as_str(), payload["body"].as_str()) else {
            return Delivery::Refused("the queued text has no number or body".into());
        };
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            twilio.api_base.trim_end_matches('/'),
            twilio.account_sid
        );
        let sent = self
            .client
            .post(url)
            .basic_auth(&twilio.account_sid, Some(twilio.auth_token.expose_secret()))
            .form(&[("To", to), ("From", twilio.from.as_str()), ("Body", body)])
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => return Delivery::Retry(describe(&e).into()),
        };
        let status = response.status().as_u16();
        if response.status().is_success() {
            return Delivery::Sent;
        }
        let text = read_capped(response).await;
        let masked = |text: &str| text.replace(to, &liza_core::privacy::mask(to));
        let reason = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(error) => match (error["code"].as_i64(), error["message"].as_str()) {
                (Some(code), Some(message)) => {
                    format!(
                        "Twilio answered {status} (error {code}): {}",
                        masked(message)
                    )
                }
                (None, Some(message)) => format!("Twilio answered {status}: {}", masked(message)),
                _ => format!("Twilio answered {status}"),
            },
            Err(_) => format!("Twilio answered {status}"),
        };
        if status == 429 || status >= 500 {
            Delivery::Retry(reason)
        } else {
            Delivery::Refused(reason)
        }
    }

    async fn event(&self, item: &OutboxItem) -> Delivery {
        let Some(events) = &self.events else {
            return Delivery::Refused(
                "this server sends no events (LIZA_EVENTS_URL, LIZA_EVENTS_SECRET)".into(),
            );
        };
        let body = item.payload.clone().into_bytes();
        let timestamp = unix_now_secs();
        let signature = sign_event(events.secret.expose_secret(), timestamp, &body);
        let id = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["id"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let sent = self
            .client
            .post(&events.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(EVENT_ID_HEADER, id)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => Delivery::Sent,
            // Any other answer may be a receiver being deployed or misconfigured: tried again
            // until the attempts run out.
            Ok(response) => Delivery::Retry(format!(
                "the events URL answered {}",
                response.status().as_u16()
            )),
            Err(e) => Delivery::Retry(describe(&e).into()),
        }
    }
}

/// Unix seconds now.
fn unix_now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// An error answer's body, at most 16 kB of it.
async fn read_capped(mut response: reqwest::Response) -> String {
    const MAX: usize = 16 * 1024;
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() >= MAX {
            body.truncate(MAX);
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// What went wrong, by kind (reqwest's text names the URL, which holds the account SID).
fn describe(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "the connection failed"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "the request failed"
    }
}

impl Courier for HttpCourier {
    fn deliver<'a>(
        &'a self,
        item: &'a OutboxItem,
    ) -> Pin<Box<dyn Future<Output = Delivery> + Send + 'a>> {
        Box::pin(async move {
            match item.kind {
                OutboxKind::Sms => self.text(item).await,
                OutboxKind::Event => self.event(item).await,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value the docs' Python and openssl snippets compute for the same input
    /// (docs/events.md).
    #[test]
    fn an_event_is_signed_over_its_timestamp_and_body() {
        assert_eq!(
            sign_event("whsec-test", 1_700_000_000, br#"{"id":"CA1:call.started"}"#),
            "sha256=27ae3f3c35e030f5d958c1e7dcdeec01aa61027042139e7f0823538110d13375"
        );
    }
}
