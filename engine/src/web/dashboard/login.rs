//! Login (rate-limited), logout.

use std::sync::Arc;

use minijinja::{context, Value};
use poem::http::StatusCode;
use poem::web::{Data, Redirect};
use poem::{handler, Body, IntoResponse, Request, Response};
use secrecy::SecretString;
use tracing::{info, warn};

use super::{
    check_csrf, cookie_value, field, read_form, respond, Dashboard, PageError, SESSION_COOKIE,
    SESSION_MS,
};
use crate::auth;
use crate::store::now_ms;
use crate::web::AppState;

/// The login form's CSRF token travels in this cookie and in the form (double submit),
/// because there is no session yet to keep it in.
const LOGIN_CSRF_COOKIE: &str = "liza_login_csrf";
/// Failed logins allowed per user name and per client address within the window.
pub const MAX_LOGIN_FAILURES: i64 = 5;
const LOGIN_WINDOW_MS: i64 = 15 * 60_000;

fn dashboard(state: &AppState) -> Result<&Dashboard, PageError> {
    state.dashboard.as_deref().ok_or(PageError::Unavailable)
}

fn login_form(d: &Dashboard, status: StatusCode, error: Option<&str>, name: &str) -> Response {
    let csrf = auth::new_token();
    let rendered = d.render(
        "login.html",
        context! { csrf => &csrf, error => error, name => name, user => Value::from(()) },
    );
    match rendered {
        Ok(mut response) => {
            response.set_status(status);
            if let Ok(cookie) = d.cookie(LOGIN_CSRF_COOKIE, &csrf, "/login", 3600).parse() {
                response.headers_mut().append("set-cookie", cookie);
            }
            response
        }
        Err(e) => e.into_response(Some(d)),
    }
}

/// `GET /login`.
#[handler]
pub async fn login_page(req: &Request, Data(state): Data<&Arc<AppState>>) -> Response {
    let result = async {
        let d = dashboard(state)?;
        if d.session_user(req).await?.is_some() {
            return Ok(Redirect::see_other("/").into_response());
        }
        Ok(login_form(d, StatusCode::OK, None, ""))
    }
    .await;
    respond(state.dashboard.as_deref(), result)
}

/// `POST /login`: name + password → session cookie.
#[handler]
pub async fn login(req: &Request, body: Body, Data(state): Data<&Arc<AppState>>) -> Response {
    let result = async {
        let d = dashboard(state)?;
        let form = read_form(body).await?;
        let expected = cookie_value(req, LOGIN_CSRF_COOKIE).ok_or(PageError::Csrf)?;
        check_csrf(&form, expected)?;
        let name = field(&form, "name").unwrap_or("").trim().to_owned();
        let password = SecretString::from(field(&form, "password").unwrap_or("").to_owned());
        let client = req
            .remote_addr()
            .as_socket_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        let user_key = format!("user:{}", name.to_lowercase());
        let client_key = format!("ip:{client}");
        let since = now_ms() - LOGIN_WINDOW_MS;
        for key in [&user_key, &client_key] {
            if d.admin.login_failures_since(key, since).await? >= MAX_LOGIN_FAILURES {
                warn!(user = %name, client = %client, "Login refused: too many failed attempts.");
                return Ok(login_form(
                    d,
                    StatusCode::TOO_MANY_REQUESTS,
                    Some("Too many failed logins. Wait 15 minutes, then try again."),
                    &name,
                ));
            }
        }
        let user = d.admin.user_by_name(&name).await?;
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        // Argon2 takes tens of milliseconds of CPU: keep it off the async workers.
        let verified = tokio::task::spawn_blocking(move || {
            auth::verify_password(&password, stored.as_deref())
        })
        .await
        .unwrap_or(false);
        let Some(user) = user.filter(|_| verified) else {
            d.admin
                .record_login_failure(&[&user_key, &client_key], now_ms())
                .await?;
            warn!(user = %name, client = %client, "Login failed.");
            return Ok(login_form(
                d,
                StatusCode::UNAUTHORIZED,
                Some("Wrong user name or password."),
                &name,
            ));
        };
        d.admin.clear_login_failures(&user_key).await?;
        let token = auth::new_token();
        let now = now_ms();
        d.admin
            .create_session(
                &auth::token_hash(&token),
                user.id,
                &auth::new_token(),
                now,
                now + SESSION_MS,
            )
            .await?;
        info!(user = %user.name, "Signed in to the dashboard.");
        let mut response = Redirect::see_other("/").into_response();
        let headers = response.headers_mut();
        for cookie in [
            d.cookie(SESSION_COOKIE, &token, "/", SESSION_MS / 1000),
            d.cookie(LOGIN_CSRF_COOKIE, "", "/login", 0),
        ] {
            if let Ok(value) = cookie.parse() {
                headers.append("set-cookie", value);
            }
        }
        Ok(response)
    }
    .await;
    respond(state.dashboard.as_deref(), result)
}

/// `POST /logout`: ends the session on the server and forgets the cookie.
#[handler]
pub async fn logout(req: &Request, body: Body, Data(state): Data<&Arc<AppState>>) -> Response {
    let result = async {
        let d = dashboard(state)?;
        let user = d.signed_in(req).await?;
        let form = read_form(body).await?;
        check_csrf(&form, &user.csrf_token)?;
        if let Some(token) = cookie_value(req, SESSION_COOKIE) {
            d.admin.delete_session(&auth::token_hash(token)).await?;
        }
        info!(user = %user.user_name, "Signed out of the dashboard.");
        let mut response = Redirect::see_other("/login").into_response();
        if let Ok(value) = d.cookie(SESSION_COOKIE, "", "/", 0).parse() {
            response.headers_mut().append("set-cookie", value);
        }
        Ok(response)
    }
    .await;
    respond(state.dashboard.as_deref(), result)
}
