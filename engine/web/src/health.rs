//! `GET /health` and `GET /api/health`: what a monitor needs, for anyone; the diagnostics
//! behind them (error texts, file paths, source lines) only for a signed-in admin.

use std::sync::Arc;
use std::time::Duration;

use poem::http::StatusCode;
use poem::web::{Data, Json};
use poem::{handler, IntoResponse, Request, Response};
use serde_json::json;

use super::AppState;
use liza_store::health::{WriteProblem, WriteTrouble};

/// Longest wait for the database's answer: a probe in flight, then perhaps one more.
const HEALTH_WAIT: Duration = Duration::from_secs(3);

/// 503 when the database cannot take a write (the caller hears an apology); 200 otherwise,
/// `"status":"degraded"` while the last saved flows did not load (the previous version serves).
/// `?details` adds the diagnostics when the request is signed in (session or API token).
#[handler]
pub async fn health(req: &Request, Data(state): Data<&Arc<AppState>>) -> Response {
    // A health check must answer quickly even while the database hangs.
    let trouble = tokio::time::timeout(HEALTH_WAIT, state.engine.store.write_health())
        .await
        .unwrap_or_else(|_| {
            Some(WriteTrouble {
                problem: WriteProblem::Unreachable,
                detail: "the write probe did not answer in time".to_owned(),
            })
        });
    let registry = &state.engine.registry;
    let failure = registry.reload_failure();
    let (reloads, reload_failures) = registry.reload_counts();
    let snapshot = registry.current();
    let status = match (&trouble, &failure) {
        (Some(_), _) => "unavailable",
        (None, Some(_)) => "degraded",
        (None, None) => "ok",
    };
    let mut body = json!({
        "status": status,
        "database": trouble.as_ref().map_or("writable", |t| t.problem.code()),
        "flows": snapshot
            .flows
            .iter()
            .map(|f| json!({ "name": f.name, "version": f.version }))
            .collect::<Vec<_>>(),
        "reload": {
            "state": failure
                .as_ref()
                .map_or_else(|| "ok".to_owned(), |f| format!("degraded: {}", f.summary)),
            "reloads": reloads,
            "failures": reload_failures,
        },
    });
    if let Some(trouble) = &trouble {
        body["database_problem"] = trouble.problem.describe().into();
    }
    if wants_details(req) && signed_in(state, req).await {
        body["details"] = json!({
            "database_error": trouble.as_ref().map(|t| &t.detail),
            "reload_error": failure.as_ref().map(|f| &f.details),
            "flows": snapshot
                .flows
                .iter()
                .map(|f| json!({ "name": f.name, "version": f.version, "path": f.path }))
                .collect::<Vec<_>>(),
        });
    }
    let code = if trouble.is_some() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let mut response = Json(body).with_status(code).into_response();
    response.headers_mut().insert(
        "cache-control",
        poem::http::HeaderValue::from_static("no-store"),
    );
    response
}

fn wants_details(req: &Request) -> bool {
    req.uri().query().is_some_and(|query| {
        form_urlencoded::parse(query.as_bytes()).any(|(name, _)| name == "details")
    })
}

async fn signed_in(state: &AppState, req: &Request) -> bool {
    match &state.dashboard {
        Some(dashboard) => dashboard.is_signed_in(req).await,
        None => false,
    }
}
