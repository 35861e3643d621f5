//! One turn, played and written down: the state machine run to its end (stored records
//! fetched through the adapter's closure), its actions rendered as TwiML and its steps as the
//! text the caller heard. The webhook (liza-service) and the offline tools (liza-tools) both
//! play turns through [`play`], so a simulated call says and logs exactly what a real one does.
//!
//! Must not touch: the store, HTTP, the clock.

use crate::flow::Flow;
use crate::model::Consent;
use crate::runtime::{
    Action, CallState, Effects, FetchAnswer, FetchRequest, Input, RecordInfo, RecordRequest, Step,
    Texting, Turn,
};
use crate::speech::{Speaker, SpeechConfig};

/// One node the turn passed, with what was said there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayedStep {
    pub node: String,
    /// The Fluent message ids said at this node, in order.
    pub messages: Vec<String>,
    /// The plain text of each message (digits spaced), as the conversation log keeps it.
    pub texts: Vec<String>,
    /// Keys the caller pressed that this node took.
    pub digits: Option<String>,
    pub outcome: String,
    /// The caller's consent as it stood once this step was taken.
    pub consent: Option<Consent>,
    /// What happened here in words, beside what was said (a fetch's request and the values
    /// its answer set).
    pub note: Option<String>,
}

/// The consent question as the caller heard it in this turn: the proof of what they were
/// asked (message ids, the call's language, the rendered text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentQuestion {
    /// The consent node's prompt: its Fluent message ids, comma-separated.
    pub message: String,
    /// The call's language tag (`de-DE`).
    pub locale: String,
    /// The prompt's plain text as spoken.
    pub text: String,
}

impl PlayedStep {
    /// Everything said at this node, as one line (and its note, if it has one).
    pub fn text(&self) -> String {
        let mut text = self.texts.join(" ");
        if let Some(note) = &self.note {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(note);
        }
        text
    }
}

/// A turn's whole result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Played {
    /// The answer to Twilio.
    pub twiml: String,
    pub steps: Vec<PlayedStep>,
    pub effects: Effects,
    /// The call's state after the turn.
    pub state: CallState,
    /// The answer hangs up.
    pub ended: bool,
    /// Messages rendered with a problem (e.g. a missing variable); the text has a placeholder.
    pub problems: Vec<String>,
    /// The flow's consent node asked in this turn (the last time, when it asked twice).
    pub consent_question: Option<ConsentQuestion>,
    /// The text messages this turn queued, their bodies rendered in the call's language.
    pub texts: Vec<Text>,
}

/// A text message for the caller, as an `sms` node queued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub node: String,
    /// The Fluent message id of its body.
    pub message: String,
    /// The body as written (digits unspaced).
    pub body: String,
}

/// Plays one turn of `flow` for `input` on a call in `state`. `next_turn` numbers the webhook
/// that will answer this turn's question (it goes into the TwiML's URLs). `record` fetches or
/// saves a stored record when a node needs one; its error ends the turn unplayed. A `fetch`
/// node is answered `not_configured` (see [`play_fetching`] to answer it), and so is an `sms`
/// node.
pub fn play<E>(
    flow: &Flow,
    speech: &SpeechConfig,
    state: CallState,
    input: Input,
    next_turn: i64,
    now_ms: i64,
    record: impl FnMut(&RecordRequest) -> Result<Option<RecordInfo>, E>,
) -> Result<Played, E> {
    let unfetched =
        |_: &FetchRequest, _: usize| Some(FetchAnswer::not_configured("no fetch performed here"));
    match play_fetching(
        flow,
        speech,
        state,
        input,
        next_turn,
        now_ms,
        &Texting::default(),
        record,
        unfetched,
    )? {
        Turned::Played(played) => Ok(played),
        Turned::Paused { .. } => unreachable!("every fetch is answered at once"),
    }
}

