//! Warnings: things that work but are probably mistakes. `liza check` prints them;
//! they never stop a flow from loading.

use std::collections::BTreeSet;
use std::sync::Arc;

use liza_core::diagnostics::{Diagnostic, Diagnostics, Position};
use liza_core::flow::Flow;
use liza_core::i18n::Arg;
use liza_core::i18n::Locale;
use liza_core::speech::APOLOGY_MESSAGE;
use liza_core::twiml::{said_characters, Say};
use liza_core::voices;

/// Warnings for flows loaded together with one set of locales; `default_voice`: the voice
/// of a language a flow names none for (VOICE_NAME).
pub fn lint(flows: &[Arc<Flow>], default_voice: &str) -> Diagnostics {
    let mut out = Diagnostics::default();
    let Some(first) = flows.first() else {
        return out;
    };
    for flow in flows.iter().filter(|f| f.privacy.is_none()) {
        out.push(
            Diagnostic::warning(
                &flow.path,
                Position { line: 1, column: 1 },
                format!(
                    "flow `{}` has no `privacy:` block: no caller can consent, so no caller's number is kept in clear and no step text or digits are stored (privacy by default; docs/privacy.md)",
                    flow.name
                ),
            )
            .with_source(&flow.source),
        );
    }
    for flow in flows {
        for (tag, position) in &flow.languages.unvoiced {
            if voices::speaks(default_voice, tag) == Some(false) {
                let speaks = voices::languages(default_voice)
                    .unwrap_or_default()
                    .join(", ");
                out.push(
                    Diagnostic::warning(
                        &flow.path,
                        *position,
                        format!(
                            "no voice for `{tag}` under `languages.voices`: its callers get VOICE_NAME's `{default_voice}`, which speaks {speaks}, not `{tag}`{}",
                            voices::suggest(tag)
                        ),
                    )
                    .with_source(&flow.source),
                );
            }
        }
    }
    let locales = &first.locales;
    let mut used: BTreeSet<&str> = flows.iter().flat_map(|f| f.message_ids()).collect();
    used.insert(APOLOGY_MESSAGE);
    for locale in locales.all() {
        for id in locale.message_ids() {
            let info = locale.message(id).expect("listed ids exist");
            let source = std::fs::read_to_string(&info.file).unwrap_or_default();
            if !used.contains(id) {
                out.push(
                    Diagnostic::warning(
                        &info.file,
                        info.position,
                        format!("message `{id}` is defined but no flow uses it"),
                    )
                    .with_source(&source),
                );
                continue;
            }
            // Long values for variables, so the estimate errs on the long side.
            let args: Vec<(&str, Arg)> = info
                .variables
                .iter()
                .map(|v| (v.as_str(), Arg::Text("x".repeat(40))))
                .collect();
            let (speech, _) = locale.render(id, &args);
            for (tag, voice) in voices_of(flows, locale, default_voice) {
                let say = Say {
                    voice: voice.clone(),
                    language: tag.clone(),
                    speech: speech.clone(),
                };
                let length = said_characters(&say);
                let limit = voices::say_limit(&voice);
                if length > limit {
                    out.push(
                        Diagnostic::warning(
                            &info.file,
                            info.position,
                            format!("message `{id}` is {length} characters long as `{voice}` says it (`{tag}`); Twilio's <Say> takes at most {limit} for it (docs/twilio.md#voices)"),
                        )
                        .with_source(&source),
                    );
                }
                if let Some(at) = info.ssml.filter(|_| !voices::speaks_ssml(&voice)) {
                    out.push(
                        Diagnostic::warning(
                            &info.file,
                            at,
                            format!("message `{id}` has SSML tags, and voice `{voice}` (`{tag}`) does not speak SSML: Twilio's basic voices get only the text (choose a Polly or Google voice under `languages.voices`)"),
                        )
                        .with_source(&source),
                    );
                }
            }
        }
    }
    out.sort();
    out
}

/// The voices that say a locale's messages: for every language a caller of these flows gets
/// that this locale serves, the flow's voice for it (`default_voice` where it names none),
/// each (language, voice) once.
fn voices_of(
    flows: &[Arc<Flow>],
    locale: &Locale,
    default_voice: &str,
) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for flow in flows {
        let tags = std::iter::once(flow.languages.default.as_str())
            .chain(flow.languages.prefixes.iter().map(|(_, t)| t.as_str()));
        for tag in tags {
            let served = flow
                .locales
                .get(flow.locales.negotiate(tag, &flow.languages.default));
            if served.langid == locale.langid {
                let voice = flow.voice_for(tag, default_voice).to_owned();
                out.insert((tag.to_owned(), voice));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use liza_core::flow::load_flows;

    /// One flow (`de-DE` with `voice`, `en-US` with Polly.Joanna) saying `hello`, whose German
    /// text is `de`.
    fn lint_of(voice: &str, de: &str) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        write(
            "flows/f.yaml",
            &format!("name: f\nentry: hello\nlanguages:\n  default: de-DE\n  prefixes:\n    \"+1\": en-US\n  voices:\n    de-DE: {voice}\n    en-US: Polly.Joanna\nnodes:\n  hello:\n    kind: hangup\n    say: hello\n"),
        );
        write("locales/de/t.ftl", &format!("hello = {de}\n"));
        write("locales/en/t.ftl", "hello = Hello { $company }.\n");
        let flows = load_flows(&dir.path().join("flows"), &dir.path().join("locales")).unwrap();
        lint(&flows, "Polly.Vicki")
            .iter()
            .map(|d| d.message.clone())
            .filter(|m| !m.contains("privacy"))
            .collect()
    }

    #[test]
    fn the_long_prompt_warning_counts_what_the_say_holds_for_its_voice() {
        // 2,990 letters and a 20-character break tag: 2,990 spoken, under Polly's 3,000.
        let text = format!("{}<break time=\"500ms\"/>", "a".repeat(2990));
        assert_eq!(lint_of("Polly.Vicki", &text), Vec::<String>::new());
        // A variable counts as 40 characters: 2,989 + 1 + 40.
        let with_variable = format!("{} {{ $company }}", "a".repeat(2989));
        assert_eq!(
            lint_of("Polly.Vicki", &with_variable),
            ["message `hello` is 3030 characters long as `Polly.Vicki` says it (`de-DE`); Twilio's <Say> takes at most 3000 for it (docs/twilio.md#voices)"]
        );
        // A basic voice takes 4,096 (and warns about SSML it does not speak).
        let long = format!("{}<break time=\"1s\"/>", "a".repeat(3500));
        assert_eq!(
            lint_of("woman", &long),
            ["message `hello` has SSML tags, and voice `woman` (`de-DE`) does not speak SSML: Twilio's basic voices get only the text (choose a Polly or Google voice under `languages.voices`)"]
        );
        assert_eq!(
            lint_of("Polly.Vicki", &long),
            ["message `hello` is 3500 characters long as `Polly.Vicki` says it (`de-DE`); Twilio's <Say> takes at most 3000 for it (docs/twilio.md#voices)"]
        );
        let longer = "a ".repeat(2100);
        assert_eq!(
            lint_of("woman", longer.trim()),
            ["message `hello` is 4199 characters long as `woman` says it (`de-DE`); Twilio's <Say> takes at most 4096 for it (docs/twilio.md#voices)"]
        );
    }
}
