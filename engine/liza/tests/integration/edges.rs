//! The server's edge as a client sees it: slow and idle clients are cut off, the connection
//! limit never keeps a signed webhook out, webhook bodies are bounded and refused early, and
//! every answer carries the security headers.

use std::time::{Duration, Instant};

use liza::twilio::compute_signature;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{
    assert_valid_twiml, call_params, form_body, spawn_app, Answer, AppOptions, TestApp, AUTH_TOKEN,
    PUBLIC_URL,
};

async fn connect(app: &TestApp) -> TcpStream {
    let address = app.address.trim_start_matches("http://");
    TcpStream::connect(address).await.unwrap()
}

/// Everything the server sends until it closes the connection; `None` if it is still open
/// after `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> Option<Vec<u8>> {
    tokio::time::timeout(wait, async {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return got,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()
}

/// The status line and headers of the next answer; `None` if none arrived within `wait`.
async fn answer_head(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    tokio::time::timeout(wait, async {
        let mut got = Vec::new();
        let mut byte = [0u8; 1];
        while !got.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte).await {
                Ok(0) | Err(_) => break,
                Ok(_) => got.push(byte[0]),
            }
        }
        String::from_utf8_lossy(&got).into_owned()
    })
    .await
    .ok()
    .filter(|head| !head.is_empty())
}

