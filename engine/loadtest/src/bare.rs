//! The ceiling: a bare poem server answering every webhook with a fixed TwiML document,
//! without parsing, validating or storing anything. Liza's throughput is reported as a
//! fraction of this one's, measured the same way on the same machine.
//!
//! Its documents are the loaded flow's own, rendered once at start by the core: `voice` gets
//! the flow's first turn, every other webhook the turn that ends a call in which the caller
//! presses nothing. Per request it only reads the body and sends a prepared string.

use liza_core::flow::Flow;
use liza_core::runtime::{Action, CallState, Input, Turn};
use liza_core::speech::{Speaker, SpeechConfig};
use liza_core::twiml::{Response as Twiml, Verb};
use poem::listener::TcpAcceptor;
use poem::web::{Data, Path};
use poem::{handler, post, Body, EndpointExt, Response, Route, Server};

/// Turns played while looking for the flow's goodbye.
const MAX_TURNS: usize = 16;
const EMPTY: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#;

/// The fixed documents: rendered once, then only sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answers {
    /// The answer to `/webhook/voice`: the flow's first turn.
    pub first: &'static str,
    /// The answer to every other input webhook: the turn that hangs up.
    pub last: &'static str,
}

impl Answers {
    /// Plays a call of `flow` from a number that gets its default language: the first turn,
    /// then no input until the flow hangs up (a bare `<Hangup/>` if it never does).
    pub fn of_flow(flow: &Flow, speech: &SpeechConfig) -> Self {
        let mut state = CallState::default();
        let mut input = Input::Start {
            from: String::new(),
        };
        let mut first = None;
        let mut last = None;
        for turn in 1..=MAX_TURNS as i64 {
            let out = Turn::new(flow, state, input).run_with(|_| None);
            let twiml = Speaker::new(flow, &out.state, speech)
                .response(&out.actions, turn)
                .render();
            if first.is_none() {
                first = Some(twiml);
            } else if out.actions.contains(&Action::Hangup) {
                last = Some(twiml);
            }
            if last.is_some() || out.state.ended {
                break;
            }
            state = out.state;
            input = Input::NoInput;
        }
        let last = last.unwrap_or_else(|| {
            let mut hangup = Twiml::new();
            hangup.push(Verb::Hangup);
            hangup.render()
        });
        Self {
            first: first.unwrap_or_default().leak(),
            last: last.leak(),
        }
    }
}

#[handler]
async fn webhook(Path(name): Path<String>, answers: Data<&Answers>, body: Body) -> Response {
    // Read the body as any server must, but leave it unparsed.
    let _ = body.into_bytes().await;
    let twiml = match name.as_str() {
        "voice" => answers.first,
        "status" => EMPTY,
        _ => answers.last,
    };
    Response::builder()
        .content_type("text/xml; charset=utf-8")
        .body(twiml)
}

/// Serves `answers` on `listener` until the process ends. The caller listens as Liza does
/// (the binary passes one made by Liza's own `listen`, with its default queue), so the ceiling
/// is not measured with a shorter queue than the server it is compared with (poem's
/// `TcpListener` keeps 128, which a burst of 10,000 callers overran).
pub async fn serve(listener: tokio::net::TcpListener, answers: Answers) -> std::io::Result<()> {
    let app = Route::new()
        .at("/webhook/:name", post(webhook))
        .data(answers);
    Server::new_with_acceptor(TcpAcceptor::from_tokio(listener)?)
        .run(app)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use liza_core::flow::load_flows;
    use std::path::Path;

    fn speech() -> SpeechConfig {
        SpeechConfig {
            company: "ACME".into(),
            website: "acme.test".into(),
            default_voice: "Polly.Joanna".into(),
            base_url: String::new(),
            env: liza_core::speech::FlowEnv::none(),
        }
    }

    #[test]
    fn answers_are_the_flows_own_first_turn_and_goodbye() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let flows = load_flows(&root, &root.join("locales")).unwrap();
        let support = flows.iter().find(|f| f.name == "support-line").unwrap();
        let answers = Answers::of_flow(support, &speech());
        // The support line's welcome and menu, in its default language (en-US).
        assert!(answers.first.contains("<Gather"), "{}", answers.first);
        assert!(
            answers.first.contains("/webhook/menu?seq=1"),
            "{}",
            answers.first
        );
        assert!(
            answers.first.contains(r#"language="en-US""#),
            "{}",
            answers.first
        );
        assert!(
            answers.last.trim_end().ends_with("<Hangup/>\n</Response>"),
            "{}",
            answers.last
        );
        assert!(answers.last.contains("Goodbye"), "{}", answers.last);
    }
}
