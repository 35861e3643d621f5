//! Speech input through the server: a `<Gather input="dtmf speech">` in the caller's language
//! with its hints (the same document as Twilio's own library writes), `SpeechResult` read as
//! the digits it says, too little `Confidence` asked again as not understood, a malformed
//! one never a failure, a confirm's choice by its own words in the caller's language, and what
//! was said kept only as the caller's consent allows.

use crate::support::{assert_golden, AppOptions, TestApp, XmlItem, PUBLIC_URL};

const FLOW: &str = r##"name: speech-test
entry: consent
languages:
  default: de-DE
  prefixes:
    "+1": en-US
privacy:
  consent: consent
  covers: [caller_number, conversation]
nodes:
  consent:
    kind: confirm
    webhook: consent
    prompt: ask-consent
    input: [dtmf, speech]
    choices:
      "1": given
      "2": refused
    words:
      "1": yes-words
      "2": no-words
    on_exhausted: bye
  given:
    kind: persist
    consent: given
    next: order
  refused:
    kind: persist
    consent: refused
    next: order
  order:
    kind: gather-digits
    webhook: order
    prompt: order-prompt
    input: [dtmf, speech]
    hints: order-hints
    min_confidence: 0.6
    into: order_number
    min_length: 5
    max_length: 8
    on_invalid:
      say: order-again
    on_exhausted: bye
    next: thanks
  thanks:
    kind: hangup
    say: thanks
  bye:
    kind: hangup
    say: bye
"##;

const DE: &str = "ask-consent = Dürfen wir Ihre Angaben speichern? Sagen oder drücken Sie eins für Ja, zwei für Nein.
yes-words = ja, gerne, einverstanden
no-words = nein, lieber nicht
order-prompt = Bitte sagen oder tippen Sie Ihre Bestellnummer.
order-hints = Bestellnummer, null, eins, zwei, drei, vier, fünf, sechs, sieben, acht, neun
order-again = Das habe ich nicht verstanden.
thanks = Danke, Bestellung { $order_number }.
bye = Auf Wiederhören.
";

const EN: &str = "ask-consent = May we keep your details? Say or press one for yes, two for no.
yes-words = yes, sure
no-words = no
order-prompt = Please say or type your order number.
order-hints = order number, oh, one, two, three, four, five, six, seven, eight, nine
order-again = Sorry, I did not catch that.
thanks = Thank you, order { $order_number }.
bye = Goodbye.
";

const CALLER: &str = "+4915112345678";

async fn app() -> (TestApp, tempfile::TempDir) {
    let dir = crate::support::flow_folder("speech-test.yaml", FLOW, &[("de", DE), ("en", EN)]);
    let app = AppOptions::default()
        .flows(&dir.path().join("flows"))
        .locales(&dir.path().join("locales"))
        .spawn()
        .await;
    (app, dir)
}

/// Every stored step of a call: node, text, digits, outcome.
async fn steps(app: &TestApp, sid: &str) -> Vec<(String, String, Option<String>, String)> {
    sqlx::query_as(
        "SELECT s.node, s.text, s.digits, s.outcome FROM steps s JOIN calls c ON c.id = s.call_id WHERE c.call_sid = $1 ORDER BY s.turn, s.position",
    )
    .bind(sid)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_spoken_call_matches_its_golden_transcript_and_twilios_library() {
    let (app, _dir) = app().await;
    let mut call = app.call("CAspeechgolden", CALLER).await;
    // Words for another choice than the caller's language has are not understood as it.
    call.say("yes", "0.9").await;
    assert!(call.last.body.contains("<Gather"), "{}", call.last.body);
    // A choice's own words: "Nein." refuses.
    call.say("Nein.", "0.91").await;
    // The order number's Gather, as Twilio's library writes it.
    if let Some(expected) = crate::oracle::oracle(serde_json::json!({
        "op": "speech_gather_twiml", "voice": "Polly.Vicki", "language": "de-DE",
        "input": "dtmf speech",
        "hints": "Bestellnummer, null, eins, zwei, drei, vier, fünf, sechs, sieben, acht, neun",
        "finish_on_key": "#", "timeout": 5,
        "prompt": "Bitte sagen oder tippen Sie Ihre Bestellnummer.",
        "action": format!("{PUBLIC_URL}/webhook/order?seq=3"),
    })) {
        let ours = crate::support::xml_items(&call.last.body);
        let theirs = crate::support::xml_items(&expected);
        let from = |items: &[XmlItem]| {
            items
                .iter()
                .position(|i| matches!(i, XmlItem::Start(name, _) if name == "Gather"))
                .expect("a Gather")
        };
        assert_eq!(
            ours[from(&ours)..],
            theirs[from(&theirs)..],
            "{}\n{expected}",
            call.last.body
        );
    }
    // Too unsure: asked again. Then heard well, in words and a digit.
    call.say("eins zwei drei", "0.41").await;
    assert!(call.last.body.contains("Das habe ich nicht verstanden."));
    call.say("eins zwei drei vier 5", "0.93").await;
    assert!(call.hung_up());
    assert_golden(
        &crate::support::repo_root().join("engine/liza/tests/golden/speech/de-spoken.twiml"),
        &call.transcript.join("\n"),
    );
    // Refused: the steps keep nodes and outcomes, not what was said nor the digits.
    let stored = steps(&app, "CAspeechgolden").await;
    let order: Vec<_> = stored.iter().filter(|s| s.0 == "order").collect();
    let outcomes: Vec<&str> = order.iter().map(|s| s.3.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "asked",
            "not understood, 2 attempts left",
            "asked",
            "accepted"
        ]
    );
    for (node, text, digits, _) in &stored {
        assert!(
            !text.contains("eins") && digits.is_none(),
            "{node}: {text:?} {digits:?}"
        );
    }
}

