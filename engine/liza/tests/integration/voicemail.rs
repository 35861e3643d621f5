//! The `voicemail` node through the server: a `<Record>` only after the caller consented,
//! the recording's URL and duration from Twilio's signed recording status callback kept with
//! the call (never for a call without consent, never from an unsigned request), shown on the
//! call's page, in the caller's export, and gone with their erasure.

use liza::store::now_ms;
use liza::store::privacy::Person;

use crate::support::app::ADMIN_PASSWORD;
use crate::support::{
    assert_golden, call_params, recording_params, recording_url, AppOptions, TestApp, XmlItem,
    PUBLIC_URL,
};

const FLOW: &str = r##"name: voicemail-test
entry: hello
languages:
  default: de-DE
privacy:
  consent: consent
  covers: [caller_number, conversation]
nodes:
  hello:
    kind: say
    say: hello
    next: consent
  consent:
    kind: confirm
    webhook: consent
    prompt: ask
    choices:
      "1": given
      "2": refused
    on_exhausted: bye
  given:
    kind: persist
    consent: given
    next: message
  refused:
    kind: persist
    consent: refused
    next: message
  message:
    kind: voicemail
    say: leave
    max_length: 60
    finish_on_key: "#"
    webhook: message
    next:
      recorded: thanks
      empty: nothing
      no_consent: sorry
  thanks:
    kind: hangup
    say: thanks
  nothing:
    kind: hangup
    say: nothing
  sorry:
    kind: hangup
    say: sorry
  bye:
    kind: hangup
"##;

const DE: &str = "hello = Guten Tag.\nask = Dürfen wir Ihre Nachricht aufnehmen? Drücken Sie die 1 für Ja oder die 2 für Nein.\nleave = Bitte sprechen Sie nach dem Ton.\nthanks = Danke für Ihre Nachricht.\nnothing = Wir haben nichts gehört.\nsorry = Ohne Ihre Zustimmung nehmen wir nichts auf.\n";

const CALLER: &str = "+4915112345678";

