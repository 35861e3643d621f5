//! The admin dashboard: server-rendered pages, form edits, the JSON API, login.
//!
//! Handlers only parse, check access, call [`AdminStore`] and render; no SQL here.

mod account;
mod api;
pub(crate) use api::json_error;
mod export;
mod extract;
mod format;
pub mod i18n;
pub mod live;
mod login;
pub mod login_limits;
mod pages;
mod privacy;
mod queue;
mod search;
pub mod stats;
mod timeline;

use std::sync::{Arc, LazyLock};

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use poem::error::ResponseError;
use poem::http::StatusCode;
use poem::web::Redirect;
use poem::{get, post, Body, IntoResponse, Request, Response, Route};
use serde::Serialize;
use tokio::sync::Semaphore;
use tracing::error;

use liza_core::privacy::PrivacyKey;

use crate::auth;
pub use i18n::{Lang, Text};
use liza_service::registry::Registry;
use liza_store::admin::{AdminStore, RecordSummary, SessionUser};
use liza_store::{now_ms, StoreError};

pub use format::{
    consent_line, date_to_ms, format_datetime, format_day, iso_week, mask_phone, parse_day,
    week_start, weekday, Zone,
};

/// The session cookie: a random token; the database keeps only its SHA-256.
const SESSION_COOKIE: &str = "liza_session";
/// Sessions last a working day.
const SESSION_MS: i64 = 12 * 3_600_000;
/// Forms are small; notes are capped well below this.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// Security headers on every answer: scripts only from this server's own files (the live
/// view's `live.js`: no inline script, no third party), which may talk only to this server; no
/// framing, no sniffing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// What the dashboard needs besides the webhook engine.
pub struct Dashboard {
    pub admin: Arc<dyn AdminStore>,
    pub registry: Arc<Registry>,
    templates: Environment<'static>,
    /// Cookies get `Secure` when LIZA_PUBLIC_URL is https.
    pub(crate) secure_cookies: bool,
    /// Password checks that may run at once ([`password_check_slots`]).
    password_slots: Arc<Semaphore>,
    /// The threads that run them.
    password_checker: auth::PasswordChecker,
    /// Logins waiting out an account's slow-down ([`login::MAX_SLOWED_LOGINS`]): each holds a
    /// connection while it waits, so an attacker must not be able to make them many.
    slowed_logins: Arc<Semaphore>,
    /// The key of the callers' hashes ([`Dashboard::with_privacy`]).
    privacy: Option<Arc<PrivacyKey>>,
    /// The live view's streams ([`live`]).
    pub live: live::Live,
    /// Times are shown, and days and weeks begin, in this zone ([`Dashboard::with_zone`]).
    zone: Zone,
    /// Exports running at once ([`export::MAX_EXPORTS`]).
    exports: Arc<Semaphore>,
    /// The outbox, for the call page's texts and events ([`Dashboard::with_outbox`]).
    pub outbox: Option<Arc<dyn liza_store::outbox::Outbox>>,
}

/// Why the dashboard could not start.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error("cannot load the dashboard templates: {0:#}")]
    Templates(#[from] minijinja::Error),
    #[error("cannot start the password-checking threads: {0}")]
    Threads(#[from] std::io::Error),
}

/// How many passwords are checked at once: one per core, at most four. Each Argon2 check
/// holds about 19 MiB and a core for tens of milliseconds; more at once only queue for CPU.
pub fn password_check_slots() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 4)
}

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../../../../templates/", $name)))),*]
    };
}

/// Every template, embedded: (name, source).
const TEMPLATE_SOURCES: [(&str, &str); 13] = templates![
    "base.html",
    "login.html",
    "overview.html",
    "calls.html",
    "call.html",
    "records.html",
    "record.html",
    "stats.html",
    "message.html",
    "audit.html",
    "macros.html",
    "account.html",
    "privacy.html",
];

