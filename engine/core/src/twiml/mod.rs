//! Typed TwiML verbs and an escaping XML writer (quick-xml).
//!
//! Must not touch: flows, Fluent, the store, HTTP. It only turns verbs into a document.

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

pub use crate::spoken::{spaced_digits, Element, Segment, Tag};

/// How digit strings are spoken: SSML `<say-as>` where the voice supports it
/// (Polly and Google voices), otherwise digits separated by spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigitStyle {
    SayAs,
    Spaced,
}

impl DigitStyle {
    pub fn for_voice(voice: &str) -> Self {
        if crate::voices::speaks_ssml(voice) {
            Self::SayAs
        } else {
            Self::Spaced
        }
    }
}

/// `<Say voice=… language=…>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Say {
    pub voice: String,
    pub language: String,
    pub speech: Vec<Segment>,
}

/// `<Gather input="dtmf">` with the prompts nested inside, so a caller may key ahead (or
/// speak: `input="dtmf speech"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gather {
    pub action: String,
    /// `dtmf`, `speech` or `dtmf speech`.
    pub input: &'static str,
    /// How words are heard, when the Gather listens for them.
    pub speech: Option<GatherSpeech>,
    pub num_digits: Option<u32>,
    pub finish_on_key: Option<String>,
    pub timeout_secs: u32,
    pub prompts: Vec<Say>,
}

/// A speech Gather's `language` (BCP-47, `de-DE`), `hints` and `speechTimeout="auto"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatherSpeech {
    pub language: String,
    pub hints: Option<String>,
}

/// `<Dial action method="POST" timeout callerId>` with one noun inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dial {
    /// Where Twilio posts `DialCallStatus` once the dial is over.
    pub action: String,
    pub timeout_secs: u32,
    pub caller_id: Option<String>,
    pub target: DialTarget,
}

/// Whom a `<Dial>` calls; `url`: TwiML played to the person who answers, before the bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialTarget {
    Number {
        number: String,
        url: Option<String>,
    },
    Sip {
        uri: String,
        url: Option<String>,
    },
    Client {
        identity: String,
        url: Option<String>,
    },
}

/// `<Record action method="POST" maxLength finishOnKey playBeep recordingStatusCallback
/// recordingStatusCallbackMethod="POST"/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub action: String,
    pub max_length_secs: u32,
    pub finish_on_key: String,
    pub play_beep: bool,
    /// Where Twilio posts the recording's URL and duration once it is ready.
    pub status_callback: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    Say(Say),
    Gather(Gather),
    Dial(Dial),
    Record(Record),
    Redirect(String),
    /// `<Play loop>url</Play>`.
    Play {
        url: String,
        repeat: u32,
    },
    Pause(u32),
    Hangup,
}

/// A TwiML `<Response>` document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    pub verbs: Vec<Verb>,
}

impl Response {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, verb: Verb) -> &mut Self {
        self.verbs.push(verb);
        self
    }

    /// Renders the document. Each top-level verb starts on its own line, which
    /// keeps golden files readable; whitespace between elements is ignored by Twilio.
    pub fn render(&self) -> String {
        let mut w = Writer::new(Vec::with_capacity(512));
        // Writing into a Vec cannot fail.
        let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
        newline(&mut w);
        start(&mut w, BytesStart::new("Response"));
        newline(&mut w);
        for verb in &self.verbs {
            write_verb(&mut w, verb);
            newline(&mut w);
        }
        end(&mut w, "Response");
        newline(&mut w);
        String::from_utf8(w.into_inner()).expect("the writer only writes UTF-8")
    }
}

fn newline(w: &mut Writer<Vec<u8>>) {
    w.get_mut().push(b'\n');
}

fn start(w: &mut Writer<Vec<u8>>, tag: BytesStart<'_>) {
    let _ = w.write_event(Event::Start(tag));
}

fn end(w: &mut Writer<Vec<u8>>, name: &str) {
    let _ = w.write_event(Event::End(BytesEnd::new(name)));
}

fn text(w: &mut Writer<Vec<u8>>, value: &str) {
    let _ = w.write_event(Event::Text(BytesText::new(&clean_text(value))));
}

/// Removes Unicode bidi isolation marks (U+2068, U+2069) and other control
/// characters that a voice would choke on; Fluent must never leak them to a caller.
fn clean_text(value: &str) -> String {
    value
        .chars()
        .filter(|c| !matches!(c, '\u{2066}'..='\u{2069}') && (!c.is_control() || *c == ' '))
        .collect()
}

