//! The outbox against a fake Twilio REST API and a fake events receiver on loopback: Liza's
//! flow offers a text confirmation after the order status (flows/liza.yaml, `can-text`) and
//! queues it with the turn; the sender sends it after the turn committed — once, however
//! often Twilio delivers the webhook, retried after a 429 or 500, marked failed with Twilio's
//! reason after a 400 — and the call page shows how it went. Events go to LIZA_EVENTS_URL
//! signed (docs/events.md).

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::privacy::consent_proof::{login, page};
use crate::support::app::ADMIN_PASSWORD;
use crate::support::shop::{Behaviour, FakeShop, Received};
use crate::support::{AppOptions, Call, TestApp};

const SID: &str = "AC00000000000000000000000000000001";
const SENDER: &str = "+4930555000111";
const MOBILE: &str = "+4915112345678";
const LANDLINE: &str = "+493012345678";
const EVENTS_SECRET: &str = "events-secret-for-tests-0123456789";

/// Twilio's answer to a queued message.
fn queued() -> Behaviour {
    Behaviour::json(
        201,
        r#"{"sid":"SM123","status":"queued","body":"…","error_code":null}"#,
    )
}

/// Liza sending texts through the fake Twilio at `twilio` (short backoff, so retries come
/// within the test), with a dashboard account.
fn texting(twilio: &str) -> AppOptions {
    AppOptions::default()
        // The webhooks' token signs the test's requests; the REST API is called with it too.
        .set("TWILIO_AUTH_TOKEN", crate::support::AUTH_TOKEN)
        .set("TWILIO_ACCOUNT_SID", SID)
        .set("LIZA_SMS_FROM", SENDER)
        .set("TWILIO_API_BASE", twilio)
        .set("LIZA_OUTBOX_BACKOFF", "0.2,0.2,0.2")
        .set("LIZA_ADMIN_PASSWORD", ADMIN_PASSWORD)
}

/// A caller consents, enters order 12345, confirms it and hears its status; the call waits
/// at the next question (the text offer, or `help`).
async fn after_status(app: &TestApp, sid: &str, from: &str) -> Call {
    let mut call = app.call(sid, from).await;
    call.press("1").await;
    call.press("12345").await;
    call.press("1").await;
    assert!(call.says("Ihre Bestellung"), "{}", call.last.body);
    call
}

