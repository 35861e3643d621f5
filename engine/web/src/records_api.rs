//! The records API, for the shop's own system: it pushes what it knows about orders (or any
//! record kind a flow declares) so the status a caller hears is the shop's.
//!
//! - `PUT /api/records/{kind}/{key}` with `{"status": "shipped", "notes": "…"}` (either or
//!   both): creates the record (with the kind's initial status unless one is given) or updates
//!   it; the same request again changes nothing. 201 created, 200 otherwise.
//! - `GET /api/records/{kind}/{key}`: the record, or 404.
//! - `POST /api/records/{kind}:import`: JSON lines (`{"key": "…", "status": "…", "notes":
//!   "…"}` each), read as they arrive, at most 10 MB; every line is checked before anything is
//!   written (400 naming the bad lines), then written in transactions of 500.
//!
//! Only with `Authorization: Bearer <token>` of a token made with `liza admin add-token NAME
//! --scope records` (401 without or with an unknown one, 403 for a token of another scope).
//! An unknown kind is 404, a status the kind does not have 400 naming the allowed ones. Every
//! change is audited under the token's user.

use std::sync::Arc;

use poem::error::ResponseError;
use poem::http::StatusCode;
use poem::web::{Json, Path};
use poem::{
    get, handler, post, Body, FromRequest, IntoResponse, Request, RequestBody, Response, Route,
};
use serde::Deserialize;
use serde_json::json;
use tokio::io::AsyncReadExt as _;
use tracing::info;

use crate::auth;
use crate::AppState;
use liza_store::admin::RecordSummary;
use liza_store::records_api::{scope, RecordWrite, RecordsApi, Written};
use liza_store::{now_ms, StoreError};

/// The largest import body.
pub const MAX_IMPORT_BYTES: usize = 10 * 1024 * 1024;
/// The largest body of one record's `PUT`.
const MAX_PUT_BYTES: usize = 16 * 1024;
/// Records written per transaction during an import (the writers get their turn between).
const IMPORT_BATCH: usize = 500;
/// The longest key and notes taken.
const MAX_KEY_CHARS: usize = 64;
const MAX_NOTES_CHARS: usize = 2_000;
/// Bad lines named in an import's 400 at most.
const MAX_LINE_ERRORS: usize = 20;

/// Adds the records API's routes.
pub fn routes(route: Route) -> Route {
    route
        .at("/api/records/:kind/:id", get(get_record).put(put_record))
        .at("/api/records/:kind", post(import))
}

#[derive(Debug, thiserror::Error)]
enum RecordsError {
    #[error("send `Authorization: Bearer <token>` with a token of scope `records` (liza admin add-token NAME --scope records); this one is missing, unknown, revoked or expired")]
    Unauthorized,
    #[error("this token's scope is `{0}`; the records API takes a token of scope `records` (liza admin add-token NAME --scope records)")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("the records API needs a database backend that supports it")]
    Unavailable,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ResponseError for RecordsError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn as_response(&self) -> Response {
        let store = match self {
            Self::Store(e) => Some(e),
            _ => None,
        };
        crate::dashboard::json_error(self.status(), self, store, "Records API")
    }
}

/// A record kind as the loaded flows declare it.
struct Kind {
    name: String,
    statuses: Vec<String>,
    initial: String,
}

impl Kind {
    fn check_status(&self, status: &str) -> Result<(), RecordsError> {
        if self.statuses.iter().any(|s| s == status) {
            return Ok(());
        }
        Err(RecordsError::BadRequest(format!(
            "status `{status}` is not one of {}'s statuses: {}",
            self.name,
            self.statuses.join(", ")
        )))
    }
}

/// A records API request: its token's user and the store.
struct Client {
    api: Arc<dyn RecordsApi>,
    state: Arc<AppState>,
    user: String,
}