fn write_verb(w: &mut Writer<Vec<u8>>, verb: &Verb) {
    match verb {
        Verb::Say(say) => write_say(w, say),
        Verb::Gather(gather) => {
            let mut tag = BytesStart::new("Gather");
            tag.push_attribute(("input", gather.input));
            if let Some(speech) = &gather.speech {
                tag.push_attribute(("language", speech.language.as_str()));
                if let Some(hints) = &speech.hints {
                    tag.push_attribute(("hints", hints.as_str()));
                }
                tag.push_attribute(("speechTimeout", "auto"));
            }
            let num_digits = gather.num_digits.map(|n| n.to_string());
            if let Some(n) = &num_digits {
                tag.push_attribute(("numDigits", n.as_str()));
            }
            if let Some(key) = &gather.finish_on_key {
                tag.push_attribute(("finishOnKey", key.as_str()));
            }
            let timeout = gather.timeout_secs.to_string();
            tag.push_attribute(("timeout", timeout.as_str()));
            tag.push_attribute(("action", gather.action.as_str()));
            tag.push_attribute(("method", "POST"));
            start(w, tag);
            for prompt in &gather.prompts {
                write_say(w, prompt);
            }
            end(w, "Gather");
        }
        Verb::Redirect(url) => {
            let mut tag = BytesStart::new("Redirect");
            tag.push_attribute(("method", "POST"));
            start(w, tag);
            text(w, url);
            end(w, "Redirect");
        }
        Verb::Play { url, repeat } => {
            let mut tag = BytesStart::new("Play");
            let repeat = repeat.to_string();
            if repeat != "1" {
                tag.push_attribute(("loop", repeat.as_str()));
            }
            start(w, tag);
            text(w, url);
            end(w, "Play");
        }
        Verb::Pause(secs) => {
            let mut tag = BytesStart::new("Pause");
            let length = secs.to_string();
            tag.push_attribute(("length", length.as_str()));
            let _ = w.write_event(Event::Empty(tag));
        }
        Verb::Hangup => {
            let _ = w.write_event(Event::Empty(BytesStart::new("Hangup")));
        }
        Verb::Record(record) => {
            let mut tag = BytesStart::new("Record");
            tag.push_attribute(("action", record.action.as_str()));
            tag.push_attribute(("method", "POST"));
            let max_length = record.max_length_secs.to_string();
            tag.push_attribute(("maxLength", max_length.as_str()));
            tag.push_attribute(("finishOnKey", record.finish_on_key.as_str()));
            tag.push_attribute(("playBeep", if record.play_beep { "true" } else { "false" }));
            tag.push_attribute(("recordingStatusCallback", record.status_callback.as_str()));
            tag.push_attribute(("recordingStatusCallbackMethod", "POST"));
            let _ = w.write_event(Event::Empty(tag));
        }
        Verb::Dial(dial) => {
            let mut tag = BytesStart::new("Dial");
            tag.push_attribute(("action", dial.action.as_str()));
            tag.push_attribute(("method", "POST"));
            let timeout = dial.timeout_secs.to_string();
            tag.push_attribute(("timeout", timeout.as_str()));
            if let Some(caller_id) = &dial.caller_id {
                tag.push_attribute(("callerId", caller_id.as_str()));
            }
            start(w, tag);
            let (noun, value, url) = match &dial.target {
                DialTarget::Number { number, url } => ("Number", number, url),
                DialTarget::Sip { uri, url } => ("Sip", uri, url),
                DialTarget::Client { identity, url } => ("Client", identity, url),
            };
            let mut tag = BytesStart::new(noun);
            if let Some(url) = url {
                tag.push_attribute(("url", url.as_str()));
                tag.push_attribute(("method", "POST"));
            }
            start(w, tag);
            text(w, value);
            end(w, noun);
            end(w, "Dial");
        }
    }
}

fn write_say(w: &mut Writer<Vec<u8>>, say: &Say) {
    let style = DigitStyle::for_voice(&say.voice);
    let mut tag = BytesStart::new("Say");
    tag.push_attribute(("voice", say.voice.as_str()));
    tag.push_attribute(("language", say.language.as_str()));
    start(w, tag);
    write_speech(w, &say.speech, style, false);
    end(w, "Say");
}

