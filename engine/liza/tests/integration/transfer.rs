//! The `transfer` node through the server: the `<Dial>` Liza answers, the whisper the person
//! hears (asked on the dialled leg, `ParentCallSid`), and every `DialCallStatus` of the dial's
//! action callback leading to its node (docs/twilio.md). A golden transcript of the busy case
//! and Twilio's own library (the oracle) check the TwiML.

use crate::support::{assert_golden, call_params, AppOptions, TestApp, XmlItem, PUBLIC_URL};

const FLOW: &str = r#"name: transfer-test
entry: hello
languages:
  default: de-DE
  prefixes:
    "+44": en-GB
nodes:
  hello:
    kind: say
    say: hello
    next: desk
  desk:
    kind: transfer
    to: ${env:DESK_PHONE}
    caller_id: "+4930123456"
    timeout: 25
    say: connecting
    whisper: whisper
    webhook: desk
    next:
      answered: done
      busy: sorry
      no_answer: sorry
      failed: sorry
      not_configured: closed
  sorry:
    kind: hangup
    say: sorry
  closed:
    kind: hangup
    say: closed
  done:
    kind: hangup
"#;

const DE: &str = "hello = Guten Tag.\nconnecting = Ich verbinde Sie.\nwhisper = Ein Anruf von der Hotline.\nsorry = Leider ist niemand erreichbar.\nclosed = Wir sind nicht erreichbar.\n";
const EN: &str = "hello = Hello.\nconnecting = Putting you through.\nwhisper = A caller from the hotline.\nsorry = Sorry, nobody is available.\nclosed = We cannot be reached.\n";

const DESK_PHONE: &str = "+4930901899";

async fn app(phone: Option<&str>) -> (TestApp, tempfile::TempDir) {
    let dir = crate::support::flow_folder("transfer-test.yaml", FLOW, &[("de", DE), ("en", EN)]);
    let mut options = AppOptions::default()
        .flows(&dir.path().join("flows"))
        .locales(&dir.path().join("locales"));
    options = match phone {
        Some(phone) => options.set("DESK_PHONE", phone),
        None => options.unset("DESK_PHONE"),
    };
    (options.spawn().await, dir)
}

async fn steps(app: &TestApp, sid: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT s.node, s.outcome FROM steps s JOIN calls c ON c.id = s.call_id WHERE c.call_sid = $1 ORDER BY s.turn, s.position",
    )
    .bind(sid)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn every_dial_call_status_leads_to_its_node() {
    let (app, _dir) = app(Some(DESK_PHONE)).await;
    for (i, (status, node, heard)) in [
        ("completed", "done", None),
        ("answered", "done", None),
        ("busy", "sorry", Some("Leider ist niemand erreichbar.")),
        ("no-answer", "sorry", Some("Leider ist niemand erreichbar.")),
        ("failed", "sorry", Some("Leider ist niemand erreichbar.")),
        ("canceled", "sorry", Some("Leider ist niemand erreichbar.")),
    ]
    .into_iter()
    .enumerate()
    {
        let sid = format!("CAdial{i}");
        let mut call = app.call(&sid, "+4915112345678").await;
        assert!(call.says("Ich verbinde Sie."), "{}", call.last.body);
        assert!(!call.hung_up(), "{}", call.last.body);
        let dial = &call.last.body;
        assert!(
            dial.contains(&format!(
                r#"<Dial action="{PUBLIC_URL}/webhook/desk?seq=1" method="POST" timeout="25" callerId="+4930123456"><Number url="{PUBLIC_URL}/webhook/whisper?seq=1" method="POST">{DESK_PHONE}</Number></Dial>"#
            )),
            "{dial}"
        );
        call.dial_ended(status).await;
        assert!(call.hung_up(), "{status}: {}", call.last.body);
        match heard {
            Some(text) => assert!(call.says(text), "{status}: {}", call.last.body),
            // Answered: the bridged call is over, nothing more is said.
            None => assert!(!call.last.body.contains("<Say"), "{}", call.last.body),
        }
        let steps = steps(&app, &sid).await;
        let expected_outcome = match status {
            "completed" | "answered" => "dial answered",
            "no-answer" => "dial no_answer",
            "busy" => "dial busy",
            _ => "dial failed",
        };
        assert!(
            steps.contains(&("desk".into(), "dial started".into()))
                && steps.contains(&("desk".into(), expected_outcome.into())),
            "{status}: {steps:?}"
        );
        assert_eq!(steps.last().unwrap().0, node, "{status}: {steps:?}");
        // The number dialled is never kept with the call's steps.
        let texts: Vec<String> = sqlx::query_scalar(
            "SELECT s.text FROM steps s JOIN calls c ON c.id = s.call_id WHERE c.call_sid = $1",
        )
        .bind(&sid)
        .fetch_all(&app.db)
        .await
        .unwrap();
        assert!(texts.iter().all(|t| !t.contains(DESK_PHONE)), "{texts:?}");
    }
}

