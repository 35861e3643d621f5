//! `POST /webhook/<name>`: signature check, then the engine answers with TwiML.

use std::sync::Arc;
use std::time::Instant;

use poem::error::ReadBodyError;
use poem::http::{header, StatusCode};
use poem::web::{Data, Path};
use poem::{handler, Body, IntoResponse, Request, Response};
use tracing::warn;

use super::AppState;
use liza_core::twilio::WebhookParams;
use liza_service::calls::Hook;

fn twiml(body: String) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .content_type("text/xml; charset=utf-8")
        .body(body)
}

/// The URL Twilio signed: LIZA_PUBLIC_URL + path + query, or (development only) what the request says.
fn signed_url(state: &AppState, req: &Request) -> String {
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    match &state.public_url {
        Some(base) => format!("{base}{path_and_query}"),
        None => {
            let headers = req.headers();
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
            let proto = header("x-forwarded-proto").unwrap_or("http");
            let host = header("x-forwarded-host")
                .or(header("host"))
                .unwrap_or("localhost");
            format!("{proto}://{host}{path_and_query}")
        }
    }
}

/// The `seq` query parameter: which turn of the call this webhook answers.
fn turn_of(req: &Request) -> Option<i64> {
    let query = req.uri().query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "seq")
        .and_then(|(_, v)| v.parse().ok())
}

#[handler]
pub async fn webhook(
    req: &Request,
    Path(name): Path<String>,
    body: Body,
    Data(state): Data<&Arc<AppState>>,
) -> Response {
    let started = Instant::now();
    let reject = |status: StatusCode, text: &'static str| {
        // The path is not trusted before the signature is: one label for all of them.
        state
            .engine
            .metrics
            .webhook("unverified", "rejected", started.elapsed());
        (status, text).into_response()
    };
    // Everything that can be refused from the head is refused before a byte of the body is read.
    if state.verifier.is_some() && !req.headers().contains_key("x-twilio-signature") {
        warn!(path = %req.uri().path(), "Rejected a webhook without X-Twilio-Signature.");
        return reject(StatusCode::FORBIDDEN, "invalid Twilio signature");
    }
    let limit = state.limits.webhook_max_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return reject(StatusCode::PAYLOAD_TOO_LARGE, "webhook body too large");
    }
    let bytes = match body.into_bytes_limit(limit).await {
        Ok(b) => b,
        Err(ReadBodyError::PayloadTooLarge) => {
            return reject(StatusCode::PAYLOAD_TOO_LARGE, "webhook body too large")
        }
        Err(ReadBodyError::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
            return reject(StatusCode::REQUEST_TIMEOUT, "webhook body too slow")
        }
        Err(_) => return reject(StatusCode::BAD_REQUEST, "unreadable webhook body"),
    };
    let params = WebhookParams::parse(&bytes);
    if let Some(verifier) = &state.verifier {
        let signature = req
            .headers()
            .get("x-twilio-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let url = signed_url(state, req);
        if signature.is_empty() || !verifier.verify(&url, params.pairs(), signature) {
            warn!(path = %req.uri().path(), "Rejected a webhook with a missing or invalid X-Twilio-Signature.");
            return reject(StatusCode::FORBIDDEN, "invalid Twilio signature");
        }
    }
    // Only a signed CallSid names the call in the logs (an unsigned one is anyone's text).
    if let Some(call_sid) = params.call_sid() {
        crate::request_id::record_call_sid(call_sid);
    }
    let (body, outcome) = state
        .engine
        .answer(Hook::from_path(&name), params, turn_of(req))
        .await;
    state
        .engine
        .metrics
        .webhook(&name, outcome.as_str(), started.elapsed());
    twiml(body)
}
