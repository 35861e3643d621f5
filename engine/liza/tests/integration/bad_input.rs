//! Bad input never yields a 500 or a lost record: valid TwiML, a problem mark, a log line.

use crate::support::{assert_valid_twiml, spawn_app};

fn apologises(body: &str) -> bool {
    body.contains("technischen Problems") && body.contains("<Hangup/>")
}

#[tokio::test]
async fn a_request_without_call_sid_hears_an_apology() {
    let app = spawn_app().await;
    let answer = app
        .post_signed(
            "/webhook/voice",
            &[("From", "+4915112345678"), ("To", "+4930123456")],
        )
        .await;
    assert_valid_twiml(&answer);
    assert!(apologises(&answer.body), "{}", answer.body);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM calls").await, 0);
}

#[tokio::test]
async fn a_malformed_body_hears_an_apology() {
    let app = spawn_app().await;
    let body = "%%%&&&==&CallSid&=%ZZ%".to_owned();
    let pairs = liza::twilio::WebhookParams::parse(body.as_bytes())
        .pairs()
        .to_vec();
    let signature = liza::twilio::compute_signature(
        crate::support::AUTH_TOKEN,
        &format!("{}/webhook/voice", crate::support::PUBLIC_URL),
        &pairs,
    );
    let answer = app
        .post_body("/webhook/voice", body, Some(&signature))
        .await;
    assert_valid_twiml(&answer);
    assert!(apologises(&answer.body), "{}", answer.body);
}

#[tokio::test]
async fn letters_and_huge_digits_are_invalid_input_not_errors() {
    let app = spawn_app().await;
    let mut call = app.call("CAletters", "+4915112345678").await;
    call.press("1").await;
    call.press("12ab").await;
    assert!(
        call.says("Diese Bestellnummer ist ungültig."),
        "{}",
        call.last.body
    );
    let huge = "9".repeat(10 * 1024);
    call.press(&huge).await;
    assert!(
        call.says("Diese Bestellnummer ist ungültig."),
        "{}",
        call.last.body
    );
    let longest: i64 = app
        .scalar_i64("SELECT MAX(LENGTH(digits)) FROM steps")
        .await;
    assert!(longest <= 64, "stored digits are bounded, got {longest}");
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM records").await, 0);
}

#[tokio::test]
async fn an_unknown_node_path_ends_the_call_as_a_problem() {
    let app = spawn_app().await;
    app.call("CAunknown", "+4915112345678").await;
    let answer = app
        .post_for_call(
            "/webhook/no-such-node?seq=1",
            "CAunknown",
            "+4915112345678",
            Some("1"),
        )
        .await;
    assert_valid_twiml(&answer);
    assert!(apologises(&answer.body), "{}", answer.body);
    let status: String =
        sqlx::query_scalar("SELECT status FROM calls WHERE call_sid = 'CAunknown'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(status, "problem");
}

#[tokio::test]
async fn a_step_for_a_call_that_never_started_hears_an_apology() {
    let app = spawn_app().await;
    let answer = app
        .post_for_call(
            "/webhook/consent?seq=1",
            "CAnever",
            "+4915112345678",
            Some("1"),
        )
        .await;
    assert_valid_twiml(&answer);
    assert!(apologises(&answer.body), "{}", answer.body);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM calls").await, 0);
}

#[tokio::test]
async fn unknown_parameters_are_ignored() {
    let app = spawn_app().await;
    let answer = app
        .post_signed(
            "/webhook/voice",
            &[
                ("CallSid", "CAextra"),
                ("From", "+4915112345678"),
                ("To", "+4930123456"),
                ("StirVerstat", "TN-Validation-Passed-A"),
                ("SomethingNew", "<x>"),
            ],
        )
        .await;
    assert_valid_twiml(&answer);
    assert!(answer.body.contains("Guten Tag!"));
}

#[tokio::test]
async fn health_reports_database_and_flows() {
    let app = spawn_app().await;
    for path in ["/health", "/api/health"] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, 200);
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["status"], "ok");
        assert_eq!(json["database"], "writable");
        assert_eq!(json["reload"]["state"], "ok");
        assert_eq!(json["flows"][0]["name"], "liza");
        assert_eq!(json["flows"][0]["version"].as_str().unwrap().len(), 12);
    }
}

#[tokio::test]
async fn without_a_database_callers_hear_an_apology_and_health_says_503() {
    let app = spawn_app().await;
    let mut call = app.call("CAdbdown", "+4915112345678").await;
    app.state.engine.store.close().await;
    let (status, body) = app.get("/health").await;
    assert_eq!(status, 503, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "unavailable");
    assert_eq!(json["database"], "unreachable");
    assert_eq!(json["database_problem"], "the database does not answer");
    call.press("1").await;
    assert!(apologises(&call.last.body), "{}", call.last.body);
    let answer = app
        .post_signed(
            "/webhook/voice",
            &[("CallSid", "CAnew"), ("From", "+4915112345678")],
        )
        .await;
    assert_valid_twiml(&answer);
    assert!(apologises(&answer.body));
}

#[tokio::test]
async fn an_english_caller_is_apologised_to_in_english() {
    let app = spawn_app().await;
    app.call("CAenglish", "+447700900123").await;
    let answer = app
        .post_for_call(
            "/webhook/no-such-node?seq=1",
            "CAenglish",
            "+447700900123",
            Some("1"),
        )
        .await;
    assert_valid_twiml(&answer);
    assert!(
        answer.body.contains(
            r#"<Say voice="Polly.Amy" language="en-GB">Sorry, because of a technical problem"#
        ),
        "{}",
        answer.body
    );
    assert!(answer.body.contains("<Hangup/>"));
}
