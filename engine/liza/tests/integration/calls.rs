//! Whole calls over HTTP, asserting what callers hear and what is stored.

use crate::support::{spawn_app, TestApp};

async fn call_row(
    app: &TestApp,
    sid: &str,
) -> (String, String, Option<String>, Option<i64>, Option<i64>) {
    sqlx::query_as("SELECT status, language, consent, consent_at, duration_secs FROM calls WHERE call_sid = $1")
        .bind(sid)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn german_happy_path_records_call_consent_steps_and_order() {
    let app = spawn_app().await;
    let mut call = app.call("CAhappy", "+4915112345678").await;
    assert!(call.says(r#"<Say voice="Polly.Vicki" language="de-DE">Guten Tag! Hier ist Liza, die Sprachassistentin von Muster &amp; Söhne.</Say>"#), "{}", call.last.body);
    let (status, language, ..) = call_row(&app, "CAhappy").await;
    assert_eq!(
        (status.as_str(), language.as_str()),
        ("in_progress", "de-DE")
    );

    call.press("1").await;
    assert!(call.says("Bitte geben Sie Ihre Bestellnummer ein"));
    let (status, _, consent, consent_at, _) = call_row(&app, "CAhappy").await;
    assert_eq!(status, "processed");
    assert_eq!(consent.as_deref(), Some("given"));
    assert!(consent_at.is_some());

    call.press("12345").await;
    assert!(
        call.says(r#"Sie haben <say-as interpret-as="digits">12345</say-as> eingegeben."#),
        "{}",
        call.last.body
    );
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM records").await,
        0,
        "nothing saved before the read-back is confirmed"
    );

    call.press("1").await;
    assert!(call.says("ist bei uns eingegangen."), "{}", call.last.body);
    let (kind, key, status): (String, String, String) =
        sqlx::query_as("SELECT kind, key, status FROM records")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        (kind.as_str(), key.as_str(), status.as_str()),
        ("order", "12345", "received")
    );

    call.press("2").await;
    assert!(call.hung_up());
    assert!(call.says("Vielen Dank für Ihren Anruf"));
    call.completed("73").await;
    let (status, _, _, _, duration) = call_row(&app, "CAhappy").await;
    assert_eq!(status, "completed");
    assert_eq!(duration, Some(73));

    let steps: Vec<(String, String, Option<String>, String)> = sqlx::query_as(
        "SELECT node, text, digits, outcome FROM steps s JOIN calls c ON c.id = s.call_id WHERE c.call_sid = 'CAhappy' ORDER BY s.turn, s.position",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let nodes: Vec<&str> = steps.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        nodes,
        [
            "greeting",
            "consent",
            "consent",
            "consent-given",
            "order",
            "order",
            "order_confirm",
            "order_confirm",
            "save-order",
            "shop-status",
            "order-status",
            // No text offer: the tests' server has no Twilio account for texts.
            "can-text",
            "help",
            "help",
            "goodbye"
        ]
    );
    let readback = steps
        .iter()
        .find(|s| s.0 == "order_confirm" && s.3 == "asked")
        .unwrap();
    assert!(
        readback.1.contains("Sie haben 1 2 3 4 5 eingegeben."),
        "{}",
        readback.1
    );
    let order_step = steps
        .iter()
        .find(|s| s.0 == "order" && s.3 == "accepted")
        .unwrap();
    assert_eq!(order_step.2.as_deref(), Some("12345"));
}

#[tokio::test]
async fn english_callers_get_their_regional_voice() {
    let app = spawn_app().await;
    let call = app.call("CAus", "+14155550123").await;
    assert!(call.says(r#"<Say voice="Polly.Joanna" language="en-US">Hello! This is Liza, the voice assistant of Muster &amp; Söhne.</Say>"#), "{}", call.last.body);
    let call = app.call("CAgb", "+447700900123").await;
    assert!(
        call.says(r#"<Say voice="Polly.Amy" language="en-GB">Hello! This is Liza"#),
        "{}",
        call.last.body
    );
    let (_, language, ..) = call_row(&app, "CAgb").await;
    assert_eq!(language, "en-GB");
}

#[tokio::test]
async fn consent_refused_is_recorded_and_the_call_ends() {
    let app = spawn_app().await;
    let mut call = app.call("CArefuse", "+4915112345678").await;
    call.press("2").await;
    assert!(call.hung_up());
    assert!(call.says("Schade, dann können wir Ihre Anfrage leider nicht bearbeiten."));
    let (status, _, consent, consent_at, _) = call_row(&app, "CArefuse").await;
    assert_eq!(status, "completed");
    assert_eq!(consent.as_deref(), Some("refused"));
    assert!(consent_at.is_some());
}

#[tokio::test]
async fn three_invalid_order_numbers_end_as_problem() {
    let app = spawn_app().await;
    let mut call = app.call("CAinvalid", "+4915112345678").await;
    call.press("1").await;
    call.press("12").await;
    assert!(call.says("Diese Bestellnummer ist ungültig."));
    assert!(!call.hung_up());
    call.press("1234567890123").await;
    assert!(call.says("Diese Bestellnummer ist ungültig."));
    call.press("12*4").await;
    assert!(call.hung_up());
    assert!(call.says("Es tut mir leid, ich konnte Ihre Bestellnummer nicht erfassen."));
    let (status, ..) = call_row(&app, "CAinvalid").await;
    assert_eq!(status, "problem");
    call.completed("40").await;
    let (status, _, _, _, duration) = call_row(&app, "CAinvalid").await;
    assert_eq!(
        status, "problem",
        "the status callback keeps a problem a problem"
    );
    assert_eq!(duration, Some(40));
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM records").await, 0);
}

#[tokio::test]
async fn no_input_is_reprompted_at_every_gather() {
    let app = spawn_app().await;
    let mut call = app.call("CAsilent", "+4915112345678").await;
    call.silence().await;
    assert!(call.says("Ich habe keine Eingabe erhalten.") && call.says("Dürfen wir Ihre Daten"));
    call.press("1").await;
    call.silence().await;
    assert!(
        call.says("Ich habe keine Bestellnummer erhalten.")
            && call.says("Bitte geben Sie Ihre Bestellnummer ein")
    );
    call.press("55555").await;
    call.silence().await;
    assert!(call.says("Ich habe keine Eingabe erhalten.") && call.says("Sie haben"));
    call.press("1").await;
    call.silence().await;
    assert!(call.says("Können wir Ihnen sonst noch helfen?"));
    assert!(!call.hung_up());
    let no_inputs = app
        .scalar_i64("SELECT COUNT(*) FROM steps WHERE outcome LIKE 'no input%'")
        .await;
    assert_eq!(no_inputs, 4);
}

#[tokio::test]
async fn pressing_two_at_read_back_lets_the_caller_enter_it_again() {
    let app = spawn_app().await;
    let mut call = app.call("CAreenter", "+4915112345678").await;
    call.press("1").await;
    call.press("1111").await;
    call.press("2").await;
    assert!(call.says("Bitte geben Sie Ihre Bestellnummer ein"));
    call.press("2222").await;
    assert!(call.says(r#"<say-as interpret-as="digits">2222</say-as>"#));
    call.press("1").await;
    let keys: Vec<String> = sqlx::query_scalar("SELECT key FROM records")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(keys, ["2222"]);
}

#[tokio::test]
async fn a_status_set_by_staff_is_the_one_spoken_in_both_languages() {
    let app = spawn_app().await;
    sqlx::query("INSERT INTO records (kind, key, status, created_at, updated_at) VALUES ('order', '424242', 'shipped', 0, 0)")
        .execute(&app.db)
        .await
        .unwrap();
    for (sid, from, expected) in [
        (
            "CAshipde",
            "+4915112345678",
            "Ihre Bestellung <say-as interpret-as=\"digits\">424242</say-as> wurde versandt.",
        ),
        (
            "CAshipen",
            "+14155550123",
            "Your order <say-as interpret-as=\"digits\">424242</say-as> has been shipped.",
        ),
    ] {
        let mut call = app.call(sid, from).await;
        call.press("1").await;
        call.press("424242").await;
        call.press("1").await;
        assert!(call.says(expected), "{}", call.last.body);
    }
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM records").await,
        1,
        "the order is found, not saved twice"
    );
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM record_calls").await,
        2,
        "both calls are linked to it"
    );
    let status: String = sqlx::query_scalar("SELECT status FROM records")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(status, "shipped");
}

#[tokio::test]
async fn the_same_webhook_delivered_twice_is_answered_the_same_and_stored_once() {
    let app = spawn_app().await;
    let mut call = app.call("CAtwice", "+4915112345678").await;
    let first_voice = call.last.body.clone();
    let again = app
        .post_signed(
            "/webhook/voice",
            &[
                ("CallSid", "CAtwice"),
                ("From", "+4915112345678"),
                ("To", "+4930123456"),
            ],
        )
        .await;
    assert_eq!(again.body, first_voice);
    call.press("1").await;
    call.press("12345").await;
    let steps_before = app.scalar_i64("SELECT COUNT(*) FROM steps").await;
    // The confirmation, delivered twice (Twilio retried after a lost connection).
    let url = crate::support::attribute(&call.last.body, "Gather", "action").unwrap();
    let path = url
        .strip_prefix(crate::support::PUBLIC_URL)
        .unwrap()
        .to_owned();
    let first = app
        .post_for_call(&path, "CAtwice", "+4915112345678", Some("1"))
        .await;
    let steps_after_first = app.scalar_i64("SELECT COUNT(*) FROM steps").await;
    let second = app
        .post_for_call(&path, "CAtwice", "+4915112345678", Some("1"))
        .await;
    assert_eq!(first.body, second.body);
    assert!(first.body.contains("ist bei uns eingegangen."));
    assert!(steps_after_first > steps_before);
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM steps").await,
        steps_after_first,
        "no second step"
    );
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM records").await,
        1,
        "no second order"
    );
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM calls").await, 1);
}

/// Call `sid` orders, confirms and ends: its whole flow, then Twilio's final callback.
async fn order_call(app: &TestApp, sid: &str) {
    let mut call = app.call(sid, "+4915112345678").await;
    call.press("1").await;
    call.press("12345").await;
    call.press("1").await;
    call.press("2").await;
    assert!(call.hung_up());
    call.completed("40").await;
}

/// The whole timeline of call `sid`: node, text, digits and outcome of each step.
async fn timeline(app: &TestApp, sid: &str) -> Vec<(String, String, Option<String>, String)> {
    sqlx::query_as(
        "SELECT s.node, s.text, s.digits, s.outcome FROM steps s JOIN calls c ON c.id = s.call_id
         WHERE c.call_sid = $1 ORDER BY s.turn, s.position",
    )
    .bind(sid)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

/// The writers (both backends) remember the ids of step kinds. Rows changed under a running
/// server through another connection (a clean-up by hand; on PostgreSQL also a restore of
/// another database) take those ids away or give them to other kinds: the next call's steps
/// are all written all the same, each with its own kind, and its caller hears no apology.
/// (SQLite's file replaced under the server is refused outright: `check_files`.)
#[tokio::test]
async fn steps_are_whole_after_their_kinds_were_replaced_under_the_server() {
    let app = spawn_app().await;
    order_call(&app, "CAkept1").await;
    let first = timeline(&app, "CAkept1").await;
    assert!(first.len() > 10, "{first:?}");
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM step_kinds ORDER BY id")
        .fetch_all(&app.db)
        .await
        .unwrap();
    for sql in ["DELETE FROM calls", "DELETE FROM step_kinds"] {
        sqlx::query(sql).execute(&app.db).await.unwrap();
    }
    // Half of the old ids now name other kinds; the other half name none.
    for id in ids.iter().step_by(2) {
        sqlx::query(
            "INSERT INTO step_kinds (id, node, message_ids, outcome) VALUES ($1, 'other', '', $2)",
        )
        .bind(id)
        .bind(format!("other {id}"))
        .execute(&app.db)
        .await
        .unwrap();
    }

    order_call(&app, "CAkept2").await;
    assert_eq!(timeline(&app, "CAkept2").await, first);
    let (status, ..) = call_row(&app, "CAkept2").await;
    assert_eq!(status, "completed");
}

#[tokio::test]
async fn a_caller_hanging_up_mid_flow_is_completed_by_the_status_callback() {
    let app = spawn_app().await;
    let mut call = app.call("CAhangup", "+4915112345678").await;
    call.press("1").await;
    call.completed("12").await;
    let (status, _, _, _, duration) = call_row(&app, "CAhangup").await;
    assert_eq!(status, "completed");
    assert_eq!(duration, Some(12));
    let ended: Option<i64> =
        sqlx::query_scalar("SELECT ended_at FROM calls WHERE call_sid = 'CAhangup'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(ended.is_some());
}

#[tokio::test]
async fn a_second_call_like_the_first_keeps_no_new_step_kinds() {
    let app = spawn_app().await;
    for sid in ["CAkinds1", "CAkinds2"] {
        order_call(&app, sid).await;
        if sid == "CAkinds1" {
            assert_eq!(
                app.scalar_i64("SELECT COUNT(*) FROM step_kinds").await,
                app.scalar_i64(
                    "SELECT COUNT(*) FROM (SELECT DISTINCT node, message_ids, outcome FROM steps) k"
                )
                .await
            );
        }
    }
    let kinds = app
        .scalar_i64("SELECT COUNT(DISTINCT kind) FROM step_rows")
        .await;
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM step_kinds").await,
        kinds
    );
    // Each call's timeline is whole: the same nodes and outcomes, its own texts and digits.
    let first = timeline(&app, "CAkinds1").await;
    assert!(first.len() > 10, "{first:?}");
    assert!(first
        .iter()
        .any(|(node, _, digits, _)| node == "order" && digits.as_deref() == Some("12345")));
    assert_eq!(first, timeline(&app, "CAkinds2").await);
}

#[tokio::test]
async fn an_ended_call_keeps_only_what_a_late_webhook_needs() {
    let app = spawn_app().await;
    let mut call = app.call("CAlate", "+4915112345678").await;
    call.press("1").await;
    call.press("12345").await;
    let state: String = sqlx::query_scalar("SELECT state FROM calls WHERE call_sid = 'CAlate'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(state.contains("12345"), "the call still needs it: {state}");
    let read_back = call.last.body.clone();
    call.completed("20").await;
    // Language, consent, ended: the order number the caller typed is gone from the state
    // (the timeline still shows it, their consent covers the conversation).
    let state: String = sqlx::query_scalar("SELECT state FROM calls WHERE call_sid = 'CAlate'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(
        state,
        r#"{"language":"de-DE","ended":true,"consent":"given"}"#
    );
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM steps WHERE digits = '12345'")
            .await,
        1
    );
    // The read-back's answer, delivered after the call ended: valid TwiML that hangs up,
    // no order saved.
    let url = crate::support::attribute(&read_back, "Gather", "action").unwrap();
    let path = url
        .strip_prefix(crate::support::PUBLIC_URL)
        .unwrap()
        .to_owned();
    let late = app
        .post_for_call(&path, "CAlate", "+4915112345678", Some("1"))
        .await;
    assert_eq!(late.status, 200, "{}", late.body);
    assert!(late.body.contains("<Hangup/>"), "{}", late.body);
    assert!(!late.body.contains("<Gather"), "{}", late.body);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM records").await, 0);
}

#[tokio::test]
async fn a_second_flow_runs_on_the_same_engine() {
    let root = crate::support::repo_root();
    let app = crate::support::AppOptions::default()
        .flows(&root.join("examples"))
        .locales(&root.join("examples/locales"))
        .spawn()
        .await;
    sqlx::query("INSERT INTO records (kind, key, status, created_at, updated_at) VALUES ('ticket', '123456', 'solved', 0, 0)")
        .execute(&app.db)
        .await
        .unwrap();
    let mut call = app.call("CAsupport", "+4915112345678").await;
    assert!(call.says(r#"<Say voice="Polly.Marlene" language="de-DE">Willkommen bei der Hotline von Muster &amp; Söhne.</Say>"#), "{}", call.last.body);
    call.press("1").await;
    assert!(call.says("Wir sind Montag bis Freitag") && call.says("Für unsere Öffnungszeiten"));
    call.press("2").await;
    call.press("999999").await;
    assert!(
        call.says(
            r#"Ich konnte das Ticket <say-as interpret-as="digits">999999</say-as> nicht finden."#
        ),
        "{}",
        call.last.body
    );
    call.press("2").await;
    call.press("123456").await;
    assert!(call.says("ist gelöst."), "{}", call.last.body);
    assert!(call.hung_up());
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM records").await,
        1,
        "a lookup never creates a record"
    );
    let flow: String = sqlx::query_scalar("SELECT flow_name FROM calls")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(flow, "support-line");
}