#[tokio::test]
async fn a_consenting_callers_words_are_kept_with_the_digits_they_said() {
    let (app, _dir) = app().await;
    let mut call = app.call("CAspeechkept", "+15005550006").await;
    assert!(
        call.last.body.contains(r#"language="en-US""#),
        "{}",
        call.last.body
    );
    call.say("Yes!", "0.88").await;
    call.say("double five, one two three", "0.8").await;
    assert!(call.hung_up());
    assert!(
        call.last
            .body
            .contains(r#"<say-as interpret-as="digits">55123</say-as>"#),
        "read back digit by digit: {}",
        call.last.body
    );
    let stored = steps(&app, "CAspeechkept").await;
    let accepted = stored
        .iter()
        .find(|s| s.0 == "order" && s.3 == "accepted")
        .expect("the order number was accepted");
    assert_eq!(accepted.2.as_deref(), Some("55123"));
    assert_eq!(
        accepted.1,
        r#"heard "double five, one two three" (confidence 0.80)"#
    );
}

#[tokio::test]
async fn a_malformed_or_missing_confidence_is_not_understood_never_an_error() {
    let (app, _dir) = app().await;
    let mut call = app.call("CAspeechodd", CALLER).await;
    for confidence in ["", "sehr hoch"] {
        let answer = call.say("eins", confidence).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert!(
            answer.body.contains("<Gather"),
            "asked again: {}",
            answer.body
        );
    }
    assert_eq!(call.say("eins", "1.7").await.status, 200);
    // Three times not understood: the attempts are used up.
    assert!(call.hung_up());
    assert!(
        call.last.body.contains("Auf Wiederhören."),
        "{}",
        call.last.body
    );
    let stored = steps(&app, "CAspeechodd").await;
    let outcomes: Vec<&str> = stored
        .iter()
        .filter(|s| s.0 == "consent" && s.3 != "asked")
        .map(|s| s.3.as_str())
        .collect();
    assert_eq!(
        outcomes,
        [
            "not understood, 2 attempts left",
            "not understood, 1 attempts left",
            "not understood, attempts exhausted"
        ]
    );
}

#[tokio::test]
async fn kilobytes_of_words_are_an_invalid_answer_and_never_stored_whole() {
    let (app, _dir) = app().await;
    let mut call = app.call("CAspeechlong", "+15005550006").await;
    call.say("yes", "0.9").await;
    let long = "one two three ".repeat(300);
    let answer = call.say(&long, "0.95").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer.body.contains("<Gather"),
        "asked again: {}",
        answer.body
    );
    let stored = steps(&app, "CAspeechlong").await;
    let (_, text, digits, outcome) = stored
        .iter()
        .rev()
        .find(|s| s.0 == "order" && s.3 != "asked")
        .expect("the order node answered");
    assert_eq!(outcome, "invalid, 2 attempts left");
    assert_eq!(digits, &None);
    assert!(text.len() < 600, "{} bytes kept", text.len());
}