impl<'a> FromRequest<'a> for Client {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let state = req
            .data::<Arc<AppState>>()
            .ok_or(RecordsError::Unavailable)?
            .clone();
        let api = state
            .engine
            .store
            .records_api()
            .ok_or(RecordsError::Unavailable)?;
        let token = req
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(RecordsError::Unauthorized)?;
        let used = api
            .api_token_use(&auth::token_hash(token), now_ms())
            .await
            .map_err(RecordsError::Store)?
            .ok_or(RecordsError::Unauthorized)?;
        if used.scope != scope::RECORDS {
            return Err(RecordsError::Forbidden(used.scope).into());
        }
        Ok(Self {
            api,
            state,
            user: used.user,
        })
    }
}

impl Client {
    /// The kind named in the path, from the loaded flows' `records:`.
    fn kind(&self, name: &str) -> Result<Kind, RecordsError> {
        let snapshot = self.state.engine.registry.current();
        let mut names: Vec<String> = Vec::new();
        for flow in &snapshot.flows {
            for (kind, declared) in &flow.records {
                if kind == name {
                    return Ok(Kind {
                        name: kind.clone(),
                        statuses: declared.statuses.clone(),
                        initial: declared.initial.clone(),
                    });
                }
                if !names.contains(kind) {
                    names.push(kind.clone());
                }
            }
        }
        Err(RecordsError::NotFound(format!(
            "no record kind `{name}` (the flows declare: {})",
            names.join(", ")
        )))
    }
}

fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS || key.chars().any(char::is_control) {
        return Err(format!(
            "a key is 1 to {MAX_KEY_CHARS} characters without control characters"
        ));
    }
    Ok(())
}

fn check_notes(notes: Option<&str>) -> Result<(), String> {
    match notes {
        Some(n) if n.chars().count() > MAX_NOTES_CHARS => {
            Err(format!("notes are at most {MAX_NOTES_CHARS} characters"))
        }
        _ => Ok(()),
    }
}

fn record_json(record: &RecordSummary) -> serde_json::Value {
    json!({
        "kind": record.kind,
        "key": record.key,
        "status": record.status,
        "notes": record.notes,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    })
}

