//! What a dashboard login writes to the log of a real `liza serve`: the name a client typed
//! is escaped, so it cannot forge a log line of its own.

use std::time::{Duration, Instant};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newline_in_a_login_name_cannot_forge_a_log_line() {
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let liza = AppOptions::default()
        .database(&db.url)
        .set("LIZA_ADMIN_PASSWORD", "admin-password-for-tests")
        .process();
    let base = format!("http://127.0.0.1:{}", liza.port);
    let client = reqwest::Client::new();
    let page = client.get(format!("{base}/login")).send().await.unwrap();
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("liza_login_csrf="))
        .and_then(|v| v.split(';').next())
        .expect("login CSRF cookie")
        .to_owned();
    let html = page.text().await.unwrap();
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).unwrap() + marker.len();
    let csrf = &html[start..start + html[start..].find('"').unwrap()];

    let forged = "2026-11-30T10:00:00.000000Z  INFO Signed in to the dashboard. user=admin";
    let name = format!("nobody\r\n{forged}\n\x1b[2J");
    let response = client
        .post(format!("{base}/login"))
        .header("cookie", cookie)
        .form(&[
            ("csrf", csrf),
            ("name", &name),
            ("password", "wrong-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    let started = Instant::now();
    while !liza.log().contains("Login failed.") {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no failed login in the log:\n{}",
            liza.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = liza.log();
    assert!(
        !log.lines()
            .any(|line| line.starts_with("2026-11-30T10:00:00")),
        "the name forged a log line:\n{log}"
    );
    assert!(
        !log.contains("\x1b[2J"),
        "a terminal escape reached the log"
    );
    let line = log.lines().find(|l| l.contains("Login failed.")).unwrap();
    assert!(
        line.contains(r#"user="nobody\r\n2026-11-30T10:00:00.000000Z  INFO Signed in"#),
        "{line}"
    );
}
