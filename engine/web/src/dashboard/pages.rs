//! The dashboard's pages and their form edits.

use std::sync::Arc;

use minijinja::context;
use poem::http::StatusCode;
use poem::web::{Data, Path, Redirect};
use poem::{handler, IntoResponse, Request, Response};
use serde::{Deserialize, Serialize};

use super::extract::{id, Board, SignedForm, SignedIn};
use super::queue::{window_options, BulkResult, Window};
use super::{field, query_pairs, stats, week_start, Dashboard, KindView, PageError, Text};
use crate::AppState;
use liza_model::{CallStatus, Consent};
use liza_store::admin::{
    CallFilter, Change, ConsentFilter, Cursor, LocalDays, RecordFilter, RecordSummary, Subject,
};
use liza_store::now_ms;

/// Rows per list page.
const PAGE_SIZE: i64 = 50;
/// Record notes longer than this are refused.
const MAX_NOTES_CHARS: usize = 4000;
/// Records the overview shows per kind: the most asked about this week.
const OVERVIEW_TOP: i64 = 5;

/// The page's result: the page, or the error page that replaces it.
pub(super) type Page = Result<Response, PageError>;

/// A non-empty, trimmed query value.
fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    field(pairs, name).map(str::trim).filter(|v| !v.is_empty())
}

/// A day typed into a filter (`2026-11-25`), as its local day number.
fn day_param(pairs: &[(String, String)], name: &str) -> Result<Option<i64>, PageError> {
    param(pairs, name)
        .map(|v| {
            super::parse_day(v)
                .ok_or_else(|| PageError::BadRequest(Text::new("error-not-a-date").arg("value", v)))
        })
        .transpose()
}

/// The `from` and `to` days of a list's filter as instants: from the first day's local
/// midnight to the local midnight after the last day (the `to` day is included).
fn date_range(
    d: &Dashboard,
    pairs: &[(String, String)],
) -> Result<(Option<i64>, Option<i64>), PageError> {
    let zone = d.zone();
    Ok((
        day_param(pairs, "from")?.map(|day| zone.day_start(day)),
        day_param(pairs, "to")?.map(|day| zone.day_start(day + 1)),
    ))
}

