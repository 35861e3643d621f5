//! Login (rate-limited), logout.
//!
//! An attempt is counted before its password is checked and at most a few passwords are
//! checked at once, on threads that keep their Argon2 memory (~19 MiB each): parallel guesses
//! can neither slip past the limits nor exhaust memory.

use std::sync::Arc;

use minijinja::{context, Value};
use poem::error::ResponseError;
use poem::http::StatusCode;
use poem::web::{Data, Redirect};
use poem::{handler, Body, IntoResponse, Request, Response};
use secrecy::SecretString;
use tokio::sync::OwnedSemaphorePermit;
use tracing::{debug, info, warn};

use super::account::Button;
use super::extract::{Board, SignedForm};
use super::login_limits::{self, LoginKeys};
use super::{
    check_csrf, cookie_value, field, read_form, Dashboard, PageError, SESSION_COOKIE, SESSION_MS,
};
use crate::auth;
use crate::{client, AppState};
use liza_service::metrics::LoginOutcome;
use liza_store::admin::LoginReservation;
use liza_store::now_ms;

/// The login form's CSRF token travels in this cookie and in the form (double submit),
/// because there is no session yet to keep it in.
const LOGIN_CSRF_COOKIE: &str = "liza_login_csrf";
/// Why a login was refused: message ids of dashboard.ftl.
const TOO_MANY_FAILURES: &str = "login-too-many-failures";
const BUSY: &str = "login-busy";
const WRONG: &str = "login-wrong";

/// Logins that may wait out an account's slow-down at once; more are refused as busy at once,
/// so slowed logins can never hold more than this many connections (webhooks need the rest).
pub const MAX_SLOWED_LOGINS: usize = 16;

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
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = if error == Some(BUSY) { 1 } else { 900 };
                response.headers_mut().insert("retry-after", wait.into());
            }
            response
        }
        Err(e) => e.as_response(),
    }
}

/// `GET /login`.
#[handler]
pub async fn login_page(Board(d): Board<'_>, req: &Request) -> Result<Response, PageError> {
    if d.session_user(req).await?.is_some() {
        return Ok(Redirect::see_other("/").into_response());
    }
    Ok(login_form(d, StatusCode::OK, None, ""))
}

/// A free password-check slot, or `None` when all are taken (then nothing is checked).
fn check_slot(d: &Dashboard) -> Option<OwnedSemaphorePermit> {
    d.password_slots.clone().try_acquire_owned().ok()
}

/// `POST /login`: name + password → session cookie.
#[handler]
pub async fn login(
    Board(d): Board<'_>,
    req: &Request,
    body: Body,
    Data(state): Data<&Arc<AppState>>,
) -> Result<Response, PageError> {
    let metrics = &state.engine.metrics;
    let form = read_form(body).await?;
    let expected = cookie_value(req, LOGIN_CSRF_COOKIE).ok_or(PageError::Csrf)?;
    check_csrf(&form, expected)?;
    let name = field(&form, "name").unwrap_or("").trim().to_owned();
    let password = SecretString::from(field(&form, "password").unwrap_or("").to_owned());
    let client = client::of_request(req, &state.trusted_proxies);
    let shown_client = client.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    let refuse = |outcome: LoginOutcome, message: &'static str| -> Result<Response, PageError> {
        metrics.login(outcome);
        Ok(login_form(
            d,
            StatusCode::TOO_MANY_REQUESTS,
            Some(message),
            &name,
        ))
    };

    // Over the cap: refused at once, before any database work or Argon2.
    let Some(slot) = check_slot(d) else {
        debug!(user = ?name, client = %shown_client, "Login refused: too many password checks at once.");
        return refuse(LoginOutcome::Busy, BUSY);
    };
    let keys = LoginKeys::new(&name, client);
    let now = now_ms();
    let reservation = d
        .admin
        .reserve_login_attempt(&keys.limits(), now - login_limits::WINDOW_MS, now)
        .await?;
    let (reserved, account_failures) = match reservation {
        LoginReservation::Reserved { ids, counts } => (ids, counts[login_limits::ACCOUNT]),
        LoginReservation::Refused { index } => {
            // Logged at debug: an attacker would otherwise write a line per request.
            let limit = login_limits::LIMIT_NAMES[index];
            debug!(user = ?name, client = %shown_client, limit, "Login refused: too many failed attempts.");
            return refuse(LoginOutcome::Limited, TOO_MANY_FAILURES);
        }
    };
    let delay = login_limits::slow_down(account_failures);
    let slot = if delay.is_zero() {
        slot
    } else {
        // The wait does not hold a slot; the attempt stays counted while it waits.
        drop(slot);
        let Ok(_waiting) = d.slowed_logins.clone().try_acquire_owned() else {
            d.admin.release_login_attempt(&reserved).await?;
            debug!(user = ?name, client = %shown_client, "Login refused: too many logins waiting out a slow-down.");
            return refuse(LoginOutcome::Busy, BUSY);
        };
        tokio::time::sleep(delay).await;
        match check_slot(d) {
            Some(slot) => slot,
            None => {
                d.admin.release_login_attempt(&reserved).await?;
                return refuse(LoginOutcome::Busy, BUSY);
            }
        }
    };
    let user = d.admin.user_by_name(&name).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    // Argon2 takes tens of milliseconds of CPU and 19 MiB: it runs on the checker's own
    // threads. The slot goes with it, so a client that hangs up cannot free it early.
    metrics.password_checked();
    let verified = d.password_checker.check(password, stored, slot).await;
    let Some(user) = user.filter(|_| verified) else {
        // The reservation stays: it is the failure's record.
        metrics.login(LoginOutcome::Failed);
        warn!(user = ?name, client = %shown_client, "Login failed.");
        return Ok(login_form(d, StatusCode::UNAUTHORIZED, Some(WRONG), &name));
    };
    d.admin.release_login_attempt(&reserved).await?;
    // The owner got in from here: earlier failures of this account from this address are
    // forgiven; those counted for the address or the account from elsewhere are not.
    d.admin
        .clear_login_failures(&keys.account_and_address)
        .await?;
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
    metrics.login(LoginOutcome::SignedIn);
    info!(user = ?user.name, client = %shown_client, "Signed in to the dashboard.");
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

/// `POST /logout`: ends the session on the server and forgets the cookie.
#[handler]
pub async fn logout(
    SignedForm { d, user, .. }: SignedForm<'_, Button>,
    req: &Request,
) -> Result<Response, PageError> {
    if let Some(token) = cookie_value(req, SESSION_COOKIE) {
        d.admin.delete_session(&auth::token_hash(token)).await?;
    }
    info!(user = ?user.user_name, "Signed out of the dashboard.");
    let mut response = Redirect::see_other("/login").into_response();
    if let Ok(value) = d.cookie(SESSION_COOKIE, "", "/", 0).parse() {
        response.headers_mut().append("set-cookie", value);
    }
    Ok(response)
}
