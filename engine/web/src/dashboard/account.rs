//! `/account`: the signed-in user's own sessions and API tokens, each with a button that
//! ends it (CSRF-checked, audited).

use minijinja::context;
use poem::web::{Path, Redirect};
use poem::{handler, IntoResponse, Response};
use serde::Deserialize;
use tracing::info;

use super::extract::{id, SignedForm, SignedIn};
use super::{PageError, SESSION_COOKIE};
use liza_store::admin::Subject;
use liza_store::now_ms;

/// A form with nothing but its CSRF token (a button).
#[derive(Debug, Deserialize)]
pub struct Button {}

/// `GET /account`.
#[handler]
pub async fn account_page(SignedIn { d, user }: SignedIn<'_>) -> Result<Response, PageError> {
    let now = now_ms();
    let sessions = d.admin.list_sessions(user.user_id, now).await?;
    let tokens = d.admin.list_api_tokens(Some(user.user_id)).await?;
    let audit = d.admin.audit_log(Subject::User(user.user_id)).await?;
    d.render(
        "account.html",
        context! { user, page => "account", sessions, tokens, audit, now },
    )
}

/// `POST /account/sessions/<id>/end` (form): ends one of the user's own sessions; ending the
/// current one signs out.
#[handler]
pub async fn end_session(
    SignedForm { d, user, .. }: SignedForm<'_, Button>,
    Path(id_text): Path<String>,
) -> Result<Response, PageError> {
    let id = id(&id_text)?;
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

/// `POST /account/tokens/<id>/revoke` (form): revokes one of the user's own API tokens.
#[handler]
pub async fn revoke_token(
    SignedForm { d, user, .. }: SignedForm<'_, Button>,
    Path(id_text): Path<String>,
) -> Result<Response, PageError> {
    let id = id(&id_text)?;
    let revoked = d
        .admin
        .revoke_api_token(id, Some(user.user_id), &user.user_name, now_ms())
        .await?
        .ok_or(PageError::NotFound)?;
    info!(user = ?user.user_name, token = revoked.id, label = ?revoked.label, "API token revoked from the account page.");
    Ok(Redirect::see_other("/account").into_response())
}