fn cursor_param(pairs: &[(String, String)]) -> Result<Option<Cursor>, PageError> {
    param(pairs, "before")
        .map(|v| {
            Cursor::decode(v)
                .ok_or_else(|| PageError::BadRequest(Text::new("error-page-link-damaged")))
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

/// The query of a list's export (`?status=problem`, or nothing): the list's filter on every
/// page, so without its cursor.
fn export_query(pairs: &[(String, String)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !matches!(k.as_str(), "before" | "bulk" | "lang") && !v.trim().is_empty() {
            query.append_pair(k, v.trim());
        }
    }
    let query = query.finish();
    if query.is_empty() {
        query
    } else {
        format!("?{query}")
    }
}

/// `GET /`.
#[handler]
pub async fn overview_page(
    SignedIn { d, user }: SignedIn<'_>,
    Data(state): Data<&Arc<AppState>>,
    req: &Request,
) -> Page {
    // Today and this week (from Monday) as the dashboard's zone counts them.
    let zone = d.zone();
    let now = now_ms();
    let today_day = zone.day_of(now);
    let today = zone.day_start(today_day);
    let week = zone.day_start(week_start(today_day));
    let counts = d.admin.overview(today, week).await?;
    let pairs = query_pairs(req);
    let window = Window::from_param(param(&pairs, "problems"), Window::OVERVIEW_DEFAULT)?;
    let open_problems = match window.since_ms(now) {
        Some(since) => d.admin.problems_since(since).await?,
        None => counts.open_problems,
    };
    let live = d.admin.live_calls().await?;
    let answered = counts.consent_given_this_week + counts.consent_refused_this_week;
    let consent_rate =
        (answered > 0).then(|| (counts.consent_given_this_week * 100 + answered / 2) / answered);
    let mut top = Vec::new();
    for kind in d.record_kinds() {
        let rows = d.admin.top_records(&kind.name, week, OVERVIEW_TOP).await?;
        top.push(TopRecords { kind, rows });
    }
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
            user, page => "overview", counts, consent_rate, flows, top,
            open_problems, window => window.as_str(), windows => window_options(),
            in_progress => live.in_progress,
            live_src => "/live/calls", live_version => live.signature.to_string(),
            reload_error => d.registry.reload_error(),
            retention_days => state.retention_days,
            last_purge => d.admin.last_purge_run().await?,
        },
    )
}

/// The records of one kind called about most often: (key, calls).
#[derive(Debug, Serialize)]
struct TopRecords {
    kind: KindView,
    rows: Vec<(String, i64)>,
}

/// The filter of `/calls` (and of its export) as the query string `pairs` gives it, with the
/// number search it made of the typed number; bad input is a message, never a 500.
pub(super) fn call_filter(
    d: &Dashboard,
    pairs: &[(String, String)],
    limit: i64,
) -> Result<(CallFilter, super::search::NumberSearch), PageError> {
    let typed = param(pairs, "number").unwrap_or("");
    let search =
        super::search::number_search(typed, d.default_region().as_deref()).map_err(|_| {
            PageError::BadRequest(Text::new("error-not-a-masked-number").arg("value", typed))
        })?;
    let within = param(pairs, "within")
        .map(|w| Window::from_param(Some(w), Window::All))
        .transpose()?
        .and_then(|w| w.since_ms(now_ms()));
    let status = param(pairs, "status")
        .map(|v| {
            CallStatus::parse(v).ok_or_else(|| {
                PageError::BadRequest(Text::new("error-unknown-status").arg("value", v))
            })
        })
        .transpose()?;
    let consent = match param(pairs, "consent") {
        None => None,
        Some("none") => Some(ConsentFilter::Unanswered),
        Some(v) => Some(ConsentFilter::Answer(Consent::parse(v).ok_or_else(
            || PageError::BadRequest(Text::new("error-unknown-consent").arg("value", v)),
        )?)),
    };
    let (since_ms, until_ms) = date_range(d, pairs)?;
    // A part of a number is a scan of the calls by time: without days or a window chosen it
    // looks through the last PART_SEARCH_DAYS (the page says so and links to all time).
    let part_window = part_search_bounded(pairs, &search)
        .then(|| now_ms() - PART_SEARCH_DAYS * liza_store::admin::DAY_MS);
    let filter = CallFilter {
        status,
        // The later of the first day and the window's start.
        since_ms: since_ms.max(within).max(part_window),
        until_ms,
        number: search.whole.clone().or(search.prefix.clone()),
        number_part: search.part.clone(),
        caller_hash: search.whole.as_deref().and_then(|n| d.caller_hash(n)),
        caller_masked: search.masked.clone(),
        language: param(pairs, "language").map(str::to_owned),
        consent,
        record_key: param(pairs, "record").map(str::to_owned),
        record_kinds: d.record_kinds().into_iter().map(|k| k.name).collect(),
        before: cursor_param(pairs)?,
        limit,
    };
    Ok((filter, search))
}

/// How far back a part of a number is looked for when no days are chosen: a part is found
/// by reading the calls newest first, so a part nobody has reads every call in the window
/// (about 150 ms at 1,000,000 calls over a year; docs/BENCHMARKS.md).
const PART_SEARCH_DAYS: i64 = 90;

/// True when a part of a number is searched without days or a window chosen.
fn part_search_bounded(pairs: &[(String, String)], search: &super::search::NumberSearch) -> bool {
    search.part.is_some()
        && ["from", "to", "within"]
            .iter()
            .all(|name| param(pairs, name).is_none_or(str::is_empty))
}

/// `GET /calls`: filters and keyset pagination.
#[handler]
pub async fn calls_page(SignedIn { d, user }: SignedIn<'_>, req: &Request) -> Page {
    let mut pairs = query_pairs(req);
    // A bulk change's result is said once, not carried into the list's own links.
    let bulk = param(&pairs, "bulk").and_then(BulkResult::decode);
    pairs.retain(|(k, _)| k != "bulk");
    let list_query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter())
        .finish();
    let (filter, search) = call_filter(d, &pairs, PAGE_SIZE + 1)?;
    let export_query = export_query(&pairs);
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
        within => value("within"),
        record => value("record"),
    };
    let statuses: Vec<&str> = CallStatus::ALL.iter().map(|s| s.as_str()).collect();
    // This list's address: each call's link carries it, so its page leads back to it, and
    // the bulk change returns to it.
    let list = if list_query.is_empty() {
        "/calls".to_owned()
    } else {
        format!("/calls?{list_query}")
    };
    let back_query = if list_query.is_empty() {
        String::new()
    } else {
        format!(
            "?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair("back", &list)
                .finish()
        )
    };
    let staff_statuses: Vec<&str> = CallStatus::SET_BY_STAFF
        .iter()
        .map(|s| s.as_str())
        .collect();
    let mut context = context! {
        user, page => "calls", calls => rows, next, filters, statuses, back_query,
        languages => d.languages(), paged => filter.before.is_some(),
        list, staff_statuses, max_bulk => super::queue::MAX_BULK_CALLS,
        windows => window_options(),
        bulk => bulk.map(|b| b.message(super::i18n::current())),
        masked_search => search.masked.is_some(), export_query,
        part_days => part_search_bounded(&pairs, &search).then_some(PART_SEARCH_DAYS),
        all_time => if list_query.is_empty() {
            "/calls?within=all".to_owned()
        } else {
            format!("/calls?{list_query}&within=all")
        },
    };
    // The calls in progress update themselves while the list is open.
    if filter.status == Some(CallStatus::InProgress) {
        let live = d.admin.live_calls().await?;
        context = context! {
            live_src => "/live/calls", live_version => live.signature.to_string(), ..context
        };
    }
    d.render("calls.html", context)
}

