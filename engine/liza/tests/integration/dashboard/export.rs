//! Exports of the lists (`/calls/export.csv`, `.json`, the same for `/records/<kind>`): every
//! row the filter finds (all pages), masked unless full numbers are asked for with the
//! session's CSRF token (then audited), CSV safe from formulas. On SQLite, and on PostgreSQL
//! with LIZA_TEST_BACKEND=postgres.

use reqwest::StatusCode;

use super::{location, spawn_app, Session, TestApp};

/// The fields of a CSV text (RFC 4180: quoted fields may hold commas, quotes, line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && row.is_empty(),
        "the CSV ends with a line break"
    );
    rows
}

/// A downloaded export: its answer's headers and its text.
struct Download {
    status: StatusCode,
    content_type: String,
    disposition: String,
    text: String,
}

impl TestApp {
    async fn download(&self, response: reqwest::Response) -> Download {
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let (content_type, disposition) = (header("content-type"), header("content-disposition"));
        let status = response.status();
        Download {
            status,
            content_type,
            disposition,
            text: response.text().await.unwrap(),
        }
    }

    async fn export_get(&self, session: &Session, path: &str) -> Download {
        let response = self.get(&session.cookie, path).await;
        self.download(response).await
    }

    async fn export_post(&self, session: &Session, path: &str, form: &[(&str, &str)]) -> Download {
        let response = self.post_form(session, path, form).await;
        self.download(response).await
    }

    /// The ids of the calls the list shows for `query`, over every page (following its links).
    async fn listed_call_ids(&self, session: &Session, query: &str) -> Vec<i64> {
        let mut ids = Vec::new();
        let mut path = format!("/calls{query}");
        loop {
            let page = self.page(session, &path).await;
            for (i, _) in page.match_indices(r#"name="id" value=""#) {
                let start = i + r#"name="id" value=""#.len();
                let end = start + page[start..].find('"').unwrap();
                ids.push(page[start..end].parse().unwrap());
            }
            let Some(at) = page.find(r#"rel="next""#) else {
                break;
            };
            let href = page[..at].rfind("href=\"/calls?").unwrap() + 6;
            path = page[href..href + page[href..].find('"').unwrap()].replace("&amp;", "&");
        }
        ids
    }
}

fn ids_of(rows: &[Vec<String>]) -> Vec<i64> {
    rows.iter().map(|r| r[0].parse().unwrap()).collect()
}

#[tokio::test]
async fn a_calls_export_holds_every_row_of_the_filter_masked() {
    let app = spawn_app().await;
    // More than one chunk of 1,000 rows: the export pages through the database.
    app.seed(1100).await;
    app.place_call("CAexport1", "+4915112345678", &["1", "12345", "1"])
        .await;
    let session = app.login().await;

    // Everything: as many rows as the table holds, in the list's order, over all its pages.
    let all = app.export_get(&session, "/calls/export.csv").await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(all.content_type, "text/csv; charset=utf-8");
    assert!(
        all.disposition
            .starts_with("attachment; filename=\"liza-calls-20")
            && all.disposition.ends_with(".csv\""),
        "{}",
        all.disposition
    );
    let rows = parse_csv(&all.text);
    assert_eq!(
        rows[0],
        [
            "id",
            "started_at",
            "caller",
            "language",
            "status",
            "consent",
            "duration_secs",
            "call_sid",
            "records"
        ]
    );
    let count = app.scalar_i64("SELECT COUNT(*) FROM calls").await;
    assert!(count > 1000, "{count}");
    assert_eq!(rows.len() as i64 - 1, count);
    assert_eq!(ids_of(&rows[1..]), app.listed_call_ids(&session, "").await);

    // A filter: the same rows as the filtered list, as many as SQL counts.
    let query = "?status=completed&consent=given";
    let filtered = app
        .export_get(&session, &format!("/calls/export.csv{query}"))
        .await;
    let rows = parse_csv(&filtered.text);
    let count = app
        .scalar_i64("SELECT COUNT(*) FROM calls WHERE status = 'completed' AND consent = 'given'")
        .await;
    assert!(count > 50, "more than one page: {count}");
    assert_eq!(rows.len() as i64 - 1, count);
    assert_eq!(
        ids_of(&rows[1..]),
        app.listed_call_ids(&session, query).await
    );
    assert!(rows[1..]
        .iter()
        .all(|r| r[4] == "completed" && r[5] == "given"));
    // Times in the dashboard's zone with its offset (Berlin: +01:00 or +02:00).
    for row in &rows[1..] {
        let at = &row[1];
        assert_eq!(at.len(), 25, "{at}");
        assert_eq!(&at[10..11], "T", "{at}");
        assert!(at.ends_with("+01:00") || at.ends_with("+02:00"), "{at}");
    }

    // The placed call: its number masked as the list masks it (and defused for spreadsheets).
    let mine = app
        .export_get(&session, "/calls/export.csv?number=%2B4915112345678")
        .await;
    let rows = parse_csv(&mine.text);
    assert_eq!(rows.len(), 2, "{}", mine.text);
    assert_eq!(rows[1][2], "'+49 151 ••• ••78");
    assert_eq!(rows[1][7], "CAexport1");
    assert_eq!(rows[1][8], "order:12345");
    assert!(!mine.text.contains("12345678"), "{}", mine.text);
    let all_text = app.export_get(&session, "/calls/export.csv").await.text;
    assert!(!all_text.contains("+4915112345678"));

    // JSON lines: the same rows, one object each.
    let json = app
        .export_get(&session, &format!("/calls/export.json{query}"))
        .await;
    assert_eq!(json.status, StatusCode::OK);
    assert_eq!(json.content_type, "application/x-ndjson; charset=utf-8");
    assert!(
        json.disposition.contains(".jsonl\""),
        "{}",
        json.disposition
    );
    let objects: Vec<serde_json::Value> = json
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len() as i64, count);
    assert!(objects
        .iter()
        .all(|o| o["status"] == "completed" && o["consent"] == "given"));
    assert_eq!(
        objects
            .iter()
            .map(|o| o["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        app.listed_call_ids(&session, query).await
    );
    // Nothing was audited: no full numbers left the server.
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM audit_log WHERE subject_kind = 'export'")
            .await,
        0
    );
}

