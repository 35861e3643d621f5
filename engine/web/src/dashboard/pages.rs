//! The dashboard's pages and their form edits.

use std::sync::Arc;

use minijinja::context;
use poem::web::{Data, Path, Redirect};
use poem::{handler, Body, IntoResponse, Request, Response};

use super::{
    check_csrf, date_to_ms, field, query_pairs, read_form, respond, stats, Dashboard, PageError,
    ORDER_KIND,
};
use crate::AppState;
use liza_model::{CallStatus, Consent};
use liza_store::admin::{CallFilter, Change, ConsentFilter, Cursor, RecordFilter, Subject, DAY_MS};
use liza_store::now_ms;

/// Rows per list page.
const PAGE_SIZE: i64 = 50;
/// Order notes longer than this are refused.
const MAX_NOTES_CHARS: usize = 4000;

fn dashboard(state: &AppState) -> Result<&Dashboard, PageError> {
    state.dashboard.as_deref().ok_or(PageError::Unavailable)
}

/// A non-empty, trimmed query value.
fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    field(pairs, name).map(str::trim).filter(|v| !v.is_empty())
}

fn date_param(pairs: &[(String, String)], name: &str) -> Result<Option<i64>, PageError> {
    param(pairs, name)
        .map(|v| {
            date_to_ms(v).ok_or_else(|| {
                PageError::BadRequest(format!("`{v}` is not a date; use YYYY-MM-DD"))
            })
        })
        .transpose()
}

fn cursor_param(pairs: &[(String, String)]) -> Result<Option<Cursor>, PageError> {
    param(pairs, "before")
        .map(|v| {
            Cursor::decode(v)
                .ok_or_else(|| PageError::BadRequest("the page link is damaged".into()))
        })
        .transpose()
}

/// The query string of the next page: the same filters, a new cursor.
/// Keeps one page of `rows` (fetched with one row more than a page) and returns the query
/// of the next page when that extra row shows there is one.
fn next_page<T>(
    rows: &mut Vec<T>,
    pairs: &[(String, String)],
    cursor_of: impl Fn(&T) -> Cursor,
) -> Option<String> {
    if rows.len() as i64 <= PAGE_SIZE {
        return None;
    }
    rows.truncate(PAGE_SIZE as usize);
    rows.last()
        .map(|last| next_page_query(pairs, cursor_of(last)))
}

fn next_page_query(pairs: &[(String, String)], cursor: Cursor) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if k != "before" && !v.trim().is_empty() {
            query.append_pair(k, v.trim());
        }
    }
    query.append_pair("before", &cursor.encode());
    query.finish()
}

/// Monday 00:00 UTC of the week holding `now_ms` (1970-01-01 was a Thursday).
fn week_start_ms(now_ms: i64) -> i64 {
    let day = now_ms.div_euclid(DAY_MS);
    (day - (day + 3).rem_euclid(7)) * DAY_MS
}

/// `GET /`.
#[handler]
pub async fn overview_page(req: &Request, Data(state): Data<&Arc<AppState>>) -> Response {
    let result = async {
        let d = dashboard(state)?;
        let user = d.signed_in(req).await?;
        let now = now_ms();
        let today = now.div_euclid(DAY_MS) * DAY_MS;
        let counts = d
            .admin
            .overview(today, week_start_ms(now), ORDER_KIND)
            .await?;
        let answered = counts.consent_given_this_week + counts.consent_refused_this_week;
        let consent_rate = (answered > 0)
            .then(|| (counts.consent_given_this_week * 100 + answered / 2) / answered);
        let flows: Vec<_> = d
            .registry
            .current()
            .flows
            .iter()
            .map(|f| {
                context! {
                    name => &f.name,
                    description => &f.description,
                    version => &f.version,
                    path => f.path.display().to_string(),
                    nodes => f.nodes().count(),
                }
            })
            .collect();
        d.render(
            "overview.html",
            context! {
                user, page => "overview", counts, consent_rate, flows,
                reload_error => d.registry.reload_error(),
            },
        )
    }
    .await;
    respond(state.dashboard.as_deref(), result)
}

