//! The JSON API: `POST /api/calls/<id>/status`, `POST /api/records/<kind>/<id>/status`,
//! `GET /api/privacy/export?phone=…`, `POST /api/privacy/erase`.
//! Signed in by the session cookie or by `Authorization: Bearer <API token>`.

use std::sync::Arc;

use poem::error::ResponseError;
use poem::http::StatusCode;
use poem::web::{Data, Json, Path, Query};
use poem::{handler, Body, FromRequest, IntoResponse, Request, RequestBody, Response};
use serde::Deserialize;
use serde_json::json;
use tracing::error;

use super::pages::{staff_call_status, unknown_record_status};
use super::{Dashboard, MAX_FORM_BYTES};
use crate::auth;
use crate::AppState;
use liza_core::privacy::PhoneNumber;
use liza_store::admin::Change;
use liza_store::privacy::{audit_subject, ExportDocument, Person};
use liza_store::{now_ms, StoreError};

#[derive(Debug, Deserialize)]
struct StatusChange {
    status: String,
}

#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("login required: send the session cookie or `Authorization: Bearer <token>` (a token that is unknown, revoked or expired is refused)")]
    Unauthorized,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("the dashboard needs a database backend that supports it")]
    Unavailable,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// `{"error": "…"}` with the status.
    fn as_response(&self) -> Response {
        let store = match self {
            Self::Store(e) => Some(e),
            _ => None,
        };
        json_error(self.status(), self, store, "API")
    }
}

/// A JSON API's error answer, `{"error": "…"}` with `status` (the dashboard's API and the
/// records API): a database failure is logged as `api`'s and answered without its cause; a 401
/// names the Bearer scheme.
pub(crate) fn json_error(
    status: StatusCode,
    message: &dyn std::fmt::Display,
    store: Option<&StoreError>,
    api: &str,
) -> Response {
    if let Some(e) = store {
        error!(error = %e, "{api} request failed on the database.");
        return Json(json!({ "error": "internal error; the cause is in the server log" }))
            .with_status(status)
            .into_response();
    }
    let mut response = Json(json!({ "error": message.to_string() }))
        .with_status(status)
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            "www-authenticate",
            poem::http::HeaderValue::from_static("Bearer"),
        );
    }
    response
}

/// An API request's dashboard and user name.
pub struct ApiUser<'a> {
    d: &'a Dashboard,
    user: String,
}

impl<'a> FromRequest<'a> for ApiUser<'a> {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let d = req
            .data::<Arc<AppState>>()
            .and_then(|state| state.dashboard.as_deref())
            .ok_or(ApiError::Unavailable)?;
        let user = api_user(d, req).await?;
        Ok(Self { d, user })
    }
}

/// The user name behind the request: a bearer token, else the session cookie.
async fn api_user(d: &Dashboard, req: &Request) -> Result<String, ApiError> {
    if let Some(header) = req.header("authorization") {
        let token = header
            .strip_prefix("Bearer ")
            .ok_or(ApiError::Unauthorized)?;
        return d
            .admin
            .api_token_user(&auth::token_hash(token.trim()), now_ms())
            .await?
            .ok_or(ApiError::Unauthorized);
    }
    let user = d.session_user(req).await?.ok_or(ApiError::Unauthorized)?;
    // A cookie-authenticated write must be JSON: browsers cannot send that cross-site
    // without a CORS preflight, which this server never grants.
    let json = req
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/json"));
    if !json {
        return Err(ApiError::BadRequest(
            "send the body as application/json".into(),
        ));
    }
    Ok(user.user_name)
}

async fn read_status(body: Body) -> Result<String, ApiError> {
    let bytes = body
        .into_bytes_limit(MAX_FORM_BYTES)
        .await
        .map_err(|_| ApiError::BadRequest("the body is too large".into()))?;
    let change: StatusChange = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::BadRequest(format!(
            "expected a JSON body like {{\"status\": \"…\"}}: {e}"
        ))
    })?;
    Ok(change.status)
}

fn changed(id: i64, status: &str, change: Change) -> Response {
    let previous = match &change {
        Change::Changed { old } => old.as_str(),
        _ => status,
    };
    Json(json!({
        "id": id,
        "status": status,
        "previous": previous,
        "changed": matches!(change, Change::Changed { .. }),
    }))
    .into_response()
}

