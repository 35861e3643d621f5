//! The dashboard's own language: German or English, through Fluent like the call.
//!
//! The texts are `templates/locales/<lang>/dashboard.ftl`, embedded in the binary (not the
//! flows' `locales/`: those directories are the flows' bundles, hashed into every flow
//! version and served to callers). A request's language is chosen once, by [`middleware`]:
//! a `?lang=` on the address (then kept in a cookie), else the cookie, else the browser's
//! `Accept-Language` (fluent-langneg), else English. Templates read it as `lang` and translate
//! with `t("message-id", name=value)`; numbers and dates are written in the language's forms
//! (`1.234` and `01.12.2026` in German, `1,234` and `1 Dec 2026` in English).

use std::sync::{Arc, LazyLock, Mutex};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use minijinja::value::{Kwargs, ValueKind};
use minijinja::{State, Value};
use poem::error::ResponseError;
use poem::{Endpoint, IntoResponse, Request, Response};
use serde::Serialize;

use super::{cookie_value, PageError, SESSION_COOKIE};
use crate::AppState;
use liza_store::admin::SessionUser;
use liza_store::now_ms;

/// The cookie that keeps a language chosen with the switch.
pub const LANG_COOKIE: &str = "liza_lang";
/// A chosen language is kept for a year.
const LANG_COOKIE_SECS: i64 = 365 * 24 * 3600;

/// A language the dashboard speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    De,
    #[default]
    En,
}

impl Lang {
    /// Every language, in the order of the switch.
    pub const ALL: [Lang; 2] = [Lang::De, Lang::En];

    /// The BCP 47 tag (`<html lang>`, `?lang=`).
    pub fn tag(self) -> &'static str {
        match self {
            Self::De => "de",
            Self::En => "en",
        }
    }

    /// The language's name in itself, for the switch.
    pub fn own_name(self) -> &'static str {
        match self {
            Self::De => "Deutsch",
            Self::En => "English",
        }
    }

    /// `de`, `de-AT`, `EN_gb` …; `None` for a language the dashboard does not speak.
    pub fn parse(text: &str) -> Option<Self> {
        let primary = text.trim().split(['-', '_']).next()?;
        Self::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(primary))
    }

    /// The embedded Fluent source.
    pub fn source(self) -> &'static str {
        match self {
            Self::De => include_str!("../../../../templates/locales/de/dashboard.ftl"),
            Self::En => include_str!("../../../../templates/locales/en/dashboard.ftl"),
        }
    }

    fn bundle(self) -> &'static FluentBundle<FluentResource> {
        static BUNDLES: LazyLock<[FluentBundle<FluentResource>; 2]> =
            LazyLock::new(|| Lang::ALL.map(build_bundle));
        &BUNDLES[self as usize]
    }
}

/// One language's bundle. A syntax error in an embedded file is a bug the unit tests catch;
/// the messages that did parse are still used.
fn build_bundle(lang: Lang) -> FluentBundle<FluentResource> {
    let resource = FluentResource::try_new(lang.source().to_owned()).unwrap_or_else(|(r, _)| r);
    let langid = lang.tag().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![langid]);
    // Plain text on a page: no bidi isolation marks around variables.
    bundle.set_use_isolating(false);
    bundle.set_formatter(Some(match lang {
        Lang::De => |v, _| fluent_number(Lang::De, v),
        Lang::En => |v, _| fluent_number(Lang::En, v),
    }));
    let _ = bundle.add_resource(resource);
    bundle
}

/// Numbers inside messages get the language's separators (Fluent alone writes `1234.5`).
fn fluent_number(lang: Lang, value: &FluentValue) -> Option<String> {
    match value {
        FluentValue::Number(n) => {
            let digits = n.options.minimum_fraction_digits.unwrap_or(0);
            Some(decimal(lang, n.value, digits))
        }
        _ => None,
    }
}