async fn app() -> (TestApp, tempfile::TempDir) {
    let dir = crate::support::flow_folder("voicemail-test.yaml", FLOW, &[("de", DE), ("en", DE)]);
    let app = AppOptions::default()
        .flows(&dir.path().join("flows"))
        .locales(&dir.path().join("locales"))
        .set("LIZA_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .spawn()
        .await;
    (app, dir)
}

async fn recordings(app: &TestApp, sid: &str) -> Vec<(String, String, Option<i64>)> {
    sqlx::query_as(
        "SELECT r.recording_sid, r.url, r.duration_secs FROM recordings r JOIN calls c ON c.id = r.call_id WHERE c.call_sid = $1 ORDER BY r.id",
    )
    .bind(sid)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

async fn last_step(app: &TestApp, sid: &str) -> (String, String) {
    sqlx::query_as(
        "SELECT s.node, s.outcome FROM steps s JOIN calls c ON c.id = s.call_id WHERE c.call_sid = $1 ORDER BY s.turn DESC, s.position DESC LIMIT 1",
    )
    .bind(sid)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_consenting_callers_message_is_recorded_and_its_callback_kept() {
    let (app, _dir) = app().await;
    let mut call = app.call("CAvmgiven", CALLER).await;
    call.press("1").await;
    assert!(
        call.says("Bitte sprechen Sie nach dem Ton."),
        "{}",
        call.last.body
    );
    let record = format!(
        r##"<Record action="{PUBLIC_URL}/webhook/message?seq=2" method="POST" maxLength="60" finishOnKey="#" playBeep="true" recordingStatusCallback="{PUBLIC_URL}/webhook/recording" recordingStatusCallbackMethod="POST"/>"##
    );
    assert!(call.last.body.contains(&record), "{}", call.last.body);
    call.recorded().await;
    assert!(call.says("Danke für Ihre Nachricht."), "{}", call.last.body);
    assert!(call.hung_up());
    assert_eq!(
        last_step(&app, "CAvmgiven").await,
        ("thanks".into(), "hangup (completed)".into())
    );

    // Twilio's recording status callback, signed: kept with the call; delivered again, the
    // same row.
    for _ in 0..2 {
        let answer = call.recording_status("REvoicemail01", "14").await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    assert_eq!(
        recordings(&app, "CAvmgiven").await,
        vec![(
            "REvoicemail01".to_owned(),
            recording_url("REvoicemail01"),
            Some(14)
        )]
    );

    // Unsigned: refused, nothing kept.
    let answer = app
        .twilio
        .post_raw(
            "/webhook/recording",
            &recording_params("CAvmgiven", "REforged", "3"),
            None,
        )
        .await;
    assert_eq!(answer.status, 403);
    let answer = app
        .twilio
        .post_raw(
            "/webhook/recording",
            &recording_params("CAvmgiven", "REforged", "3"),
            Some("bm90IGEgc2lnbmF0dXJl"),
        )
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(recordings(&app, "CAvmgiven").await.len(), 1);
    call.completed("40").await;

    // The call's page lists it with its length and a link to Twilio.
    let id: i64 = sqlx::query_scalar("SELECT id FROM calls WHERE call_sid = 'CAvmgiven'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let cookie = login(&app).await;
    let html = page(&app, &cookie, &format!("/calls/{id}?lang=en")).await;
    assert!(html.contains("Recording, 14 seconds"), "{html}");
    // The link is Twilio's URL (the template escapes its slashes).
    let href = format!(
        r#"href="{}""#,
        recording_url("REvoicemail01").replace('/', "&#x2f;")
    );
    assert!(html.contains(&href), "{html}");
    assert!(html.contains("credentials"), "{html}");
    let html = page(&app, &cookie, &format!("/calls/{id}?lang=de")).await;
    assert!(html.contains("Aufnahme, 14 Sekunden"), "{html}");

    // The caller's export holds it; their erasure deletes it.
    let admin = app.admin();
    let hash = app.state.engine.privacy.caller_hash(CALLER);
    let person = Person {
        caller_hash: &hash,
        number: CALLER,
    };
    let data = admin.export_person(&person).await.unwrap();
    assert_eq!(data.recordings.len(), 1, "{data:?}");
    assert_eq!(data.recordings[0].duration_secs, Some(14));
    let erasure = admin
        .erase_person(&person, "tester", "voicemail test", now_ms())
        .await
        .unwrap();
    assert_eq!(erasure.erased.recordings, 1);
    assert!(recordings(&app, "CAvmgiven").await.is_empty());
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recordings")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(left, 0);
    let html = page(&app, &cookie, &format!("/calls/{id}?lang=en")).await;
    assert!(html.contains("No voicemail on this call."), "{html}");
}

#[tokio::test]
async fn without_consent_nothing_is_recorded_nor_kept() {
    let (app, _dir) = app().await;
    let mut call = app.call("CAvmrefused", CALLER).await;
    call.press("2").await;
    assert!(!call.last.body.contains("<Record"), "{}", call.last.body);
    assert!(
        call.says("Ohne Ihre Zustimmung nehmen wir nichts auf."),
        "{}",
        call.last.body
    );
    assert_eq!(
        last_step(&app, "CAvmrefused").await,
        ("sorry".into(), "hangup (completed)".into())
    );
    let outcomes: Vec<String> = sqlx::query_scalar(
        "SELECT s.outcome FROM steps s JOIN calls c ON c.id = s.call_id WHERE c.call_sid = 'CAvmrefused' AND s.node = 'message'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(outcomes, ["voicemail no_consent"]);
    // A (signed) recording callback for this call is not kept.
    let answer = call.recording_status("REnoconsent", "9").await;
    assert_eq!(answer.status, 200);
    assert!(recordings(&app, "CAvmrefused").await.is_empty());
    // Nor one for a call nobody knows, nor one whose URL is not Twilio's https one.
    let answer = app
        .twilio
        .post_signed(
            "/webhook/recording",
            &recording_params("CAnobody", "REx", "1"),
        )
        .await;
    assert_eq!(answer.status, 200);
    let mut params = recording_params("CAvmrefused", "REy", "1");
    params.retain(|(k, _)| k != "RecordingUrl");
    params.push(("RecordingUrl".into(), "javascript:alert(1)".into()));
    let answer = app.twilio.post_signed("/webhook/recording", &params).await;
    assert_eq!(answer.status, 200);
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recordings")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn a_message_never_spoken_goes_to_empty() {
    let (app, _dir) = app().await;
    let mut call = app.call("CAvmempty", CALLER).await;
    call.press("1").await;
    // Silence: Twilio goes on after the Record, to the Redirect (no RecordingUrl).
    call.silence().await;
    assert!(call.says("Wir haben nichts gehört."), "{}", call.last.body);
    let _ = call_params("CAvmempty", CALLER, None);
}

#[tokio::test]
async fn a_voicemail_matches_its_golden_transcript_and_twilios_library() {
    let (app, _dir) = app().await;
    let mut call = app.call("CAvmgolden", CALLER).await;
    call.press("1").await;
    if let Some(expected) = crate::oracle::oracle(serde_json::json!({
        "op": "record_twiml", "voice": "Polly.Vicki", "language": "de-DE",
        "say": "Bitte sprechen Sie nach dem Ton.",
        "action": format!("{PUBLIC_URL}/webhook/message?seq=2"), "max_length": 60,
        "finish_on_key": "#", "play_beep": true,
        "status_callback": format!("{PUBLIC_URL}/webhook/recording"),
    })) {
        let ours = crate::support::xml_items(&call.last.body);
        let theirs = crate::support::xml_items(&expected);
        let from = |items: &[XmlItem]| {
            items
                .iter()
                .position(|i| matches!(i, XmlItem::Start(name, _) if name == "Record"))
                .expect("a Record")
        };
        assert_eq!(
            ours[from(&ours)..],
            theirs[from(&theirs)..],
            "{}\n{expected}",
            call.last.body
        );
    }
    call.recorded().await;
    let golden =
        crate::support::repo_root().join("engine/liza/tests/golden/voicemail/recorded.twiml");
    assert_golden(&golden, &call.transcript.join("\n"));
}

/// A signed-in dashboard session's cookie (`liza_session=…`).
async fn login(app: &TestApp) -> String {
    let cookie_of = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(|v| v.split(';').next().unwrap().to_owned())
            .expect(name)
    };
    let page = app.client.get(app.url("/login")).send().await.unwrap();
    let csrf_cookie = cookie_of(&page, "liza_login_csrf");
    let html = page.text().await.unwrap();
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).unwrap() + marker.len();
    let csrf = &html[start..start + html[start..].find('"').unwrap()];
    let response = app
        .client
        .post(app.url("/login"))
        .header("cookie", csrf_cookie)
        .form(&[
            ("csrf", csrf),
            ("name", "admin"),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    cookie_of(&response, "liza_session")
}

async fn page(app: &TestApp, cookie: &str, path: &str) -> String {
    let response = app
        .client
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET {path}");
    response.text().await.unwrap()
}