/// A call's records of one kind.
#[derive(Debug, Serialize)]
struct RecordGroup {
    kind: KindView,
    records: Vec<RecordSummary>,
}

/// An outbox row as the call page shows it.
#[derive(Serialize)]
struct OutboxView {
    kind: String,
    label: String,
    status: String,
    attempts: i64,
    last_error: Option<String>,
    sent_at: Option<i64>,
    created_at: i64,
}

impl From<liza_store::outbox::OutboxEntry> for OutboxView {
    fn from(e: liza_store::outbox::OutboxEntry) -> Self {
        Self {
            kind: e.kind,
            label: e.label,
            status: e.status,
            attempts: e.attempts,
            last_error: e.last_error,
            sent_at: e.sent_at,
            created_at: e.created_at,
        }
    }
}

/// `GET /calls/<id>`: the call, its timeline, its records by kind, its texts and events, its
/// audit history.
#[handler]
pub async fn call_page(
    SignedIn { d, user }: SignedIn<'_>,
    Path(id_text): Path<String>,
    req: &Request,
) -> Page {
    let id = id(&id_text)?;
    // Read first: a turn that lands while the page is read makes the page newer than its
    // version, never older (the live view then fetches it once more, rather than missing it).
    let progress = d.admin.call_progress(id).await?;
    let call = d.admin.call(id).await?.ok_or(PageError::NotFound)?;
    let timeline = super::timeline::steps(d, &call, d.admin.call_timeline(id).await?);
    let mut records = d.admin.call_records(id).await?;
    let recordings = d.admin.call_recordings(id).await?;
    let audit = d.admin.audit_log(Subject::Call(id)).await?;
    // Its texts and events: what and how they went, never a text's number or body.
    let outbox = match &d.outbox {
        Some(outbox) => outbox.for_call(id).await?,
        None => Vec::new(),
    };
    let outbox: Vec<OutboxView> = outbox.into_iter().map(OutboxView::from).collect();
    // Every declared kind, then any a flow no longer declares (named as stored).
    let mut groups: Vec<RecordGroup> = d
        .record_kinds()
        .into_iter()
        .map(|kind| RecordGroup {
            kind,
            records: Vec::new(),
        })
        .collect();
    for record in records.drain(..) {
        let index = match groups.iter().position(|g| g.kind.name == record.kind) {
            Some(index) => index,
            None => {
                groups.push(RecordGroup {
                    kind: KindView {
                        name: record.kind.clone(),
                        title: record.kind.clone(),
                        one: record.kind.clone(),
                        key_label: "Key".to_owned(),
                        statuses: Vec::new(),
                    },
                    records: Vec::new(),
                });
                groups.len() - 1
            }
        };
        groups[index].records.push(record);
    }
    let statuses: Vec<&str> = CallStatus::SET_BY_STAFF
        .iter()
        .map(|s| s.as_str())
        .collect();
    let pairs = query_pairs(req);
    let back = back_to_list(param(&pairs, "back"));
    let saved = param(&pairs, "saved").map(str::to_owned);
    // A number kept in clear can be called back (`tel:`); a masked one cannot.
    let tel = (!call.summary.from_number.is_empty()
        && liza_core::privacy::PhoneNumber::parse(&call.summary.from_number, None).is_ok())
    .then(|| call.summary.from_number.clone());
    let lang = super::i18n::current();
    let consent = super::format::consent_line_in(&call, lang, |ms| {
        super::format::local_datetime(lang, d.zone(), ms)
    });
    let mut context = context! {
        user, page => "calls", consent_line => consent,
        caller => call.summary.caller(), call, timeline, record_groups => groups, audit,
        statuses, back, saved, tel, outbox, recordings,
    };
    // While the call runs, its page follows it (and stops once it has ended).
    if let Some(progress) = progress {
        if super::live::is_running(&progress, now_ms()) {
            context = context! {
                live_src => format!("/live/calls/{id}"),
                live_version => super::live::call_version(&progress),
                ..context
            };
        }
    }
    d.render("call.html", context)
}