/// The dashboard's templates; times are written in `zone`.
fn templates(zone: &Zone) -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let datetime_zone = zone.clone();
    env.add_filter("datetime", move |state: &minijinja::State, value: Value| {
        format::datetime_filter(&datetime_zone, state, value)
    });
    let time_zone = zone.clone();
    env.add_filter("time", move |value: Value| {
        format::time_filter(&time_zone, value)
    });
    env.add_filter("duration", format::duration_filter);
    env.add_filter("mask", format::mask_filter);
    env.add_filter("number", i18n::number_filter);
    env.add_filter("noun", i18n::noun_filter);
    env.add_filter("since", i18n::since_filter);
    env.add_function("t", i18n::t_function);
    for (name, source) in TEMPLATE_SOURCES {
        env.add_template(name, source)?;
    }
    Ok(env)
}

/// The templates error pages are rendered with (an extractor's error has no dashboard at hand).
static ERROR_TEMPLATES: LazyLock<Option<Environment<'static>>> =
    LazyLock::new(|| templates(&Zone::default()).ok());

/// A plain message page (errors, refusals) in the request's language, inside the layout:
/// with the menu when the request's user is known ([`i18n::remember_user`]).
fn message_page(status: StatusCode, title: &Text, text: &Text) -> Response {
    let lang = i18n::current();
    let (title, text) = (title.in_lang(lang), text.in_lang(lang));
    let (state, user) = i18n::with_request(|r| {
        let user = r.user.lock().ok().and_then(|u| u.clone());
        (r.state.clone(), user)
    })
    .unwrap_or((None, None));
    let user = user.map_or(Value::from(()), |u| Value::from_serialize(&u));
    if let Some(d) = state.as_deref().and_then(|s| s.dashboard.as_deref()) {
        let context = minijinja::context! { title, text, user, page => "message" };
        if let Ok(mut response) = d.render("message.html", context) {
            response.set_status(status);
            return response;
        }
    }
    // No dashboard at hand (or its page failed): the same page without the record kinds.
    let html = ERROR_TEMPLATES
        .as_ref()
        .and_then(|env| env.get_template("message.html").ok())
        .and_then(|t| {
            let context = minijinja::context! {
                title, text, user => Value::from(()), page => "message",
            };
            t.render(page_context(Vec::new(), context)).ok()
        })
        .unwrap_or_else(|| "<!doctype html><title>Error</title><p>Error</p>".to_owned());
    html_response(status, html)
}

/// What every page's layout needs besides the page's own values: the record kinds for the
/// menu, the language (`lang`, `<html lang>`) and the language switch.
fn page_context(kinds: Vec<KindView>, context: Value) -> Value {
    minijinja::context! {
        kinds, lang => i18n::current().tag(), switch => i18n::switch_links(), ..context
    }
}

/// A kind of record as the dashboard shows it: declared under `records` by the loaded flows,
/// named by the Fluent message its `title` gives.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KindView {
    /// The kind as flows name it; also its URL segment (`/records/<name>`).
    pub name: String,
    /// The list's title (`Orders`).
    pub title: String,
    /// One record (`Order`).
    pub one: String,
    /// The key's label (`Order number`).
    pub key_label: String,
    /// Every status the flows declare for it, in flow order, without repeats.
    pub statuses: Vec<String>,
}

impl Dashboard {
    pub fn new(
        admin: Arc<dyn AdminStore>,
        registry: Arc<Registry>,
        public_url: Option<&str>,
    ) -> Result<Self, DashboardError> {
        Ok(Self {
            admin,
            registry,
            templates: templates(&Zone::default())?,
            secure_cookies: public_url.is_some_and(|u| u.starts_with("https://")),
            password_slots: Arc::new(Semaphore::new(password_check_slots())),
            password_checker: auth::PasswordChecker::new(password_check_slots())?,
            slowed_logins: Arc::new(Semaphore::new(login::MAX_SLOWED_LOGINS)),
            privacy: None,
            outbox: None,
            live: live::Live::default(),
            zone: Zone::default(),
            exports: Arc::new(Semaphore::new(export::MAX_EXPORTS)),
        })
    }