/// Segments inside `<Say>`. SSML elements are written as elements only for a voice that
/// speaks SSML (Polly, Google); a basic voice gets the text inside them (a `<sub>`'s alias),
/// which `liza check` warns about. `in_say_as`: digits already inside an author's `<say-as>`.
fn write_speech(w: &mut Writer<Vec<u8>>, speech: &[Segment], style: DigitStyle, in_say_as: bool) {
    for segment in speech {
        match segment {
            Segment::Text(t) => text(w, t),
            Segment::Digits(d) if in_say_as => text(w, d),
            Segment::Digits(d) if style == DigitStyle::SayAs => {
                let mut tag = BytesStart::new("say-as");
                tag.push_attribute(("interpret-as", "digits"));
                start(w, tag);
                text(w, d);
                end(w, "say-as");
            }
            Segment::Digits(d) => text(w, &spaced_digits(d)),
            Segment::Ssml(element) if style == DigitStyle::SayAs => {
                let name = element.tag.name();
                let mut tag = BytesStart::new(name);
                for (attribute, value) in element.tag.attributes() {
                    tag.push_attribute((attribute, clean_text(value).as_str()));
                }
                if element.children.is_empty() {
                    let _ = w.write_event(Event::Empty(tag));
                } else {
                    start(w, tag);
                    let say_as = in_say_as || matches!(element.tag, Tag::SayAs { .. });
                    write_speech(w, &element.children, style, say_as);
                    end(w, name);
                }
            }
            Segment::Ssml(element) => match &element.tag {
                Tag::Sub { alias } => text(w, alias),
                _ => write_speech(w, &element.children, style, in_say_as),
            },
        }
    }
}

/// The characters of a `<Say>` that Twilio counts against the voice's limit
/// ([`crate::voices::say_limit`]): the text it speaks as written into the document — digits
/// spaced for a basic voice, inside `<say-as>` for the others — without the SSML tags (Amazon
/// Polly counts only the text; a basic voice gets no tags). Read back from the written XML,
/// so it is what the writer writes.
pub fn said_characters(say: &Say) -> usize {
    let mut w = Writer::new(Vec::with_capacity(256));
    write_say(&mut w, say);
    let xml = w.into_inner();
    let mut reader = quick_xml::Reader::from_reader(xml.as_slice());
    let mut buf = Vec::new();
    let mut count = 0;
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Text(t)) => count += String::from_utf8_lossy(&t).chars().count(),
            // `&amp;`, `&lt;`: one character each.
            Ok(Event::GeneralRef(_)) => count += 1,
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
        buf.clear();
    }
    count
}

/// Whether segments hold an SSML element (which a basic voice does not speak).
pub fn has_ssml(speech: &[Segment]) -> bool {
    speech.iter().any(|s| matches!(s, Segment::Ssml(_)))
}