/// The language of a browser's `Accept-Language` (in its order of preference; weights are
/// not needed to pick between two), English when it names neither.
pub fn negotiate(accept_language: Option<&str>) -> Lang {
    let requested = fluent_langneg::accepted_languages::parse(accept_language.unwrap_or(""));
    let available: Vec<fluent_langneg::LanguageIdentifier> = Lang::ALL
        .iter()
        .filter_map(|l| l.tag().parse().ok())
        .collect();
    let default = Lang::default().tag().parse().ok();
    fluent_langneg::negotiate_languages(
        &requested,
        &available,
        default.as_ref(),
        fluent_langneg::NegotiationStrategy::Lookup,
    )
    .first()
    .and_then(|chosen| Lang::parse(&chosen.to_string()))
    .unwrap_or_default()
}

/// A message in `lang`; its id when the message is missing (the tests make sure none is).
pub fn text(lang: Lang, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    let bundle = lang.bundle();
    let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
        return id.to_owned();
    };
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        fluent_args.set(*name, value.clone());
    }
    let mut errors = Vec::new();
    bundle
        .format_pattern(pattern, Some(&fluent_args), &mut errors)
        .into_owned()
}

/// A message id and its arguments, translated when the page is rendered (an error's text).
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub id: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl Text {
    pub fn new(id: &'static str) -> Self {
        Self {
            id,
            args: Vec::new(),
        }
    }

    pub fn arg(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.args.push((name, value.into()));
        self
    }

    pub fn in_lang(&self, lang: Lang) -> String {
        let args: Vec<(&str, FluentValue)> = self
            .args
            .iter()
            .map(|(k, v)| (*k, FluentValue::from(v.as_str())))
            .collect();
        text(lang, self.id, &args)
    }
}

impl std::fmt::Display for Text {
    /// In English (logs, tests).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.in_lang(Lang::En))
    }
}

/// `1.234.567` (German) or `1,234,567` (English).
pub fn integer(lang: Lang, n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let separator = match lang {
        Lang::De => '.',
        Lang::En => ',',
    };
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(c);
    }
    out
}

/// A number with `fraction` digits after the decimal mark: `1.234,5` or `1,234.5`.
pub fn decimal(lang: Lang, value: f64, fraction: usize) -> String {
    if !value.is_finite() {
        return "—".to_owned();
    }
    let text = format!("{:.*}", fraction, value.abs());
    let (whole, part) = text.split_once('.').unwrap_or((&text, ""));
    let whole: i64 = whole.parse().unwrap_or(0);
    let sign = if value < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    let mut out = format!("{sign}{}", integer(lang, whole));
    if !part.is_empty() {
        out.push(match lang {
            Lang::De => ',',
            Lang::En => '.',
        });
        out.push_str(part);
    }
    out
}

const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A calendar day: `01.12.2026` (German) or `1 Dec 2026` (English).
pub fn date(lang: Lang, year: i64, month: u32, day: u32) -> String {
    match lang {
        Lang::De => format!("{day:02}.{month:02}.{year:04}"),
        Lang::En => {
            let name = MONTHS_EN[(month.clamp(1, 12) - 1) as usize];
            format!("{day} {name} {year:04}")
        }
    }
}

/// A day without its year, for a chart's axis: `25.11.` (German) or `25 Nov` (English).
pub fn day_month(lang: Lang, month: u32, day: u32) -> String {
    match lang {
        Lang::De => format!("{day:02}.{month:02}."),
        Lang::En => format!("{day} {}", MONTHS_EN[(month.clamp(1, 12) - 1) as usize]),
    }
}

/// A day and a time of day: `01.12.2026, 14:03:07` or `1 Dec 2026, 14:03:07`.
pub fn date_time(lang: Lang, (year, month, day): (i64, u32, u32), secs_of_day: i64) -> String {
    format!(
        "{}, {:02}:{:02}:{:02}",
        date(lang, year, month, day),
        secs_of_day / 3600,
        secs_of_day / 60 % 60,
        secs_of_day % 60
    )
}