/// Where "← Calls" leads: the list as the user left it (its filters and page), given as
/// `back`; only a `/calls` list address is taken (never another site: no open redirect).
pub(super) fn back_to_list(back: Option<&str>) -> String {
    match back {
        Some(back)
            if (back == "/calls" || back.starts_with("/calls?"))
                && !back.contains(['\\', '\r', '\n']) =>
        {
            back.to_owned()
        }
        _ => "/calls".to_owned(),
    }
}

/// A call page's address, keeping the list to go back to and saying what was saved.
fn call_address(id: i64, back: &str, saved: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("saved", saved);
    if back != "/calls" {
        query.append_pair("back", back);
    }
    format!("/calls/{id}?{}", query.finish())
}

/// A form that sets a status.
#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
    /// The list the call page was opened from (`/calls?…`), kept across the save.
    #[serde(default)]
    back: Option<String>,
}

/// `POST /calls/<id>/status` (form).
#[handler]
pub async fn call_status(
    SignedForm { d, user, form }: SignedForm<'_, StatusForm>,
    Path(id_text): Path<String>,
) -> Page {
    let id = id(&id_text)?;
    let status = staff_call_status(&form.status).map_err(|_| {
        PageError::BadRequest(match CallStatus::parse(&form.status) {
            Some(_) => Text::new("error-status-not-settable"),
            None => Text::new("error-unknown-status").arg("value", &form.status),
        })
    })?;
    let saved = match d
        .admin
        .set_call_status(id, status, &user.user_name, now_ms())
        .await?
    {
        Change::NotFound => return Err(PageError::NotFound),
        Change::Unchanged => "unchanged",
        Change::Changed { .. } => "status",
    };
    let back = back_to_list(form.back.as_deref());
    Ok(Redirect::see_other(call_address(id, &back, saved)).into_response())
}

/// A call status staff asked for, or why it cannot be given (dashboard and API alike).
pub fn staff_call_status(requested: &str) -> Result<CallStatus, String> {
    match CallStatus::parse(requested) {
        None => Err(unknown_call_status(requested)),
        Some(status) if !status.settable_by_staff() => Err(format!(
            "a call cannot be set to `{requested}`: only the call itself is in progress while it \
             runs; staff can set {}",
            settable_call_statuses()
        )),
        Some(status) => Ok(status),
    }
}

