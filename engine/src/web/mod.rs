//! The HTTP adapter: routes, request parsing, answers. No flow logic, no SQL.

pub mod client;
pub mod dashboard;
mod health;
mod metrics;
mod webhook;

use std::sync::Arc;

use poem::middleware::{AddData, SetHeader, Tracing};
use poem::{get, post, EndpointExt, Route};

use crate::calls::Engine;
use crate::twilio::SignatureVerifier;

/// What every handler may use.
pub struct AppState {
    pub engine: Engine,
    /// `None` only with the explicit development switch.
    pub verifier: Option<SignatureVerifier>,
    /// LIZA_PUBLIC_URL: the base Twilio signs (scheme, host, optional path prefix).
    pub public_url: Option<String>,
    /// The admin dashboard; `None` when the store has no [`crate::store::admin::AdminStore`].
    pub dashboard: Option<Arc<dashboard::Dashboard>>,
    /// LIZA_TRUSTED_PROXIES: whose forwarding headers name the client ([`client::of_request`]).
    pub trusted_proxies: client::TrustedProxies,
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
    route
        .with(AddData::new(state))
        .with(security_headers())
        .with(Tracing)
}

/// Sent with every answer, dashboard or not.
fn security_headers() -> SetHeader {
    SetHeader::new()
        .overriding(
            "content-security-policy",
            dashboard::CONTENT_SECURITY_POLICY,
        )
        .overriding("x-frame-options", "DENY")
        .overriding("x-content-type-options", "nosniff")
        .overriding("referrer-policy", "same-origin")
}
