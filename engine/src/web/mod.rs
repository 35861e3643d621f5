//! The HTTP adapter: routes, request parsing, answers. No flow logic, no SQL.

mod health;
mod metrics;
mod webhook;

use std::sync::Arc;

use poem::middleware::{AddData, Tracing};
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
}

/// Builds the whole route table from the application state (tests use it without a socket).
pub fn app(state: Arc<AppState>) -> impl poem::Endpoint {
    Route::new()
        .at("/webhook/:name", post(webhook::webhook))
        .at("/health", get(health::health))
        .at("/api/health", get(health::health))
        .at("/metrics", get(metrics::metrics))
        .with(AddData::new(state))
        .with(Tracing)
}