fn settable_call_statuses() -> String {
    CallStatus::SET_BY_STAFF
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The message for a call status that does not exist.
pub fn unknown_call_status(requested: &str) -> String {
    format!(
        "unknown call status `{requested}`; expected one of: {}",
        settable_call_statuses()
    )
}

/// The message for a record status the flows do not declare for its kind.
pub fn unknown_record_status(kind: &KindView, requested: &str) -> String {
    format!(
        "unknown {} status `{requested}`; expected one of: {}",
        kind.name,
        kind.statuses.join(", ")
    )
}

/// The filter of `/records/<kind>` (and of its export) as the query string gives it.
pub(super) fn record_filter(
    d: &Dashboard,
    kind: &KindView,
    pairs: &[(String, String)],
    limit: i64,
) -> Result<RecordFilter, PageError> {
    let (since_ms, until_ms) = date_range(d, pairs)?;
    let filter = RecordFilter {
        kind: kind.name.clone(),
        status: param(pairs, "status").map(str::to_owned),
        key: param(pairs, "number").map(str::to_owned),
        since_ms,
        until_ms,
        before: cursor_param(pairs)?,
        limit,
    };
    Ok(filter)
}

/// `GET /records/<kind>`.
#[handler]
pub async fn records_page(
    SignedIn { d, user }: SignedIn<'_>,
    Path(kind): Path<String>,
    req: &Request,
) -> Page {
    let kind = d.record_kind(&kind)?;
    let pairs = query_pairs(req);
    let filter = record_filter(d, &kind, &pairs, PAGE_SIZE + 1)?;
    let export_query = export_query(&pairs);
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
        "records.html",
        context! {
            user, page => format!("records-{}", kind.name), kind, records => rows, next, filters,
            paged => filter.before.is_some(), export_query,
        },
    )
}

/// Calls per page of a record's call list.
const RECORD_CALLS_PAGE: i64 = 50;

/// `GET /records/<kind>/<id>[?page=N]`: the record, its history, and its calls 50 a page with
/// their total (an order may have thousands).
#[handler]
pub async fn record_page(
    SignedIn { d, user }: SignedIn<'_>,
    Path((kind, id_text)): Path<(String, String)>,
    req: &Request,
) -> Page {
    let kind = d.record_kind(&kind)?;
    let id = id(&id_text)?;
    let pairs = query_pairs(req);
    let page_number =
        match param(&pairs, "page") {
            None => 1,
            Some(v) => v.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                PageError::BadRequest(Text::new("error-not-a-page").arg("value", v))
            })?,
        };
    let record = d.record(&kind.name, id).await?.ok_or(PageError::NotFound)?;
    let total = d.admin.count_record_calls(id).await?;
    let pages = ((total + RECORD_CALLS_PAGE - 1) / RECORD_CALLS_PAGE).max(1);
    if page_number > pages {
        return Err(PageError::BadRequest(
            Text::new("error-page-beyond")
                .arg("value", page_number.to_string())
                .arg("pages", pages.to_string()),
        ));
    }
    let calls = d
        .admin
        .record_calls(id, RECORD_CALLS_PAGE, (page_number - 1) * RECORD_CALLS_PAGE)
        .await?;
    let audit = d.admin.audit_log(Subject::Record(id)).await?;
    let first_shown = (page_number - 1) * RECORD_CALLS_PAGE + 1;
    let last_shown = first_shown + calls.len() as i64 - 1;
    d.render(
        "record.html",
        context! {
            user, page => format!("records-{}", kind.name), kind, record, calls, audit,
            total_calls => total, calls_page => page_number, calls_pages => pages,
            first_shown, last_shown,
        },
    )
}

/// `POST /records/<kind>/<id>/status` (form).
#[handler]
pub async fn record_status(
    SignedForm { d, user, form }: SignedForm<'_, StatusForm>,
    Path((kind, id_text)): Path<(String, String)>,
) -> Page {
    let kind = d.record_kind(&kind)?;
    let id = id(&id_text)?;
    if !kind.statuses.contains(&form.status) {
        return Err(PageError::BadRequest(
            Text::new("error-unknown-record-status")
                .arg("value", &form.status)
                .arg("kind", &kind.one)
                .arg("allowed", kind.statuses.join(", ")),
        ));
    }
    d.record(&kind.name, id).await?.ok_or(PageError::NotFound)?;
    match d
        .admin
        .set_record_status(id, &form.status, &user.user_name, now_ms())
        .await?
    {
        Change::NotFound => Err(PageError::NotFound),
        _ => Ok(Redirect::see_other(format!("/records/{}/{id}", kind.name)).into_response()),
    }
}

/// A form that replaces a record's notes.
#[derive(Debug, Deserialize)]
pub struct NotesForm {
    #[serde(default)]
    notes: String,
}

