//! Warnings: things that work but are probably mistakes. `liza check` prints them;
//! they never stop a flow from loading.

use std::collections::BTreeSet;
use std::sync::Arc;

use liza_core::diagnostics::{Diagnostic, Diagnostics, Position};
use liza_core::flow::Flow;
use liza_core::i18n::Arg;
use liza_core::speech::APOLOGY_MESSAGE;

/// Twilio's `<Say>` limit for Polly voices, in characters (docs/twilio.md).
pub const SAY_LIMIT: usize = 3000;

/// Warnings for flows loaded together with one set of locales.
pub fn lint(flows: &[Arc<Flow>]) -> Diagnostics {
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
            let (segments, _) = locale.render(id, &args);
            let length = liza_core::twiml::plain_text(&segments).chars().count();
            if length > SAY_LIMIT {
                out.push(
                    Diagnostic::warning(
                        &info.file,
                        info.position,
                        format!("message `{id}` is {length} characters long; Twilio's <Say> stops at {SAY_LIMIT}"),
                    )
                    .with_source(&source),
                );
            }
        }
    }
    out.sort();
    out
}
