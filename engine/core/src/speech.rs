//! Turns the state machine's actions into TwiML: Fluent messages rendered in the
//! caller's language, voices, Gather attributes and webhook URLs.
//!
//! Pure: no store, no HTTP. Must not decide where the call goes (that is `runtime`).

use crate::flow::{Flow, NodeKind};
use crate::i18n::{Arg, Locale};
use crate::runtime::{Action, CallState};
use crate::twiml::{self, Gather, Response, Say, Segment, Verb};

/// Message a flow's locales may define to apologise for a technical problem.
pub const APOLOGY_MESSAGE: &str = "engine-error";
const FALLBACK_APOLOGY: &str =
    "We are sorry, a technical problem occurred. Please call again later. Goodbye.";

/// Settings that shape what callers hear.
#[derive(Debug, Clone)]
pub struct SpeechConfig {
    pub company: String,
    pub website: String,
    /// VOICE_NAME: used where the flow names no voice for a language.
    pub default_voice: String,
    /// Prefix of webhook URLs in TwiML (LIZA_PUBLIC_URL, or empty for relative URLs).
    pub base_url: String,
}

impl SpeechConfig {
    /// The URL Twilio posts an input node's answer (or its no-input redirect) to.
    pub fn webhook_url(&self, webhook: &str, turn: i64) -> String {
        format!("{}/webhook/{webhook}?seq={turn}", self.base_url)
    }
}

/// Renders messages for one call.
pub struct Speaker<'a> {
    flow: &'a Flow,
    state: &'a CallState,
    locale: &'a Locale,
    config: &'a SpeechConfig,
    /// Problems met while rendering (a missing variable); logged by the caller.
    pub problems: Vec<String>,
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
        }
    }

    fn language(&self) -> &str {
        if self.state.language.is_empty() {
            &self.flow.languages.default
        } else {
            &self.state.language
        }
    }

    fn args(&self) -> Vec<(&str, Arg)> {
        let mut args = vec![
            ("company", Arg::Text(self.config.company.clone())),
            ("website", Arg::Text(self.config.website.clone())),
        ];
        for (name, value) in &self.state.vars {
            let arg = if self.flow.is_digit_variable(name) {
                Arg::Digits(value.clone())
            } else {
                Arg::Text(value.clone())
            };
            args.push((name.as_str(), arg));
        }
        args
    }

    /// The spoken segments of several messages, separated by spaces.
    pub fn segments(&mut self, messages: &[String]) -> Vec<Segment> {
        let args = self.args();
        let mut out = Vec::new();
        let mut all_problems = Vec::new();
        for (i, id) in messages.iter().enumerate() {
            if i > 0 {
                out.push(Segment::Text(" ".into()));
            }
            let (segments, problems) = self.locale.render(id, &args);
            out.extend(segments);
            all_problems.extend(problems);
        }
        drop(args);
        self.problems.extend(all_problems);
        out
    }

    /// Plain text of messages, as the conversation log stores it.
    pub fn text(&mut self, messages: &[String]) -> String {
        let segments = self.segments(messages);
        twiml::plain_text(&segments)
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
                    response.push(Verb::Gather(Gather {
                        action: url.clone(),
                        num_digits,
                        finish_on_key,
                        timeout_secs: input.timeout_secs,
                        prompts: vec![prompt],
                    }));
                    // Without input Twilio goes on after the Gather: come back to ask again.
                    response.push(Verb::Redirect(url));
                }
                Action::Hangup => {
                    response.push(Verb::Hangup);
                }
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
