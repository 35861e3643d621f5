//! `/account`: the signed-in user's own sessions and API tokens, each with a button that
//! ends it (CSRF-checked, audited).

use std::sync::Arc;

use minijinja::context;
use poem::web::{Data, Path, Redirect};
use poem::{handler, Body, IntoResponse, Request, Response};
use tracing::info;

use super::{check_csrf, read_form, respond, Dashboard, PageError, SESSION_COOKIE};
use crate::AppState;
use liza_store::admin::Subject;
use liza_store::now_ms;

fn dashboard(state: &AppState) -> Result<&Dashboard, PageError> {
    state.dashboard.as_deref().ok_or(PageError::Unavailable)
}

/// `GET /account`.
#[handler]
pub async fn account_page(req: &Request, Data(state): Data<&Arc<AppState>>) -> Response {
    let result = async {
        let d = dashboard(state)?;
        let user = d.signed_in(req).await?;
        let now = now_ms();
        let sessions = d.admin.list_sessions(user.user_id, now).await?;
        let tokens = d.admin.list_api_tokens(Some(user.user_id)).await?;
        let audit = d.admin.audit_log(Subject::User(user.user_id)).await?;
        d.render(
            "account.html",
            context! { user, page => "account", sessions, tokens, audit, now },
        )
    }
    .await;
    respond(state.dashboard.as_deref(), result)
}

/// `POST /account/sessions/<id>/end` (form): ends one of the user's own sessions; ending the
/// current one signs out.
#[handler]
pub async fn end_session(
    req: &Request,
    Path(id): Path<String>,
    body: Body,
    Data(state): Data<&Arc<AppState>>,
) -> Response {
    let result = async {
        let d = dashboard(state)?;
        let user = d.signed_in(req).await?;
        let form = read_form(body).await?;
        check_csrf(&form, &user.csrf_token)?;
        let id: i64 = id.parse().map_err(|_| PageError::NotFound)?;
        if !d
            .admin
            .end_session(user.user_id, id, &user.user_name, now_ms())
            .await?
        {
            return Err(PageError::NotFound);
        }
        info!(user = ?user.user_name, session = id, "Session ended from the account page.");
        if id != user.session_id {
            return Ok(Redirect::see_other("/account").into_response());
        }
        let mut response = Redirect::see_other("/login").into_response();
        if let Ok(value) = d.cookie(SESSION_COOKIE, "", "/", 0).parse() {
            response.headers_mut().append("set-cookie", value);
        }
        Ok(response)
    }
    .await;
    respond(state.dashboard.as_deref(), result)
}

/// `POST /account/tokens/<id>/revoke` (form): revokes one of the user's own API tokens.
#[handler]
pub async fn revoke_token(
    req: &Request,
    Path(id): Path<String>,
    body: Body,
    Data(state): Data<&Arc<AppState>>,
) -> Response {
    let result = async {
        let d = dashboard(state)?;
        let user = d.signed_in(req).await?;
        let form = read_form(body).await?;
        check_csrf(&form, &user.csrf_token)?;
        let id: i64 = id.parse().map_err(|_| PageError::NotFound)?;
        let revoked = d
            .admin
            .revoke_api_token(id, Some(user.user_id), &user.user_name, now_ms())
            .await?
            .ok_or(PageError::NotFound)?;
        info!(user = ?user.user_name, token = revoked.id, label = ?revoked.label, "API token revoked from the account page.");
        Ok(Redirect::see_other("/account").into_response())
    }
    .await;
    respond(state.dashboard.as_deref(), result)
}
