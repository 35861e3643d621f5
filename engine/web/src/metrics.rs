use std::sync::Arc;

use poem::web::Data;
use poem::{handler, Response};

use super::AppState;
use liza_service::metrics::Gauges;

/// `GET /metrics`: Prometheus text format. Like /health it says nothing about callers;
/// expose it to the scraper only (bind or proxy rules), as usual for Prometheus endpoints.
#[handler]
pub async fn metrics(Data(state): Data<&Arc<AppState>>) -> Response {
    Response::builder()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.engine.metrics.render_with(&Gauges {
            store: state.engine.store.stats(),
            flow_versions_held: state.engine.registry.versions_held(),
        }))
}
