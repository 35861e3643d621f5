//! The dashboard for daily work: the bulk status change (rows and audit entries, its rules and
//! its bound), the number search in its four forms, the live view's streams (their login,
//! their bound, what they say while a call runs). On SQLite, and on PostgreSQL with
//! LIZA_TEST_BACKEND=postgres.

use std::time::Duration;

use reqwest::StatusCode;

use super::{location, spawn_app, Session, TestApp};
use liza::web::dashboard::live::{
    HEARTBEAT, MAX_STREAMS, MAX_STREAMS_PER_SESSION, STREAM_LIFETIME,
};

/// The ids of the calls, oldest first.
async fn call_ids(app: &TestApp) -> Vec<i64> {
    let mut ids: Vec<i64> = app
        .admin
        .list_calls(&liza::store::admin::CallFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    ids.sort();
    ids
}

/// A session of `admin` made in the store (a login per session would check a password each).
async fn quick_session(app: &TestApp) -> Session {
    let user = app.admin.user_by_name("admin").await.unwrap().unwrap();
    let token = liza::auth::new_token();
    let now = liza::store::now_ms();
    app.admin
        .create_session(
            &liza::auth::token_hash(&token),
            user.id,
            "csrf",
            now,
            now + 3_600_000,
        )
        .await
        .unwrap();
    Session {
        cookie: format!("liza_session={token}"),
        csrf: "csrf".into(),
    }
}

/// The `status` of call `id` as stored.
async fn status_of(app: &TestApp, id: i64) -> String {
    app.admin.call(id).await.unwrap().unwrap().summary.status
}

async fn audit_rows(app: &TestApp, id: i64) -> i64 {
    app.scalar_i64(&format!(
        "SELECT COUNT(*) FROM audit_log WHERE subject_kind = 'call' AND subject_id = {id} AND field = 'status'"
    ))
    .await
}

#[tokio::test]
async fn a_bulk_change_sets_and_audits_each_call_and_says_what_it_skipped() {
    let app = spawn_app().await;
    for (sid, from) in [
        ("CAbulk1", "+4915112345671"),
        ("CAbulk2", "+4915112345672"),
        ("CAbulk3", "+4915112345673"),
    ] {
        app.place_call(sid, from, &["1"]).await;
        app.completed(sid).await;
    }
    let ids = call_ids(&app).await;
    let [one, two, three] = [ids[0], ids[1], ids[2]];
    let (one_s, two_s, three_s) = (one.to_string(), two.to_string(), three.to_string());
    let missing = (three + 1000).to_string();
    let session = app.login().await;
    let csrf = session.csrf.as_str();
    // The third call is `processed` already.
    let response = app
        .post_form(
            &session,
            &format!("/calls/{three}/status"),
            &[("csrf", csrf), ("status", "processed")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let audited_before = app.scalar_i64("SELECT COUNT(*) FROM audit_log").await;

    // The list offers the form with the statuses staff may set, and a box per call.
    let list = app.page(&session, "/calls?language=de-DE").await;
    assert!(list.contains(r#"action="/calls/status""#), "{list}");
    assert!(
        list.contains(&format!(r#"form="bulk" name="id" value="{two}""#)),
        "{list}"
    );
    assert!(!list.contains(r#"<option value="in_progress">in_progress</option></select>"#));

    let back = "/calls?language=de-DE&before=9999999999999.1";
    let form = [
        ("csrf", csrf),
        ("status", "processed"),
        ("back", back),
        ("id", one_s.as_str()),
        ("id", two_s.as_str()),
        ("id", three_s.as_str()),
        ("id", missing.as_str()),
        ("id", one_s.as_str()),
    ];
    let response = app.post_form(&session, "/calls/status", &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // Back to the list as it was (filter and page), with what was done.
    let to = location(&response).to_owned();
    assert_eq!(
        to,
        "/calls?language=de-DE&before=9999999999999.1&bulk=processed.2.1.1"
    );
    for id in [one, two, three] {
        assert_eq!(status_of(&app, id).await, "processed", "call {id}");
    }
    // One audit entry per changed call, none for the skipped ones.
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM audit_log").await,
        audited_before + 2
    );
    for id in [one, two] {
        assert_eq!(
            app.scalar_i64(&format!(
                "SELECT COUNT(*) FROM audit_log WHERE subject_kind = 'call' AND subject_id = {id}
                 AND field = 'status' AND old_value = 'completed' AND new_value = 'processed'
                 AND user_name = 'admin'"
            ))
            .await,
            1,
            "call {id}"
        );
    }
    assert_eq!(audit_rows(&app, three).await, 1, "only its single change");
    let page = app.page(&session, &to).await;
    assert!(
        page.contains(
            "2 calls set to processed. 2 calls skipped: 1 already processed, 1 no longer stored."
        ),
        "{page}"
    );
    // The message is not carried into the list's own links.
    assert!(
        !page.contains("bulk=processed.2.1.1&amp;") && !page.contains("bulk%3D"),
        "{page}"
    );

    // Refused as a whole, before anything is written: a status staff may not set, no CSRF
    // token, no call ticked, more calls than the bound.
    let refused = |form: Vec<(&'static str, String)>| {
        let session = &session;
        let app = &app;
        async move {
            app.client
                .post(app.url("/calls/status"))
                .header("cookie", &session.cookie)
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    let response = refused(vec![
        ("csrf", csrf.into()),
        ("status", "in_progress".into()),
        ("id", one_s.clone()),
    ])
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("cannot be set back to in progress"));
    let response = refused(vec![("status", "problem".into()), ("id", one_s.clone())]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = refused(vec![("csrf", csrf.into()), ("status", "problem".into())]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("No call was selected"));
    let mut many = vec![("csrf", csrf.to_owned()), ("status", "problem".to_owned())];
    for id in 0..=100 {
        many.push(("id", (one + id).to_string()));
    }
    let response = refused(many).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("At most 100 calls can be changed at once"));
    for id in [one, two, three] {
        assert_eq!(
            status_of(&app, id).await,
            "processed",
            "call {id} untouched"
        );
    }
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM audit_log").await,
        audited_before + 2
    );
}

/// Rows of a calls list.
fn rows(html: &str) -> usize {
    html.matches(super::CALL_ROW).count()
}

async fn search(app: &TestApp, session: &Session, typed: &str) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("number", typed)
        .finish();
    app.page(session, &format!("/calls?{query}")).await
}

#[tokio::test]
async fn a_number_is_found_in_its_national_international_spaced_and_masked_forms() {
    let app = spawn_app().await;
    // Consent given: the number is kept in clear. Refused: only its hash and masked form.
    app.place_call("CAsearch1", "+4915104500990", &["1"]).await;
    app.place_call("CAsearch2", "+4915104500990", &["2"]).await;
    // Another caller, and one whose masked form is the same (other hidden digits).
    app.place_call("CAsearch3", "+4917012345678", &["1"]).await;
    app.place_call("CAsearch4", "+4915199999990", &["2"]).await;
    let ids = call_ids(&app).await;
    let link = |i: usize| format!("/calls/{}?", ids[i]);
    let session = app.login().await;
    assert_eq!(rows(&app.page(&session, "/calls").await), 4);

    for typed in [
        "015104500990",
        "0151 04500990",
        "+49 151 04500990",
        "+4915104500990",
    ] {
        let page = search(&app, &session, typed).await;
        assert_eq!(rows(&page), 2, "{typed}: {page}");
        assert!(page.contains(&link(0)), "{typed}");
        assert!(
            page.contains(&link(1)),
            "the caller kept as a hash: {typed}"
        );
        assert!(
            !page.contains(&link(2)) && !page.contains(&link(3)),
            "{typed}"
        );
    }
    // The masked form copied from the list finds every call with the same visible digits.
    let list = app.page(&session, "/calls").await;
    assert!(list.contains("+49 151 ••• ••90"), "{list}");
    let page = search(&app, &session, "+49 151 ••• ••90").await;
    assert_eq!(rows(&page), 3, "{page}");
    assert!(!page.contains(&link(2)), "{page}");
    assert!(
        page.contains(r#"id="masked-hint""#),
        "the list says it may be several people"
    );
    // A part of a number kept in clear, as before.
    let page = search(&app, &session, "0450 0990").await;
    assert_eq!(
        rows(&page),
        1,
        "only the call whose number is kept in clear: {page}"
    );
    // A damaged masked form gets a message, not an empty list.
    let response = app
        .get(
            &session.cookie,
            "/calls?number=%2B49%20151%20%E2%80%A2%E2%80%A2",
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("+49 151 ••• ••90"));

    // The call page offers the number kept in clear as a link to call it, never a masked one.
    let page = app.page(&session, &format!("/calls/{}", ids[0])).await;
    assert!(page.contains(r#"href="tel:+4915104500990""#), "{page}");
    let page = app.page(&session, &format!("/calls/{}", ids[1])).await;
    assert!(!page.contains("tel:"), "{page}");
}

#[tokio::test]
async fn open_problems_are_counted_over_the_chosen_window() {
    let app = spawn_app().await;
    app.place_call("CAproblem1", "+4915112345671", &["1"]).await;
    app.completed("CAproblem1").await;
    // A problem of long ago.
    app.place_call("CAproblem2", "+4915112345672", &["1"]).await;
    app.completed("CAproblem2").await;
    let session = app.login().await;
    let csrf = session.csrf.as_str();
    let ids = call_ids(&app).await;
    for id in &ids {
        let path = format!("/calls/{id}/status");
        app.post_form(&session, &path, &[("csrf", csrf), ("status", "problem")])
            .await;
    }
    let old = liza::store::now_ms() - 40 * 86_400_000;
    sqlx::query(&format!(
        "UPDATE calls SET started_at = {old} WHERE id = {}",
        ids[1]
    ))
    .execute(&app.db)
    .await
    .unwrap();

    let tile = |page: &str| {
        let start = page.find(r#"id="open-problems""#).unwrap();
        page[start..start + page[start..].find("</li>").unwrap()].to_owned()
    };
    let page = app.page(&session, "/").await;
    assert!(
        tile(&page).contains(r#"<span class="number">1</span> open problems"#),
        "{page}"
    );
    assert!(tile(&page).contains("default: the last 7 days"));
    assert!(tile(&page).contains("status=problem&amp;within=7d"));
    let page = app.page(&session, "/?problems=all").await;
    assert!(
        tile(&page).contains(r#"<span class="number">2</span> open problems"#),
        "{page}"
    );
    let response = app.get(&session.cookie, "/?problems=year").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let list = app.page(&session, "/calls?status=problem&within=30d").await;
    assert_eq!(rows(&list), 1, "{list}");
    let list = app.page(&session, "/calls?status=problem").await;
    assert_eq!(rows(&list), 2, "{list}");
}

/// An SSE stream's next event (`event:` name, `data:` line), or `None` when it ended.
async fn next_event(
    response: &mut reqwest::Response,
    buffer: &mut String,
) -> Option<(String, String)> {
    loop {
        if let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut name = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    name = v.to_owned();
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data = v.to_owned();
                }
            }
            if !name.is_empty() {
                return Some((name, data));
            }
            continue;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("an event within 10 s")
            .unwrap()?;
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

#[tokio::test]
async fn live_streams_need_a_session_and_are_bounded_per_session_and_server() {
    let app = spawn_app().await;
    app.place_call("CAlive0", "+4915112345671", &["1"]).await;
    for path in ["/live/calls", "/live/calls/1"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        let response = app.get("liza_session=forged", path).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        // An API token is not a session.
        let token = app.api_token().await;
        let response = app
            .client
            .get(app.url(path))
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }

    let session = app.login().await;
    let mut open = Vec::new();
    for _ in 0..MAX_STREAMS_PER_SESSION {
        let mut response = app.get(&session.cookie, "/live/calls").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let mut buffer = String::new();
        assert!(next_event(&mut response, &mut buffer).await.is_some());
        open.push((response, buffer));
    }
    // One more stream of the session ends its oldest: a page left behind is not noticed
    // until a write to it fails, and the page in front of the user is the one to keep live.
    let mut newest = app.get(&session.cookie, "/live/calls/1").await;
    assert_eq!(newest.status(), StatusCode::OK);
    let mut buffer = String::new();
    assert!(next_event(&mut newest, &mut buffer).await.is_some());
    let (oldest, oldest_buffer) = &mut open[0];
    assert_eq!(
        next_event(oldest, oldest_buffer).await,
        None,
        "the oldest ended"
    );
    for (response, buffer) in &mut open[1..] {
        let next =
            tokio::time::timeout(Duration::from_millis(500), next_event(response, buffer)).await;
        assert!(next.is_err(), "the others stay open (nothing new to say)");
    }
    // The server's bound: beyond it, refused until a stream ends.
    let mut sessions = Vec::new();
    let mut others = Vec::new();
    let refused = loop {
        let session = quick_session(&app).await;
        let mut taken = 0;
        let mut last = StatusCode::OK;
        while taken < MAX_STREAMS_PER_SESSION {
            let response = app.get(&session.cookie, "/live/calls").await;
            last = response.status();
            if last != StatusCode::OK {
                break;
            }
            others.push(response);
            taken += 1;
        }
        sessions.push(session);
        if last != StatusCode::OK {
            break last;
        }
        assert!(sessions.len() <= MAX_STREAMS, "no bound met");
    };
    assert_eq!(refused, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(others.len() + MAX_STREAMS_PER_SESSION, MAX_STREAMS);
    // A stream that ends gives its place back.
    drop(open);
    drop(newest);
    let started = std::time::Instant::now();
    // Noticed when a write to the closed connection fails: within two heartbeats.
    let deadline = started + HEARTBEAT * 2 + Duration::from_secs(5);
    loop {
        let response = app.get(&sessions[0].cookie, "/live/calls").await;
        if response.status() == StatusCode::OK {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the place was not given back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(STREAM_LIFETIME <= Duration::from_secs(3600));
}

#[tokio::test]
async fn live_streams_follow_the_calls_in_progress_and_one_call_until_it_ends() {
    let app = spawn_app().await;
    let session = app.login().await;
    let mut calls = app.get(&session.cookie, "/live/calls").await;
    assert_eq!(calls.status(), StatusCode::OK);
    let mut buffer = String::new();
    let (name, data) = next_event(&mut calls, &mut buffer).await.unwrap();
    assert_eq!(name, "calls");
    assert!(data.contains(r#""in_progress":0"#), "{data}");

    let mut call = app.call("CAlive1", "+4915112345678").await;
    let (_, data) = next_event(&mut calls, &mut buffer).await.unwrap();
    assert!(data.contains(r#""in_progress":1"#), "{data}");
    // The page of the running call follows it; a finished one's does not.
    let page = app.page(&session, "/calls/1").await;
    assert!(
        page.contains(r#"data-live-src="&#x2f;live&#x2f;calls&#x2f;1""#),
        "{page}"
    );
    assert!(page.contains(r#"<script src="/static/live.js" defer></script>"#));
    let list = app.page(&session, "/calls?status=in_progress").await;
    assert!(
        list.contains(r#"data-live-src="&#x2f;live&#x2f;calls""#),
        "{list}"
    );
    assert!(list.contains("data-live-region"), "{list}");

    let mut one = app.get(&session.cookie, "/live/calls/1").await;
    let mut one_buffer = String::new();
    let (name, first) = next_event(&mut one, &mut one_buffer).await.unwrap();
    assert_eq!(name, "call");
    assert!(first.contains(r#""ended":false"#), "{first}");
    call.press("1").await;
    let (_, second) = next_event(&mut one, &mut one_buffer).await.unwrap();
    assert_ne!(first, second, "a turn is news");
    assert!(second.contains(r#""ended":false"#), "{second}");
    call.completed("42").await;
    let (_, last) = next_event(&mut one, &mut one_buffer).await.unwrap();
    assert!(last.contains(r#""ended":true"#), "{last}");
    assert_eq!(
        next_event(&mut one, &mut one_buffer).await,
        None,
        "the stream ends"
    );
    let (_, data) = next_event(&mut calls, &mut buffer).await.unwrap();
    assert!(data.contains(r#""in_progress":0"#), "{data}");
    let page = app.page(&session, "/calls/1").await;
    assert!(!page.contains("data-live-src"), "{page}");
    assert!(!page.contains("live.js"), "{page}");
}

#[tokio::test]
async fn a_graceful_shutdown_ends_the_live_streams_at_once() {
    let app = spawn_app().await;
    // A call left running: its page's stream would go on for as long as it lives.
    let _call = app.call("CAlive2", "+4915112345678").await;
    let session = app.login().await;
    let mut calls = app.get(&session.cookie, "/live/calls").await;
    let mut one = app.get(&session.cookie, "/live/calls/1").await;
    let (mut a, mut b) = (String::new(), String::new());
    assert!(next_event(&mut calls, &mut a).await.is_some());
    assert!(next_event(&mut one, &mut b).await.is_some());
    let started = std::time::Instant::now();
    let TestApp { app: inner, .. } = app;
    inner.stop().await;
    // The server's graceful shutdown waits up to 20 s for open answers; streams end first.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the shutdown took {:?}",
        started.elapsed()
    );
    assert_eq!(next_event(&mut calls, &mut a).await, None);
    assert_eq!(next_event(&mut one, &mut b).await, None);
}

/// A part of a number reads the calls by time, so without days it looks through the last 90
/// days, says so, and links to a search of all calls.
#[tokio::test]
async fn a_part_of_a_number_is_looked_for_in_the_last_90_days_unless_asked_otherwise() {
    let app = spawn_app().await;
    app.place_call("CApartnew", "+4915112345671", &["1"]).await;
    app.completed("CApartnew").await;
    app.place_call("CApartold", "+4915112345672", &["1"]).await;
    app.completed("CApartold").await;
    let old = liza::store::now_ms() - 120 * 86_400_000;
    sqlx::query(&format!(
        "UPDATE calls SET started_at = {old} WHERE call_sid = 'CApartold'"
    ))
    .execute(&app.db)
    .await
    .unwrap();
    let session = app.login().await;

    let page = app.page(&session, "/calls?number=1234567").await;
    assert_eq!(rows(&page), 1, "only the call of the last 90 days: {page}");
    assert!(
        page.contains("A part of a number is looked for in the calls of the last 90 days."),
        "{page}"
    );
    assert!(
        page.contains("calls?number=1234567&amp;within=all\""),
        "{page}"
    );
    let page = app.page(&session, "/calls?number=1234567&within=all").await;
    assert_eq!(rows(&page), 2, "{page}");
    assert!(!page.contains(r#"id="part-hint""#));
    // Days chosen: they decide.
    let from =
        liza::web::dashboard::format_day(liza::web::dashboard::Zone::default().day_of(old) - 1);
    let page = app
        .page(&session, &format!("/calls?number=1234567&from={from}"))
        .await;
    assert_eq!(rows(&page), 2, "{page}");
    // A whole number is an index lookup: never bounded.
    let page = app.page(&session, "/calls?number=%2B4915112345672").await;
    assert_eq!(rows(&page), 1, "{page}");
    assert!(!page.contains(r#"id="part-hint""#));
}
