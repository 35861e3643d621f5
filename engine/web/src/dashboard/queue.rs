//! The work queue: open problems over a chosen window, and one status for many calls at once
//! (`POST /calls/status`), each call changed and audited on its own under the rules of
//! [`CallStatus::SET_BY_STAFF`].

use poem::handler;
use poem::web::Redirect;
use poem::IntoResponse;
use serde::Serialize;

use super::extract::SignedPairs;
use super::i18n::{self, Lang};
use super::pages::{back_to_list, staff_call_status, Page};
use super::{field, PageError, Text};
use fluent_bundle::FluentValue;
use liza_model::CallStatus;
use liza_store::admin::Change;
use liza_store::now_ms;

/// Calls one bulk change may name at most (two list pages): each is its own transaction.
pub const MAX_BULK_CALLS: usize = 100;

/// How far back "open problems" look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Window {
    Day,
    Week,
    Month,
    All,
}

impl Window {
    pub const ALL: [Window; 4] = [Window::Day, Window::Week, Window::Month, Window::All];
    /// The overview's window unless another is chosen: a week's problems are a working queue;
    /// every problem ever is an archive.
    pub const OVERVIEW_DEFAULT: Window = Window::Week;

    /// As it travels in a query (`?problems=7d`, `?within=24h`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "24h",
            Self::Week => "7d",
            Self::Month => "30d",
            Self::All => "all",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Day => "last 24 hours",
            Self::Week => "last 7 days",
            Self::Month => "last 30 days",
            Self::All => "all time",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.as_str() == text)
    }

    /// A window typed into a query, `default` when none is; an unknown one gets a message.
    pub fn from_param(text: Option<&str>, default: Window) -> Result<Self, PageError> {
        match text {
            None => Ok(default),
            Some(text) => Self::parse(text).ok_or_else(|| {
                PageError::BadRequest(Text::new("error-unknown-window").arg("value", text))
            }),
        }
    }

    /// Where the window starts (epoch ms), or `None` for all time.
    pub fn since_ms(self, now_ms: i64) -> Option<i64> {
        const HOUR_MS: i64 = 3_600_000;
        match self {
            Self::Day => Some(now_ms - 24 * HOUR_MS),
            Self::Week => Some(now_ms - 7 * 24 * HOUR_MS),
            Self::Month => Some(now_ms - 30 * 24 * HOUR_MS),
            Self::All => None,
        }
    }
}

/// A window as a select's option.
#[derive(Debug, Serialize)]
pub struct WindowOption {
    pub value: &'static str,
    pub label: &'static str,
}

pub fn window_options() -> Vec<WindowOption> {
    Window::ALL
        .iter()
        .map(|w| WindowOption {
            value: w.as_str(),
            label: w.label(),
        })
        .collect()
}

/// What one bulk change did: how many calls changed and why the others did not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BulkResult {
    pub status: String,
    pub changed: usize,
    /// They had that status already.
    pub unchanged: usize,
    /// No call with that id (any more).
    pub missing: usize,
}

impl BulkResult {
    /// As it travels to the list after the change (`?bulk=problem.3.1.0`).
    pub fn encode(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.status, self.changed, self.unchanged, self.missing
        )
    }

    /// A `bulk` query value back; anything damaged is no message at all.
    pub fn decode(text: &str) -> Option<Self> {
        let mut parts = text.split('.');
        let status = CallStatus::parse(parts.next()?)?;
        let mut number = || parts.next()?.parse::<usize>().ok();
        let result = Self {
            status: status.as_str().to_owned(),
            changed: number()?,
            unchanged: number()?,
            missing: number()?,
        };
        parts.next().is_none().then_some(result)
    }

    /// The sentence the list shows, in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        let status = i18n::text(lang, &format!("status-{}", self.status), &[]);
        let count = |n: usize| FluentValue::from(n);
        let mut text = i18n::text(
            lang,
            "bulk-done",
            &[
                ("count", count(self.changed)),
                ("status", FluentValue::from(status.as_str())),
            ],
        );
        let skipped = self.unchanged + self.missing;
        if skipped > 0 {
            let mut why = Vec::new();
            if self.unchanged > 0 {
                why.push(i18n::text(
                    lang,
                    "bulk-skipped-already",
                    &[
                        ("count", count(self.unchanged)),
                        ("status", FluentValue::from(status.as_str())),
                    ],
                ));
            }
            if self.missing > 0 {
                why.push(i18n::text(
                    lang,
                    "bulk-skipped-missing",
                    &[("count", count(self.missing))],
                ));
            }
            text.push(' ');
            text.push_str(&i18n::text(
                lang,
                "bulk-skipped",
                &[
                    ("count", count(skipped)),
                    ("why", FluentValue::from(why.join(", "))),
                ],
            ));
        }
        text
    }
}