/// A turn played to its end, or paused at a fetch that has to be performed first.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum Turned {
    Played(Played),
    /// The turn's `index`-th fetch (from 0) has no answer yet: perform `request`, then play
    /// the turn again from the start with the answers so far.
    Paused {
        index: usize,
        request: FetchRequest,
    },
}

/// [`play`], with the turn's fetches answered by `fetched(request, index)` (`index`: the
/// how-manieth fetch of this turn, from 0). `None` pauses the turn there ([`Turned::Paused`]):
/// the adapter performs the request outside any transaction and plays the turn again with the
/// answer. Playing is deterministic, so the same state, input, records and answers give the
/// same turn. `texting` says whether `sms` nodes may text the caller, and at which number.
#[allow(clippy::too_many_arguments)]
pub fn play_fetching<E>(
    flow: &Flow,
    speech: &SpeechConfig,
    state: CallState,
    input: Input,
    next_turn: i64,
    now_ms: i64,
    texting: &Texting,
    mut record: impl FnMut(&RecordRequest) -> Result<Option<RecordInfo>, E>,
    mut fetched: impl FnMut(&FetchRequest, usize) -> Option<FetchAnswer>,
) -> Result<Turned, E> {
    let env = &*speech.env.0;
    let mut machine = Turn::new(flow, state, input)
        .at(now_ms)
        .env(env)
        .texting(texting.clone());
    let mut fetches = 0;
    loop {
        match machine.run() {
            Step::NeedRecord(request) => {
                let found = record(&request)?;
                machine.provide(found);
            }
            Step::NeedFetch(request) => {
                let Some(answer) = fetched(&request, fetches) else {
                    return Ok(Turned::Paused {
                        index: fetches,
                        request,
                    });
                };
                machine.provide_fetch(&answer);
                fetches += 1;
            }
            Step::Done => break,
        }
    }
    let out = machine.finish();
    let mut speaker = Speaker::new(flow, &out.state, speech);
    let twiml = speaker.response(&out.actions, next_turn).render();
    let consent_question = out.actions.iter().rev().find_map(|action| match action {
        Action::Ask(id) if flow.is_consent_node(*id) => {
            let prompt = crate::flow::input_prompt(&flow.node(*id).kind);
            Some(ConsentQuestion {
                message: prompt.join(","),
                locale: out.state.language.clone(),
                text: speaker.text(prompt),
            })
        }
        _ => None,
    });
    let steps = out
        .steps
        .into_iter()
        .map(|step| PlayedStep {
            texts: step
                .messages
                .iter()
                .map(|message| speaker.text(std::slice::from_ref(message)))
                .collect(),
            node: step.node,
            messages: step.messages,
            digits: step.digits,
            outcome: step.outcome,
            consent: step.consent,
            note: step.note,
        })
        .collect();
    let texts = out
        .effects
        .texts
        .iter()
        .map(|text| Text {
            node: text.node.clone(),
            body: speaker.written(std::slice::from_ref(&text.message)),
            message: text.message.clone(),
        })
        .collect();
    let problems = std::mem::take(&mut speaker.problems);
    Ok(Turned::Played(Played {
        texts,
        twiml,
        steps,
        effects: out.effects,
        ended: out.actions.contains(&Action::Hangup),
        state: out.state,
        problems,
        consent_question,
    }))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::flow::load_flows;

    fn liza() -> std::sync::Arc<Flow> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let flows = load_flows(&root.join("flows"), &root.join("locales")).unwrap();
        flows.into_iter().find(|f| f.name == "liza").unwrap()
    }

    fn speech() -> SpeechConfig {
        SpeechConfig {
            company: "Muster GmbH".into(),
            website: "www.muster.example".into(),
            default_voice: "Polly.Vicki".into(),
            base_url: "https://liza.example.test".into(),
            env: crate::speech::FlowEnv::none(),
        }
    }

    /// Tuesday 1 December 2026, 10:00 in Berlin.
    const NOW: i64 = 1_796_115_600_000;

    fn none(_: &RecordRequest) -> Result<Option<RecordInfo>, String> {
        Ok(None)
    }

    #[test]
    fn a_played_turn_has_its_twiml_and_the_text_of_every_message() {
        let flow = liza();
        let start = Input::Start {
            from: "+447700900123".into(),
        };
        let played = play(&flow, &speech(), CallState::default(), start, 1, NOW, none).unwrap();
        assert!(played.twiml.contains("<Gather"), "{}", played.twiml);
        assert!(
            played.twiml.contains("/webhook/consent?seq=1"),
            "{}",
            played.twiml
        );
        let step = &played.steps[0];
        assert_eq!(step.messages.len(), step.texts.len());
        assert!(step.text().contains("Muster GmbH"), "{}", step.text());
        assert!(
            played.twiml.contains(&step.texts[0]),
            "the log says what was said"
        );
        assert_eq!(played.state.waiting.as_deref(), Some("consent"));
        assert!(!played.ended);
    }

    #[test]
    fn a_variables_markup_is_said_as_text_never_written_as_ssml() {
        let flow = liza();
        let config = SpeechConfig {
            company: "Muster <break time=\"10s\"/> & <emphasis>Söhne\u{E000}0\u{E001}".into(),
            ..speech()
        };
        let start = Input::Start {
            from: "+4915112345678".into(),
        };
        let played = play(&flow, &config, CallState::default(), start, 1, NOW, none).unwrap();
        assert!(
            played.twiml.contains(
                "Muster &lt;break time=&quot;10s&quot;/&gt; &amp; &lt;emphasis&gt;Söhne0"
            ),
            "{}",
            played.twiml
        );
        assert!(!played.twiml.contains("<break"), "{}", played.twiml);
        assert!(!played.twiml.contains("<emphasis"), "{}", played.twiml);
        assert!(
            played.steps[0]
                .text()
                .contains("Muster <break time=\"10s\"/> & <emphasis>Söhne0"),
            "{}",
            played.steps[0].text()
        );
    }

    #[test]
    fn the_consent_question_is_reported_when_the_consent_node_asks() {
        let flow = liza();
        let start = Input::Start {
            from: "+447700900123".into(),
        };
        let played = play(&flow, &speech(), CallState::default(), start, 1, NOW, none).unwrap();
        let question = played.consent_question.expect("the consent node asked");
        assert_eq!(question.message, "consent-question");
        assert_eq!(question.locale, "en-GB");
        assert!(
            question.text.starts_with("May we process your data"),
            "{}",
            question.text
        );
        assert!(played.twiml.contains(&question.text), "heard as stored");
        // The answer's turn asks something else: no question to prove.
        let answered = play(
            &flow,
            &speech(),
            played.state,
            Input::Digits("1".into()),
            2,
            NOW,
            none,
        )
        .unwrap();
        assert_eq!(answered.consent_question, None);
    }

    #[test]
    fn each_step_knows_the_consent_as_it_stood_then() {
        let flow = liza();
        let start = Input::Start {
            from: "+4915112345678".into(),
        };
        let state = play(&flow, &speech(), CallState::default(), start, 1, NOW, none)
            .unwrap()
            .state;
        assert_eq!(state.consent, None);
        let played = play(
            &flow,
            &speech(),
            state,
            Input::Digits("1".into()),
            2,
            NOW,
            none,
        )
        .unwrap();
        let consents: Vec<(&str, Option<Consent>)> = played
            .steps
            .iter()
            .map(|s| (s.node.as_str(), s.consent))
            .collect();
        assert_eq!(
            consents,
            [
                ("consent", None),
                ("consent-given", Some(Consent::Given)),
                ("order", Some(Consent::Given)),
            ]
        );
        assert_eq!(played.state.consent, Some(Consent::Given));
        assert!(flow.keeps(played.state.consent).caller_number);
        assert!(flow.keeps(played.state.consent).conversation);
        assert_eq!(flow.keeps(Some(Consent::Refused)), Default::default());
        assert_eq!(flow.keeps(None), Default::default());
    }

    #[test]
    fn a_failing_record_fetch_ends_the_turn_unplayed() {
        let flow = liza();
        let mut state = CallState::default();
        for input in [
            Input::Start {
                from: "+4915112345678".into(),
            },
            Input::Digits("1".into()),
            Input::Digits("12345".into()),
        ] {
            state = play(&flow, &speech(), state, input, 1, NOW, none)
                .unwrap()
                .state;
        }
        let failed = play(
            &flow,
            &speech(),
            state,
            Input::Digits("1".into()),
            4,
            NOW,
            |_| Err("database away".to_owned()),
        );
        assert_eq!(failed, Err("database away".to_owned()));
    }

    /// A flow compiled from text against one small English locale.
    fn flow_from(source: &str, ftl: &str) -> Flow {
        let locales = crate::i18n::Locales::from_sources(
            Path::new("locales"),
            vec![("en/test.ftl".into(), ftl.into())],
        )
        .unwrap();
        crate::flow::load::compile_source(
            Path::new("test.yaml"),
            source,
            std::sync::Arc::new(locales),
            "v1".into(),
        )
        .unwrap_or_else(|d| panic!("{d}"))
    }

    #[test]
    fn set_writes_literals_copies_and_concatenations_in_order() {
        let flow = flow_from(
            r#"
    name: t
    entry: ask
    languages: { default: en-US }
    nodes:
      ask:
        kind: gather-digits
        webhook: ask
        prompt: ask
        into: typed
        max_length: 9
        on_exhausted: bye
        next: remember
      remember:
        kind: set
        values:
          number: $typed
          team: sales
          reference: "ORD-{ $number }/{ $team }"
          tries: 3
        next: bye
      bye:
        kind: hangup
        say: bye
    "#,
            "ask = Number?\nbye = { $reference } { $number } { $tries }\n",
        );
        // Heard: the copy digit by digit, the concatenation and the literal as text.
        let played = play(
            &flow,
            &speech(),
            CallState::default(),
            Input::Start { from: "+1".into() },
            1,
            NOW,
            none,
        )
        .unwrap();
        let played = play(
            &flow,
            &speech(),
            played.state,
            Input::Digits("42".into()),
            2,
            NOW,
            none,
        )
        .unwrap();
        assert_eq!(played.steps.last().unwrap().texts, ["ORD-42/sales 4 2 3"]);
        let start = Turn::new(
            &flow,
            CallState::default(),
            Input::Start { from: "+1".into() },
        )
        .run_with(|_| None);
        let out = Turn::new(&flow, start.state, Input::Digits("42".into())).run_with(|_| None);
        let state = out.state.clone();
        let expected: std::collections::BTreeMap<String, String> = [
            ("number", "42"),
            ("reference", "ORD-42/sales"),
            ("team", "sales"),
            ("tries", "3"),
            ("typed", "42"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(state.vars, expected);
        // A copy of keyed digits is still read digit by digit; a concatenation is text.
        assert!(flow.is_digit_variable("number"));
        assert!(!flow.is_digit_variable("reference"));
        // The log names the variables, not their values (they may hold what the caller typed).
        let step = out.steps.iter().find(|s| s.node == "remember").unwrap();
        assert_eq!(step.outcome, "set number, team, reference, tries");
    }

    const SPEECH_FLOW: &str = r#"
    name: t
    entry: order
    languages:
      default: de-DE
      prefixes: { "+1": en-US }
    nodes:
      order:
        kind: gather-digits
        webhook: order
        prompt: ask
        input: [dtmf, speech]
        hints: order-hints
        min_confidence: 0.6
        into: number
        min_length: 3
        max_length: 8
        attempts: 2
        on_invalid: { say: again }
        on_no_input: { say: silence }
        on_exhausted: bye
        next: sure
      sure:
        kind: confirm
        webhook: sure
        prompt: ask
        input: [speech]
        choices: { "1": bye, "2": order }
        words: { "1": yes-words, "2": no-words }
        on_exhausted: bye
      bye:
        kind: hangup
        say: bye
    "#;

    /// The speech flow against a German and an English locale.
    fn speech_flow() -> Flow {
        let ftl = |hints: &str| {
            format!("ask = Nummer?\norder-hints = {hints}\nagain = Bitte noch einmal.\nsilence = Nichts gehört.\nbye = Tschüss {{ $number }}.\n")
        };
        let de = ftl("Bestellnummer, null, eins, zwölf")
            + "yes-words = Ja, genau, ja bitte\nno-words = nein, falsch\n";
        let en = ftl("order number, oh, one, double") + "yes-words = yes, right\nno-words = no\n";
        let locales = crate::i18n::Locales::from_sources(
            Path::new("locales"),
            vec![("de/t.ftl".into(), de), ("en/t.ftl".into(), en)],
        )
        .unwrap();
        crate::flow::load::compile_source(
            Path::new("test.yaml"),
            SPEECH_FLOW,
            std::sync::Arc::new(locales),
            "v1".into(),
        )
        .unwrap_or_else(|d| panic!("{d}"))
    }

    fn turn(flow: &Flow, state: CallState, input: Input, seq: i64) -> Played {
        play(flow, &speech(), state, input, seq, NOW, none).unwrap()
    }

    fn said(words: &str, confidence: u16) -> Input {
        Input::Speech {
            said: words.into(),
            confidence: Some(confidence),
        }
    }

    #[test]
    fn a_speech_gather_listens_in_the_callers_language_with_its_hints() {
        let flow = speech_flow();
        let de = turn(
            &flow,
            CallState::default(),
            Input::Start {
                from: "+49151".into(),
            },
            1,
        );
        assert!(
            de.twiml.contains(r##"<Gather input="dtmf speech" language="de-DE" hints="Bestellnummer, null, eins, zwölf" speechTimeout="auto" finishOnKey="#" timeout="5""##),
            "{}",
            de.twiml
        );
        let en = turn(
            &flow,
            CallState::default(),
            Input::Start {
                from: "+1555".into(),
            },
            1,
        );
        assert!(
            en.twiml
                .contains(r#"language="en-US" hints="order number, oh, one, double""#),
            "{}",
            en.twiml
        );
    }

    #[test]
    fn spoken_digits_are_taken_like_keys_and_written_down_with_what_was_heard() {
        let flow = speech_flow();
        let start = turn(
            &flow,
            CallState::default(),
            Input::Start {
                from: "+49151".into(),
            },
            1,
        );
        let played = turn(&flow, start.state, said("zwölf drei und vierzig", 912), 2);
        assert_eq!(played.state.vars["number"], "1243");
        let step = &played.steps[0];
        assert_eq!(step.outcome, "accepted");
        assert_eq!(step.digits.as_deref(), Some("1243"));
        assert_eq!(
            step.note.as_deref(),
            Some(r#"heard "zwölf drei und vierzig" (confidence 0.91)"#)
        );
        // The confirm listens for words only: no keys, no finish key.
        assert!(
            played.twiml.contains(
                r#"<Gather input="speech" language="de-DE" speechTimeout="auto" timeout="5""#
            ),
            "{}",
            played.twiml
        );
        let chose = turn(&flow, played.state.clone(), said("Zwei.", 800), 3);
        assert_eq!(chose.steps[0].outcome, "chose 2");
        // A choice's own words, in the call's language, whole, case and marks aside.
        let yes = turn(&flow, played.state.clone(), said("Ja, bitte!", 800), 3);
        assert_eq!(yes.steps[0].outcome, "chose 1");
        let no = turn(&flow, played.state.clone(), said("Nein", 800), 3);
        assert_eq!(no.steps[0].outcome, "chose 2");
        for other in ["yes", "ja nein", "ja genau"] {
            let out = turn(&flow, played.state.clone(), said(other, 800), 3);
            assert_eq!(out.steps[0].outcome, "invalid, 2 attempts left", "{other}");
        }
    }

    #[test]
    fn words_heard_with_too_little_confidence_are_asked_again_as_not_understood() {
        let flow = speech_flow();
        let start = turn(
            &flow,
            CallState::default(),
            Input::Start {
                from: "+1555".into(),
            },
            1,
        );
        let unsure = turn(&flow, start.state, said("one two three", 590), 2);
        let step = &unsure.steps[0];
        assert_eq!(step.outcome, "not understood, 1 attempts left");
        assert_eq!(step.messages, ["again"]);
        assert_eq!(step.digits, None);
        assert!(
            unsure.twiml.contains("Bitte noch einmal."),
            "{}",
            unsure.twiml
        );
        assert_eq!(unsure.state.waiting.as_deref(), Some("order"));
        // A confidence Twilio did not send (or sent garbled) is no confidence.
        let unknown = Input::Speech {
            said: "one two three".into(),
            confidence: None,
        };
        let out = turn(&flow, unsure.state, unknown, 3);
        assert_eq!(out.steps[0].outcome, "not understood, attempts exhausted");
        assert_eq!(
            out.steps[0].note.as_deref(),
            Some(r#"heard "one two three" (no confidence)"#)
        );
    }

    #[test]
    fn words_that_say_no_digits_or_too_few_are_invalid() {
        let flow = speech_flow();
        let start = turn(
            &flow,
            CallState::default(),
            Input::Start {
                from: "+1555".into(),
            },
            1,
        );
        let words = turn(&flow, start.state.clone(), said("my order please", 990), 2);
        assert_eq!(words.steps[0].outcome, "invalid, 1 attempts left");
        assert_eq!(words.steps[0].digits, None);
        let short = turn(&flow, start.state.clone(), said("double five", 990), 2);
        assert_eq!(short.steps[0].outcome, "invalid, 1 attempts left");
        assert_eq!(short.steps[0].digits.as_deref(), Some("55"));
        // German words on an English call are not understood as digits.
        let german = turn(&flow, start.state, said("eins zwei drei", 990), 2);
        assert_eq!(german.steps[0].outcome, "invalid, 1 attempts left");
    }

    #[test]
    fn words_at_a_gather_that_takes_keys_only_are_invalid() {
        let flow = flow_from(
            r#"
    name: t
    entry: ask
    languages: { default: en-US }
    nodes:
      ask:
        kind: gather-digits
        webhook: ask
        prompt: ask
        into: typed
        max_length: 9
        on_exhausted: bye
        next: bye
      bye:
        kind: hangup
        say: bye
    "#,
            "ask = Number?\nbye = Bye.\n",
        );
        let start = turn(
            &flow,
            CallState::default(),
            Input::Start { from: "+1".into() },
            1,
        );
        assert!(
            start
                .twiml
                .contains(r##"<Gather input="dtmf" finishOnKey="#""##),
            "{}",
            start.twiml
        );
        let out = turn(&flow, start.state, said("one two", 990), 2);
        assert_eq!(out.steps[0].outcome, "invalid, 2 attempts left");
    }

    #[test]
    fn min_confidence_zero_takes_words_without_a_confidence() {
        let flow = flow_from(
            r#"
    name: t
    entry: ask
    languages: { default: en-US }
    nodes:
      ask:
        kind: gather-digits
        webhook: ask
        prompt: ask
        input: [speech]
        min_confidence: 0
        into: typed
        max_length: 9
        on_exhausted: bye
        next: bye
      bye:
        kind: hangup
        say: bye
    "#,
            "ask = Number?\nbye = Bye.\n",
        );
        let start = turn(
            &flow,
            CallState::default(),
            Input::Start { from: "+1".into() },
            1,
        );
        let unknown = Input::Speech {
            said: "four two".into(),
            confidence: None,
        };
        let out = turn(&flow, start.state, unknown, 2);
        assert_eq!(out.steps[0].outcome, "accepted");
        assert_eq!(out.state.vars["typed"], "42");
    }
}
