//! Exports of a list as it is filtered: `/calls/export.csv` and `.json`, the same for
//! `/records/<kind>`. Every page of the filter, not only the one on screen.
//!
//! Streamed: rows are read in keyset pages of [`CHUNK_ROWS`] (the list's own order and cursor)
//! and each page is written to the answer's body before the next is read, so a million rows
//! take the memory of one page. At most [`MAX_EXPORTS`] run at once per server (each holds a
//! database connection while it reads); one more is answered 429.
//!
//! Numbers are masked as the lists mask them. Full numbers only with `full=1` sent with the
//! session's CSRF token (the list's form posts it), and each such export is audited first
//! (who, what, the filter with the number masked, how many rows) — nothing is sent when the
//! audit entry cannot be written. A caller who did not consent has no number kept in clear:
//! their full number is their masked one.
//!
//! CSV: a header row, RFC 4180 quoting, times in ISO 8601 with the dashboard zone's offset,
//! and a text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return prefixed with
//! `'`, so a spreadsheet shows it instead of running it as a formula. JSON: JSON lines, one
//! object per row (`application/x-ndjson`), the same fields.

use std::sync::Arc;

use futures_util::stream::{self, Stream};
use poem::http::{Method, StatusCode};
use poem::{handler, Body, Request, Response};
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::{error, info};

use super::extract::SignedIn;
use super::pages::{call_filter, record_filter, Page};
use super::{
    check_csrf, field, query_pairs, read_form, Dashboard, KindView, PageError, Text, Zone,
};
use liza_store::admin::{AdminStore, CallFilter, CallSummary, Cursor, RecordFilter, RecordSummary};
use liza_store::now_ms;

/// Exports that may run at once on one server.
pub const MAX_EXPORTS: usize = 2;
/// Rows read from the database at a time.
pub const CHUNK_ROWS: i64 = 1000;

/// What an export is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    /// JSON lines: one object per row.
    Json,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Json => "jsonl",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Json => "application/x-ndjson; charset=utf-8",
        }
    }
}

/// `GET|POST /calls/export.csv`.
#[handler]
pub async fn calls_csv(signed: SignedIn<'_>, req: &Request, body: Body) -> Page {
    export_calls(signed, req, body, Format::Csv).await
}

/// `GET|POST /calls/export.json`.
#[handler]
pub async fn calls_json(signed: SignedIn<'_>, req: &Request, body: Body) -> Page {
    export_calls(signed, req, body, Format::Json).await
}

/// `GET|POST /records/<kind>/export.csv`.
#[handler]
pub async fn records_csv(
    signed: SignedIn<'_>,
    poem::web::Path(kind): poem::web::Path<String>,
    req: &Request,
    body: Body,
) -> Page {
    export_records(signed, &kind, req, body, Format::Csv).await
}

/// `GET|POST /records/<kind>/export.json`.
#[handler]
pub async fn records_json(
    signed: SignedIn<'_>,
    poem::web::Path(kind): poem::web::Path<String>,
    req: &Request,
    body: Body,
) -> Page {
    export_records(signed, &kind, req, body, Format::Json).await
}

/// The list's filter as the export's query gives it: without its page (`before`) and without
/// what is not a filter.
fn filter_pairs(req: &Request) -> Vec<(String, String)> {
    let mut pairs = query_pairs(req);
    pairs.retain(|(k, v)| {
        !matches!(k.as_str(), "before" | "bulk" | "full" | "csrf" | "lang") && !v.trim().is_empty()
    });
    pairs
}

/// The filter as the audit log keeps it, for people to read (`status=problem; number=+49 151
/// ••• ••78`): a typed number only masked.
fn audited_filter(pairs: &[(String, String)]) -> String {
    let shown: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            let v = v.trim();
            if k == "number" {
                format!("{k}={}", super::mask_phone(v))
            } else {
                format!("{k}={v}")
            }
        })
        .collect();
    if shown.is_empty() {
        "(no filter)".to_owned()
    } else {
        shown.join("; ")
    }
}

/// Whether full numbers were asked for, with the session's CSRF token: a POST (the list's
/// form) is checked whatever it asks; a GET only when it asks for full numbers.
async fn wants_full(req: &Request, body: Body, csrf_token: &str) -> Result<bool, PageError> {
    let sent = if req.method() == Method::POST {
        let form = read_form(body).await?;
        check_csrf(&form, csrf_token)?;
        form
    } else {
        query_pairs(req)
    };
    let full = field(&sent, "full").is_some_and(|v| v.trim() == "1");
    if full {
        check_csrf(&sent, csrf_token)?;
    }
    Ok(full)
}

