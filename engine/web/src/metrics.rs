use std::sync::Arc;

use poem::web::Data;
use poem::{handler, Response};

use super::AppState;
use liza_service::metrics::Gauges;

/// `GET /metrics`: Prometheus text format. Like /health it says nothing about callers;
/// expose it to the scraper only (bind or proxy rules), as usual for Prometheus endpoints.
#[handler]
pub async fn metrics(Data(state): Data<&Arc<AppState>>) -> Response {
    // The outbox's backlog: one count over its partial index, given up after a second (the
    // scrape then shows no value rather than waiting for a busy database).
    let outbox_pending = match state.engine.store.outbox() {
        Some(outbox) => tokio::time::timeout(std::time::Duration::from_secs(1), outbox.pending())
            .await
            .ok()
            .and_then(Result::ok),
        None => None,
    };
    Response::builder()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.engine.metrics.render_with(&Gauges {
            store: state.engine.store.stats(),
            flow_versions_held: state.engine.registry.versions_held(),
            outbox_pending,
        }))
}