    /// Shows times, and begins days and weeks, in `zone` (`LIZA_TIMEZONE`).
    pub fn with_zone(mut self, zone: Zone) -> Result<Self, DashboardError> {
        self.templates = templates(&zone)?;
        self.zone = zone;
        Ok(self)
    }

    /// The zone times are shown in.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// The key of the callers' hashes, so a typed number finds the calls of callers who did
    /// not consent (kept only as a hash).
    pub fn with_privacy(mut self, key: Arc<PrivacyKey>) -> Self {
        self.privacy = Some(key);
        self
    }

    /// Shows each call's outbox rows (texts and events) on its page.
    pub fn with_outbox(mut self, outbox: Option<Arc<dyn liza_store::outbox::Outbox>>) -> Self {
        self.outbox = outbox;
        self
    }

    /// The keyed hash of a whole number in E.164 form (a search's [`search::NumberSearch`]).
    fn caller_hash(&self, e164: &str) -> Option<String> {
        Some(self.privacy.as_ref()?.caller_hash(e164))
    }

    /// Renders a page; every page also gets the record kinds (`kinds`) for its navigation and
    /// its language ([`page_context`]).
    fn render(&self, name: &str, context: Value) -> Result<Response, PageError> {
        let context = page_context(
            self.record_kinds(),
            minijinja::context! { zone => self.zone.name(), ..context },
        );
        let html = self
            .templates
            .get_template(name)
            .and_then(|t| t.render(context))
            .map_err(PageError::Render)?;
        Ok(html_response(StatusCode::OK, html))
    }

    fn cookie(&self, name: &str, value: &str, path: &str, max_age_secs: i64) -> String {
        // Written by hand: three attributes and a fixed name do not need a cookie jar.
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!("{name}={value}; Path={path}; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{secure}")
    }

    /// The signed-in user behind the request's session cookie.
    async fn session_user(&self, req: &Request) -> Result<Option<SessionUser>, StoreError> {
        let Some(token) = cookie_value(req, SESSION_COOKIE) else {
            return Ok(None);
        };
        self.admin.session(&auth::token_hash(token), now_ms()).await
    }

    /// True when the request is signed in: a session cookie or `Authorization: Bearer <API
    /// token>` (for `/health?details`). A database that cannot tell counts as not signed in.
    pub async fn is_signed_in(&self, req: &Request) -> bool {
        if let Some(header) = req.header("authorization") {
            let Some(token) = header.strip_prefix("Bearer ") else {
                return false;
            };
            return matches!(
                self.admin
                    .api_token_user(&auth::token_hash(token.trim()), now_ms())
                    .await,
                Ok(Some(_))
            );
        }
        matches!(self.session_user(req).await, Ok(Some(_)))
    }

    /// The session user, or the redirect to the login page.
    async fn signed_in(&self, req: &Request) -> Result<SessionUser, PageError> {
        self.session_user(req)
            .await?
            .ok_or(PageError::LoginRequired)
    }

    /// The record of `kind` with this id, if there is one.
    async fn record(&self, kind: &str, id: i64) -> Result<Option<RecordSummary>, StoreError> {
        Ok(self.admin.record(id).await?.filter(|r| r.kind == kind))
    }

    /// Every record kind the loaded flows declare, in flow order; a kind declared by several
    /// flows is named by the first and allows the statuses of all.
    pub fn record_kinds(&self) -> Vec<KindView> {
        let mut kinds: Vec<KindView> = Vec::new();
        for flow in &self.registry.current().flows {
            let locale = flow.locales.get(
                flow.locales
                    .negotiate(i18n::current().tag(), &flow.languages.default),
            );
            for (name, declared) in &flow.records {
                let index = match kinds.iter().position(|k| &k.name == name) {
                    Some(index) => index,
                    None => {
                        let label = |attribute| {
                            declared
                                .title
                                .as_deref()
                                .and_then(|id| locale.label(id, attribute))
                        };
                        let title = label(None).unwrap_or_else(|| name.clone());
                        kinds.push(KindView {
                            name: name.clone(),
                            one: label(Some("one")).unwrap_or_else(|| title.clone()),
                            key_label: label(Some("key")).unwrap_or_else(|| "Key".to_owned()),
                            title,
                            statuses: Vec::new(),
                        });
                        kinds.len() - 1
                    }
                };
                for status in &declared.statuses {
                    if !kinds[index].statuses.contains(status) {
                        kinds[index].statuses.push(status.clone());
                    }
                }
            }
        }
        kinds
    }