/// A place among the server's exports (`d.exports`), or the page that says to wait.
fn slot(exports: &Arc<Semaphore>) -> Result<OwnedSemaphorePermit, PageError> {
    exports.clone().try_acquire_owned().map_err(|_| {
        PageError::Busy(Text::new("error-exports-busy").arg("max", MAX_EXPORTS.to_string()))
    })
}

async fn export_calls(
    SignedIn { d, user }: SignedIn<'_>,
    req: &Request,
    body: Body,
    format: Format,
) -> Page {
    let full = wants_full(req, body, &user.csrf_token).await?;
    let pairs = filter_pairs(req);
    let (filter, _) = call_filter(d, &pairs, CHUNK_ROWS)?;
    let permit = slot(&d.exports)?;
    let export = Export {
        what: "calls".to_owned(),
        name: "calls".to_owned(),
        source: Source::Calls(filter),
        format,
        full,
    };
    export.start(d, &user.user_name, &pairs, permit).await
}

async fn export_records(
    SignedIn { d, user }: SignedIn<'_>,
    kind: &str,
    req: &Request,
    body: Body,
    format: Format,
) -> Page {
    let kind: KindView = d.record_kind(kind)?;
    let full = wants_full(req, body, &user.csrf_token).await?;
    let pairs = filter_pairs(req);
    let filter = record_filter(d, &kind, &pairs, CHUNK_ROWS)?;
    let permit = slot(&d.exports)?;
    let export = Export {
        what: format!("records:{}", kind.name),
        name: kind.name.clone(),
        source: Source::Records(filter),
        format,
        full,
    };
    export.start(d, &user.user_name, &pairs, permit).await
}

/// An export about to start: what it holds and how it is written.
struct Export {
    /// For the audit log and the log (`calls`, `records:order`).
    what: String,
    /// For the file's name.
    name: String,
    source: Source,
    format: Format,
    full: bool,
}

impl Export {
    /// Audits an export with full numbers (before anything is sent), then streams it.
    async fn start(
        self,
        d: &Dashboard,
        user: &str,
        pairs: &[(String, String)],
        permit: OwnedSemaphorePermit,
    ) -> Page {
        let Self {
            what,
            name,
            source,
            format,
            full,
        } = self;
        if full {
            let rows = match &source {
                Source::Calls(filter) => d.admin.count_calls(filter).await?,
                Source::Records(filter) => d.admin.count_records(filter).await?,
            };
            audit_full(d, user, &what, pairs, rows).await?;
        }
        info!(user, what, full, "Export started.");
        let rows = Rows {
            admin: d.admin.clone(),
            source,
            zone: d.zone().clone(),
            format,
            full,
            header: format == Format::Csv,
            done: false,
            _permit: permit,
        };
        Ok(download(d, format, &name, rows))
    }
}

/// The audit entry of an export with full numbers, written before anything is sent.
async fn audit_full(
    d: &Dashboard,
    user: &str,
    what: &str,
    pairs: &[(String, String)],
    rows: i64,
) -> Result<(), PageError> {
    let note = format!("full numbers, rows: {rows}");
    d.admin
        .audit_export(user, what, &audited_filter(pairs), &note, now_ms())
        .await?;
    Ok(())
}

/// The answer: a download named after what it holds and the local day.
fn download(d: &Dashboard, format: Format, name: &str, rows: Rows) -> Response {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let day = super::format_day(d.zone().day_of(now_ms()));
    let filename = format!("liza-{name}-{day}.{}", format.extension());
    Response::builder()
        .status(StatusCode::OK)
        .content_type(format.content_type())
        .header("cache-control", "no-store")
        .header(
            "content-disposition",
            format!("attachment; filename=\"{filename}\""),
        )
        .body(Body::from_bytes_stream(rows.into_stream()))
}

/// What is exported, with the cursor of the next page in its filter.
enum Source {
    Calls(CallFilter),
    Records(RecordFilter),
}

/// An export under way: the next page to read and how to write it.
struct Rows {
    admin: Arc<dyn AdminStore>,
    source: Source,
    zone: Zone,
    format: Format,
    full: bool,
    /// The CSV header is still to be written.
    header: bool,
    done: bool,
    /// Held until the body is dropped: finished, failed, or the client went away.
    _permit: OwnedSemaphorePermit,
}

