//! Turns the state machine's actions into TwiML: Fluent messages rendered in the
//! caller's language, voices, Gather attributes and webhook URLs.
//!
//! Pure: no store, no HTTP. Must not decide where the call goes (that is `runtime`).

use crate::flow::transfer::Target;
use crate::flow::voicemail::RECORDING_WEBHOOK;
use crate::flow::{Flow, NodeId, NodeKind};
use crate::i18n::{Arg, Locale};
use crate::runtime::{Action, CallState};
use crate::twiml::{
    self, Dial, DialTarget, Gather, GatherSpeech, Record, Response, Say, Segment, Verb,
};

/// The webhook Twilio asks, for the person who answers a transfer, what they hear first
/// (`<Number url=…>`); reserved: no node may take it.
pub const WHISPER_WEBHOOK: &str = "whisper";

/// Message a flow's locales may define to apologise for a technical problem.
pub const APOLOGY_MESSAGE: &str = "engine-error";
const FALLBACK_APOLOGY: &str =
    "We are sorry, a technical problem occurred. Please call again later. Goodbye.";

/// The environment values flows may use (`${env:SHOP_PHONE}` of a `transfer` node), looked up
/// by the adapter: the core reads no environment.
#[derive(Clone)]
pub struct FlowEnv(pub std::sync::Arc<crate::runtime::EnvLookup>);

impl FlowEnv {
    /// No value set (the default of tools and tests).
    pub fn none() -> Self {
        Self(std::sync::Arc::new(|_| None))
    }

    /// The values of a map (flow tests' `given.env`).
    pub fn from_map(values: std::collections::BTreeMap<String, String>) -> Self {
        Self(std::sync::Arc::new(move |name| values.get(name).cloned()))
    }

    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
    }
}

impl std::fmt::Debug for FlowEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlowEnv(…)")
    }
}

impl Default for FlowEnv {
    fn default() -> Self {
        Self::none()
    }
}

/// Settings that shape what callers hear.
#[derive(Debug, Clone)]
pub struct SpeechConfig {
    pub company: String,
    pub website: String,
    /// VOICE_NAME: used where the flow names no voice for a language.
    pub default_voice: String,
    /// Prefix of webhook URLs in TwiML (LIZA_PUBLIC_URL, or empty for relative URLs).
    pub base_url: String,
    /// `${env:…}` values of `transfer` nodes (the number to dial).
    pub env: FlowEnv,
}

impl SpeechConfig {
    /// The URL Twilio posts an input node's answer (or its no-input redirect) to.
    pub fn webhook_url(&self, webhook: &str, turn: i64) -> String {
        format!("{}/webhook/{webhook}?seq={turn}", self.base_url)
    }
}

/// The language Twilio hears words in (`<Gather language>`): the call's language when it names
/// a region (`de-DE`, `en-GB`); else the region of the voice in use when its name has one
/// (`Google.en-GB-Standard-A`), else the language's usual one (`de` → `de-DE`, `en` → `en-US`).
pub fn recognition_language(language: &str, voice: &str) -> String {
    if language.contains('-') {
        return language.to_owned();
    }
    let primary = language.to_ascii_lowercase();
    let from_voice = voice
        .split(['.', '-', '_'])
        .collect::<Vec<_>>()
        .windows(2)
        .find(|pair| pair[0].eq_ignore_ascii_case(&primary) && pair[1].len() == 2)
        .map(|pair| format!("{primary}-{}", pair[1].to_ascii_uppercase()));
    if let Some(tag) = from_voice {
        return tag;
    }
    let region = match primary.as_str() {
        "en" => "US",
        "de" => "DE",
        "fr" => "FR",
        "es" => "ES",
        "it" => "IT",
        "nl" => "NL",
        "pt" => "BR",
        "pl" => "PL",
        "da" => "DK",
        "sv" => "SE",
        "ja" => "JP",
        _ => return language.to_owned(),
    };
    format!("{primary}-{region}")
}

/// Renders messages for one call.
pub struct Speaker<'a> {
    flow: &'a Flow,
    state: &'a CallState,
    locale: &'a Locale,
    config: &'a SpeechConfig,
    /// Problems met while rendering (a missing variable); logged by the caller.
    pub problems: Vec<String>,
    /// The call's variables and the company's names as the renderer takes them, made at the
    /// first message (each message's own Fluent arguments are still made by `Locale::render`).
    args: Option<Vec<(&'a str, Arg)>>,
    /// Each message rendered once: a turn's TwiML and its steps' text say the same messages
    /// with the same variables (a turn says a handful, so a list is searched).
    rendered: Vec<(String, Vec<Segment>)>,
}

