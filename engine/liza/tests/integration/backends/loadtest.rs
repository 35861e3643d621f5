//! `liza loadtest` against a real server: whole calls, counted and timed, rows written.

use std::time::Duration;

use liza::loadtest::{self, LoadtestArgs};

use crate::both;
use crate::support::*;

/// Loadtest arguments for `calls` of Liza's whole call from [`CALLER`].
fn args(base: &str, calls: usize, concurrency: usize, think: Duration) -> LoadtestArgs {
    loadtest_args(base, calls, concurrency, think, CALLER)
}

/// Every call is played to the goodbye: 6 signed webhooks each, every one stored.
async fn loadtest_plays_whole_calls(db: &TestDb) {
    let app = spawn_app_on(&db.url).await;
    let report = loadtest::run(
        &args(&app.twilio.base, 24, 6, Duration::ZERO),
        Some(AUTH_TOKEN.into()),
    )
    .await
    .unwrap();
    assert_eq!(
        (report.completed, report.failed),
        (24, 0),
        "{:?}",
        report.first_errors
    );
    assert_eq!(report.requests, 24 * 6);
    assert_eq!(report.latency.len(), 24 * 6);
    // Every caller's requests, by webhook, in the one report.
    let by_webhook: Vec<(&str, u64)> = report
        .by_webhook
        .iter()
        .map(|(name, latency)| (name.as_str(), latency.len()))
        .collect();
    assert_eq!(
        by_webhook,
        [
            "consent",
            "help",
            "order",
            "order_confirm",
            "status",
            "voice"
        ]
        .map(|name| (name, 24))
    );
    assert_eq!(report.peak_live_calls, 6);
    assert_eq!(
        db.rows("SELECT status, CAST(COUNT(*) AS TEXT) FROM calls GROUP BY status")
            .await,
        vec![vec![Some("completed".to_owned()), Some("24".to_owned())]]
    );
    assert_eq!(
        db.value("SELECT CAST(COUNT(*) AS TEXT) FROM record_calls")
            .await
            .as_deref(),
        Some("24")
    );
    // Six callers at once: the writers' transactions held turns, record links and final status
    // callbacks of different calls together, and each was written. Every call's steps stay; its
    // replay data went with its final status callback.
    assert_eq!(
        db.rows(
            "SELECT CAST(COUNT(*) AS TEXT) FROM steps GROUP BY call_id
             EXCEPT SELECT CAST(COUNT(*) AS TEXT) FROM steps WHERE call_id = (SELECT MIN(id) FROM calls)"
        )
        .await,
        Vec::<Vec<Option<String>>>::new(),
        "every call has as many steps as the first"
    );
    assert_eq!(
        db.value("SELECT CAST(COUNT(DISTINCT call_id) AS TEXT) FROM steps")
            .await
            .as_deref(),
        Some("24")
    );
    assert_eq!(
        db.value("SELECT CAST(COUNT(*) AS TEXT) FROM replays")
            .await
            .as_deref(),
        Some("0")
    );
    app.stop().await;
}
both!(loadtest_plays_whole_calls);

/// A wrong auth token: every call fails on the 403, and the report says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loadtest_reports_failed_calls_and_their_errors() {
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let app = spawn_app_on(&db.url).await;
    let report = loadtest::run(
        &args(&app.twilio.base, 3, 2, Duration::ZERO),
        Some("not-the-token".into()),
    )
    .await
    .unwrap();
    assert_eq!((report.completed, report.failed), (0, 3));
    assert!(
        report.first_errors[0].contains("HTTP 403"),
        "{:?}",
        report.first_errors
    );
    app.stop().await;
}

/// With think time, callers wait between key presses (±50 %), so the calls overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn think_time_makes_calls_live_at_once() {
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let app = spawn_app_on(&db.url).await;
    let report = loadtest::run(
        &args(&app.twilio.base, 8, 8, Duration::from_millis(100)),
        Some(AUTH_TOKEN.into()),
    )
    .await
    .unwrap();
    assert_eq!((report.completed, report.failed), (8, 0));
    // The calls overlap (a run without think time at concurrency 1 would peak at 1); how many
    // exactly depends on the jittered start spread and the machine's load.
    assert!(
        (2..=8).contains(&report.peak_live_calls),
        "peak live calls {}",
        report.peak_live_calls
    );
    // Four key presses of at least 50 ms each.
    assert!(
        report.elapsed >= Duration::from_millis(200),
        "{:?}",
        report.elapsed
    );
    app.stop().await;
}

/// `--resolve` reaches a name that no resolver knows, as curl's does; a port other than the
/// URL's is refused before any call (the HTTP client would ignore it silently).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_pins_a_name_to_an_address() {
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let app = spawn_app_on(&db.url).await;
    let port = app.twilio.base.rsplit(':').next().unwrap().to_owned();
    let mut pinned = args(&format!("http://liza.invalid:{port}"), 2, 1, Duration::ZERO);
    pinned.resolve = vec![format!("liza.invalid:{port}:127.0.0.1")];
    let report = loadtest::run(&pinned, Some(AUTH_TOKEN.into()))
        .await
        .unwrap();
    assert_eq!(
        (report.completed, report.failed),
        (2, 0),
        "{:?}",
        report.first_errors
    );

    pinned.resolve = vec!["liza.invalid:1:127.0.0.1".into()];
    let error = loadtest::run(&pinned, Some(AUTH_TOKEN.into()))
        .await
        .unwrap_err();
    assert!(error.contains("is not --url's port"), "{error}");

    pinned.resolve.clear();
    pinned.ca_certs = vec!["/nonexistent/ca.pem".into()];
    let error = loadtest::run(&pinned, Some(AUTH_TOKEN.into()))
        .await
        .unwrap_err();
    assert!(
        error.starts_with("--ca-cert /nonexistent/ca.pem"),
        "{error}"
    );
    app.stop().await;
}