impl Rows {
    fn into_stream(self) -> impl Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
        stream::unfold(self, |mut rows| async move {
            if rows.done {
                return None;
            }
            match rows.next_chunk().await {
                Ok(Some(bytes)) => Some((Ok(bytes), rows)),
                Ok(None) => None,
                Err(e) => {
                    // The body ends in an error, so the client sees a broken download rather
                    // than a short file that looks whole.
                    error!(error = %e, "Export failed.");
                    rows.done = true;
                    Some((Err(std::io::Error::other("the export failed")), rows))
                }
            }
        })
    }

    /// The next piece of the body: the header, or one page of rows; `None` at the end.
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, liza_store::StoreError> {
        let mut out = Vec::with_capacity(64 * 1024);
        if self.header {
            self.header = false;
            let columns = match self.source {
                Source::Calls(_) => CALL_COLUMNS,
                Source::Records(_) => RECORD_COLUMNS,
            };
            csv_row(&mut out, columns.iter().map(|c| Cell::Text(c)));
            return Ok(Some(out));
        }
        let count = match &mut self.source {
            Source::Calls(filter) => {
                let page = self.admin.list_calls(filter).await?;
                for call in &page {
                    let row = CallRow::new(call, &self.zone, self.full);
                    row.write(self.format, &mut out);
                }
                if let Some(last) = page.last() {
                    filter.before = Some(Cursor {
                        at_ms: last.started_at,
                        id: last.id,
                    });
                }
                page.len()
            }
            Source::Records(filter) => {
                let page = self.admin.list_records(filter).await?;
                for record in &page {
                    RecordRow::new(record, &self.zone, self.full).write(self.format, &mut out);
                }
                if let Some(last) = page.last() {
                    filter.before = Some(Cursor {
                        at_ms: last.created_at,
                        id: last.id,
                    });
                }
                page.len()
            }
        };
        if (count as i64) < CHUNK_ROWS {
            self.done = true;
        }
        Ok((count > 0).then_some(out))
    }
}

/// A cell of a CSV row.
enum Cell<'a> {
    Text(&'a str),
    Int(i64),
    Empty,
}

impl<'a> From<Option<&'a str>> for Cell<'a> {
    fn from(value: Option<&'a str>) -> Self {
        value.map_or(Cell::Empty, Cell::Text)
    }
}

impl From<Option<i64>> for Cell<'_> {
    fn from(value: Option<i64>) -> Self {
        value.map_or(Cell::Empty, Cell::Int)
    }
}

/// Writes one CSV row (CRLF-terminated, RFC 4180).
fn csv_row<'a>(out: &mut Vec<u8>, cells: impl IntoIterator<Item = Cell<'a>>) {
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match cell {
            Cell::Empty => {}
            Cell::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Cell::Text(text) => csv_text(out, text),
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// A text cell: defused against formula injection, quoted when it holds a comma, a quote, a
/// line break or the defusing quote itself.
fn csv_text(out: &mut Vec<u8>, text: &str) {
    let formula = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = formula || text.contains([',', '"', '\n', '\r']);
    if quote {
        out.push(b'"');
    }
    if formula {
        out.push(b'\'');
    }
    for byte in text.bytes() {
        if byte == b'"' {
            out.push(b'"');
        }
        out.push(byte);
    }
    if quote {
        out.push(b'"');
    }
}

/// The caller as an export shows them: the number kept in clear when full numbers were asked
/// for, else masked as the lists mask it (a caller who did not consent has only the mask).
fn caller(number: &str, masked: Option<&str>, full: bool) -> String {
    match (number, masked) {
        ("", masked) => masked.unwrap_or_default().to_owned(),
        (number, _) if full => number.to_owned(),
        (number, _) => super::mask_phone(number),
    }
}

/// The columns of a calls export, in order.
const CALL_COLUMNS: &[&str] = &[
    "id",
    "started_at",
    "caller",
    "language",
    "status",
    "consent",
    "duration_secs",
    "call_sid",
    "records",
];

/// One call as an export writes it.
#[derive(Serialize)]
struct CallRow<'a> {
    id: i64,
    started_at: String,
    caller: String,
    language: Option<&'a str>,
    status: &'a str,
    consent: Option<&'a str>,
    duration_secs: Option<i64>,
    call_sid: &'a str,
    /// The records the call saved or asked for.
    records: Vec<RecordKey<'a>>,
}

/// A record as a call's row names it: `{"kind": "order", "key": "12345"}`, in CSV
/// `order:12345` (several separated by spaces).
#[derive(Serialize)]
struct RecordKey<'a> {
    kind: &'a str,
    key: &'a str,
}

impl<'a> CallRow<'a> {
    fn new(call: &'a CallSummary, zone: &Zone, full: bool) -> Self {
        let caller = caller(&call.from_number, call.caller_masked.as_deref(), full);
        Self {
            id: call.id,
            started_at: zone.iso(call.started_at),
            caller,
            language: call.language.as_deref(),
            status: &call.status,
            consent: call.consent.as_deref(),
            duration_secs: call.duration_secs,
            call_sid: &call.call_sid,
            records: call
                .records
                .iter()
                .map(|r| RecordKey {
                    kind: &r.kind,
                    key: &r.key,
                })
                .collect(),
        }
    }

