//! The HTTP adapter: routes, request parsing, answers. No flow logic, no SQL.

pub mod auth;
pub mod client;
pub mod connections;
pub mod dashboard;
mod health;
mod metrics;
pub mod records_api;
pub mod request_id;
mod webhook;

use std::sync::Arc;

use poem::http::header::{HeaderName, HeaderValue};
use poem::middleware::{AddData, Tracing};
use poem::{get, post, Endpoint, EndpointExt, IntoResponse, Request, Response, Route};

use crate::connections::ServerLimits;
use liza_core::twilio::SignatureVerifier;
use liza_service::calls::Engine;

/// What every handler may use.
pub struct AppState {
    pub engine: Engine,
    /// `None` only with the explicit development switch.
    pub verifier: Option<SignatureVerifier>,
    /// LIZA_PUBLIC_URL: the base Twilio signs (scheme, host, optional path prefix).
    pub public_url: Option<String>,
    /// The admin dashboard; `None` when the store has no [`liza_store::admin::AdminStore`].
    pub dashboard: Option<Arc<dashboard::Dashboard>>,
    /// LIZA_TRUSTED_PROXIES: whose forwarding headers name the client ([`client::of_request`]).
    pub trusted_proxies: client::TrustedProxies,
    /// Body sizes and deadlines (the connection limits are enforced by the acceptor).
    pub limits: ServerLimits,
    /// LIZA_RETENTION_DAYS: days a call's personal data is kept (0: without limit).
    pub retention_days: u32,
}

/// Builds the whole route table from the application state (tests use it without a socket).
pub fn app(state: Arc<AppState>) -> impl poem::Endpoint {
    let mut route = Route::new()
        .at("/webhook/:name", post(webhook::webhook))
        .at("/health", get(health::health))
        .at("/api/health", get(health::health))
        .at("/metrics", get(metrics::metrics));
    if state.dashboard.is_some() {
        route = dashboard::routes(route);
    }
    if state.engine.store.records_api().is_some() {
        route = records_api::routes(route);
    }
    let body_timeout = state.limits.body_timeout;
    let trusted = Arc::new(state.trusted_proxies.clone());
    route
        .around(dashboard::i18n::middleware)
        .with(AddData::new(state))
        .with(connections::BodyDeadline {
            timeout: body_timeout,
        })
        .around(with_security_headers)
        // Inside poem's span, so that the request's own span is the current one of its lines.
        .around(move |ep, req| request_id::middleware(ep, req, trusted.clone()))
        .with(Tracing)
}

/// Sent with every answer, dashboard or not.
const SECURITY_HEADERS: [(&str, &str); 4] = [
    (
        "content-security-policy",
        dashboard::CONTENT_SECURITY_POLICY,
    ),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
];

/// Adds [`SECURITY_HEADERS`] to every answer, errors included: poem's `SetHeader` skips
/// errors, so a 404 or 405 from the router went out without them.
async fn with_security_headers<E: Endpoint>(ep: Arc<E>, req: Request) -> poem::Result<Response> {
    let mut response = match ep.call(req).await {
        Ok(output) => output.into_response(),
        Err(error) => error.into_response(),
    };
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    Ok(response)
}