    /// The declared kind `name`; a kind no loaded flow declares is a page that does not exist.
    fn record_kind(&self, name: &str) -> Result<KindView, PageError> {
        self.record_kinds()
            .into_iter()
            .find(|k| k.name == name)
            .ok_or(PageError::NotFound)
    }

    /// The region national phone numbers typed into the dashboard belong to: the one of the
    /// first flow's default language (`de-DE` → `DE`), if it names one.
    fn default_region(&self) -> Option<String> {
        let snapshot = self.registry.current();
        let tag = &snapshot.flows.first()?.languages.default;
        tag.split(['-', '_'])
            .nth(1)
            .filter(|r| r.len() == 2 && r.chars().all(|c| c.is_ascii_alphabetic()))
            .map(str::to_ascii_uppercase)
    }

    /// Languages the loaded flows speak (default first).
    fn languages(&self) -> Vec<String> {
        let mut languages: Vec<String> = Vec::new();
        for flow in &self.registry.current().flows {
            let tags = std::iter::once(&flow.languages.default)
                .chain(flow.languages.prefixes.iter().map(|(_, tag)| tag));
            for tag in tags {
                if !languages.contains(tag) {
                    languages.push(tag.clone());
                }
            }
        }
        languages
    }
}

/// Adds the dashboard's routes to the app's route table.
pub fn routes(route: Route) -> Route {
    route
        .at("/", get(pages::overview_page))
        .at("/calls", get(pages::calls_page))
        .at("/calls/status", post(queue::bulk_call_status))
        .at(
            "/calls/export.csv",
            get(export::calls_csv).post(export::calls_csv),
        )
        .at(
            "/calls/export.json",
            get(export::calls_json).post(export::calls_json),
        )
        .at("/calls/:id", get(pages::call_page))
        .at("/calls/:id/status", post(pages::call_status))
        .at("/records/:kind", get(pages::records_page))
        .at(
            "/records/:kind/export.csv",
            get(export::records_csv).post(export::records_csv),
        )
        .at(
            "/records/:kind/export.json",
            get(export::records_json).post(export::records_json),
        )
        .at("/records/:kind/:id", get(pages::record_page))
        .at("/records/:kind/:id/status", post(pages::record_status))
        .at("/records/:kind/:id/notes", post(pages::record_notes))
        .at("/stats", get(pages::stats_page))
        .at("/privacy", get(privacy::privacy_page))
        .at("/privacy/export", get(privacy::privacy_export))
        .at("/privacy/erase", post(privacy::privacy_erase))
        .at("/account", get(account::account_page))
        .at("/account/sessions/:id/end", post(account::end_session))
        .at("/account/tokens/:id/revoke", post(account::revoke_token))
        .at("/login", get(login::login_page).post(login::login))
        .at("/logout", post(login::logout))
        .at("/api/calls/:id/status", post(api::call_status))
        .at("/api/records/:kind/:id/status", post(api::record_status))
        .at("/api/privacy/export", get(api::privacy_export))
        .at("/api/privacy/erase", post(api::privacy_erase))
        .at("/live/calls", get(live::live_calls))
        .at("/live/calls/:id", get(live::live_call))
        .at("/static/dashboard.css", get(stylesheet))
        .at("/static/live.js", get(live_script))
        .at("/static/favicon.svg", get(favicon))
        .at("/favicon.ico", get(favicon))
        // A kind's records used to live at `/<kind>s` (`/orders/7`): old bookmarks and API
        // clients are sent on. Fixed routes above win over these.
        .at("/:old", get(pages::old_records_url))
        .at(
            "/:old/*rest",
            get(pages::old_records_url).post(pages::old_records_url),
        )
        .at("/api/:old/:id/status", post(pages::old_records_url))
}