/// The template's language: its `lang` variable (every page has one).
pub fn of_state(state: &State) -> Lang {
    state
        .lookup("lang")
        .and_then(|v| v.as_str().and_then(Lang::parse))
        .unwrap_or_else(current)
}

/// `t("message-id", name=value, …)` in templates. Numbers stay numbers (plural forms choose
/// by them, and they are written with the language's separators); a missing value is "—".
pub fn t_function(state: &State, id: &str, kwargs: Kwargs) -> Result<String, minijinja::Error> {
    let lang = of_state(state);
    let mut args: Vec<(String, FluentValue<'static>)> = Vec::new();
    for name in kwargs.args() {
        let value: Value = kwargs.get(name)?;
        let fluent = match value.kind() {
            ValueKind::Number => match i64::try_from(value.clone()) {
                Ok(n) => FluentValue::from(n),
                Err(_) => FluentValue::from(f64::try_from(value).unwrap_or(f64::NAN)),
            },
            ValueKind::None | ValueKind::Undefined => FluentValue::from("—"),
            _ => FluentValue::from(value.to_string()),
        };
        args.push((name.to_owned(), fluent));
    }
    let borrowed: Vec<(&str, FluentValue)> =
        args.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    Ok(text(lang, id, &borrowed))
}

/// `{{ n | number }}`: an integer with thousands separators, a fraction with one decimal.
pub fn number_filter(state: &State, value: Value) -> String {
    let lang = of_state(state);
    if let Ok(n) = i64::try_from(value.clone()) {
        return integer(lang, n);
    }
    match f64::try_from(value) {
        Ok(x) => decimal(lang, x, 1),
        Err(_) => "—".to_owned(),
    }
}

/// `{{ kind.title | noun }}`: a name inside an English sentence is written in lower case
/// ("No tickets match."); German nouns keep their capital ("Keine Rückrufe").
pub fn noun_filter(state: &State, value: String) -> String {
    match of_state(state) {
        Lang::En => value.to_lowercase(),
        Lang::De => value,
    }
}

/// `{{ step.created_at | since(call.summary.started_at) }}`: the time since the call began,
/// `+0:12` or `+1:02:03` (a timeline's steps, instead of the full date on every one).
pub fn since_filter(at_ms: i64, start_ms: i64) -> String {
    let secs = (at_ms - start_ms).max(0) / 1000;
    match secs / 3600 {
        0 => format!("+{}:{:02}", secs / 60, secs % 60),
        hours => format!("+{hours}:{:02}:{:02}", secs / 60 % 60, secs % 60),
    }
}

/// What the dashboard knows about the request being answered, for the pages and error pages
/// rendered while it runs (a task-local: every handler runs inside [`middleware`]).
pub struct RequestLang {
    pub lang: Lang,
    /// The address without `lang`, for the switch's links.
    here: String,
    pub(super) state: Option<Arc<AppState>>,
    /// The signed-in user once a handler found them, so an error page shows the menu.
    pub(super) user: Mutex<Option<SessionUser>>,
}

tokio::task_local! {
    static REQUEST: RequestLang;
}

/// The current request's language (English outside of one, e.g. in unit tests).
pub fn current() -> Lang {
    REQUEST.try_with(|r| r.lang).unwrap_or_default()
}

/// Runs `f` with the current request's context, if there is one.
pub(super) fn with_request<T>(f: impl FnOnce(&RequestLang) -> T) -> Option<T> {
    REQUEST.try_with(f).ok()
}

/// Remembers the signed-in user for the request's error page.
pub(super) fn remember_user(user: &SessionUser) {
    let _ = REQUEST.try_with(|r| {
        if let Ok(mut slot) = r.user.lock() {
            *slot = Some(user.clone());
        }
    });
}

/// A link of the language switch.
#[derive(Debug, Serialize)]
pub struct SwitchLink {
    pub tag: &'static str,
    pub name: &'static str,
    pub href: String,
    pub current: bool,
}

/// The switch's links: this address in every language.
pub fn switch_links() -> Vec<SwitchLink> {
    let (lang, here) = with_request(|r| (r.lang, r.here.clone()))
        .unwrap_or_else(|| (Lang::default(), "/".to_owned()));
    let joiner = if here.contains('?') { '&' } else { '?' };
    Lang::ALL
        .into_iter()
        .map(|l| SwitchLink {
            tag: l.tag(),
            name: l.own_name(),
            href: format!("{here}{joiner}lang={}", l.tag()),
            current: l == lang,
        })
        .collect()
}

/// Chooses the request's language, runs it in that language and turns its errors into pages
/// there (so the error page is in the page's language, with the menu when signed in). A
/// `?lang=` that names a language is kept in a cookie.
pub async fn middleware<E: Endpoint>(ep: Arc<E>, req: Request) -> poem::Result<Response> {
    let pairs = super::query_pairs(&req);
    let asked = super::field(&pairs, "lang").and_then(Lang::parse);
    let lang = asked
        .or_else(|| cookie_value(&req, LANG_COOKIE).and_then(Lang::parse))
        .unwrap_or_else(|| negotiate(req.header("accept-language")));
    let mut here = req.uri().path().to_owned();
    // The switch's links repeat the address without `lang`; without a caller's number (the
    // privacy search: it is not written into more places on the page than needed) and without
    // a message said once (a bulk change's result).
    let rest: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(k, _)| !["lang", "phone", "bulk"].contains(&k.as_str()))
        .collect();
    if !rest.is_empty() {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (k, v) in rest {
            query.append_pair(k, v);
        }
        here = format!("{here}?{}", query.finish());
    }
    let state = req.data::<Arc<AppState>>().cloned();
    let session = cookie_value(&req, SESSION_COOKIE).map(str::to_owned);
    let context = RequestLang {
        lang,
        here,
        state: state.clone(),
        user: Mutex::new(None),
    };
    let in_scope = state.clone();
    let mut response = REQUEST
        .scope(context, async move {
            match ep.call(req).await {
                Ok(output) => output.into_response(),
                Err(error) => error_page(error, in_scope.as_deref(), session.as_deref()).await,
            }
        })
        .await;
    if let Some(lang) = asked {
        let secure = state
            .as_deref()
            .and_then(|s| s.dashboard.as_deref())
            .is_some_and(|d| d.secure_cookies);
        let cookie = format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age={LANG_COOKIE_SECS}; HttpOnly; SameSite=Lax{}",
            lang.tag(),
            if secure { "; Secure" } else { "" }
        );
        if let Ok(value) = cookie.parse() {
            response.headers_mut().append("set-cookie", value);
        }
    }
    Ok(response)
}