    fn write(&self, format: Format, out: &mut Vec<u8>) {
        match format {
            Format::Json => json_line(out, self),
            Format::Csv => csv_row(
                out,
                [
                    Cell::Int(self.id),
                    Cell::Text(&self.started_at),
                    Cell::Text(&self.caller),
                    self.language.into(),
                    Cell::Text(self.status),
                    self.consent.into(),
                    self.duration_secs.into(),
                    Cell::Text(self.call_sid),
                    Cell::Text(
                        &self
                            .records
                            .iter()
                            .map(|r| format!("{}:{}", r.kind, r.key))
                            .collect::<Vec<_>>()
                            .join(" "),
                    ),
                ],
            ),
        }
    }
}

/// The columns of a records export, in order.
const RECORD_COLUMNS: &[&str] = &[
    "id",
    "kind",
    "key",
    "status",
    "caller",
    "calls",
    "created_at",
    "updated_at",
    "notes",
];

/// One record as an export writes it.
#[derive(Serialize)]
struct RecordRow<'a> {
    id: i64,
    kind: &'a str,
    key: &'a str,
    status: &'a str,
    /// The caller of the call that saved it, masked unless full numbers were asked for.
    caller: String,
    /// How many calls saved or asked for it.
    calls: Option<i64>,
    created_at: String,
    updated_at: String,
    notes: &'a str,
}

impl<'a> RecordRow<'a> {
    fn new(record: &'a RecordSummary, zone: &Zone, full: bool) -> Self {
        Self {
            id: record.id,
            kind: &record.kind,
            key: &record.key,
            status: &record.status,
            caller: caller(
                record.caller_number.as_deref().unwrap_or(""),
                record.caller_masked.as_deref(),
                full,
            ),
            calls: record.calls,
            created_at: zone.iso(record.created_at),
            updated_at: zone.iso(record.updated_at),
            notes: &record.notes,
        }
    }

    fn write(&self, format: Format, out: &mut Vec<u8>) {
        match format {
            Format::Json => json_line(out, self),
            Format::Csv => csv_row(
                out,
                [
                    Cell::Int(self.id),
                    Cell::Text(self.kind),
                    Cell::Text(self.key),
                    Cell::Text(self.status),
                    Cell::Text(&self.caller),
                    self.calls.into(),
                    Cell::Text(&self.created_at),
                    Cell::Text(&self.updated_at),
                    Cell::Text(self.notes),
                ],
            ),
        }
    }
}

fn json_line(out: &mut Vec<u8>, row: &impl Serialize) {
    // Plain data: serialising it cannot fail.
    if serde_json::to_writer(&mut *out, row).is_ok() {
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: Vec<Cell<'_>>) -> String {
        let mut out = Vec::new();
        csv_row(&mut out, cells);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn cells_are_quoted_when_they_must_be() {
        assert_eq!(
            row(vec![
                Cell::Int(7),
                Cell::Text("plain"),
                Cell::Text("a, b"),
                Cell::Text("say \"hi\""),
                Cell::Text("two\nlines"),
                Cell::Empty,
            ]),
            "7,plain,\"a, b\",\"say \"\"hi\"\"\",\"two\nlines\",\r\n"
        );
    }

    #[test]
    fn formulas_are_defused() {
        for (text, written) in [
            ("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\"\r\n"),
            ("+49 151 ••• ••90", "\"'+49 151 ••• ••90\"\r\n"),
            ("-1", "\"'-1\"\r\n"),
            ("@SUM(A1)", "\"'@SUM(A1)\"\r\n"),
            ("\tx", "\"'\tx\"\r\n"),
            ("a=b", "a=b\r\n"),
            ("it's", "it's\r\n"),
        ] {
            assert_eq!(row(vec![Cell::Text(text)]), written, "{text}");
        }
        // A number is a number, never defused.
        assert_eq!(row(vec![Cell::Int(-3)]), "-3\r\n");
    }

    #[test]
    fn an_export_beyond_the_limit_is_told_to_wait_until_one_ends() {
        use poem::error::ResponseError;
        let exports = Arc::new(Semaphore::new(MAX_EXPORTS));
        let running: Vec<_> = (0..MAX_EXPORTS).map(|_| slot(&exports).unwrap()).collect();
        let busy = slot(&exports).unwrap_err();
        let response = busy.as_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], "30");
        drop(running);
        assert!(
            slot(&exports).is_ok(),
            "a slot is free again once an export ends"
        );
    }

    #[test]
    fn the_audited_filter_masks_the_number() {
        let pairs = vec![
            ("status".to_owned(), "problem".to_owned()),
            ("number".to_owned(), "+4915112345678".to_owned()),
        ];
        let audited = audited_filter(&pairs);
        assert!(!audited.contains("12345678"), "{audited}");
        assert_eq!(audited, "status=problem; number=+49 151 ••• ••78");
        assert_eq!(audited_filter(&[]), "(no filter)");
    }
}
