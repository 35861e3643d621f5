//! Logs for operators: LIZA_LOG_FORMAT=json writes one JSON object per line; every line of a
//! webhook names its request (nginx's X-Request-Id from a trusted proxy, else a new id, also
//! returned in the answer) and, once the signature holds, its call.

use std::time::Duration;

use liza::twilio::compute_signature;

use crate::support::*;

/// A signed `POST /webhook/voice` for `call_sid` with `X-Request-Id: sent`; the answer's
/// status and `X-Request-Id`.
async fn voice_with_request_id(port: u16, call_sid: &str, sent: &str) -> (u16, String) {
    let params: Vec<(String, String)> = call_params(call_sid, "+4915112345678", None)
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let signature = compute_signature(AUTH_TOKEN, &format!("{PUBLIC_URL}/webhook/voice"), &params);
    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/webhook/voice"))
        .header("X-Twilio-Signature", signature)
        .header("X-Request-Id", sent)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form_body(&params))
        .send()
        .await
        .expect("webhook");
    let id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (response.status().as_u16(), id)
}

/// Waits until the process logged a line containing `needle`; all lines so far.
async fn log_with(process: &LizaProcess, needle: &str) -> String {
    for _ in 0..100 {
        let log = process.log();
        if log.contains(needle) {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no log line with {needle}:\n{}", process.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lines_carry_the_proxys_request_id_and_the_call_sid() {
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let process = AppOptions::default()
        .database(&db.url)
        .set("LIZA_LOG_FORMAT", "json")
        .set("LIZA_TRUSTED_PROXIES", "127.0.0.1")
        .process();
    let call_sid = new_call_sid();
    let sent = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let (status, returned) = voice_with_request_id(process.port, &call_sid, sent).await;
    assert_eq!(status, 200);
    assert_eq!(returned, sent, "the trusted proxy's id comes back");

    let log = log_with(&process, "Call started.").await;
    let mut started = None;
    for line in log.lines() {
        let json: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
        assert!(
            json["timestamp"].is_string() && json["level"].is_string(),
            "{line}"
        );
        if json["message"] == "Call started." {
            started = Some(json);
        }
    }
    let started = started.expect("the call's first line");
    assert_eq!(started["span"]["request_id"], sent, "{started}");
    assert_eq!(started["span"]["call_sid"], call_sid.as_str(), "{started}");
    assert!(
        !log.contains("15112345678"),
        "no phone number in the log:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_clients_id_is_replaced_and_human_lines_name_it() {
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    // No trusted proxy: what the client says it is called does not count.
    let process = AppOptions::default()
        .database(&db.url)
        .unset("LIZA_TRUSTED_PROXIES")
        .process();
    let call_sid = new_call_sid();
    let sent = "forged-id-0000";
    let (status, returned) = voice_with_request_id(process.port, &call_sid, sent).await;
    assert_eq!(status, 200);
    assert_ne!(returned, sent);
    assert_eq!(returned.len(), 32);
    assert!(
        returned.bytes().all(|b| b.is_ascii_hexdigit()),
        "{returned}"
    );

    let log = log_with(&process, "Call started.").await;
    // Written to a pipe, not a terminal: plain text, no colour codes for grep to trip on.
    assert!(!log.contains('\x1b'), "escape codes in the log:\n{log:?}");
    let line = log.lines().find(|l| l.contains("Call started.")).unwrap();
    assert!(line.contains(&format!("request_id={returned}")), "{line}");
    assert!(line.contains(&format!("call_sid={call_sid}")), "{line}");
    assert!(
        !log.contains(sent),
        "the forged id is nowhere in the log:\n{log}"
    );
}

/// On PostgreSQL, an operator whose server does not vacuum is told so once, at start (what
/// the server says, `SHOW autovacuum`, decides whether the line must be there or must not).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_without_autovacuum_is_named_at_start() {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let autovacuum = db.value("SELECT current_setting('autovacuum')").await;
    let process = AppOptions::default().database(&db.url).process();
    let warning = "PostgreSQL's autovacuum is off";
    match autovacuum.as_deref() {
        Some("off") => {
            let log = log_with(&process, warning).await;
            assert_eq!(log.matches(warning).count(), 1, "{log}");
        }
        _ => {
            // Listening: the store was opened (before the port), and said nothing.
            assert!(!process.log().contains(warning), "{}", process.log());
        }
    }
}
