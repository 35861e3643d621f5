//! The Privacy page: find a caller by number, see what is stored about them, download it,
//! erase it (docs/privacy.md). The number is parsed and hashed here (the store finds a person
//! by the keyed hash, or by the number where it is kept in clear); it never reaches the audit
//! log or the server's log.

use std::sync::Arc;

use minijinja::context;
use poem::web::{Data, Query};
use poem::{handler, Response};
use serde::Deserialize;

use super::extract::{SignedForm, SignedIn};
use super::{Dashboard, PageError, Text};
use crate::AppState;
use liza_core::privacy::{PhoneNumber, PrivacyKey};
use liza_store::admin::{SessionUser, Subject};
use liza_store::now_ms;
use liza_store::privacy::{audit_subject, Anonymised, ExportDocument, Person, PersonalData};

type Page = Result<Response, PageError>;

#[derive(Debug, Deserialize)]
pub struct Lookup {
    phone: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct EraseForm {
    phone: String,
    confirm: Option<String>,
}

/// What a typed number is, for this dashboard: parsed (national forms in the region of the
/// flows' default language), or the message that says how to write it.
fn parse(d: &Dashboard, typed: &str) -> Result<PhoneNumber, Text> {
    PhoneNumber::parse(typed, d.default_region().as_deref())
        .map_err(|_| Text::new("privacy-not-a-number").arg("value", typed.trim()))
}

/// `GET /privacy[?phone=…]`.
#[handler]
pub async fn privacy_page(
    SignedIn { d, user }: SignedIn<'_>,
    Data(state): Data<&Arc<AppState>>,
    Query(q): Query<Lookup>,
) -> Page {
    let page = Privacy {
        d,
        state,
        user: &user,
    };
    let typed = q.phone.unwrap_or_default();
    if typed.trim().is_empty() {
        return page.render(&typed, Found::Nothing, None).await;
    }
    match parse(d, &typed) {
        Err(problem) => page.render(&typed, Found::Problem(problem), None).await,
        Ok(number) => {
            let who = Who::of(&state.engine.privacy, &number);
            let data = d.admin.export_person(&who.person()).await?;
            page.render(&typed, Found::Data(&number, Box::new(data), None), None)
                .await
        }
    }
}

/// `GET /privacy/export?phone=…`: everything stored, as the JSON document `liza privacy
/// export` writes; audited.
#[handler]
pub async fn privacy_export(
    SignedIn { d, user }: SignedIn<'_>,
    Data(state): Data<&Arc<AppState>>,
    Query(q): Query<Lookup>,
) -> Page {
    let typed = q.phone.unwrap_or_default();
    let number = parse(d, &typed).map_err(PageError::BadRequest)?;
    let who = Who::of(&state.engine.privacy, &number);
    let data = d.admin.export_person(&who.person()).await?;
    let now = now_ms();
    d.admin
        .audit_privacy(
            &user.user_name,
            "export",
            &audit_subject(&who.hash),
            &data.export_note(),
            now,
        )
        .await?;
    let document = ExportDocument::new(number.e164(), &data, now);
    let body = serde_json::to_string_pretty(&document).map_err(|e| {
        PageError::Render(minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            e.to_string(),
        ))
    })?;
    Ok(Response::builder()
        .content_type("application/json; charset=utf-8")
        .header("cache-control", "no-store")
        .header(
            "content-disposition",
            "attachment; filename=\"liza-privacy-export.json\"",
        )
        .body(body))
}

/// `POST /privacy/erase`: the caller's data removed for good; the page shows what was erased.
#[handler]
pub async fn privacy_erase(
    SignedForm { d, user, form }: SignedForm<'_, EraseForm>,
    Data(state): Data<&Arc<AppState>>,
) -> Page {
    let page = Privacy {
        d,
        state,
        user: &user,
    };
    let number = match parse(d, &form.phone) {
        Ok(number) => number,
        Err(problem) => {
            return page
                .render(&form.phone, Found::Problem(problem), None)
                .await
        }
    };
    let who = Who::of(&state.engine.privacy, &number);
    if form.confirm.as_deref() != Some("yes") {
        let problem = Text::new("privacy-erase-unconfirmed");
        let data = d.admin.export_person(&who.person()).await?;
        return page
            .render(
                &form.phone,
                Found::Data(&number, Box::new(data), None),
                Some(problem),
            )
            .await;
    }
    let erasure = d
        .admin
        .erase_person(
            &who.person(),
            &user.user_name,
            &audit_subject(&who.hash),
            now_ms(),
        )
        .await?;
    let data = d.admin.export_person(&who.person()).await?;
    let outcome = Erased {
        counts: erasure.erased,
        live_left: erasure.live_calls,
    };
    page.render(
        &form.phone,
        Found::Data(&number, Box::new(data), Some(outcome)),
        None,
    )
    .await
}

/// A person as the store finds them: the keyed hash of the number, and the number.
struct Who {
    hash: String,
    e164: String,
}

impl Who {
    fn of(key: &PrivacyKey, number: &PhoneNumber) -> Self {
        Self {
            hash: key.caller_hash(number.e164()),
            e164: number.e164().to_owned(),
        }
    }

    fn person(&self) -> Person<'_> {
        Person {
            caller_hash: &self.hash,
            number: &self.e164,
        }
    }
}

struct Erased {
    counts: Anonymised,
    live_left: Vec<String>,
}

enum Found<'a> {
    Nothing,
    Problem(Text),
    Data(&'a PhoneNumber, Box<PersonalData>, Option<Erased>),
}

/// The page being answered: who asks, and what the server knows.
struct Privacy<'a> {
    d: &'a Dashboard,
    state: &'a AppState,
    user: &'a SessionUser,
}

impl Privacy<'_> {
    async fn render(&self, typed: &str, found: Found<'_>, extra_problem: Option<Text>) -> Page {
        let lang = super::i18n::current();
        let Self { d, state, user } = self;
        let retention_days = state.retention_days;
        let actions = d.admin.audit_log(Subject::Privacy).await?;
        let full_exports = d.admin.audit_log(Subject::Export).await?;
        let common = context! {
            user, page => "privacy", phone_input => typed, retention_days, actions, full_exports,
        };
        let context = match found {
            Found::Nothing => context! { found => (), problem => (), erased => (), ..common },
            Found::Problem(problem) => {
                let problem = problem.in_lang(lang);
                context! { found => (), problem, erased => (), ..common }
            }
            Found::Data(number, data, erased) => {
                let live: Vec<String> = data
                    .live_calls(now_ms())
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                let steps_with_data = data
                    .steps
                    .iter()
                    .filter(|s| !s.text.is_empty() || s.digits.is_some())
                    .count();
                let export_query = form_urlencoded::Serializer::new(String::new())
                    .append_pair("phone", number.e164())
                    .finish();
                context! {
                    phone => number.e164(), masked => number.masked(), export_query,
                    found => data, live, steps_with_data,
                    erased => erased.as_ref().map(|e| e.counts),
                    live_left => erased.map(|e| e.live_left).unwrap_or_default(),
                    problem => extra_problem.map(|p| p.in_lang(lang)),
                    ..common
                }
            }
        };
        d.render("privacy.html", context)
    }
}