/// `GET /calls`: filters and keyset pagination.
#[handler]
pub async fn calls_page(req: &Request, Data(state): Data<&Arc<AppState>>) -> Response {
    let result = async {
        let d = dashboard(state)?;
        let user = d.signed_in(req).await?;
        let pairs = query_pairs(req);
        let status = param(&pairs, "status")
            .map(|v| {
                CallStatus::parse(v)
                    .ok_or_else(|| PageError::BadRequest(format!("unknown call status `{v}`")))
            })
            .transpose()?;
        let consent = match param(&pairs, "consent") {
            None => None,
            Some("none") => Some(ConsentFilter::Unanswered),
            Some(v) => Some(ConsentFilter::Answer(Consent::parse(v).ok_or_else(
                || PageError::BadRequest(format!("unknown consent `{v}`")),
            )?)),
        };
        let filter = CallFilter {
            status,
            since_ms: date_param(&pairs, "from")?,
            // The `to` day is included: the list ends at the next midnight.
            until_ms: date_param(&pairs, "to")?.map(|ms| ms + DAY_MS),
            number: param(&pairs, "number").map(str::to_owned),
            language: param(&pairs, "language").map(str::to_owned),
            consent,
            before: cursor_param(&pairs)?,
            limit: PAGE_SIZE + 1,
        };
        let mut rows = d.admin.list_calls(&filter).await?;
        let next = next_page(&mut rows, &pairs, |last| Cursor {
            at_ms: last.started_at,
            id: last.id,
        });
        let value = |name: &str| param(&pairs, name).unwrap_or("").to_owned();
        let filters = context! {
            status => value("status"),
            from => value("from"),
            to => value("to"),
            number => value("number"),
            language => value("language"),
            consent => value("consent"),
        };
        let statuses: Vec<&str> = CallStatus::ALL.iter().map(|s| s.as_str()).collect();
        d.render(
            "calls.html",
            context! {
                user, page => "calls", calls => rows, next, filters, statuses,
                languages => d.languages(), paged => filter.before.is_some(),
            },
        )
    }
    .await;
    respond(state.dashboard.as_deref(), result)
}

/// `GET /calls/<id>`: the call, its timeline, its orders, its audit history.
#[handler]
pub async fn call_page(
    req: &Request,
    Path(id): Path<String>,
    Data(state): Data<&Arc<AppState>>,
) -> Response {
    let result = async {
        let d = dashboard(state)?;
        let user = d.signed_in(req).await?;
        let id: i64 = id.parse().map_err(|_| PageError::NotFound)?;
        let call = d.admin.call(id).await?.ok_or(PageError::NotFound)?;
        let timeline = d.admin.call_timeline(id).await?;
        let orders = d.admin.call_records(id).await?;
        let audit = d.admin.audit_log(Subject::Call(id)).await?;
        let statuses: Vec<&str> = CallStatus::ALL.iter().map(|s| s.as_str()).collect();
        d.render(
            "call.html",
            context! { user, page => "calls", call, timeline, orders, audit, statuses },
        )
    }
    .await;
    respond(state.dashboard.as_deref(), result)
}

/// `POST /calls/<id>/status` (form).
#[handler]
pub async fn call_status(
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
        let requested = field(&form, "status").unwrap_or("");
        let status = CallStatus::parse(requested)
            .ok_or_else(|| PageError::BadRequest(unknown_call_status(requested)))?;
        match d
            .admin
            .set_call_status(id, status, &user.user_name, now_ms())
            .await?
        {
            Change::NotFound => Err(PageError::NotFound),
            _ => Ok(Redirect::see_other(format!("/calls/{id}")).into_response()),
        }
    }
    .await;
    respond(state.dashboard.as_deref(), result)
}

/// The message for a call status that does not exist.
pub fn unknown_call_status(requested: &str) -> String {
    let known: Vec<&str> = CallStatus::ALL.iter().map(|s| s.as_str()).collect();
    format!(
        "unknown call status `{requested}`; expected one of: {}",
        known.join(", ")
    )
}

/// The message for an order status the flows do not declare.
pub fn unknown_order_status(requested: &str, known: &[String]) -> String {
    format!(
        "unknown order status `{requested}`; expected one of: {}",
        known.join(", ")
    )
}

/// `GET /orders`.
#[handler]
pub async fn orders_page(req: &Request, Data(state): Data<&Arc<AppState>>) -> Response {
    let result = async {
        let d = dashboard(state)?;
        let user = d.signed_in(req).await?;
        let pairs = query_pairs(req);
        let filter = RecordFilter {
            kind: ORDER_KIND.to_owned(),
            status: param(&pairs, "status").map(str::to_owned),
            key: param(&pairs, "number").map(str::to_owned),
            since_ms: date_param(&pairs, "from")?,
            until_ms: date_param(&pairs, "to")?.map(|ms| ms + DAY_MS),
            before: cursor_param(&pairs)?,
            limit: PAGE_SIZE + 1,
        };
        let mut rows = d.admin.list_records(&filter).await?;
        let next = next_page(&mut rows, &pairs, |last| Cursor {
            at_ms: last.created_at,
            id: last.id,
        });
        let value = |name: &str| param(&pairs, name).unwrap_or("").to_owned();
        let filters = context! {
            status => value("status"), number => value("number"),
            from => value("from"), to => value("to"),
        };
        d.render(
            "orders.html",
            context! {
                user, page => "orders", orders => rows, next, filters,
                statuses => d.order_statuses(), paged => filter.before.is_some(),
            },
        )
    }
    .await;
    respond(state.dashboard.as_deref(), result)
}

