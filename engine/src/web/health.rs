use std::sync::Arc;
use std::time::Duration;

use poem::http::StatusCode;
use poem::web::{Data, Json};
use poem::{handler, IntoResponse, Response};
use serde_json::json;

use super::AppState;

/// `GET /health`: database reachable, flows loaded; 503 when the database is not.
#[handler]
pub async fn health(Data(state): Data<&Arc<AppState>>) -> Response {
    // A health check must answer quickly even while the database hangs.
    let database_ok = matches!(
        tokio::time::timeout(Duration::from_secs(2), state.engine.store.ping()).await,
        Ok(Ok(()))
    );
    let flows: Vec<_> = state
        .engine
        .registry
        .current()
        .flows
        .iter()
        .map(|f| json!({ "name": f.name, "version": f.version }))
        .collect();
    let registry = &state.engine.registry;
    let (reloads, reload_failures) = registry.reload_counts();
    let body = json!({
        "status": if database_ok { "ok" } else { "unavailable" },
        "database": if database_ok { "reachable" } else { "unreachable" },
        "flows": flows,
        "reload": {
            "error": registry.reload_error(),
            "reloads": reloads,
            "failures": reload_failures,
        },
    });
    let status = if database_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Json(body).with_status(status).into_response()
}