#[tokio::test]
async fn the_person_who_answers_hears_the_whisper_in_the_callers_language() {
    let (app, _dir) = app(Some(DESK_PHONE)).await;
    let mut call = app.call("CAwhisperEn", "+447700900123").await;
    assert!(call.says("Putting you through."), "{}", call.last.body);
    let whisper = call.whisper().await;
    assert!(
        whisper.body.contains(">A caller from the hotline.</Say>"),
        "{}",
        whisper.body
    );
    assert!(!whisper.body.contains("<Hangup"), "{}", whisper.body);
    // The whisper stored nothing: the call still waits at the transfer for the dial's outcome.
    call.dial_ended("no-answer").await;
    assert!(
        call.says("Sorry, nobody is available."),
        "{}",
        call.last.body
    );

    // A whisper for a call nobody knows puts the person through without one (no apology).
    let params = vec![
        ("CallSid".to_owned(), "CAchild".to_owned()),
        ("ParentCallSid".to_owned(), "CAnobody".to_owned()),
    ];
    let answer = app
        .twilio
        .post_signed("/webhook/whisper?seq=1", &params)
        .await;
    assert_eq!(answer.status, 200);
    assert!(!answer.body.contains("<Say"), "{}", answer.body);
    assert!(!answer.body.contains("<Hangup"), "{}", answer.body);
}

#[tokio::test]
async fn an_unsigned_dial_callback_is_refused() {
    let (app, _dir) = app(Some(DESK_PHONE)).await;
    let call = app.call("CAunsigned", "+4915112345678").await;
    let mut params = call_params("CAunsigned", "+4915112345678", None);
    params.push(("DialCallStatus".into(), "completed".into()));
    let answer = app
        .twilio
        .post_raw("/webhook/desk?seq=1", &params, None)
        .await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    let steps = steps(&app, "CAunsigned").await;
    assert_eq!(
        steps.last().unwrap(),
        &("desk".into(), "dial started".into())
    );
    drop(call);
}

#[tokio::test]
async fn without_the_number_nothing_is_dialled() {
    let (app, _dir) = app(None).await;
    let call = app.call("CAnophone", "+4915112345678").await;
    assert!(!call.last.body.contains("<Dial"), "{}", call.last.body);
    assert!(!call.says("Ich verbinde Sie."), "{}", call.last.body);
    assert!(
        call.says("Wir sind nicht erreichbar."),
        "{}",
        call.last.body
    );
    assert!(call.hung_up());
    let steps = steps(&app, "CAnophone").await;
    assert!(
        steps.contains(&("desk".into(), "dial not_configured".into())),
        "{steps:?}"
    );
}

#[tokio::test]
async fn a_busy_transfer_matches_its_golden_transcript() {
    let (app, _dir) = app(Some(DESK_PHONE)).await;
    let mut call = app.call("CAgoldenbusy", "+4915112345678").await;
    call.whisper().await;
    call.dial_ended("busy").await;
    let golden = crate::support::repo_root().join("engine/liza/tests/golden/transfer/busy.twiml");
    assert_golden(&golden, &call.transcript.join("\n"));
}

/// The Dial and the whisper as Twilio's own library writes them.
#[tokio::test]
async fn dial_and_whisper_twiml_match_twilios_library() {
    let (app, _dir) = app(Some(DESK_PHONE)).await;
    let mut call = app.call("CAoracleDial", "+4915112345678").await;
    let Some(expected) = crate::oracle::oracle(serde_json::json!({
        "op": "dial_twiml", "voice": "Polly.Vicki", "language": "de-DE",
        "say": "Guten Tag. Ich verbinde Sie.",
        "action": format!("{PUBLIC_URL}/webhook/desk?seq=1"), "timeout": 25,
        "caller_id": "+4930123456", "noun": "number", "target": DESK_PHONE,
        "url": format!("{PUBLIC_URL}/webhook/whisper?seq=1"),
    })) else {
        return;
    };
    let ours = crate::support::xml_items(&call.last.body);
    // Liza says the greeting and the transfer's message as two Says; Twilio's library is
    // asked for them as one: compare the Dial, and the texts in order.
    let theirs = crate::support::xml_items(&expected);
    let dial = |items: &[XmlItem]| -> usize {
        items
            .iter()
            .position(|i| matches!(i, XmlItem::Start(name, _) if name == "Dial"))
            .expect("a Dial")
    };
    assert_eq!(
        ours[dial(&ours)..],
        theirs[dial(&theirs)..],
        "{}\n{expected}",
        call.last.body
    );
    let whisper = call.whisper().await;
    let expected = crate::oracle::oracle(serde_json::json!({
        "op": "whisper_twiml", "voice": "Polly.Vicki", "language": "de-DE",
        "say": "Ein Anruf von der Hotline.",
    }))
    .unwrap();
    assert_eq!(
        crate::support::xml_items(&whisper.body),
        crate::support::xml_items(&expected)
    );
}