/// `GET /orders/<id>`.
#[handler]
pub async fn order_page(
    req: &Request,
    Path(id): Path<String>,
    Data(state): Data<&Arc<AppState>>,
) -> Response {
    let result = async {
        let d = dashboard(state)?;
        let user = d.signed_in(req).await?;
        let id: i64 = id.parse().map_err(|_| PageError::NotFound)?;
        let order = d.order(id).await?.ok_or(PageError::NotFound)?;
        let calls = d.admin.record_calls(id).await?;
        let audit = d.admin.audit_log(Subject::Record(id)).await?;
        d.render(
            "order.html",
            context! {
                user, page => "orders", order, calls, audit,
                statuses => d.order_statuses(),
            },
        )
    }
    .await;
    respond(state.dashboard.as_deref(), result)
}

/// `POST /orders/<id>/status` (form).
#[handler]
pub async fn order_status(
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
        let requested = field(&form, "status").unwrap_or("");
        let known = d.order_statuses();
        if !known.iter().any(|s| s == requested) {
            return Err(PageError::BadRequest(unknown_order_status(
                requested, &known,
            )));
        }
        d.order(id).await?.ok_or(PageError::NotFound)?;
        match d
            .admin
            .set_record_status(id, requested, &user.user_name, now_ms())
            .await?
        {
            Change::NotFound => Err(PageError::NotFound),
            _ => Ok(Redirect::see_other(format!("/orders/{id}")).into_response()),
        }
    }
    .await;
    respond(state.dashboard.as_deref(), result)
}

/// `POST /orders/<id>/notes` (form).
#[handler]
pub async fn order_notes(
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
        let notes = field(&form, "notes").unwrap_or("").replace("\r\n", "\n");
        let notes = notes.trim();
        if notes.chars().count() > MAX_NOTES_CHARS {
            return Err(PageError::BadRequest(format!(
                "notes may have at most {MAX_NOTES_CHARS} characters"
            )));
        }
        d.order(id).await?.ok_or(PageError::NotFound)?;
        match d
            .admin
            .set_record_notes(id, notes, &user.user_name, now_ms())
            .await?
        {
            Change::NotFound => Err(PageError::NotFound),
            _ => Ok(Redirect::see_other(format!("/orders/{id}")).into_response()),
        }
    }
    .await;
    respond(state.dashboard.as_deref(), result)
}

/// `GET /stats`: charts and tables over the last weeks.
#[handler]
pub async fn stats_page(req: &Request, Data(state): Data<&Arc<AppState>>) -> Response {
    let result = async {
        let d = dashboard(state)?;
        let user = d.signed_in(req).await?;
        let today = now_ms().div_euclid(DAY_MS);
        let buckets = d.admin.stats(today - stats::WEEKS * 7 + 1, today).await?;
        let top = d
            .admin
            .top_records(ORDER_KIND, (today - stats::TOP_DAYS + 1) * DAY_MS, 10)
            .await?;
        let view = stats::StatsView::build(&buckets, top, today);
        d.render(
            "stats.html",
            context! { user, page => "stats", stats => view },
        )
    }
    .await;
    respond(state.dashboard.as_deref(), result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday() {
        // 2026-11-25 is a Wednesday; its week began on Monday 2026-11-23.
        let wednesday = super::super::date_to_ms("2026-11-25").unwrap() + 5_000;
        assert_eq!(
            week_start_ms(wednesday),
            super::super::date_to_ms("2026-11-23").unwrap()
        );
    }

    #[test]
    fn next_page_keeps_filters_and_replaces_the_cursor() {
        let pairs = vec![
            ("status".to_owned(), "problem".to_owned()),
            ("number".to_owned(), "".to_owned()),
            ("before".to_owned(), "1.2".to_owned()),
        ];
        assert_eq!(
            next_page_query(&pairs, Cursor { at_ms: 9, id: 3 }),
            "status=problem&before=9.3"
        );
    }
}