/// `GET /api/records/{kind}/{key}`.
#[handler]
async fn get_record(
    client: Client,
    Path((kind, key)): Path<(String, String)>,
) -> Result<Response, RecordsError> {
    let kind = client.kind(&kind)?;
    let record = client
        .api
        .record_by_key(&kind.name, &key)
        .await?
        .ok_or_else(|| RecordsError::NotFound(format!("no {} with key `{key}`", kind.name)))?;
    Ok(Json(record_json(&record)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PutBody {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    notes: Option<String>,
}

/// `PUT /api/records/{kind}/{key}` with `{"status": …, "notes": …}`.
#[handler]
async fn put_record(
    client: Client,
    Path((kind, key)): Path<(String, String)>,
    body: Body,
) -> Result<Response, RecordsError> {
    let kind = client.kind(&kind)?;
    check_key(&key).map_err(RecordsError::BadRequest)?;
    let bytes = body.into_bytes_limit(MAX_PUT_BYTES).await.map_err(|_| {
        RecordsError::TooLarge(format!("a record's body is at most {MAX_PUT_BYTES} bytes"))
    })?;
    let put: PutBody = serde_json::from_slice(&bytes).map_err(|e| {
        RecordsError::BadRequest(format!(
            "expected a JSON body like {{\"status\": \"shipped\", \"notes\": \"…\"}}: {e}"
        ))
    })?;
    if put.status.is_none() && put.notes.is_none() {
        return Err(RecordsError::BadRequest(
            "give `status`, `notes` or both".into(),
        ));
    }
    if let Some(status) = &put.status {
        kind.check_status(status)?;
    }
    check_notes(put.notes.as_deref()).map_err(RecordsError::BadRequest)?;
    let write = RecordWrite {
        key,
        status: put.status,
        notes: put.notes,
    };
    let (written, record) = client
        .api
        .put_record(&kind.name, &kind.initial, &write, &client.user, now_ms())
        .await?;
    let mut answer = record_json(&record);
    answer["written"] = json!(match written {
        Written::Created => "created",
        Written::Updated => "updated",
        Written::Unchanged => "unchanged",
    });
    let status = if written == Written::Created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(Json(answer).with_status(status).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportLine {
    key: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    notes: Option<String>,
}

/// Checks one import line; the write it asks for.
fn import_line(kind: &Kind, line: &[u8]) -> Result<RecordWrite, String> {
    let parsed: ImportLine = serde_json::from_slice(line).map_err(|e| {
        format!("not a JSON object like {{\"key\": \"…\", \"status\": \"…\"}}: {e}")
    })?;
    check_key(&parsed.key)?;
    if let Some(status) = &parsed.status {
        kind.check_status(status).map_err(|e| e.to_string())?;
    }
    check_notes(parsed.notes.as_deref())?;
    Ok(RecordWrite {
        key: parsed.key,
        status: parsed.status,
        notes: parsed.notes,
    })
}

/// `POST /api/records/{kind}:import` with JSON lines.
#[handler]
async fn import(
    client: Client,
    Path(target): Path<String>,
    req: &Request,
    body: Body,
) -> Result<Response, RecordsError> {
    let Some(kind) = target.strip_suffix(":import") else {
        return Err(RecordsError::NotFound(format!(
            "POST /api/records/{target}: did you mean POST /api/records/{target}:import?"
        )));
    };
    let kind = client.kind(kind)?;
    let too_large = || {
        RecordsError::TooLarge(format!(
            "an import is at most {} MB: split the file",
            MAX_IMPORT_BYTES / 1024 / 1024
        ))
    };
    // Refused from its head when it says it is too large.
    let declared: Option<usize> = req
        .header("content-length")
        .and_then(|v| v.trim().parse().ok());
    if declared.is_some_and(|n| n > MAX_IMPORT_BYTES) {
        return Err(too_large());
    }
    // Read as it arrives, line by line: every line checked before anything is written.
    let mut reader = body.into_async_read();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut received = 0usize;
    let mut pending: Vec<u8> = Vec::new();
    let mut writes = Vec::new();
    let mut problems: Vec<serde_json::Value> = Vec::new();
    let mut line_number = 0usize;
    let mut take_line = |line: &[u8], writes: &mut Vec<RecordWrite>, problems: &mut Vec<_>| {
        line_number += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        match import_line(&kind, line) {
            Ok(write) => writes.push(write),
            Err(e) => {
                if problems.len() < MAX_LINE_ERRORS {
                    problems.push(json!({ "line": line_number, "error": e }));
                } else if problems.len() == MAX_LINE_ERRORS {
                    problems.push(json!({ "line": line_number, "error": "and more" }));
                }
            }
        }
    };
    loop {
        let n = reader
            .read(&mut chunk)
            .await
            .map_err(|e| RecordsError::BadRequest(format!("the body broke off: {e}")))?;
        if n == 0 {
            break;
        }
        received += n;
        if received > MAX_IMPORT_BYTES {
            return Err(too_large());
        }
        pending.extend_from_slice(&chunk[..n]);
        let mut start = 0;
        while let Some(end) = pending[start..].iter().position(|b| *b == b'\n') {
            take_line(&pending[start..start + end], &mut writes, &mut problems);
            start += end + 1;
        }
        pending.drain(..start);
    }
    if !pending.is_empty() {
        take_line(&pending, &mut writes, &mut problems);
    }
    if !problems.is_empty() {
        return Ok(Json(json!({
            "error": "some lines are not records of this kind; nothing was written",
            "lines": problems,
        }))
        .with_status(StatusCode::BAD_REQUEST)
        .into_response());
    }
    let mut total = liza_store::records_api::ImportCounts::default();
    for batch in writes.chunks(IMPORT_BATCH) {
        let counts = client
            .api
            .import_records(&kind.name, &kind.initial, batch, &client.user, now_ms())
            .await?;
        total.created += counts.created;
        total.updated += counts.updated;
        total.unchanged += counts.unchanged;
    }
    info!(kind = %kind.name, records = writes.len(), created = total.created, updated = total.updated, "Records imported.");
    Ok(Json(json!({
        "kind": kind.name,
        "records": writes.len(),
        "created": total.created,
        "updated": total.updated,
        "unchanged": total.unchanged,
    }))
    .into_response())
}
