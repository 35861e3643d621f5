//! The records API the shop's system pushes through: `PUT`/`GET /api/records/{kind}/{key}`,
//! `POST /api/records/{kind}:import` (JSON lines, 10 MB) and `liza records import FILE.csv`,
//! with a bearer token of scope `records`; on SQLite and PostgreSQL (LIZA_TEST_BACKEND).

use std::process::Command;

use liza::store::now_ms;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{repo_root, run_with_stdin, AppOptions, TestApp};

/// A token of `admin` with `scope`.
async fn token(app: &TestApp, scope: &str) -> String {
    let admin = app.admin();
    let user = admin.user_by_name("admin").await.unwrap().unwrap();
    let token = liza::auth::new_token();
    let id = admin
        .create_api_token(
            &liza::auth::token_hash(&token),
            user.id,
            "shop",
            now_ms(),
            None,
        )
        .await
        .unwrap();
    if scope != "dashboard" {
        app.state
            .engine
            .store
            .records_api()
            .unwrap()
            .set_api_token_scope(id, scope)
            .await
            .unwrap();
    }
    token
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> (StatusCode, Value) {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn audit(app: &TestApp, key: &str) -> Vec<(String, String, Option<String>, Option<String>)> {
    sqlx::query_as(
        "SELECT a.user_name, a.field, a.old_value, a.new_value FROM audit_log a
         JOIN records r ON a.subject_kind = 'record' AND a.subject_id = r.id
         WHERE r.key = $1 ORDER BY a.id",
    )
    .bind(key)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_record_is_created_updated_and_read_idempotently_and_every_change_audited() {
    let app = AppOptions::dashboard().spawn().await;
    let token = token(&app, "records").await;
    let put = |body: &str| {
        send(
            &app,
            reqwest::Method::PUT,
            "/api/records/order/A-1001",
            Some(&token),
            Some(body.to_owned()),
        )
    };
    let (status, created) = put(r#"{"status":"processing","notes":"packed"}"#).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["written"], "created");
    assert_eq!(created["status"], "processing");
    let (status, again) = put(r#"{"status":"processing","notes":"packed"}"#).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        again["written"], "unchanged",
        "the same PUT changes nothing"
    );
    let (status, updated) = put(r#"{"status":"shipped"}"#).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&updated["written"], &updated["status"], &updated["notes"]),
        (
            &Value::from("updated"),
            &Value::from("shipped"),
            &Value::from("packed")
        )
    );
    let (status, read) = send(
        &app,
        reqwest::Method::GET,
        "/api/records/order/A-1001",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["status"], "shipped");
    assert_eq!(read["key"], "A-1001");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM records WHERE key = 'A-1001'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 1);
    let admin = |f: &str, old: Option<&str>, new: &str| {
        (
            "admin".to_owned(),
            f.to_owned(),
            old.map(str::to_owned),
            Some(new.to_owned()),
        )
    };
    assert_eq!(
        audit(&app, "A-1001").await,
        [
            admin("status", None, "processing"),
            admin("notes", None, "packed"),
            admin("status", Some("processing"), "shipped"),
        ]
    );
    let (status, missing) = send(
        &app,
        reqwest::Method::GET,
        "/api/records/order/A-9999",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
}

#[tokio::test]
async fn only_a_records_token_opens_the_records_api_and_only_the_records_api() {
    let app = AppOptions::dashboard().spawn().await;
    let records = token(&app, "records").await;
    let dashboard = token(&app, "dashboard").await;
    let body = Some(r#"{"status":"shipped"}"#.to_owned());
    let path = "/api/records/order/42";
    let (status, answer) = send(&app, reqwest::Method::PUT, path, None, body.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    let (status, _) = send(&app, reqwest::Method::PUT, path, Some("nope"), body.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, answer) = send(
        &app,
        reqwest::Method::PUT,
        path,
        Some(&dashboard),
        body.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("scope is `dashboard`"),
        "{answer}"
    );
    // The records token does not open the dashboard's API.
    let (status, _) = send(
        &app,
        reqwest::Method::POST,
        "/api/calls/1/status",
        Some(&records),
        Some(r#"{"status":"completed"}"#.into()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM records")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing written without the right token");
}

#[tokio::test]
async fn an_unknown_kind_is_404_and_a_bad_status_400_naming_the_allowed_ones() {
    let app = AppOptions::dashboard().spawn().await;
    let token = token(&app, "records").await;
    let (status, answer) = send(
        &app,
        reqwest::Method::PUT,
        "/api/records/parcel/1",
        Some(&token),
        Some(r#"{"status":"shipped"}"#.into()),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        answer["error"],
        "no record kind `parcel` (the flows declare: order)"
    );
    let (status, answer) = send(
        &app,
        reqwest::Method::PUT,
        "/api/records/order/1",
        Some(&token),
        Some(r#"{"status":"lost"}"#.into()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer["error"],
        "status `lost` is not one of order's statuses: received, processing, shipped, delivered, cancelled"
    );
    let (status, _) = send(
        &app,
        reqwest::Method::PUT,
        "/api/records/order/1",
        Some(&token),
        Some("not json".into()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_pushed_status_is_what_the_caller_hears() {
    let app = AppOptions::dashboard().spawn().await;
    let token = token(&app, "records").await;
    let (status, _) = send(
        &app,
        reqwest::Method::PUT,
        "/api/records/order/12345",
        Some(&token),
        Some(r#"{"status":"delivered"}"#.into()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut call = app.call("CApushed", "+4915112345678").await;
    call.press("1").await;
    call.press("12345").await;
    call.press("1").await;
    assert!(call.says("wurde zugestellt."), "{}", call.last.body);
}

#[tokio::test]
async fn ten_megabytes_of_json_lines_are_imported_and_more_is_refused() {
    let app = AppOptions::dashboard().spawn().await;
    let token = token(&app, "records").await;
    let notes = "n".repeat(980);
    let line = |i: usize| {
        format!("{{\"key\":\"K{i:06}\",\"status\":\"shipped\",\"notes\":\"{notes}\"}}\n")
    };
    let mut body = String::new();
    let mut lines = 0;
    while body.len() + line(lines).len() <= 10 * 1024 * 1024 {
        body.push_str(&line(lines));
        lines += 1;
    }
    let (status, answer) = send(
        &app,
        reqwest::Method::POST,
        "/api/records/order:import",
        Some(&token),
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["created"], lines as u64);
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM records WHERE status = 'shipped'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, lines as i64);
    // The same import again changes nothing: on the same kept-alive connection, whose reader
    // now reads large chunks (so much of the body arrives with the head).
    let again: Value = app
        .client
        .post(app.url("/api/records/order:import"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["unchanged"], lines as u64, "{again}");
    assert_eq!(again["created"], 0);

    // Over 10 MB: refused from its head, before a byte of the body is read (a client that
    // sends the body anyway finds the connection closed, so only the head is sent here).
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "POST /api/records/order:import HTTP/1.1\r\nHost: liza\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n",
        10 * 1024 * 1024 + 1
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 512];
    let n = stream.read(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

#[tokio::test]
async fn an_import_with_a_bad_line_writes_nothing_and_names_the_line() {
    let app = AppOptions::dashboard().spawn().await;
    let token = token(&app, "records").await;
    let body =
        "{\"key\":\"1\",\"status\":\"shipped\"}\n\n{\"key\":\"2\",\"status\":\"lost\"}\nnope\n";
    let (status, answer) = send(
        &app,
        reqwest::Method::POST,
        "/api/records/order:import",
        Some(&token),
        Some(body.into()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["lines"][0]["line"], 3);
    assert!(answer["lines"][0]["error"]
        .as_str()
        .unwrap()
        .contains("received, processing, shipped"));
    assert_eq!(answer["lines"][1]["line"], 4);
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM records")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

fn liza(app: &TestApp, args: &[&str]) -> std::process::Output {
    let root = repo_root();
    run_with_stdin(
        Command::new(env!("CARGO_BIN_EXE_liza"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &app.database_url)
            .env("LIZA_FLOWS", root.join("flows"))
            .env("LIZA_LOCALES", root.join("locales"))
            .env("RUST_LOG", "error")
            .env("NO_COLOR", "1")
            .current_dir(std::env::temp_dir()),
        "",
    )
}

#[tokio::test]
async fn records_come_from_a_csv_file_and_a_records_token_from_the_command_line() {
    let app = AppOptions::dashboard().spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("orders.csv");
    std::fs::write(
        &file,
        "key,status,notes\n1001,shipped,\"left the warehouse, on time\"\n1002,,\n",
    )
    .unwrap();
    let out = liza(&app, &["records", "import", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "2 order record(s) read: 2 created, 0 updated, 0 unchanged."
    );
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT key, status, notes FROM records ORDER BY key")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        rows,
        [
            (
                "1001".into(),
                "shipped".into(),
                "left the warehouse, on time".into()
            ),
            ("1002".into(), "received".into(), "".into()),
        ]
    );
    assert_eq!(audit(&app, "1001").await[0].0, "liza records import");

    std::fs::write(&file, "key,status\n1001,lost\n").unwrap();
    let wrong = liza(&app, &["records", "import", file.to_str().unwrap()]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&wrong.stderr)
            .contains("line 2: status `lost` is not one of: received, processing"),
        "{wrong:?}"
    );

    let made = liza(&app, &["admin", "add-token", "admin", "--scope", "records"]);
    assert!(made.status.success(), "{made:?}");
    let token = String::from_utf8_lossy(&made.stdout).trim().to_owned();
    let (status, record) = send(
        &app,
        reqwest::Method::GET,
        "/api/records/order/1001",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{record}");
    assert_eq!(record["status"], "shipped");
}