/// An error as the page to show: a dashboard error (or a router's "not found") inside the
/// layout, with the menu when the request is signed in; anything else as it was.
async fn error_page(
    error: poem::Error,
    state: Option<&AppState>,
    session: Option<&str>,
) -> Response {
    let dashboard = state.and_then(|s| s.dashboard.as_deref());
    let page_error = error.downcast_ref::<PageError>();
    let not_found = error.is::<poem::error::NotFoundError>();
    let (Some(d), true) = (dashboard, page_error.is_some() || not_found) else {
        return error.into_response();
    };
    if matches!(page_error, Some(PageError::LoginRequired)) {
        return error.into_response();
    }
    let known = with_request(|r| r.user.lock().map(|u| u.is_some()).unwrap_or(true));
    if known == Some(false) {
        if let Some(token) = session {
            if let Ok(Some(user)) = d
                .admin
                .session(&crate::auth::token_hash(token), now_ms())
                .await
            {
                remember_user(&user);
            }
        }
    }
    match page_error {
        Some(e) => e.as_response(),
        None => PageError::NotFound.as_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_first_language_spoken() {
        assert_eq!(negotiate(Some("de-DE,de;q=0.9,en;q=0.8")), Lang::De);
        assert_eq!(negotiate(Some("de-AT")), Lang::De);
        assert_eq!(negotiate(Some("en-GB,de;q=0.5")), Lang::En);
        assert_eq!(negotiate(Some("fr-FR,de;q=0.7,en;q=0.3")), Lang::De);
        assert_eq!(negotiate(Some("fr-FR")), Lang::En);
        assert_eq!(negotiate(Some("")), Lang::En);
        assert_eq!(negotiate(Some("*")), Lang::En);
        assert_eq!(negotiate(None), Lang::En);
    }

    #[test]
    fn language_tags_parse_by_their_primary_subtag() {
        assert_eq!(Lang::parse("de"), Some(Lang::De));
        assert_eq!(Lang::parse("DE_at"), Some(Lang::De));
        assert_eq!(Lang::parse("en-US"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::parse(""), None);
    }

    #[test]
    fn numbers_get_the_language_separators() {
        assert_eq!(integer(Lang::De, 1234), "1.234");
        assert_eq!(integer(Lang::En, 1234), "1,234");
        assert_eq!(integer(Lang::De, 1_234_567), "1.234.567");
        assert_eq!(integer(Lang::En, 999), "999");
        assert_eq!(integer(Lang::En, -12_345), "-12,345");
        assert_eq!(integer(Lang::De, 0), "0");
        assert_eq!(decimal(Lang::De, 1234.56, 1), "1.234,6");
        assert_eq!(decimal(Lang::En, 1234.56, 1), "1,234.6");
        assert_eq!(decimal(Lang::En, -0.04, 1), "0.0");
        assert_eq!(decimal(Lang::De, 93.0, 0), "93");
    }

    #[test]
    fn steps_say_the_time_since_the_call_began() {
        assert_eq!(since_filter(12_400, 0), "+0:12");
        assert_eq!(since_filter(62_000, 0), "+1:02");
        assert_eq!(since_filter(3_723_000, 0), "+1:02:03");
        assert_eq!(since_filter(0, 5_000), "+0:00");
    }

    #[test]
    fn dates_take_the_language_form() {
        assert_eq!(date(Lang::De, 2026, 12, 1), "01.12.2026");
        assert_eq!(date(Lang::En, 2026, 12, 1), "1 Dec 2026");
        assert_eq!(
            date_time(Lang::De, (2026, 3, 9), 14 * 3600 + 3 * 60 + 7),
            "09.03.2026, 14:03:07"
        );
        assert_eq!(
            date_time(Lang::En, (2026, 3, 9), 14 * 3600 + 3 * 60 + 7),
            "9 Mar 2026, 14:03:07"
        );
    }

    #[test]
    fn messages_format_their_numbers_in_the_language() {
        let args = [("count", FluentValue::from(1234))];
        assert_eq!(text(Lang::De, "tile-calls-today", &args), "Anrufe heute");
        assert!(text(Lang::De, "n-calls", &args).starts_with("1.234 "));
        assert!(text(Lang::En, "n-calls", &args).starts_with("1,234 "));
        let one = [("count", FluentValue::from(1))];
        assert_eq!(text(Lang::En, "n-calls", &one), "1 call");
        assert_eq!(text(Lang::De, "n-calls", &one), "1 Anruf");
        assert_eq!(text(Lang::En, "no-such-message", &[]), "no-such-message");
    }

    /// Both files parse, define the same messages and give each the same variables.
    #[test]
    fn both_languages_have_every_message_with_the_same_variables() {
        let sources = Lang::ALL
            .iter()
            .map(|l| (format!("{}/dashboard.ftl", l.tag()), l.source().to_owned()))
            .collect();
        let locales = liza_core::i18n::Locales::from_sources(
            std::path::Path::new("templates/locales"),
            sources,
        )
        .unwrap_or_else(|d| panic!("dashboard.ftl does not load:\n{d}"));
        let [first, second] = locales.all() else {
            panic!("expected two languages");
        };
        let ids = |l: &liza_core::i18n::Locale| -> Vec<String> {
            l.message_ids().map(str::to_owned).collect()
        };
        let missing_in_second: Vec<_> = ids(first)
            .into_iter()
            .filter(|id| second.message(id).is_none())
            .collect();
        let missing_in_first: Vec<_> = ids(second)
            .into_iter()
            .filter(|id| first.message(id).is_none())
            .collect();
        assert!(
            missing_in_first.is_empty() && missing_in_second.is_empty(),
            "only in {}: {missing_in_second:?}; only in {}: {missing_in_first:?}",
            first.langid,
            second.langid
        );
        for id in ids(first) {
            assert_eq!(
                first.variables_needed(&id),
                second.variables_needed(&id),
                "`{id}` takes different variables in {} and {}",
                first.langid,
                second.langid
            );
        }
        assert!(
            ids(first).len() > 50,
            "the dashboard has its texts in Fluent"
        );
    }

    /// The message families templates name by a value (`t("status-" ~ s)`), and the ids
    /// handlers pass to templates, exist in both languages.
    #[test]
    fn every_status_consent_and_refusal_has_its_message() {
        let mut ids: Vec<String> = liza_model::CallStatus::ALL
            .iter()
            .map(|s| format!("status-{}", s.as_str()))
            .collect();
        ids.extend(["given", "refused", "none"].map(|c| format!("consent-{c}")));
        // The charts' texts `stats.rs` asks for, and the partial marks `t("chart-partial-" ~ …)`.
        ids.extend(
            [
                "per-day",
                "per-week",
                "per-month",
                "by-hour",
                "by-weekday",
                "consent",
                "handling-day",
                "handling-week",
                "handling-month",
                "summary",
                "week",
                "partial-running",
                "partial-cut",
            ]
            .map(|c| format!("chart-{c}")),
        );
        ids.extend(
            [
                "col-day",
                "col-week",
                "col-month",
                "col-hour",
                "col-weekday",
                "col-consent",
                "col-calls",
                "col-seconds",
                "consent-unanswered",
                "weekday-short",
                "weekday-long",
                "stats-error-days",
                "stats-error-from-missing",
                "stats-error-reversed",
                "stats-error-future",
                "stats-error-too-long",
            ]
            .map(String::from),
        );
        ids.extend(["login-wrong", "login-busy", "login-too-many-failures"].map(String::from));
        for lang in Lang::ALL {
            for id in &ids {
                assert!(
                    lang.bundle().get_message(id).is_some(),
                    "{} lacks `{id}`",
                    lang.tag()
                );
            }
        }
    }

    /// Every `t("…")` a template calls with a literal id exists in both languages.
    #[test]
    fn every_message_a_template_names_exists() {
        let mut named = Vec::new();
        for (name, source) in super::super::TEMPLATE_SOURCES {
            for (at, _) in source.match_indices("t(\"") {
                let before = source[..at].chars().next_back().unwrap_or(' ');
                if before.is_alphanumeric() || before == '_' {
                    continue;
                }
                let rest = &source[at + 3..];
                let end = rest.find('"').unwrap_or(0);
                // `t("status-" ~ s)`: a family of messages, checked by its own test.
                if !rest[end + 1..].trim_start().starts_with('~') {
                    named.push((name, rest[..end].to_owned()));
                }
            }
        }
        assert!(named.len() > 50, "templates translate through t()");
        for lang in Lang::ALL {
            for (template, id) in &named {
                assert!(
                    lang.bundle().get_message(id).is_some(),
                    "{template} names `{id}`, which {} does not define",
                    lang.tag()
                );
            }
        }
    }
}