/// `(kind, label, status, attempts, last_error)` of the call's outbox rows.
async fn rows(app: &TestApp, sid: &str) -> Vec<(String, String, String, i64, Option<String>)> {
    sqlx::query_as(
        "SELECT o.kind, o.label, o.status, o.attempts, o.last_error FROM outbox o \
         JOIN calls c ON c.id = o.call_id WHERE c.call_sid = $1 ORDER BY o.id",
    )
    .bind(sid)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

/// Waits (10 s at most) until the call's row of `kind` is no longer pending or being sent.
async fn settled(
    app: &TestApp,
    sid: &str,
    kind: &str,
) -> (String, String, String, i64, Option<String>) {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let found = rows(app, sid).await.into_iter().find(|r| r.0 == kind);
        if let Some(row) = &found {
            if row.2 == "sent" || row.2 == "failed" {
                return row.clone();
            }
        }
        assert!(Instant::now() < until, "still not sent: {found:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The form fields of a request Twilio received.
fn form(received: &Received) -> Vec<(String, String)> {
    form_urlencoded::parse(received.body.as_bytes())
        .into_owned()
        .collect()
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn a_mobile_caller_who_presses_1_gets_one_text_sent_after_the_turn() {
    let twilio = FakeShop::start(queued()).await;
    let app = texting(&twilio.url).spawn().await;
    let call = after_status(&app, "CAtext1", MOBILE).await;
    assert!(
        call.says("Drücken Sie die 1 für eine Bestätigung per SMS"),
        "the offer: {}",
        call.last.body
    );
    // Twilio delivers the answer's webhook twice: one text all the same.
    let url = crate::support::twilio::attribute(&call.last.body, "Gather", "action").unwrap();
    let path = call.twilio.path_of(&url).to_owned();
    let params = crate::support::twilio::call_params("CAtext1", MOBILE, Some("1"));
    let first = call.twilio.post_signed(&path, &params).await;
    let again = call.twilio.post_signed(&path, &params).await;
    assert_eq!(first.body, again.body, "the second delivery is a replay");
    assert!(
        first.body.contains("Die SMS ist unterwegs"),
        "{}",
        first.body
    );

    let (kind, label, status, attempts, error) = settled(&app, "CAtext1", "sms").await;
    assert_eq!(
        (
            kind.as_str(),
            label.as_str(),
            status.as_str(),
            attempts,
            error
        ),
        ("sms", "sms-order-confirmation", "sent", 1, None)
    );
    assert_eq!(rows(&app, "CAtext1").await.len(), 1, "one row, no events");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let received = twilio.received();
    assert_eq!(received.len(), 1, "sent once");
    let request = &received[0];
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.path,
        format!("/2010-04-01/Accounts/{SID}/Messages.json")
    );
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{SID}:{}", crate::support::AUTH_TOKEN),
    );
    assert_eq!(
        request.authorization.as_deref(),
        Some(format!("Basic {basic}").as_str())
    );
    let form = form(request);
    assert_eq!(field(&form, "To"), Some(MOBILE));
    assert_eq!(field(&form, "From"), Some(SENDER));
    assert_eq!(
        field(&form, "Body"),
        Some("Muster & Söhne: Ihre Bestellung 12345 ist bei uns eingegangen. Vielen Dank für Ihren Anruf!")
    );
    // Sent: the number and the body are no longer kept in the outbox.
    let payload: String = sqlx::query_scalar("SELECT payload FROM outbox")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(payload, "{}");

    // The call page: what was sent and how, without the body.
    let cookie = login(&app).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM calls WHERE call_sid = 'CAtext1'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let html = page(&app, &cookie, &format!("/calls/{id}?lang=en")).await;
    let section = &html[html.find("id=\"call-outbox\"").expect("the outbox section")..];
    assert!(
        section.contains("Text message <code>sms-order-confirmation</code>"),
        "{section}"
    );
    assert!(section.contains(">sent<"), "{section}");
    assert!(
        !section.contains("12345 ist bei uns"),
        "no body on the page"
    );
    let metrics = app.twilio.get("/metrics").await.1;
    assert!(
        metrics.contains("liza_outbox_attempts_total{kind=\"sms\",result=\"sent\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("liza_outbox_pending 0"), "{metrics}");
    app.stop().await;
}

#[tokio::test]
async fn twilio_429_and_500_are_tried_again_and_the_text_is_sent_once() {
    let twilio = FakeShop::start_sequence(vec![
        Behaviour::json(
            429,
            r#"{"code":20429,"message":"Too Many Requests","status":429}"#,
        ),
        Behaviour::json(
            500,
            r#"{"code":20500,"message":"Internal Server Error","status":500}"#,
        ),
        queued(),
    ])
    .await;
    let app = texting(&twilio.url).spawn().await;
    let mut call = after_status(&app, "CAtext2", MOBILE).await;
    call.press("1").await;
    let (_, _, status, attempts, error) = settled(&app, "CAtext2", "sms").await;
    assert_eq!((status.as_str(), attempts, error), ("sent", 3, None));
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(twilio.hits(), 3, "two failures, one text");
    let metrics = app.twilio.get("/metrics").await.1;
    assert!(
        metrics.contains("liza_outbox_attempts_total{kind=\"sms\",result=\"retried\"} 2"),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_text_twilio_refuses_is_failed_with_its_reason_and_not_sent_again() {
    let twilio = FakeShop::start(Behaviour::json(
        400,
        &format!(
            r#"{{"code":21211,"message":"The 'To' number {MOBILE} is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}}"#
        ),
    ))
    .await;
    let app = texting(&twilio.url).spawn().await;
    let mut call = after_status(&app, "CAtext3", MOBILE).await;
    call.press("1").await;
    let (_, _, status, attempts, error) = settled(&app, "CAtext3", "sms").await;
    assert_eq!((status.as_str(), attempts), ("failed", 1));
    let error = error.unwrap();
    assert!(
        error.starts_with("Twilio answered 400 (error 21211): The 'To' number +49 151 ••• ••78"),
        "{error}"
    );
    assert!(
        !error.contains(MOBILE),
        "the number is masked in the reason: {error}"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(twilio.hits(), 1, "never sent again");
    let cookie = login(&app).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM calls WHERE call_sid = 'CAtext3'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let html = page(&app, &cookie, &format!("/calls/{id}?lang=de")).await;
    assert!(html.contains("fehlgeschlagen"), "{html}");
    assert!(html.contains("error 21211"), "{html}");
    app.stop().await;
}

#[tokio::test]
async fn landline_callers_and_servers_without_twilio_never_hear_the_offer() {
    let twilio = FakeShop::start(queued()).await;
    let app = texting(&twilio.url).spawn().await;
    let call = after_status(&app, "CAtext4", LANDLINE).await;
    assert!(
        call.says("Können wir Ihnen sonst noch helfen?"),
        "{}",
        call.last.body
    );
    assert!(!call.says("SMS"), "{}", call.last.body);
    app.stop().await;

    // The tests' default server: no account SID, no sender number.
    let app = AppOptions::default().spawn().await;
    let call = after_status(&app, "CAtext5", MOBILE).await;
    assert!(
        call.says("Können wir Ihnen sonst noch helfen?"),
        "{}",
        call.last.body
    );
    let steps: Vec<(String, String)> = sqlx::query_as(
        "SELECT s.node, s.outcome FROM steps s JOIN calls c ON c.id = s.call_id \
         WHERE c.call_sid = 'CAtext5' AND s.node = 'can-text'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        steps,
        [("can-text".to_owned(), "not_configured".to_owned())]
    );
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(queued, 0);
    app.stop().await;
    assert_eq!(twilio.hits(), 0);
}

/// The signature a receiver computes (docs/events.md).
fn signature(timestamp: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(EVENTS_SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

#[tokio::test]
async fn events_go_out_signed_through_the_outbox() {
    let receiver = FakeShop::start(Behaviour::json(204, "")).await;
    let app = AppOptions::default()
        .set("LIZA_EVENTS_URL", format!("{}/liza-events", receiver.url))
        .set("LIZA_EVENTS_SECRET", EVENTS_SECRET)
        .spawn()
        .await;
    // A caller who consents and saves an order, then one who refuses.
    let mut call = after_status(&app, "CAevents1", MOBILE).await;
    call.press("2").await;
    call.completed("42").await;
    let mut refused = app.call("CAevents2", "+4917098765432").await;
    refused.press("2").await;

    let until = Instant::now() + Duration::from_secs(10);
    while receiver.hits() < 6 {
        assert!(Instant::now() < until, "{:?}", receiver.received());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut seen = Vec::new();
    for request in receiver.received() {
        assert_eq!(request.path, "/liza-events");
        assert_eq!(request.header("content-type"), Some("application/json"));
        let timestamp = request.header("x-liza-timestamp").expect("a timestamp");
        assert_eq!(
            request.header("x-liza-signature"),
            Some(signature(timestamp, &request.body).as_str()),
            "signed over the timestamp and the body"
        );
        let event: serde_json::Value = serde_json::from_str(&request.body).unwrap();
        assert_eq!(request.header("x-liza-event-id"), event["id"].as_str());
        seen.push((
            event["call"]["sid"].as_str().unwrap().to_owned(),
            event["type"].as_str().unwrap().to_owned(),
            event["call"]["caller"].as_str().unwrap().to_owned(),
            event["data"].clone(),
        ));
    }
    seen.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let kinds: Vec<(&str, &str)> = seen.iter().map(|s| (s.0.as_str(), s.1.as_str())).collect();
    assert_eq!(
        kinds,
        [
            ("CAevents1", "call.ended"),
            ("CAevents1", "call.started"),
            ("CAevents1", "consent.given"),
            ("CAevents1", "record.saved"),
            ("CAevents2", "call.started"),
            ("CAevents2", "consent.refused"),
        ]
    );
    // Consent covering the number: in clear after it; masked before it and without it.
    assert_eq!(seen[0].2, MOBILE, "call.ended after consent");
    assert_eq!(seen[1].2, "+49 151 ••• ••78", "call.started before consent");
    assert_eq!(seen[3].3["key"], "12345");
    assert_eq!(seen[3].3["kind"], "order");
    assert_eq!(seen[0].3["duration_secs"], 42);
    for (sid, kind, caller, _) in &seen[4..] {
        assert!(!caller.contains("98765432"), "{sid} {kind}: {caller}");
    }
    app.stop().await;
}

#[tokio::test]
async fn events_without_their_secret_are_refused_at_start() {
    let settings = AppOptions::default()
        .set("LIZA_EVENTS_URL", "https://hooks.example/liza")
        .settings_map("sqlite::memory:");
    let built =
        liza::startup::Application::build(liza::settings::Settings::from_lookup(move |name| {
            settings.get(name).cloned()
        }))
        .await;
    let error = built.err().expect("refused").to_string();
    assert!(error.contains("LIZA_EVENTS_SECRET is not"), "{error}");
}