impl<'a> Speaker<'a> {
    pub fn new(flow: &'a Flow, state: &'a CallState, config: &'a SpeechConfig) -> Self {
        let language = if state.language.is_empty() {
            &flow.languages.default
        } else {
            &state.language
        };
        let locale = flow
            .locales
            .get(flow.locales.negotiate(language, &flow.languages.default));
        Self {
            flow,
            state,
            locale,
            config,
            problems: Vec::new(),
            args: None,
            rendered: Vec::new(),
        }
    }

    fn language(&self) -> &str {
        if self.state.language.is_empty() {
            &self.flow.languages.default
        } else {
            &self.state.language
        }
    }

    fn args(&self) -> Vec<(&'a str, Arg)> {
        let mut args = vec![
            ("company", Arg::Text(self.config.company.clone())),
            ("website", Arg::Text(self.config.website.clone())),
        ];
        let state: &'a CallState = self.state;
        for (name, value) in &state.vars {
            let arg = if self.flow.is_digit_variable(name) {
                Arg::Digits(value.clone())
            } else {
                Arg::Text(value.clone())
            };
            args.push((name.as_str(), arg));
        }
        args
    }

    /// One message's spoken segments, rendered at its first use in this speaker.
    fn message(&mut self, id: &str) -> &[Segment] {
        let index = match self
            .rendered
            .iter()
            .position(|(rendered, _)| rendered == id)
        {
            Some(index) => index,
            None => {
                let args = match self.args.take() {
                    Some(args) => args,
                    None => self.args(),
                };
                let (segments, problems) = self.locale.render(id, &args);
                self.args = Some(args);
                self.problems.extend(problems);
                self.rendered.push((id.to_owned(), segments));
                self.rendered.len() - 1
            }
        };
        &self.rendered[index].1
    }

    /// The spoken segments of several messages, separated by spaces.
    pub fn segments(&mut self, messages: &[String]) -> Vec<Segment> {
        let mut out = Vec::new();
        for (i, id) in messages.iter().enumerate() {
            if i > 0 {
                out.push(Segment::Text(" ".into()));
            }
            out.extend_from_slice(self.message(id));
        }
        out
    }

    /// Plain text of messages, as the conversation log stores it.
    pub fn text(&mut self, messages: &[String]) -> String {
        let segments = self.segments(messages);
        twiml::plain_text(&segments)
    }

    /// Messages as written text (a text message's body): digits as they are, not spaced.
    pub fn written(&mut self, messages: &[String]) -> String {
        crate::spoken::written_text(&self.segments(messages)).replace(['\u{2068}', '\u{2069}'], "")
    }

    fn say(&mut self, messages: &[String]) -> Say {
        let language = self.language().to_owned();
        Say {
            voice: self
                .flow
                .voice_for(&language, &self.config.default_voice)
                .to_owned(),
            speech: self.segments(messages),
            language,
        }
    }

