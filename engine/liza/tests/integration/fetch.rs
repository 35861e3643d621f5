//! The `fetch` node against a fake shop API on loopback: Liza's flow asks
//! `GET {SHOP_API_URL}/orders/{order_number}` for the order's status. Whatever the shop does
//! (answers, is slow, fails, lies, floods, loops, is not there), the caller hears valid TwiML
//! within the fetch's 2 s timeout — the shop's status, or the one from Liza's records — never
//! an apology and never an HTTP 500; a webhook delivered twice asks the shop once; a slow shop
//! does not hold up other calls.

use std::time::{Duration, Instant};

use crate::support::shop::{refused_url, Behaviour, FakeShop};
use crate::support::{assert_valid_twiml, is_apology, AppOptions, Call, TestApp};

const TOKEN: &str = "shop-token-for-tests";

/// Liza with the shop's API at `url`.
async fn app_with_shop(url: &str) -> TestApp {
    AppOptions::default()
        .set("SHOP_API_URL", url)
        .set("SHOP_API_TOKEN", TOKEN)
        .spawn()
        .await
}

/// A German caller consents and enters order 12345; returns the call waiting at the read-back.
async fn at_read_back(app: &TestApp, sid: &str) -> Call {
    let mut call = app.call(sid, "+4915112345678").await;
    call.press("1").await;
    call.press("12345").await;
    assert!(call.says("12345"), "{}", call.last.body);
    call
}

/// The fetch step's outcome and text, as the call page shows them.
async fn fetch_step(app: &TestApp, sid: &str) -> (String, String) {
    sqlx::query_as(
        "SELECT s.outcome, s.text FROM steps s JOIN calls c ON c.id = s.call_id \
         WHERE c.call_sid = $1 AND s.node = 'shop-status'",
    )
    .bind(sid)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_order_status_comes_from_the_shop_when_it_is_configured() {
    let shop = FakeShop::start(Behaviour::json(
        200,
        r#"{"status":"shipped","eta":"2026-12-03"}"#,
    ))
    .await;
    let app = app_with_shop(&shop.url).await;
    let mut call = at_read_back(&app, "CAfetchok").await;
    call.press("1").await;
    assert_valid_twiml(&call.last);
    assert!(call.says("Ihre Bestellung"), "{}", call.last.body);
    assert!(
        call.says("wurde versandt."),
        "the shop's status: {}",
        call.last.body
    );

    let received = shop.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].method, "GET");
    assert_eq!(received[0].path, "/orders/12345");
    assert_eq!(
        received[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str()),
        "the token from the environment"
    );

    // The call page's timeline: what the API answered.
    let (outcome, text) = fetch_step(&app, "CAfetchok").await;
    assert!(outcome.starts_with("ok (HTTP 200, "), "{outcome}");
    assert_eq!(text, "GET shop /orders/12345 → order_status = shipped");
    assert!(!text.contains(TOKEN) && !outcome.contains(TOKEN));
    // Liza's own record is saved as before; the shop's word is what the caller heard.
    let status: String = sqlx::query_scalar("SELECT status FROM records WHERE key = '12345'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(status, "received");
}

