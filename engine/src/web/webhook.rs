//! `POST /webhook/<name>`: signature check, then the engine answers with TwiML.

use std::sync::Arc;
use std::time::Instant;

use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{handler, Body, IntoResponse, Request, Response};
use tracing::warn;

use super::AppState;
use crate::calls::Hook;
use crate::twilio::WebhookParams;

/// Twilio's bodies are a few kB; anything far larger is not Twilio.
const MAX_BODY_BYTES: usize = 256 * 1024;

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
    let bytes = match body.into_bytes_limit(MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
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
            // The path is not trusted before the signature is: one label for all of them.
            state
                .engine
                .metrics
                .webhook("unverified", "rejected", started.elapsed());
            return (StatusCode::FORBIDDEN, "invalid Twilio signature").into_response();
        }
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