    /// The TwiML for a turn's actions; `next_turn` numbers the webhook that answers it.
    pub fn response(&mut self, actions: &[Action], next_turn: i64) -> Response {
        let mut response = Response::new();
        for action in actions {
            match action {
                Action::Say(messages) => {
                    let say = self.say(messages);
                    response.push(Verb::Say(say));
                }
                Action::Ask(id) => {
                    let (input, num_digits, finish_on_key) = match &self.flow.node(*id).kind {
                        NodeKind::Gather(g) => (&g.input, None, g.finish_on_key.clone()),
                        NodeKind::Confirm(c) => (&c.input, Some(1), None),
                        _ => continue,
                    };
                    let url = self.config.webhook_url(&input.webhook, next_turn);
                    let prompt = self.say(&input.prompt);
                    let listen = &input.listen;
                    let speech = listen.speech.then(|| {
                        let language = self.language().to_owned();
                        let voice = self.flow.voice_for(&language, &self.config.default_voice);
                        GatherSpeech {
                            language: recognition_language(&language, voice),
                            hints: listen
                                .hints
                                .as_ref()
                                .map(|id| self.text(std::slice::from_ref(id)))
                                .filter(|h| !h.trim().is_empty()),
                        }
                    });
                    response.push(Verb::Gather(Gather {
                        action: url.clone(),
                        input: listen.twilio_input(),
                        speech,
                        num_digits: num_digits.filter(|_| listen.dtmf),
                        finish_on_key: finish_on_key.filter(|_| listen.dtmf),
                        timeout_secs: input.timeout_secs,
                        prompts: vec![prompt],
                    }));
                    // Without input Twilio goes on after the Gather: come back to ask again.
                    response.push(Verb::Redirect(url));
                }
                Action::Hangup => {
                    response.push(Verb::Hangup);
                }
                Action::Play { url, repeat } => {
                    response.push(Verb::Play {
                        url: url.clone(),
                        repeat: *repeat,
                    });
                }
                Action::Pause(secs) => {
                    response.push(Verb::Pause(*secs));
                }
                Action::Record(node) => {
                    let NodeKind::Voicemail(voicemail) = &self.flow.node(*node).kind else {
                        continue;
                    };
                    let url = self.config.webhook_url(&voicemail.webhook, next_turn);
                    response.push(Verb::Record(Record {
                        action: url.clone(),
                        max_length_secs: voicemail.max_length_secs,
                        finish_on_key: voicemail.finish_on_key.clone(),
                        play_beep: voicemail.beep,
                        status_callback: format!(
                            "{}/webhook/{}",
                            self.config.base_url, RECORDING_WEBHOOK
                        ),
                    }));
                    // Nothing recorded (silence): Twilio goes on after the Record.
                    response.push(Verb::Redirect(url));
                }
                Action::Dial { node, to } => {
                    let NodeKind::Transfer(transfer) = &self.flow.node(*node).kind else {
                        continue;
                    };
                    let env = |name: &str| self.config.env.get(name);
                    let whisper = transfer
                        .whisper
                        .as_ref()
                        .map(|_| self.config.webhook_url(WHISPER_WEBHOOK, next_turn));
                    let target = match &transfer.target {
                        Target::Number(_) => DialTarget::Number {
                            number: to.clone(),
                            url: whisper,
                        },
                        Target::Sip(_) => DialTarget::Sip {
                            uri: to.clone(),
                            url: whisper,
                        },
                        Target::Client(_) => DialTarget::Client {
                            identity: to.clone(),
                            url: whisper,
                        },
                    };
                    response.push(Verb::Dial(Dial {
                        action: self.config.webhook_url(&transfer.webhook, next_turn),
                        timeout_secs: transfer.timeout_secs,
                        caller_id: transfer.caller_id.as_ref().and_then(|v| v.resolve(&env)),
                        target,
                    }));
                }
            }
        }
        response
    }

    /// What the person who answers a transfer hears before the caller is put through (the
    /// transfer node's `whisper`, in the caller's language); empty when it has none.
    pub fn whisper(&mut self, node: NodeId) -> Response {
        let mut response = Response::new();
        if let NodeKind::Transfer(transfer) = &self.flow.node(node).kind {
            if let Some(message) = &transfer.whisper {
                let say = self.say(std::slice::from_ref(message));
                response.push(Verb::Say(say));
            }
        }
        response
    }

    /// A short apology and a hang-up, for when the call cannot go on.
    pub fn apology(&mut self) -> Response {
        let mut response = Response::new();
        let say = if self.locale.message(APOLOGY_MESSAGE).is_some() {
            self.say(&[APOLOGY_MESSAGE.to_owned()])
        } else {
            Say {
                voice: self.flow.voice_for("en-US", "Polly.Joanna").to_owned(),
                language: "en-US".into(),
                speech: vec![Segment::Text(FALLBACK_APOLOGY.into())],
            }
        };
        response.push(Verb::Say(say));
        response.push(Verb::Hangup);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::recognition_language;

    #[test]
    fn words_are_heard_in_the_calls_language_with_a_region() {
        assert_eq!(recognition_language("de-DE", "Polly.Vicki"), "de-DE");
        assert_eq!(recognition_language("en-GB", "Polly.Amy"), "en-GB");
        assert_eq!(recognition_language("de", "Polly.Vicki"), "de-DE");
        assert_eq!(recognition_language("en", "Polly.Joanna"), "en-US");
        assert_eq!(
            recognition_language("en", "Google.en-GB-Standard-A"),
            "en-GB"
        );
        assert_eq!(recognition_language("en", "Polly.Brian-Neural"), "en-US");
        assert_eq!(recognition_language("xx", "Polly.Vicki"), "xx");
    }
}