/// The list address to return to, with the result of a bulk change in place of an older one.
fn list_with_result(back: &str, result: &BulkResult) -> String {
    let (path, query) = back.split_once('?').unwrap_or((back, ""));
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k != "bulk" {
            out.append_pair(&k, &v);
        }
    }
    out.append_pair("bulk", &result.encode());
    format!("{path}?{}", out.finish())
}

/// `POST /calls/status` (form): `status`, the ids of the selected calls (`id`, repeated), the
/// list to return to (`back`). Each call is changed in its own transaction and audited on its
/// own; the list comes back as it was, with a message saying what was done.
#[handler]
pub async fn bulk_call_status(SignedPairs { d, user, pairs }: SignedPairs<'_>) -> Page {
    let requested = field(&pairs, "status").unwrap_or("").trim();
    let status = staff_call_status(requested).map_err(|_| {
        PageError::BadRequest(match CallStatus::parse(requested) {
            Some(_) => Text::new("error-status-not-settable"),
            None => Text::new("error-unknown-status").arg("value", requested),
        })
    })?;
    let mut ids: Vec<i64> = Vec::new();
    for (name, value) in &pairs {
        if name != "id" {
            continue;
        }
        let id = value.trim().parse::<i64>().map_err(|_| {
            PageError::BadRequest(Text::new("error-not-a-call").arg("value", value.trim()))
        })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
        // Counted before any work is done.
        if ids.len() > MAX_BULK_CALLS {
            return Err(PageError::BadRequest(
                Text::new("error-bulk-too-many").arg("max", MAX_BULK_CALLS.to_string()),
            ));
        }
    }
    if ids.is_empty() {
        return Err(PageError::BadRequest(Text::new("error-bulk-none")));
    }
    let mut result = BulkResult {
        status: status.as_str().to_owned(),
        ..BulkResult::default()
    };
    for id in ids {
        match d
            .admin
            .set_call_status(id, status, &user.user_name, now_ms())
            .await?
        {
            Change::Changed { .. } => result.changed += 1,
            Change::Unchanged => result.unchanged += 1,
            Change::NotFound => result.missing += 1,
        }
    }
    let back = back_to_list(field(&pairs, "back"));
    Ok(Redirect::see_other(list_with_result(&back, &result)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bulk_result_travels_and_says_what_was_skipped_and_why() {
        let result = BulkResult {
            status: "processed".into(),
            changed: 3,
            unchanged: 1,
            missing: 1,
        };
        assert_eq!(BulkResult::decode(&result.encode()), Some(result.clone()));
        assert_eq!(
            result.message(Lang::En),
            "3 calls set to processed. 2 calls skipped: 1 already processed, 1 no longer stored."
        );
        assert_eq!(
            result.message(Lang::De),
            "3 Anrufe auf bearbeitet gesetzt. 2 Anrufe übersprungen: 1 schon bearbeitet, 1 nicht mehr gespeichert."
        );
        assert_eq!(BulkResult::decode("processed.1.2"), None);
        assert_eq!(BulkResult::decode("flying.1.0.0"), None);
        assert_eq!(BulkResult::decode("problem.1.0.0.9"), None);
    }

    #[test]
    fn the_list_comes_back_with_its_filters_and_one_result() {
        let result = BulkResult {
            status: "problem".into(),
            changed: 1,
            ..BulkResult::default()
        };
        assert_eq!(
            list_with_result(
                "/calls?status=problem&bulk=problem.9.0.0&before=1.2",
                &result
            ),
            "/calls?status=problem&before=1.2&bulk=problem.1.0.0"
        );
        assert_eq!(
            list_with_result("/calls", &result),
            "/calls?bulk=problem.1.0.0"
        );
    }

    #[test]
    fn windows_reach_back_from_now() {
        let now = 100 * 86_400_000;
        assert_eq!(Window::Day.since_ms(now), Some(99 * 86_400_000));
        assert_eq!(
            Window::from_param(None, Window::Week).unwrap(),
            Window::Week
        );
        assert_eq!(
            Window::from_param(Some("30d"), Window::Week).unwrap(),
            Window::Month
        );
        assert!(Window::from_param(Some("year"), Window::Week).is_err());
        assert_eq!(Window::All.since_ms(now), None);
    }
}