#[poem::handler]
fn stylesheet() -> Response {
    Response::builder()
        .content_type("text/css; charset=utf-8")
        .header("cache-control", "public, max-age=3600")
        .body(include_str!("../../../../templates/static/dashboard.css"))
}

#[poem::handler]
fn live_script() -> Response {
    Response::builder()
        .content_type("text/javascript; charset=utf-8")
        .header("cache-control", "public, max-age=3600")
        .body(include_str!("../../../../templates/static/live.js"))
}

/// The dashboard's icon, also at `/favicon.ico` where browsers look without a `<link>`.
#[poem::handler]
fn favicon() -> Response {
    Response::builder()
        .content_type("image/svg+xml")
        .header("cache-control", "public, max-age=86400")
        .body(include_str!("../../../../templates/static/favicon.svg"))
}

fn html_response(status: StatusCode, html: String) -> Response {
    Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .body(html)
}

/// Why a page was not rendered.
#[derive(Debug, thiserror::Error)]
enum PageError {
    #[error("login required")]
    LoginRequired,
    #[error("not found")]
    NotFound,
    #[error("invalid or missing CSRF token")]
    Csrf,
    /// Input the page cannot take: the text says what was wrong, in the reader's language.
    #[error("{0}")]
    BadRequest(Text),
    /// Too much of something runs at once (exports): the text says what, and to try later.
    #[error("{0}")]
    Busy(Text),
    #[error("the dashboard needs a database backend that supports it")]
    Unavailable,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("template: {0:#}")]
    Render(minijinja::Error),
}

impl ResponseError for PageError {
    fn status(&self) -> StatusCode {
        match self {
            Self::LoginRequired => StatusCode::SEE_OTHER,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Busy(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(_) | Self::Render(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The login redirect, or the error page.
    fn as_response(&self) -> Response {
        let (title, text) = match self {
            Self::LoginRequired => return Redirect::see_other("/login").into_response(),
            Self::NotFound => (
                Text::new("error-not-found-title"),
                Text::new("error-not-found-text"),
            ),
            Self::Csrf => (
                Text::new("error-form-expired-title"),
                Text::new("error-form-expired-text"),
            ),
            Self::BadRequest(text) => (Text::new("error-bad-request-title"), text.clone()),
            Self::Busy(text) => {
                let mut response =
                    message_page(self.status(), &Text::new("error-busy-title"), text);
                response
                    .headers_mut()
                    .insert("retry-after", poem::http::HeaderValue::from_static("30"));
                return response;
            }
            Self::Unavailable => (
                Text::new("error-unavailable-title"),
                Text::new("error-unavailable-text"),
            ),
            Self::Store(_) | Self::Render(_) => {
                error!(error = %self, "Dashboard page failed.");
                (
                    Text::new("error-internal-title"),
                    Text::new("error-internal-text"),
                )
            }
        };
        message_page(self.status(), &title, &text)
    }
}

fn cookie_value<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// Reads an urlencoded form body (small; larger bodies are refused).
async fn read_form(body: Body) -> Result<Vec<(String, String)>, PageError> {
    let bytes = body
        .into_bytes_limit(MAX_FORM_BYTES)
        .await
        .map_err(|_| PageError::BadRequest(Text::new("error-form-too-large")))?;
    Ok(form_urlencoded::parse(&bytes).into_owned().collect())
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The form's `csrf` field must equal the session's token.
fn check_csrf(form: &[(String, String)], expected: &str) -> Result<(), PageError> {
    match field(form, "csrf") {
        Some(token) if auth::tokens_match(token, expected) => Ok(()),
        _ => Err(PageError::Csrf),
    }
}

/// The query string as pairs.
fn query_pairs(req: &Request) -> Vec<(String, String)> {
    req.uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}