#[tokio::test]
async fn full_numbers_need_the_sessions_token_and_are_audited() {
    let app = spawn_app().await;
    app.seed(40).await;
    app.place_call("CAfull1", "+4915112345678", &["1", "12345", "1"])
        .await;
    let session = app.login().await;
    let path = "/calls/export.csv?number=%2B4915112345678";

    // Asked for by a link without the token, or by a form without it: refused.
    let refused = app.export_get(&session, &format!("{path}&full=1")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!refused.text.contains("+4915112345678"));
    let refused = app
        .export_post(&session, path, &[("full", "1"), ("csrf", "wrong")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM audit_log WHERE subject_kind = 'export'")
            .await,
        0
    );

    // The list's form (POST with the token) without the box ticked: masked, not audited.
    let masked = app
        .export_post(&session, path, &[("csrf", &session.csrf)])
        .await;
    assert_eq!(masked.status, StatusCode::OK);
    assert!(masked.text.contains("'+49 151 ••• ••78"), "{}", masked.text);

    // With the box ticked: the full number, and an audit entry saying who, what and how many.
    let full = app
        .export_post(&session, path, &[("csrf", &session.csrf), ("full", "1")])
        .await;
    assert_eq!(full.status, StatusCode::OK);
    let rows = parse_csv(&full.text);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][2], "'+4915112345678");
    assert_eq!(
        app.scalar_i64(
            "SELECT COUNT(*) FROM audit_log WHERE subject_kind = 'export' AND user_name = 'admin'
             AND field = 'calls' AND new_value = 'full numbers, rows: 1'
             AND old_value = 'number=+49 151 ••• ••78'"
        )
        .await,
        1
    );
    // The privacy page lists it.
    let privacy = app.page(&session, "/privacy").await;
    assert!(
        privacy.contains(r#"<td data-label="Filter">number=+49 151 ••• ••78</td>"#),
        "{privacy}"
    );
    assert!(privacy.contains("full numbers, rows: 1"));
    // The audit log keeps the filter, never the number.
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM audit_log WHERE old_value LIKE '%12345678%'")
            .await,
        0
    );

    // A link with the session's token (GET) works too, and is audited the same way.
    let json = app
        .export_get(
            &session,
            &format!(
                "/calls/export.json?status=completed&full=1&csrf={}",
                session.csrf
            ),
        )
        .await;
    assert_eq!(json.status, StatusCode::OK);
    let lines = json.text.lines().count() as i64;
    assert_eq!(
        lines,
        app.scalar_i64("SELECT COUNT(*) FROM calls WHERE status = 'completed'")
            .await
    );
    let note = format!("full numbers, rows: {lines}");
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE subject_kind = 'export'
             AND old_value = 'status=completed' AND new_value = '{note}'"
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn a_records_export_defuses_formulas_and_keeps_its_filter() {
    let app = spawn_app().await;
    app.seed(60).await;
    app.place_call("CAformula", "+4915112345678", &["1", "12345", "1"])
        .await;
    let session = app.login().await;
    let id = app
        .scalar_i64("SELECT id FROM records WHERE kind = 'order' AND key = '12345'")
        .await;
    let saved = app
        .post_form(
            &session,
            &format!("/records/order/{id}/notes"),
            &[
                ("csrf", session.csrf.as_str()),
                ("notes", "=HYPERLINK(\"http://evil.example\",\"click\")"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);

    let all = app.export_get(&session, "/records/order/export.csv").await;
    assert_eq!(all.status, StatusCode::OK);
    assert!(
        all.disposition.contains("filename=\"liza-order-"),
        "{}",
        all.disposition
    );
    let rows = parse_csv(&all.text);
    assert_eq!(
        rows[0],
        [
            "id",
            "kind",
            "key",
            "status",
            "caller",
            "calls",
            "created_at",
            "updated_at",
            "notes"
        ]
    );
    assert_eq!(
        rows.len() as i64 - 1,
        app.scalar_i64("SELECT COUNT(*) FROM records WHERE kind = 'order'")
            .await
    );
    let row = rows.iter().find(|r| r[2] == "12345").unwrap();
    // A spreadsheet shows the text; it does not run it.
    assert_eq!(row[8], "'=HYPERLINK(\"http://evil.example\",\"click\")");
    // Its caller masked, and its calls counted as SQL counts them.
    assert_eq!(row[4], "'+49 151 ••• ••78");
    assert_eq!(
        row[5].parse::<i64>().unwrap(),
        app.scalar_i64(&format!(
            "SELECT COUNT(*) FROM record_calls WHERE record_id = {id}"
        ))
        .await
    );
    assert!(all
        .text
        .contains("\"'=HYPERLINK(\"\"http://evil.example\"\""));

    // The list's filter: the same records as the list, as many as SQL counts.
    let shipped = app
        .export_get(&session, "/records/order/export.csv?number=12")
        .await;
    let rows = parse_csv(&shipped.text);
    assert_eq!(
        rows.len() as i64 - 1,
        app.scalar_i64("SELECT COUNT(*) FROM records WHERE kind = 'order' AND key LIKE '%12%'")
            .await
    );
    assert!(rows[1..].iter().all(|r| r[2].contains("12")));
    let json = app
        .export_get(&session, "/records/order/export.json?number=12345")
        .await;
    let object: serde_json::Value = serde_json::from_str(json.text.trim()).unwrap();
    assert_eq!(
        object["notes"],
        "=HYPERLINK(\"http://evil.example\",\"click\")"
    );
}

#[tokio::test]
async fn a_bad_filter_is_a_message_and_a_stranger_is_sent_to_the_login() {
    let app = spawn_app().await;
    let session = app.login().await;
    for (path, says) in [
        ("/calls/export.csv?status=lost", "There is no status “lost”"),
        ("/calls/export.json?from=31.12.2026", "is not a date"),
        (
            "/calls/export.csv?number=%2B49+1%E2%80%A2%E2%80%A2",
            "is not a masked number",
        ),
        ("/calls/export.csv?before=x", ""),
        ("/records/order/export.csv?from=yesterday", "is not a date"),
    ] {
        let answer = app.export_get(&session, path).await;
        if says.is_empty() {
            // An old page link is no filter: the export starts from the first row.
            assert_eq!(answer.status, StatusCode::OK, "{path}");
            continue;
        }
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(answer.text.contains(says), "{path}: {}", answer.text);
    }
    let unknown = app.export_get(&session, "/records/parcel/export.csv").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    for path in [
        "/calls/export.csv",
        "/calls/export.json?status=problem",
        "/records/order/export.csv",
        "/records/order/export.json",
    ] {
        let response = app.get("", path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "GET {path}");
        assert_eq!(location(&response), "/login", "GET {path}");
        let response = app
            .client
            .post(app.url(path))
            .form(&[("full", "1")])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&response), "/login", "POST {path}");
    }
}

#[tokio::test]
async fn the_lists_offer_the_export_of_their_filter() {
    let app = spawn_app().await;
    app.seed(20).await;
    let session = app.login().await;
    let calls = app
        .page(
            &session,
            "/calls?status=problem&before=1.2&bulk=processed.1.0.0",
        )
        .await;
    assert!(
        calls.contains(r#"action="/calls/export.csv?status=problem""#),
        "{calls}"
    );
    assert!(calls.contains(r#"formaction="/calls/export.json?status=problem""#));
    assert!(calls.contains(r#"name="full" value="1""#));
    let orders = app.page(&session, "/records/order?number=12").await;
    assert!(
        orders.contains(r#"action="/records/order/export.csv?number=12""#),
        "{orders}"
    );
}