/// `POST /records/<kind>/<id>/notes` (form).
#[handler]
pub async fn record_notes(
    SignedForm { d, user, form }: SignedForm<'_, NotesForm>,
    Path((kind, id_text)): Path<(String, String)>,
) -> Page {
    let kind = d.record_kind(&kind)?;
    let id = id(&id_text)?;
    let notes = form.notes.replace("\r\n", "\n");
    let notes = notes.trim();
    if notes.chars().count() > MAX_NOTES_CHARS {
        return Err(PageError::BadRequest(
            Text::new("error-notes-too-long").arg("max", MAX_NOTES_CHARS.to_string()),
        ));
    }
    d.record(&kind.name, id).await?.ok_or(PageError::NotFound)?;
    match d
        .admin
        .set_record_notes(id, notes, &user.user_name, now_ms())
        .await?
    {
        Change::NotFound => Err(PageError::NotFound),
        _ => Ok(Redirect::see_other(format!("/records/{}/{id}", kind.name)).into_response()),
    }
}

/// Where a kind's records lived before `/records/<kind>`: `/<kind>s…` (and
/// `/api/<kind>s/<id>/status`). Sent on with their method kept (308), query included;
/// anything else is a page that does not exist.
#[handler]
pub async fn old_records_url(Board(d): Board<'_>, req: &Request) -> Page {
    let path = req.uri().path();
    let (api, rest) = match path.strip_prefix("/api/") {
        Some(rest) => ("/api", rest),
        None => ("", path.trim_start_matches('/')),
    };
    let (first, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let kind = first.strip_suffix('s').ok_or(PageError::NotFound)?;
    if !d.record_kinds().iter().any(|k| k.name == kind) {
        return Err(PageError::NotFound);
    }
    let mut target = format!("{api}/records/{kind}");
    if !tail.is_empty() {
        target = format!("{target}/{tail}");
    }
    if let Some(query) = req.uri().query() {
        target = format!("{target}?{query}");
    }
    Ok(Response::builder()
        .status(StatusCode::PERMANENT_REDIRECT)
        .header("location", target)
        .finish())
}

/// `GET /stats`: charts and tables over a chosen period of local days (`?days=7|30|90|365`,
/// or `?from=&to=`); a period the page cannot show gets the form again with a message.
#[handler]
pub async fn stats_page(SignedIn { d, user }: SignedIn<'_>, req: &Request) -> Page {
    let zone = d.zone();
    let today = zone.day_of(now_ms());
    let pairs = query_pairs(req);
    let (from, to) = (param(&pairs, "from"), param(&pairs, "to"));
    let period = match stats::Period::parse(param(&pairs, "days"), from, to, today) {
        Ok(period) => period,
        Err(text) => {
            let mut page = d.render(
                "stats.html",
                context! {
                    user, page => "stats", stats => None::<()>, top => Vec::<()>::new(),
                    presets => stats::PRESETS, max_days => stats::MAX_SPAN_DAYS,
                    error => text.in_lang(super::i18n::current()),
                    from => from.unwrap_or_default(), to => to.unwrap_or_default(),
                },
            )?;
            page.set_status(StatusCode::BAD_REQUEST);
            return Ok(page);
        }
    };
    let days: Vec<_> = (period.first..=period.last)
        .map(|day| zone.span(day))
        .collect();
    let hour_of = |ms: i64| zone.hour_of(ms);
    let counted = d
        .admin
        .stats(&LocalDays {
            zone: zone.name(),
            days: &days,
            hour_of: &hour_of,
        })
        .await?;
    let (top_first, top_last) = period.top_days();
    let (since, until) = (zone.day_start(top_first), zone.day_start(top_last + 1));
    let mut top = Vec::new();
    for kind in d.record_kinds() {
        let rows = d
            .admin
            .top_records_between(&kind.name, since, until, stats::TOP_LIMIT)
            .await?;
        top.push(context! { kind, rows });
    }
    let view = stats::StatsView::build(
        &period,
        &counted.buckets,
        &counted.hours,
        super::i18n::current(),
    );
    d.render(
        "stats.html",
        context! {
            user, page => "stats", stats => view, top, error => None::<()>,
            top_days => stats::TOP_DAYS, presets => stats::PRESETS, max_days => stats::MAX_SPAN_DAYS,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