/// Plain text of spoken segments, digits spaced, SSML tags left out (the text inside them
/// kept): what the step log stores.
pub fn plain_text(speech: &[Segment]) -> String {
    let mut out = String::new();
    for segment in speech {
        match segment {
            Segment::Text(t) => out.push_str(&clean_text(t)),
            Segment::Digits(d) => out.push_str(&spaced_digits(d)),
            Segment::Ssml(element) => out.push_str(&plain_text(&element.children)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn say(voice: &str, speech: Vec<Segment>) -> Say {
        Say {
            voice: voice.into(),
            language: "de-DE".into(),
            speech,
        }
    }

    #[test]
    fn escapes_text_and_attributes() {
        let mut r = Response::new();
        r.push(Verb::Say(say(
            "Polly.Vicki",
            vec![Segment::Text("<b>Tom & \"Jerry\"</b>".into())],
        )));
        r.push(Verb::Redirect(
            "https://x.test/webhook/order?seq=1&a=2".into(),
        ));
        let xml = r.render();
        assert!(
            xml.contains("&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;"),
            "{xml}"
        );
        assert!(xml.contains("seq=1&amp;a=2"), "{xml}");
    }

    #[test]
    fn digits_use_say_as_for_polly_and_spaces_otherwise() {
        let speech = vec![
            Segment::Text("Sie haben ".into()),
            Segment::Digits("12345".into()),
            Segment::Text(" eingegeben.".into()),
        ];
        let mut r = Response::new();
        r.push(Verb::Say(say("Polly.Vicki", speech.clone())));
        r.push(Verb::Say(say("woman", speech.clone())));
        let xml = r.render();
        assert!(xml.contains(r#"<say-as interpret-as="digits">12345</say-as>"#));
        assert!(xml.contains("Sie haben 1 2 3 4 5 eingegeben."));
        assert_eq!(plain_text(&speech), "Sie haben 1 2 3 4 5 eingegeben.");
    }

    #[test]
    fn ssml_is_written_as_elements_for_polly_and_as_text_for_basic_voices() {
        let (speech, problems) = crate::spoken::ssml::parse(
            r#"Hallo <break time="500ms"/><emphasis level="strong">da</emphasis> <sub alias="Welt">W</sub>"#,
        );
        assert!(problems.is_empty());
        let mut r = Response::new();
        r.push(Verb::Say(say("Polly.Vicki", speech.clone())));
        r.push(Verb::Say(say("man", speech)));
        let xml = r.render();
        assert!(xml.contains(r#"<Say voice="Polly.Vicki" language="de-DE">Hallo <break time="500ms"/><emphasis level="strong">da</emphasis> <sub alias="Welt">W</sub></Say>"#), "{xml}");
        assert!(
            xml.contains(r#"<Say voice="man" language="de-DE">Hallo da Welt</Say>"#),
            "{xml}"
        );
    }

    #[test]
    fn said_characters_count_the_text_as_written_for_the_voice() {
        let (mut speech, _) = crate::spoken::ssml::parse(
            r#"A & B <break time="1s"/><prosody rate="slow">cd</prosody> "#,
        );
        speech.push(Segment::Digits("12345".into()));
        // "A & B " + "cd" + " " + digits: unspaced inside <say-as> for Polly, spaced otherwise.
        assert_eq!(
            said_characters(&say("Polly.Vicki", speech.clone())),
            6 + 2 + 1 + 5
        );
        assert_eq!(said_characters(&say("woman", speech)), 6 + 2 + 1 + 9);
    }

    #[test]
    fn strips_isolation_marks() {
        let mut r = Response::new();
        r.push(Verb::Say(say(
            "Polly.Vicki",
            vec![Segment::Text("\u{2068}ACME\u{2069}".into())],
        )));
        let xml = r.render();
        assert!(!xml.contains('\u{2068}') && !xml.contains('\u{2069}'));
        assert!(xml.contains(">ACME<"));
    }

    #[test]
    fn dial_carries_twilio_attributes_and_escapes() {
        let mut r = Response::new();
        r.push(Verb::Dial(Dial {
            action: "/webhook/desk?seq=3".into(),
            timeout_secs: 20,
            caller_id: Some("+4930901820".into()),
            target: DialTarget::Number {
                number: "+4930123456".into(),
                url: Some("/webhook/whisper?seq=3&x=<".into()),
            },
        }));
        let xml = r.render();
        assert!(xml.contains(r#"<Dial action="/webhook/desk?seq=3" method="POST" timeout="20" callerId="+4930901820"><Number url="/webhook/whisper?seq=3&amp;x=&lt;" method="POST">+4930123456</Number></Dial>"#), "{xml}");
        let mut r = Response::new();
        r.push(Verb::Dial(Dial {
            action: "/a".into(),
            timeout_secs: 5,
            caller_id: None,
            target: DialTarget::Sip {
                uri: "sip:desk@example.com".into(),
                url: None,
            },
        }));
        assert!(r.render().contains(r#"<Sip>sip:desk@example.com</Sip>"#));
    }

    #[test]
    fn gather_carries_twilio_attributes() {
        let mut r = Response::new();
        r.push(Verb::Gather(Gather {
            action: "/webhook/order?seq=2".into(),
            input: "dtmf",
            speech: None,
            num_digits: None,
            finish_on_key: Some("#".into()),
            timeout_secs: 7,
            prompts: vec![],
        }));
        r.push(Verb::Hangup);
        let xml = r.render();
        assert!(xml.contains(r##"<Gather input="dtmf" finishOnKey="#" timeout="7" action="/webhook/order?seq=2" method="POST"></Gather>"##), "{xml}");
        assert!(xml.contains("<Hangup/>"));
    }

    #[test]
    fn a_speech_gather_names_its_language_and_hints_escaped() {
        let mut r = Response::new();
        r.push(Verb::Gather(Gather {
            action: "/webhook/order?seq=2".into(),
            input: "dtmf speech",
            speech: Some(GatherSpeech {
                language: "de-DE".into(),
                hints: Some("Bestellnummer, \"null\" & eins".into()),
            }),
            num_digits: None,
            finish_on_key: Some("#".into()),
            timeout_secs: 5,
            prompts: vec![],
        }));
        let xml = r.render();
        assert!(xml.contains(r##"<Gather input="dtmf speech" language="de-DE" hints="Bestellnummer, &quot;null&quot; &amp; eins" speechTimeout="auto" finishOnKey="#" timeout="5" action="/webhook/order?seq=2" method="POST"></Gather>"##), "{xml}");
    }
}