/// `POST /api/calls/<id>/status` with `{"status": "completed"}`.
#[handler]
pub async fn call_status(
    ApiUser { d, user }: ApiUser<'_>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound(format!("no call with id `{id}`"));
    let call_id: i64 = id.parse().map_err(|_| not_found())?;
    let requested = read_status(body).await?;
    let status = staff_call_status(&requested).map_err(ApiError::BadRequest)?;
    match d
        .admin
        .set_call_status(call_id, status, &user, now_ms())
        .await?
    {
        Change::NotFound => Err(not_found()),
        change => Ok(changed(call_id, status.as_str(), change)),
    }
}

/// `POST /api/records/<kind>/<id>/status` with `{"status": "shipped"}`.
#[handler]
pub async fn record_status(
    ApiUser { d, user }: ApiUser<'_>,
    Path((kind, id)): Path<(String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound(format!("no {kind} with id `{id}`"));
    let kind = d.record_kinds().into_iter().find(|k| k.name == kind);
    let Some(kind) = kind else {
        return Err(not_found());
    };
    let record_id: i64 = id.parse().map_err(|_| not_found())?;
    let requested = read_status(body).await?;
    d.record(&kind.name, record_id)
        .await?
        .ok_or_else(not_found)?;
    if !kind.statuses.contains(&requested) {
        return Err(ApiError::BadRequest(unknown_record_status(
            &kind, &requested,
        )));
    }
    match d
        .admin
        .set_record_status(record_id, &requested, &user, now_ms())
        .await?
    {
        Change::NotFound => Err(not_found()),
        change => Ok(changed(record_id, &requested, change)),
    }
}

/// `?phone=…` of `GET /api/privacy/export`, `{"phone": …}` of `POST /api/privacy/erase`.
#[derive(Debug, Deserialize)]
pub struct PhoneQuery {
    phone: Option<String>,
}

/// The person a request names, with the hash the store finds them by; 400 with the E.164 form
/// when the number is not one.
fn person_of(state: &AppState, phone: Option<&str>) -> Result<(PhoneNumber, String), ApiError> {
    let phone = phone.ok_or_else(|| {
        ApiError::BadRequest("give the caller's number: phone=+4915112345678".into())
    })?;
    let number =
        PhoneNumber::parse(phone, None).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let hash = state.engine.privacy.caller_hash(number.e164());
    Ok((number, hash))
}

/// `GET /api/privacy/export?phone=+4915112345678`: everything stored about the number, as
/// `liza privacy export` prints it; audited (without the number).
#[handler]
pub async fn privacy_export(
    ApiUser { d, user }: ApiUser<'_>,
    Data(state): Data<&Arc<AppState>>,
    Query(query): Query<PhoneQuery>,
) -> Result<Response, ApiError> {
    let (number, hash) = person_of(state, query.phone.as_deref())?;
    let person = Person {
        caller_hash: &hash,
        number: number.e164(),
    };
    let data = d.admin.export_person(&person).await?;
    let now = now_ms();
    d.admin
        .audit_privacy(
            &user,
            "export",
            &audit_subject(&hash),
            &data.export_note(),
            now,
        )
        .await?;
    Ok(Json(ExportDocument::new(number.e164(), &data, now)).into_response())
}

/// `POST /api/privacy/erase` with `{"phone": "+4915112345678"}`: erases the number's personal
/// data (calls in progress are left and named in `live_calls`); audited (without the number).
#[handler]
pub async fn privacy_erase(
    ApiUser { d, user }: ApiUser<'_>,
    Data(state): Data<&Arc<AppState>>,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = body
        .into_bytes_limit(MAX_FORM_BYTES)
        .await
        .map_err(|_| ApiError::BadRequest("the body is too large".into()))?;
    let query: PhoneQuery = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::BadRequest(format!(
            "expected a JSON body like {{\"phone\": \"+4915112345678\"}}: {e}"
        ))
    })?;
    let (number, hash) = person_of(state, query.phone.as_deref())?;
    let person = Person {
        caller_hash: &hash,
        number: number.e164(),
    };
    let erasure = d
        .admin
        .erase_person(&person, &user, &audit_subject(&hash), now_ms())
        .await?;
    Ok(Json(json!({
        "number": number.masked(),
        "erased": erasure.erased,
        "live_calls": erasure.live_calls,
    }))
    .into_response())
}
