//! Natural speech through the server: the SSML a message's author wrote comes out as real
//! elements inside `<Say>` for a Polly voice, as only its text for a basic voice, and
//! Twilio's own library (the oracle) builds the same document.

use serde_json::json;

use crate::support::{xml_items, AppOptions, TestApp};

const FLOW: &str = r##"name: ssml-test
entry: hello
languages:
  default: de-DE
  prefixes:
    "+1": en-US
  voices:
    de-DE: Polly.Vicki
    en-US: woman
nodes:
  hello:
    kind: say
    say: hello
    next: bye
  bye:
    kind: hangup
    say: bye
"##;

const DE: &str = r#"hello = Wir sind <break time="500ms"/> für Sie <emphasis level="strong">da</emphasis>, <prosody rate="slow" volume="+2dB">von { $company }</prosody>: <say-as interpret-as="digits">0800</say-as> & <sub alias="Welt">W</sub>.
bye = <p><s>Auf <lang xml:lang="en-US">Wiederhören</lang>.</s></p>
"#;

const EN: &str = r#"hello = We are <break time="1s"/> <emphasis>here</emphasis> for <sub alias="you">u</sub>.
bye = <p>Goodbye.</p>
"#;

async fn app() -> (TestApp, tempfile::TempDir) {
    let dir = crate::support::flow_folder("ssml-test.yaml", FLOW, &[("de", DE), ("en", EN)]);
    let app = AppOptions::default()
        .flows(&dir.path().join("flows"))
        .locales(&dir.path().join("locales"))
        .spawn()
        .await;
    (app, dir)
}

#[tokio::test]
async fn ssml_in_messages_is_written_as_elements_inside_say_for_a_polly_voice() {
    let (app, _dir) = app().await;
    let call = app.call("CAssml", "+4915112345678").await;
    let body = &call.last.body;
    assert!(
        body.contains(r#"<Say voice="Polly.Vicki" language="de-DE">Wir sind <break time="500ms"/> für Sie <emphasis level="strong">da</emphasis>, <prosody rate="slow" volume="+2dB">von "#),
        "{body}"
    );
    assert!(
        body.contains(
            r#"<say-as interpret-as="digits">0800</say-as> &amp; <sub alias="Welt">W</sub>.</Say>"#
        ),
        "{body}"
    );
    assert!(
        body.contains(r#"<Say voice="Polly.Vicki" language="de-DE"><p><s>Auf <lang xml:lang="en-US">Wiederhören</lang>.</s></p></Say>"#),
        "{body}"
    );
    let company = match xml_items(body).iter().find_map(|i| match i {
        crate::support::XmlItem::Text(t) if t.starts_with("von ") => Some(t.clone()),
        _ => None,
    }) {
        Some(t) => t.trim_start_matches("von ").to_owned(),
        None => panic!("{body}"),
    };
    let Some(expected) = crate::oracle::oracle(json!({
        "op": "verbs_twiml",
        "verbs": [
            {"voice": "Polly.Vicki", "language": "de-DE", "say": [
                "Wir sind ",
                {"tag": "break", "attrs": {"time": "500ms"}},
                " für Sie ",
                {"tag": "emphasis", "attrs": {"level": "strong"}, "children": ["da"]},
                ", ",
                {"tag": "prosody", "attrs": {"rate": "slow", "volume": "+2dB"}, "children": [format!("von {company}")]},
                ": ",
                {"tag": "say-as", "attrs": {"interpret-as": "digits"}, "children": ["0800"]},
                " & ",
                {"tag": "sub", "attrs": {"alias": "Welt"}, "children": ["W"]},
                ".",
            ]},
            {"voice": "Polly.Vicki", "language": "de-DE", "say": [
                {"tag": "p", "children": [{"tag": "s", "children": [
                    "Auf ",
                    {"tag": "lang", "attrs": {"xml:lang": "en-US"}, "children": ["Wiederhören"]},
                    ".",
                ]}]},
            ]},
            {"hangup": true},
        ],
    })) else {
        return;
    };
    assert_eq!(xml_items(body), xml_items(&expected), "{body}\n{expected}");
}

#[tokio::test]
async fn a_basic_voice_gets_only_the_text_of_the_ssml() {
    let (app, _dir) = app().await;
    let call = app.call("CAssmlBasic", "+12025550123").await;
    let body = &call.last.body;
    assert!(
        body.contains(r#"<Say voice="woman" language="en-US">We are  here for you.</Say>"#),
        "{body}"
    );
    assert!(
        body.contains(r#"<Say voice="woman" language="en-US">Goodbye.</Say>"#),
        "{body}"
    );
    if let Some(expected) = crate::oracle::oracle(json!({
        "op": "verbs_twiml",
        "verbs": [
            {"voice": "woman", "language": "en-US", "say": ["We are  here for you."]},
            {"voice": "woman", "language": "en-US", "say": ["Goodbye."]},
            {"hangup": true},
        ],
    })) {
        assert_eq!(xml_items(body), xml_items(&expected), "{body}\n{expected}");
    }
}

const PLAY_FLOW: &str = r##"name: play-test
entry: hello
languages:
  default: de-DE
  voices:
    de-DE: Polly.Vicki
nodes:
  hello:
    kind: say
    say: hello
    next: jingle
  jingle:
    kind: play
    url: https://shop.example/audio/jingle.mp3?v=1&x=2
    loop: 2
    next: breath
  breath:
    kind: pause
    length: 2
    next: chime
  chime:
    kind: play
    url: https://shop.example/audio/chime.wav
    next: bye
  bye:
    kind: hangup
    say: bye
"##;

#[tokio::test]
async fn play_and_pause_nodes_answer_with_play_and_pause_verbs() {
    let text = "hello = Einen Moment <break time=\"300ms\"/> bitte.\nbye = Auf Wiederhören.\n";
    let dir =
        crate::support::flow_folder("play-test.yaml", PLAY_FLOW, &[("de", text), ("en", text)]);
    let app = AppOptions::default()
        .flows(&dir.path().join("flows"))
        .locales(&dir.path().join("locales"))
        .spawn()
        .await;
    let call = app.call("CAplay", "+4915112345678").await;
    let golden = crate::support::repo_root().join("engine/liza/tests/golden/play/call.twiml");
    crate::support::assert_golden(&golden, &call.transcript.join("\n"));
    let body = &call.last.body;
    assert!(
        body.contains(r#"<Play loop="2">https://shop.example/audio/jingle.mp3?v=1&amp;x=2</Play>"#),
        "{body}"
    );
    assert!(body.contains(r#"<Pause length="2"/>"#), "{body}");
    let Some(expected) = crate::oracle::oracle(json!({
        "op": "verbs_twiml",
        "verbs": [
            {"voice": "Polly.Vicki", "language": "de-DE", "say": [
                "Einen Moment ", {"tag": "break", "attrs": {"time": "300ms"}}, " bitte.",
            ]},
            {"play": "https://shop.example/audio/jingle.mp3?v=1&x=2", "loop": 2},
            {"pause": 2},
            {"play": "https://shop.example/audio/chime.wav"},
            {"voice": "Polly.Vicki", "language": "de-DE", "say": ["Auf Wiederhören."]},
            {"hangup": true},
        ],
    })) else {
        return;
    };
    assert_eq!(xml_items(body), xml_items(&expected), "{body}\n{expected}");
}
