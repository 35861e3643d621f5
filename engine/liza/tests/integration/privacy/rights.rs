//! A caller's data rights as a shop answers them (docs/privacy.md, "Export and erasure",
//! "Retention"): `liza privacy export/erase/purge`, the API, and the store behind both, on
//! the backend `LIZA_TEST_BACKEND` names. Erasure is checked the way the issue asks: dump
//! every table, every column as text, and search it.

use std::sync::Arc;

use liza::privacy::PrivacyKey;
use liza::store::admin::{AdminStore, DaySpan, LocalDays, Statistics, Subject, DAY_MS};
use liza::store::now_ms;
use liza::store::privacy::{Person, PersonalData};
use reqwest::StatusCode;
use sqlx::{AnyPool, Row};

use crate::support::app::ADMIN_PASSWORD;
use crate::support::{AppOptions, TestApp};

/// A call's sid, number, caller hash, masked number and state.
type StoredCaller = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The caller whose data is exported and erased, and another one whose data must stay.
const ALICE: &str = "+4915112345678";
const BOB: &str = "+4917098765432";
/// Alice's order number (long enough not to turn up inside a timestamp by chance).
const ALICE_ORDER: &str = "98765432109";
const BOB_ORDER: &str = "55667788";

/// The app with a dashboard user (for API tokens) and signed webhooks. Its own retention
/// task keeps everything, so only the purges a test runs change anything.
async fn spawn() -> (TestApp, Arc<dyn AdminStore>) {
    let app = AppOptions::default()
        .set("LIZA_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .set("LIZA_RETENTION_DAYS", "0")
        .spawn()
        .await;
    let admin = app.admin();
    (app, admin)
}

/// [`spawn`] sending events to an address that refuses them: the outbox keeps them pending,
/// each with the caller's number (in clear after consent), until an erasure deletes them.
async fn spawn_with_events() -> (TestApp, Arc<dyn AdminStore>) {
    let app = AppOptions::default()
        .set("LIZA_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .set("LIZA_RETENTION_DAYS", "0")
        .set("LIZA_EVENTS_URL", crate::support::shop::refused_url().await)
        .set("LIZA_EVENTS_SECRET", "events-secret-for-the-erasure-test")
        .set("LIZA_OUTBOX_BACKOFF", "600")
        .spawn()
        .await;
    let admin = app.admin();
    (app, admin)
}

/// A whole call: consent, an order, no more questions, Twilio's final callback.
async fn order_call(app: &TestApp, sid: &str, from: &str, order: &str) {
    let mut call = app.call(sid, from).await;
    call.press("1").await;
    call.press(order).await;
    call.press("1").await;
    assert!(call.says("ist bei uns eingegangen."), "{}", call.last.body);
    call.press("2").await;
    assert!(call.hung_up());
    call.completed("61").await;
}

fn key(app: &TestApp) -> &PrivacyKey {
    &app.state.engine.privacy
}

async fn export(app: &TestApp, admin: &dyn AdminStore, number: &str) -> PersonalData {
    let hash = key(app).caller_hash(number);
    admin
        .export_person(&Person {
            caller_hash: &hash,
            number,
        })
        .await
        .unwrap()
}

/// `liza ARGS` on the app's database with `env` set and `stdin` piped in (not a terminal):
/// exit code, stdout, stderr.
fn liza(app: &TestApp, args: &[&str], env: &[(&str, &str)], stdin: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_liza"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .current_dir(dir.path());
    for (name, value) in env {
        command.env(name, value);
    }
    let output = crate::support::run_with_stdin(&mut command, stdin);
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Every value of every column of every table, as text: (table, column, value).
async fn full_dump(db: &AnyPool, database_url: &str) -> Vec<(String, String, String)> {
    let sqlite = database_url.starts_with("sqlite");
    let tables: Vec<String> = if sqlite {
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
    } else {
        sqlx::query_scalar(
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = 'public'",
        )
    }
    .fetch_all(db)
    .await
    .unwrap();
    assert!(tables.iter().any(|t| t == "calls"), "{tables:?}");
    let mut dump = Vec::new();
    for table in tables {
        let columns: Vec<String> = if sqlite {
            sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .fetch_all(db)
                .await
                .unwrap()
        } else {
            sqlx::query_scalar(
                "SELECT CAST(column_name AS TEXT) FROM information_schema.columns
                 WHERE table_schema = 'public' AND table_name = $1",
            )
            .bind(&table)
            .fetch_all(db)
            .await
            .unwrap()
        };
        for column in columns {
            let value = if sqlite {
                format!(
                    r#"CASE WHEN typeof("{column}") = 'blob' THEN hex("{column}") ELSE CAST("{column}" AS TEXT) END"#
                )
            } else {
                format!(r#"CAST("{column}" AS TEXT)"#)
            };
            let rows = sqlx::query(&format!(r#"SELECT {value} FROM "{table}""#))
                .fetch_all(db)
                .await
                .unwrap();
            for row in rows {
                if let Some(text) = row.get::<Option<String>, _>(0) {
                    dump.push((table.clone(), column.clone(), text));
                }
            }
        }
    }
    dump
}

/// Where `needle` is in `dump`.
fn found<'a>(dump: &'a [(String, String, String)], needle: &str) -> Vec<(&'a str, &'a str)> {
    dump.iter()
        .filter(|(_, _, value)| value.contains(needle))
        .map(|(t, c, _)| (t.as_str(), c.as_str()))
        .collect()
}

/// Alice's number in every form it could be stored in.
fn number_forms(app: &TestApp) -> Vec<String> {
    vec![
        ALICE.to_owned(),
        ALICE.trim_start_matches('+').to_owned(),
        "015112345678".to_owned(),
        "+49 151 12345678".to_owned(),
        liza::privacy::mask(ALICE),
        key(app).caller_hash(ALICE),
    ]
}

#[tokio::test]
async fn an_export_holds_every_row_about_the_callers_calls_and_nothing_of_another_caller() {
    let (app, admin) = spawn().await;
    order_call(&app, "CAalice1", ALICE, ALICE_ORDER).await;
    order_call(&app, "CAbob1", BOB, BOB_ORDER).await;
    // A second call of Alice's, ended early; staff marked it a problem (an audit entry).
    let mut call = app.call("CAalice2", ALICE).await;
    call.press("1").await;
    call.completed("5").await;
    let alice2: i64 = app
        .scalar_i64("SELECT id FROM calls WHERE call_sid = 'CAalice2'")
        .await;
    admin
        .set_call_status(alice2, liza::model::CallStatus::Problem, "staff", now_ms())
        .await
        .unwrap();
    // The consent proof as the consent question leaves it (what Alice heard).
    sqlx::query(
        "UPDATE calls SET consent_asked_at = 1764590000000, consent_message = 'consent-question',
            consent_locale = 'de-DE', consent_text = 'Dürfen wir Ihre Angaben speichern?'
         WHERE call_sid = 'CAalice1'",
    )
    .execute(&app.db)
    .await
    .unwrap();

    let data = export(&app, admin.as_ref(), ALICE).await;
    let sids: Vec<&str> = data.calls.iter().map(|c| c.call_sid.as_str()).collect();
    assert_eq!(sids, ["CAalice1", "CAalice2"]);
    let first = &data.calls[0];
    assert_eq!(first.consent.as_deref(), Some("given"));
    assert_eq!(first.consent_message.as_deref(), Some("consent-question"));
    assert_eq!(first.consent_locale.as_deref(), Some("de-DE"));
    assert_eq!(
        first.consent_text.as_deref(),
        Some("Dürfen wir Ihre Angaben speichern?")
    );
    assert_eq!(first.language.as_deref(), Some("de-DE"));
    assert!(first.ended_at.is_some() && first.started_at > 0);

    // Every table's rows about Alice's calls, as the database holds them.
    let ids = "(SELECT id FROM calls WHERE call_sid IN ('CAalice1', 'CAalice2'))";
    let count = |sql: String| {
        let app = &app;
        async move { app.scalar_i64(&sql).await as usize }
    };
    assert_eq!(
        data.steps.len(),
        count(format!("SELECT COUNT(*) FROM steps WHERE call_id IN {ids}")).await
    );
    assert!(data.steps.len() >= 6, "{:?}", data.steps);
    assert!(data
        .steps
        .iter()
        .any(|s| s.digits.as_deref() == Some(ALICE_ORDER)));
    assert_eq!(
        data.responses.len(),
        count(format!(
            "SELECT COUNT(*) FROM replays WHERE call_id IN {ids}"
        ))
        .await
    );
    assert_eq!(
        data.record_calls.len(),
        count(format!(
            "SELECT COUNT(*) FROM record_calls WHERE call_id IN {ids}"
        ))
        .await
    );
    let keys: Vec<&str> = data.records.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, [ALICE_ORDER]);
    assert_eq!(data.records[0].status, "received");
    let audit: Vec<(&str, Option<&str>)> = data
        .audit_log
        .iter()
        .map(|a| (a.field.as_str(), a.new_value.as_deref()))
        .collect();
    assert_eq!(audit, [("status", Some("problem"))]);
    assert_eq!(data.audit_log[0].subject_id, alice2);

    // Nothing of Bob's.
    let json = serde_json::to_string(&data).unwrap();
    for bob in [BOB, BOB_ORDER, "CAbob1"] {
        assert!(!json.contains(bob), "{bob} in Alice's export: {json}");
    }

    // An unknown number: nothing.
    assert!(export(&app, admin.as_ref(), "+4930123456789")
        .await
        .is_empty());
    app.stop().await;
}

#[tokio::test]
async fn an_erasure_leaves_nothing_findable_in_a_full_dump_while_the_order_stays() {
    let (app, admin) = spawn_with_events().await;
    order_call(&app, "CAalice1", ALICE, ALICE_ORDER).await;
    order_call(&app, "CAbob1", BOB, BOB_ORDER).await;
    // The sender tries each event once (the address refuses it) and then not for ten minutes:
    // once every row was tried, the outbox stays as it is while the test compares exports.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app
        .scalar_i64("SELECT COUNT(*) FROM outbox WHERE attempts = 0 OR status = 'sending'")
        .await
        > 0
    {
        assert!(
            std::time::Instant::now() < until,
            "the sender never tried the events"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let before = export(&app, admin.as_ref(), ALICE).await;
    let bob_before = export(&app, admin.as_ref(), BOB).await;
    // Her export holds her call's events waiting for their receiver.
    let events: Vec<&str> = before.outbox.iter().map(|o| o.label.as_str()).collect();
    assert_eq!(
        events,
        [
            "call.started",
            "consent.given",
            "record.saved",
            "call.ended"
        ]
    );
    let bob_texts: Vec<&str> = bob_before.steps.iter().map(|s| s.text.as_str()).collect();
    // What only Alice's call said or was told (the greeting is everyone's).
    let alice_texts: Vec<String> = before
        .steps
        .iter()
        .map(|s| s.text.clone())
        .filter(|t| !t.is_empty() && !bob_texts.contains(&t.as_str()))
        .collect();
    // The steps keep the order number as it was spoken, digit by digit.
    let spoken: Vec<String> = ALICE_ORDER.chars().map(String::from).collect();
    let spoken = spoken.join(" ");
    assert!(
        alice_texts.iter().any(|t| t.contains(&spoken)),
        "{alice_texts:?}"
    );
    let dump = full_dump(&app.db, &app.database_url).await;
    assert!(
        !found(&dump, ALICE).is_empty() || !found(&dump, &key(&app).caller_hash(ALICE)).is_empty(),
        "the caller is stored before the erasure"
    );
    assert!(
        found(&dump, ALICE).contains(&("outbox", "payload")),
        "her events wait in the outbox with her number (she consented to it being kept)"
    );

    let hash = key(&app).caller_hash(ALICE);
    let person = Person {
        caller_hash: &hash,
        number: ALICE,
    };
    let erasure = admin
        .erase_person(&person, "tester", "caller test", now_ms())
        .await
        .unwrap();
    assert_eq!(erasure.erased.calls, 1);
    let said = before
        .steps
        .iter()
        .filter(|s| !s.text.is_empty() || s.digits.is_some())
        .count();
    assert_eq!(erasure.erased.steps as usize, said);
    assert_eq!(erasure.erased.record_links, 1);
    assert_eq!(erasure.erased.records_unlinked, 1);
    assert!(erasure.live_calls.is_empty());

    // Her call's events (started, consent given, order saved, ended) are gone, sent or not;
    // Bob's wait for their receiver.
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT c.call_sid FROM outbox o JOIN calls c ON c.id = o.call_id ORDER BY o.id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(events, ["CAbob1"; 4]);
    let dump = full_dump(&app.db, &app.database_url).await;
    for form in number_forms(&app) {
        assert_eq!(found(&dump, &form), [], "`{form}` is still stored");
    }
    for text in &alice_texts {
        // The flow's own files (flow_versions.source) hold the messages as written.
        let left: Vec<_> = found(&dump, text)
            .into_iter()
            .filter(|(table, _)| *table != "flow_versions")
            .collect();
        assert_eq!(left, [], "`{text}` is still stored");
    }
    // The order number stays as the record's key, and nowhere else.
    assert_eq!(found(&dump, ALICE_ORDER), [("records", "key")]);
    assert_eq!(found(&dump, &spoken), []);
    let order = sqlx::query("SELECT key, status, call_id FROM records WHERE key = $1")
        .bind(ALICE_ORDER)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(order.get::<String, _>("key"), ALICE_ORDER);
    assert_eq!(order.get::<String, _>("status"), "received");
    assert_eq!(order.get::<Option<i64>, _>("call_id"), None);
    // The call stays, anonymous, for the statistics; Bob is untouched.
    let (status, consent, duration): (String, Option<String>, Option<i64>) = sqlx::query_as(
        "SELECT status, consent, duration_secs FROM calls WHERE call_sid = 'CAalice1'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        (status.as_str(), consent.as_deref(), duration),
        ("completed", Some("given"), Some(61))
    );
    assert_eq!(export(&app, admin.as_ref(), BOB).await, bob_before);

    // Audited without the number: one entry for the call, one for the erasure.
    let audit = admin.audit_log(Subject::Privacy).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].field, "erase");
    assert_eq!(audit[0].user_name, "tester");
    assert!(audit[0]
        .new_value
        .as_deref()
        .unwrap()
        .starts_with("1 call(s) made anonymous"));

    // Again: nothing left to erase, nothing found.
    let again = admin
        .erase_person(&person, "tester", "caller test", now_ms())
        .await
        .unwrap();
    assert_eq!(again.erased.calls, 0);
    assert!(export(&app, admin.as_ref(), ALICE).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn an_erasure_leaves_calls_in_progress_whole_and_names_them() {
    let (app, admin) = spawn().await;
    order_call(&app, "CAdone", ALICE, ALICE_ORDER).await;
    let mut live = app.call("CAlive", ALICE).await;
    live.press("1").await;
    let live_steps = app
        .scalar_i64(
            "SELECT COUNT(*) FROM steps s JOIN calls c ON c.id = s.call_id
             WHERE c.call_sid = 'CAlive' AND s.text <> ''",
        )
        .await;
    assert!(live_steps > 0);

    let (code, out, err) = liza(
        &app,
        &["privacy", "erase", "--phone", ALICE, "--yes"],
        &[],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 call(s) made anonymous"), "{out}");
    assert!(
        out.contains("1 call(s) still in progress were left: CAlive"),
        "{out}"
    );
    assert!(!out.contains(ALICE), "the number is masked: {out}");
    // The live call is whole: its number, state and texts; the ended one is anonymous.
    let (from, state): (String, Option<String>) =
        sqlx::query_as("SELECT from_number, state FROM calls WHERE call_sid = 'CAlive'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(from == ALICE || from.is_empty(), "{from}");
    assert!(state.is_some());
    assert_eq!(
        app.scalar_i64(
            "SELECT COUNT(*) FROM steps s JOIN calls c ON c.id = s.call_id
             WHERE c.call_sid = 'CAlive' AND s.text <> ''"
        )
        .await,
        live_steps
    );
    let data = export(&app, admin.as_ref(), ALICE).await;
    assert_eq!(data.calls.len(), 1);
    assert_eq!(data.calls[0].call_sid, "CAlive");

    // The call goes on, hears the next question and ends; then it can be erased too.
    live.press(ALICE_ORDER).await;
    assert!(live.says(ALICE_ORDER), "{}", live.last.body);
    live.completed("20").await;
    let (code, out, _) = liza(
        &app,
        &["privacy", "erase", "--phone", ALICE, "--yes"],
        &[],
        "",
    );
    assert_eq!(code, 0);
    assert!(out.contains("1 call(s) made anonymous"), "{out}");
    assert!(!out.contains("in progress"), "{out}");
    assert!(export(&app, admin.as_ref(), ALICE).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn the_command_line_exits_0_for_an_unknown_number_2_for_a_malformed_one_and_asks_for_yes() {
    let (app, admin) = spawn().await;
    order_call(&app, "CAalice1", ALICE, ALICE_ORDER).await;

    // Unknown: an empty document, a clear message, exit 0.
    let (code, out, err) = liza(
        &app,
        &["privacy", "export", "--phone", "+4930123456789"],
        &[],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let document: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(document["calls"], serde_json::json!([]));
    assert!(
        err.contains("Nothing is stored about +49 301 ••• ••89"),
        "{err}"
    );
    let (code, out, _) = liza(
        &app,
        &["privacy", "erase", "--phone", "+4930123456789", "--yes"],
        &[],
        "",
    );
    assert_eq!(code, 0);
    assert!(out.contains("nothing erased"), "{out}");

    // Malformed: exit 2 with the E.164 form.
    for args in [
        vec!["privacy", "export", "--phone", "0151 12345678"],
        vec!["privacy", "erase", "--phone", "hello", "--yes"],
    ] {
        let (code, _, err) = liza(&app, &args, &[], "");
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.contains("E.164") && err.contains("+4915112345678"),
            "{err}"
        );
    }

    // Erasing from a pipe needs --yes; nothing is erased without it.
    let (code, _, err) = liza(&app, &["privacy", "erase", "--phone", ALICE], &[], "yes\n");
    assert_eq!(code, 2);
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(export(&app, admin.as_ref(), ALICE).await.calls.len(), 1);

    // --out writes the document; the export is audited without the number.
    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("alice.json");
    let (code, out, err) = liza(
        &app,
        &[
            "privacy",
            "export",
            "--phone",
            "+49 151 1234 5678",
            "--out",
            file.to_str().unwrap(),
        ],
        &[],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty(), "{out}");
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(document["number"], ALICE);
    assert_eq!(document["calls"][0]["call_sid"], "CAalice1");
    assert_eq!(document["records"][0]["key"], ALICE_ORDER);
    assert!(err.contains("1 call(s)"), "{err}");
    let audit = admin.audit_log(Subject::Privacy).await.unwrap();
    let fields: Vec<&str> = audit.iter().map(|a| a.field.as_str()).collect();
    assert_eq!(fields, ["export", "export"]);
    assert_eq!(audit[0].user_name, "liza privacy");
    for entry in &audit {
        let text = format!("{entry:?}");
        assert!(
            !text.contains("15112345678") && !text.contains("30123456789"),
            "{text}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn the_api_exports_and_erases_with_a_bearer_token_and_refuses_a_malformed_number() {
    let (app, admin) = spawn().await;
    order_call(&app, "CAalice1", ALICE, ALICE_ORDER).await;
    let (code, token, err) = liza(
        &app,
        &["admin", "add-token", "admin", "--label", "dpo"],
        &[],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let bearer = format!("Bearer {}", token.trim());
    let get = |phone: &str, auth: Option<&str>| {
        let mut request = app
            .client
            .get(app.url("/api/privacy/export"))
            .query(&[("phone", phone)]);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request.send()
    };

    assert_eq!(
        get(ALICE, None).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let response = get("0151 12345678", Some(&bearer)).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("+4915112345678"),
        "{body}"
    );
    let response = get("+4930123456789", Some(&bearer)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["found"], false);
    assert_eq!(body["calls"], serde_json::json!([]));

    let response = get(ALICE, Some(&bearer)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["found"], true);
    assert_eq!(body["calls"][0]["call_sid"], "CAalice1");
    assert_eq!(body["records"][0]["key"], ALICE_ORDER);

    let erase = |body: &'static str, auth: Option<&str>| {
        let mut request = app
            .client
            .post(app.url("/api/privacy/erase"))
            .header("content-type", "application/json")
            .body(body);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request.send()
    };
    assert_eq!(
        erase(r#"{"phone":"+4915112345678"}"#, None)
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let response = erase(r#"{"phone":"12"}"#, Some(&bearer)).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = erase(r#"{"number":"+4915112345678"}"#, Some(&bearer))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = erase(r#"{"phone":"+4915112345678"}"#, Some(&bearer))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["erased"]["calls"], 1);
    assert_eq!(body["live_calls"], serde_json::json!([]));
    assert_eq!(body["number"], "+49 151 ••• ••78");
    assert!(export(&app, admin.as_ref(), ALICE).await.is_empty());

    let audit = admin.audit_log(Subject::Privacy).await.unwrap();
    let entries: Vec<(&str, &str)> = audit
        .iter()
        .map(|a| (a.user_name.as_str(), a.field.as_str()))
        .collect();
    assert_eq!(
        entries,
        [("admin", "erase"), ("admin", "export"), ("admin", "export")]
    );
    let hash = key(&app).caller_hash(ALICE);
    assert_eq!(
        audit[0].old_value.as_deref(),
        Some(format!("caller {}…", &hash[..12]).as_str())
    );
    app.stop().await;
}

/// The statistics of every day, as /stats reads them, summed from the calls again.
async fn stats_of(admin: &dyn AdminStore, first_day: i64, today: i64) -> Vec<String> {
    Statistics::forget_day_sums(admin).await.unwrap();
    // UTC days, so a day is DAY_MS long.
    let days: Vec<DaySpan> = (first_day..=today)
        .map(|day| DaySpan {
            day,
            start_ms: day * DAY_MS,
            end_ms: (day + 1) * DAY_MS,
        })
        .collect();
    let hour_of = |ms: i64| ms.rem_euclid(DAY_MS) / 3_600_000;
    let local = LocalDays {
        zone: "UTC",
        days: &days,
        hour_of: &hour_of,
    };
    let mut buckets: Vec<String> = admin
        .stats(&local)
        .await
        .unwrap()
        .buckets
        .iter()
        .map(|b| format!("{b:?}"))
        .collect();
    buckets.sort();
    buckets
}

#[tokio::test]
async fn the_retention_purge_anonymises_old_calls_and_keeps_the_statistics_of_their_days() {
    let (app, admin) = spawn().await;
    order_call(&app, "CAold1", ALICE, ALICE_ORDER).await;
    order_call(&app, "CAold2", BOB, BOB_ORDER).await;
    let mut refused = app.call("CAold3", BOB).await;
    refused.press("2").await;
    refused.completed("9").await;
    order_call(&app, "CArecent", ALICE, "44443333").await;
    // Three calls 100 and 120 days ago (after 90 days, the default retention); one today.
    let old_day = now_ms() / DAY_MS - 100;
    for (sid, days_ago) in [("CAold1", 100), ("CAold2", 100), ("CAold3", 120)] {
        sqlx::query("UPDATE calls SET started_at = started_at - $1, ended_at = ended_at - $1 WHERE call_sid = $2")
            .bind(days_ago * DAY_MS)
            .bind(sid)
            .execute(&app.db)
            .await
            .unwrap();
    }
    let today = now_ms() / DAY_MS;
    let before = stats_of(admin.as_ref(), today - 130, today).await;
    assert!(
        before
            .iter()
            .any(|b| b.contains(&format!("day: {old_day},"))),
        "{before:?}"
    );
    assert!(admin.last_purge_run().await.unwrap().is_none());

    let (code, out, err) = liza(&app, &["privacy", "purge"], &[], "");
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Calls older than 90 day(s): 3 call(s) made anonymous"),
        "{out}"
    );
    assert_eq!(stats_of(admin.as_ref(), today - 130, today).await, before);
    let old = sqlx::query(
        "SELECT COUNT(*) AS calls, COUNT(purged_at) AS purged,
            SUM(CASE WHEN from_number = '' AND caller_hash IS NULL AND state IS NULL THEN 1 ELSE 0 END) AS empty
         FROM calls WHERE call_sid LIKE 'CAold%'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        (
            old.get::<i64, _>("calls"),
            old.get::<i64, _>("purged"),
            old.get::<i64, _>("empty")
        ),
        (3, 3, 3)
    );
    assert_eq!(
        app.scalar_i64(
            "SELECT COUNT(*) FROM steps s JOIN calls c ON c.id = s.call_id
             WHERE c.call_sid LIKE 'CAold%' AND (s.text <> '' OR s.digits IS NOT NULL)"
        )
        .await,
        0
    );
    // Today's call keeps everything; the orders stay.
    let recent = export(&app, admin.as_ref(), ALICE).await;
    assert_eq!(recent.calls.len(), 1);
    assert_eq!(recent.calls[0].call_sid, "CArecent");
    assert!(recent
        .steps
        .iter()
        .any(|s| s.digits.as_deref() == Some("44443333")));
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM records").await, 3);
    let run = admin
        .last_purge_run()
        .await
        .unwrap()
        .expect("the run is noted");
    assert_eq!((run.retention_days, run.calls_purged), (90, 3));
    assert!(run.finished_at.is_some());

    // Again: nothing left to purge. LIZA_RETENTION_DAYS=0 keeps everything.
    let (_, out, _) = liza(&app, &["privacy", "purge"], &[], "");
    assert!(out.contains(": 0 call(s) made anonymous"), "{out}");
    let (code, out, _) = liza(
        &app,
        &["privacy", "purge"],
        &[("LIZA_RETENTION_DAYS", "0")],
        "",
    );
    assert_eq!(code, 0);
    assert!(out.contains("keeps everything"), "{out}");
    let (code, _, err) = liza(
        &app,
        &["privacy", "purge"],
        &[("LIZA_RETENTION_DAYS", "soon")],
        "",
    );
    assert_eq!(code, 2);
    assert!(err.contains("LIZA_RETENTION_DAYS=soon"), "{err}");
    app.stop().await;
}

#[tokio::test]
async fn calls_stored_before_callers_were_hashed_are_hashed_and_without_consent_minimised() {
    let (app, admin) = spawn().await;
    // Two calls as a Liza before the privacy migration stored them: numbers in clear, no hash.
    for (sid, consent) in [("CAgiven", "'given'"), ("CAsilent", "NULL")] {
        sqlx::query(&format!(
            "INSERT INTO calls (call_sid, from_number, to_number, status, consent, started_at, ended_at, state, updated_at)
             VALUES ('{sid}', '{ALICE}', '+4930000000', 'completed', {consent}, 1000, 2000, '{{\"at\":\"x\"}}', 2000)"
        ))
        .execute(&app.db)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO step_kinds (node, message_ids, outcome) VALUES ('ask', 'm', 'ok')
             ON CONFLICT DO NOTHING",
        )
        .execute(&app.db)
        .await
        .unwrap();
        sqlx::query(&format!(
            "INSERT INTO step_rows (call_id, turn, position, kind, text, digits, created_at)
             SELECT c.id, 1, 0, k.id, 'Sie haben 31415926 eingegeben', '31415926', 1500
             FROM calls c, step_kinds k WHERE c.call_sid = '{sid}' AND k.node = 'ask'"
        ))
        .execute(&app.db)
        .await
        .unwrap();
    }
    // … which were there when the migration ran.
    sqlx::query("UPDATE privacy_backfill SET up_to_call_id = (SELECT MAX(id) FROM calls)")
        .execute(&app.db)
        .await
        .unwrap();

    let (code, out, err) = liza(
        &app,
        &["privacy", "purge"],
        &[("LIZA_RETENTION_DAYS", "0")],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("2 call(s) stored before the privacy migration hashed; 1 of them without consent minimised"),
        "{out}"
    );
    let rows: Vec<StoredCaller> = sqlx::query_as(
        "SELECT call_sid, from_number, caller_hash, caller_masked, state FROM calls ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let hash = key(&app).caller_hash(ALICE);
    assert_eq!(rows[0].1, ALICE, "a consenting caller keeps the number");
    assert_eq!(rows[1].1, "", "no consent: no number");
    for row in &rows {
        assert_eq!(row.2.as_deref(), Some(hash.as_str()));
        assert_eq!(row.3.as_deref(), Some("+49 151 ••• ••78"));
    }
    assert!(rows[0].4.is_some() && rows[1].4.is_none());
    let texts: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT s.text, s.digits FROM steps s JOIN calls c ON c.id = s.call_id ORDER BY c.id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        texts,
        [
            (
                "Sie haben 31415926 eingegeben".to_owned(),
                Some("31415926".to_owned())
            ),
            (String::new(), None)
        ]
    );
    // Both are found by the number: the one by its hash only.
    assert_eq!(export(&app, admin.as_ref(), ALICE).await.calls.len(), 2);
    // Once: a second run finds nothing to do.
    let (_, out, _) = liza(
        &app,
        &["privacy", "purge"],
        &[("LIZA_RETENTION_DAYS", "0")],
        "",
    );
    assert!(!out.contains("hashed"), "{out}");
    app.stop().await;
}