/// The head of a webhook POST, as Twilio would send it (`signature` = None: unsigned).
fn webhook_head(path: &str, content_length: usize, signature: Option<&str>) -> String {
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: liza.example.com\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {content_length}\r\n"
    );
    if let Some(signature) = signature {
        head.push_str(&format!("X-Twilio-Signature: {signature}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// A signed `/webhook/voice` for `sid` and its signature.
fn signed_voice(sid: &str) -> (String, String) {
    let params = call_params(sid, "+4915112345678", None);
    let signature = compute_signature(AUTH_TOKEN, &format!("{PUBLIC_URL}/webhook/voice"), &params);
    (form_body(&params), signature)
}

/// A signed call start over a connection of its own (not one the test client keeps alive).
async fn fresh_signed_call(app: &TestApp, sid: &str) -> Answer {
    let (body, signature) = signed_voice(sid);
    let response = reqwest::Client::new()
        .post(format!("{}/webhook/voice", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", signature)
        .body(body)
        .send()
        .await
        .expect("the webhook is answered");
    Answer {
        status: response.status().as_u16(),
        content_type: response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default(),
        body: response.text().await.unwrap(),
    }
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off_while_signed_webhooks_answer() {
    let app = AppOptions::default()
        .set("LIZA_HEADER_TIMEOUT", "1")
        .spawn()
        .await;
    // Half a request line, then nothing.
    let mut silent = connect(&app).await;
    silent.write_all(b"POST /webhook/voice HT").await.unwrap();
    // A byte every 100 ms: always active, never done.
    let mut trickle = connect(&app).await;
    let trickler = tokio::spawn(async move {
        let head = b"POST /webhook/voice HTTP/1.1\r\nHost: liza.example.com\r\nX-Padding: ";
        for byte in head.iter().chain([b'a'; 60].iter()) {
            if trickle.write_all(&[*byte]).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    });
    for i in 0..3 {
        let answer = fresh_signed_call(&app, &format!("CAslow{i}")).await;
        assert_valid_twiml(&answer);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let sent = closed_within(&mut silent, Duration::from_secs(5))
        .await
        .expect("a client that never finishes its headers is disconnected");
    assert!(
        !String::from_utf8_lossy(&sent).contains("200 OK"),
        "{sent:?}"
    );
    assert!(
        trickler.await.unwrap(),
        "a client trickling its headers byte by byte is disconnected too"
    );
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM calls").await,
        3,
        "every signed webhook was served"
    );
}

#[tokio::test]
async fn at_the_connection_limit_slow_connections_make_room_for_a_signed_webhook() {
    let app = AppOptions::default()
        .set("LIZA_MAX_CONNECTIONS", "50")
        .set("LIZA_HEADER_TIMEOUT", "60")
        .spawn()
        .await;
    let mut slow = Vec::new();
    for _ in 0..150 {
        let mut stream = connect(&app).await;
        stream.write_all(b"GET /health HT").await.unwrap();
        slow.push(stream);
    }
    let started = Instant::now();
    let answer = fresh_signed_call(&app, "CAatthelimit").await;
    let waited = started.elapsed();
    assert_valid_twiml(&answer);
    // The figure without a loaded machine is in docs/BENCHMARKS.md (bench/edges.sh); this
    // bound only catches a webhook that waited for the slow clients' header timeout.
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
    let mut closed = 0;
    for stream in &mut slow {
        if closed_within(stream, Duration::from_millis(20))
            .await
            .is_some()
        {
            closed += 1;
        }
    }
    assert!(
        closed >= 100,
        "only {closed} of 150 slow connections were closed at a limit of 50"
    );
}

#[tokio::test]
async fn at_the_connection_limit_a_body_that_does_not_come_makes_room_too() {
    let app = AppOptions::default()
        .set("LIZA_MAX_CONNECTIONS", "3")
        .set("LIZA_HEADER_TIMEOUT", "60")
        .set("LIZA_BODY_TIMEOUT", "60")
        .spawn()
        .await;
    // A request whose body stops after 10 bytes: inside the application, waiting for its client.
    let (body, signature) = signed_voice("CAbodystalls");
    let mut stalled = connect(&app).await;
    stalled
        .write_all(webhook_head("/webhook/voice", body.len(), Some(&signature)).as_bytes())
        .await
        .unwrap();
    stalled.write_all(&body.as_bytes()[..10]).await.unwrap();
    // Time for the head to reach the handler, which then waits for the rest.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut slow = Vec::new();
    for _ in 0..5 {
        let mut stream = connect(&app).await;
        stream.write_all(b"GET /health HT").await.unwrap();
        slow.push(stream);
    }
    let answer = fresh_signed_call(&app, "CAafterstall").await;
    assert_valid_twiml(&answer);
    assert!(
        closed_within(&mut stalled, Duration::from_secs(5))
            .await
            .is_some(),
        "the connection that waited longest (for its body) made room"
    );
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM calls").await, 1);
}

#[tokio::test]
async fn an_unsigned_large_body_is_refused_before_it_is_sent() {
    let app = spawn_app().await;
    let mut stream = connect(&app).await;
    stream
        .write_all(webhook_head("/webhook/voice", 250 * 1024, None).as_bytes())
        .await
        .unwrap();
    stream.write_all(&[b'a'; 1000]).await.unwrap();
    // 249 kB are still to come: the answer does not wait for them.
    let head = answer_head(&mut stream, Duration::from_secs(5))
        .await
        .expect("refused without waiting for the body");
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM calls").await, 0);
}

#[tokio::test]
async fn signed_bodies_over_the_limit_get_413_and_normal_webhooks_still_work() {
    let app = spawn_app().await;
    // Signed, 20 kB: more than Twilio sends (the limit is 16 kB).
    let mut params = call_params("CAtoolarge", "+4915112345678", None);
    params.push(("AddOns".into(), "x".repeat(20 * 1024)));
    let as_refs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let answer = app.post_signed("/webhook/voice", &as_refs).await;
    assert_eq!(answer.status, 413, "{}", answer.body);

    // A Content-Length over the limit is refused before the body is sent.
    let mut stream = connect(&app).await;
    stream
        .write_all(webhook_head("/webhook/voice", 10 << 20, Some("c2lnbmF0dXJl")).as_bytes())
        .await
        .unwrap();
    let head = answer_head(&mut stream, Duration::from_secs(5))
        .await
        .expect("refused without waiting for the body");
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");

    // Without a Content-Length (chunked), reading stops at the limit.
    let mut stream = connect(&app).await;
    let chunk = vec![b'a'; 20 * 1024];
    let mut request = b"POST /webhook/voice HTTP/1.1\r\nHost: liza.example.com\r\n\
        Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: c2lnbmF0dXJl\r\n\
        Transfer-Encoding: chunked\r\n\r\n"
        .to_vec();
    request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
    request.extend_from_slice(&chunk);
    request.extend_from_slice(b"\r\n");
    stream.write_all(&request).await.unwrap();
    let head = answer_head(&mut stream, Duration::from_secs(5))
        .await
        .expect("a chunked body over the limit is refused");
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");

    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM calls").await, 0);
    let mut call = app.call("CAnormal", "+4915112345678").await;
    call.press("1").await;
    assert_valid_twiml(&call.last);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM calls").await, 1);
}

#[tokio::test]
async fn a_body_that_stops_arriving_gets_408_and_a_slow_one_in_time_is_served() {
    let app = AppOptions::default()
        .set("LIZA_HEADER_TIMEOUT", "1")
        .set("LIZA_BODY_TIMEOUT", "3")
        .spawn()
        .await;
    let (body, signature) = signed_voice("CAstalled");
    let mut stalled = connect(&app).await;
    stalled
        .write_all(webhook_head("/webhook/voice", body.len(), Some(&signature)).as_bytes())
        .await
        .unwrap();
    stalled.write_all(&body.as_bytes()[..10]).await.unwrap();

    // A body that takes longer than the header timeout but arrives within the body timeout:
    // the request is in progress, so the header deadline does not apply to it.
    let (body, signature) = signed_voice("CAslowbody");
    let mut slow = connect(&app).await;
    slow.write_all(webhook_head("/webhook/voice", body.len(), Some(&signature)).as_bytes())
        .await
        .unwrap();
    let pieces: Vec<&[u8]> = body.as_bytes().chunks(body.len() / 4 + 1).collect();
    for piece in pieces {
        tokio::time::sleep(Duration::from_millis(400)).await;
        slow.write_all(piece).await.unwrap();
    }
    let head = answer_head(&mut slow, Duration::from_secs(5))
        .await
        .expect("the slow body is answered");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    let head = answer_head(&mut stalled, Duration::from_secs(6))
        .await
        .expect("a stalled body is answered");
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM calls").await, 1);
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let app = AppOptions::default()
        .set("LIZA_IDLE_TIMEOUT", "1")
        .spawn()
        .await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: liza.example.com\r\n\r\n")
        .await
        .unwrap();
    let sent = closed_within(&mut stream, Duration::from_secs(5))
        .await
        .expect("the idle connection is closed");
    let sent = String::from_utf8_lossy(&sent);
    assert!(sent.starts_with("HTTP/1.1 200"), "{sent}");
}

#[tokio::test]
async fn not_found_and_method_not_allowed_carry_the_security_headers() {
    let app = spawn_app().await;
    let unknown = app
        .client
        .get(format!("{}/no-such-page", app.address))
        .send()
        .await
        .unwrap();
    let wrong_method = app
        .client
        .get(format!("{}/webhook/voice", app.address))
        .send()
        .await
        .unwrap();
    let unsigned = app
        .client
        .post(format!("{}/webhook/voice", app.address))
        .body("CallSid=CA1")
        .send()
        .await
        .unwrap();
    for (response, status) in [(unknown, 404), (wrong_method, 405), (unsigned, 403)] {
        assert_eq!(response.status().as_u16(), status);
        let headers = response.headers();
        let csp = headers
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{status} without a CSP"));
        assert!(
            csp.to_str().unwrap().contains("default-src 'none'"),
            "{csp:?}"
        );
        assert_eq!(headers["x-frame-options"], "DENY", "{status}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{status}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{status}");
    }
}