#[tokio::test]
async fn a_webhook_delivered_twice_asks_the_shop_once() {
    let shop = FakeShop::start(Behaviour::json(200, r#"{"status":"delivered"}"#)).await;
    let app = app_with_shop(&shop.url).await;
    let mut call = at_read_back(&app, "CAfetchtwice").await;
    let action = crate::support::attribute(&call.last.body, "Gather", "action").unwrap();
    call.press("1").await;
    let first = call.last.body.clone();
    assert!(first.contains("wurde zugestellt."), "{first}");
    // Twilio delivers the same webhook again.
    let path = app.twilio.path_of(&action).to_owned();
    let again = app
        .twilio
        .post_signed(
            &path,
            &crate::support::call_params("CAfetchtwice", "+4915112345678", Some("1")),
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, first, "answered from the database");
    assert_eq!(shop.hits(), 1, "the shop was asked once");
}

#[tokio::test]
async fn a_webhook_delivered_again_while_its_fetch_runs_asks_the_shop_once() {
    let shop = FakeShop::start(Behaviour::slow(
        Duration::from_millis(400),
        r#"{"status":"delivered"}"#,
    ))
    .await;
    let app = app_with_shop(&shop.url).await;
    let call = at_read_back(&app, "CAfetchrace").await;
    let action = crate::support::attribute(&call.last.body, "Gather", "action").unwrap();
    let path = app.twilio.path_of(&action).to_owned();
    let params = crate::support::call_params("CAfetchrace", "+4915112345678", Some("1"));
    // Twilio gave up on the first delivery and sends it again while the shop still thinks.
    let first = app.twilio.post_signed(&path, &params);
    let again = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        app.twilio.post_signed(&path, &params).await
    };
    let (first, again) = tokio::join!(first, again);
    assert_eq!((first.status, again.status), (200, 200));
    assert!(first.body.contains("wurde zugestellt."), "{}", first.body);
    assert_eq!(again.body, first.body, "the same answer, the shop's status");
    assert_eq!(shop.hits(), 1, "the shop was asked once");
    // /metrics counts the request the shop saw, once.
    let (_, metrics) = app.get("/metrics").await;
    assert!(
        metrics.contains("liza_fetch_requests_total{outcome=\"ok\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("liza_fetch_duration_seconds_count 1\n"),
        "{metrics}"
    );
    // One fetch step on the timeline, not two.
    let steps: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM steps s JOIN calls c ON c.id = s.call_id \
         WHERE c.call_sid = 'CAfetchrace' AND s.node = 'shop-status'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(steps, 1);
}

/// What the shop does, the outcome the step records, and what the caller hears instead.
async fn fault(name: &str, url: &str, outcome: &str) {
    let app = app_with_shop(url).await;
    let sid = format!("CAfault{}", name.replace(' ', ""));
    let mut call = at_read_back(&app, &sid).await;
    let started = Instant::now();
    call.press("1").await;
    let took = started.elapsed();
    assert_valid_twiml(&call.last);
    assert_eq!(call.last.status, 200, "{name}");
    assert!(!is_apology(&call.last.body), "{name}: {}", call.last.body);
    assert!(
        call.says("ist bei uns eingegangen."),
        "{name}: the status from Liza's records: {}",
        call.last.body
    );
    assert!(
        call.says("Können wir Ihnen sonst noch helfen?"),
        "{name}: the call goes on: {}",
        call.last.body
    );
    assert!(
        took < Duration::from_millis(3_000),
        "{name}: answered in {took:?}, within the 2 s timeout and a margin"
    );
    let (step, _) = fetch_step(&app, &sid).await;
    assert!(step.starts_with(outcome), "{name}: {step}");
    app.stop().await;
}

#[tokio::test]
async fn whatever_the_shop_does_the_caller_hears_the_fallback_in_time() {
    let slow = FakeShop::start(Behaviour::slow(
        Duration::from_secs(4),
        r#"{"status":"shipped"}"#,
    ))
    .await;
    fault("slow", &slow.url, "timeout (no answer within 2000 ms)").await;

    let failing = FakeShop::start(Behaviour::json(500, r#"{"error":"boom"}"#)).await;
    fault("500", &failing.url, "error (HTTP 500,").await;

    let unknown = FakeShop::start(Behaviour::json(404, r#"{"error":"no such order"}"#)).await;
    fault("404", &unknown.url, "not_found (HTTP 404,").await;

    let not_json = FakeShop::start(Behaviour::json(200, "<html>shop</html>")).await;
    fault(
        "not json",
        &not_json.url,
        "error (HTTP 200, the answer is not JSON,",
    )
    .await;

    let wrong_json = FakeShop::start(Behaviour::json(200, r#"{"state":"shipped"}"#)).await;
    fault(
        "wrong json",
        &wrong_json.url,
        "error (HTTP 200, the answer has no `/status`,",
    )
    .await;

    let huge = FakeShop::start(Behaviour::Huge {
        bytes: 20 * 1024 * 1024,
    })
    .await;
    fault(
        "huge",
        &huge.url,
        "error (the answer is larger than the limit,",
    )
    .await;

    fault(
        "refused",
        &refused_url().await,
        "error (the connection failed,",
    )
    .await;

    let looping = FakeShop::start(Behaviour::RedirectLoop).await;
    fault("redirect loop", &looping.url, "error (too many redirects,").await;
    assert_eq!(looping.hits(), 4, "the first request and 3 redirects");
}

#[tokio::test]
async fn a_slow_shop_does_not_hold_up_other_calls() {
    let shop = FakeShop::start(Behaviour::slow(
        Duration::from_millis(1_500),
        r#"{"status":"shipped"}"#,
    ))
    .await;
    let app = app_with_shop(&shop.url).await;
    let mut waiting = at_read_back(&app, "CAslowshop").await;
    let mut other = app.call("CAother", "+4915112345679").await;
    let slow = tokio::spawn(async move {
        waiting.press("1").await;
        waiting.last.body.clone()
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // While the first call waits for the shop, the writers answer another call at once.
    let started = Instant::now();
    other.press("1").await;
    other.press("55555").await;
    let took = started.elapsed();
    assert!(other.says("55555"), "{}", other.last.body);
    assert!(
        took < Duration::from_millis(1_000),
        "two webhooks of another call took {took:?} while a fetch waited"
    );
    let heard = slow.await.unwrap();
    assert!(heard.contains("wurde versandt."), "{heard}");
}

#[tokio::test]
async fn without_the_shop_configured_the_status_comes_from_the_records_without_a_request() {
    let shop = FakeShop::start(Behaviour::json(200, r#"{"status":"shipped"}"#)).await;
    // The URL is set but the token is not: the connection is not configured.
    let app = AppOptions::default()
        .set("SHOP_API_URL", &shop.url)
        .spawn()
        .await;
    let mut call = at_read_back(&app, "CAnoshop").await;
    call.press("1").await;
    assert!(call.says("ist bei uns eingegangen."), "{}", call.last.body);
    assert_eq!(shop.hits(), 0);
    let (outcome, _) = fetch_step(&app, "CAnoshop").await;
    assert_eq!(outcome, "not_configured (SHOP_API_TOKEN is not set)");
}
