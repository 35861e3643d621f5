//! The call page's timeline: each stored step named by the flow's `label:` for its node (in the
//! page's language, from the flow's own Fluent files) and its outcome in plain words.
//!
//! Steps are stored as the call's state machine wrote them (`liza_core::runtime`): the node's
//! name and an outcome line such as `invalid, 2 attempts left` or `order saved (received)`.
//! Those lines stay the record; this module only reads them for people. A line it does not
//! know is shown as stored.

use std::sync::Arc;

use fluent_bundle::FluentValue;
use liza_core::flow::{Flow, NodeKind};
use liza_store::admin::{CallDetail, TimelineStep};
use serde::Serialize;

use super::i18n::{self, Lang};
use super::Dashboard;

/// One step as the timeline shows it.
#[derive(Debug, Serialize)]
pub struct StepView {
    /// What the flow calls the step (`label:`), or the node's name.
    pub label: String,
    /// The node's name, for staff who read the flow file (a tooltip).
    pub node: String,
    pub text: String,
    /// The request a `fetch` node made (`GET shop /orders/12345`): not something Liza said.
    pub request: Option<String>,
    pub digits: Option<String>,
    /// A key chosen at a menu (`chose 1`): shown as a key pressed.
    pub chose: Option<String>,
    /// The outcome in plain words; none when the step says it by itself (a prompt said, a
    /// key chosen).
    pub outcome: Option<String>,
    pub created_at: i64,
}

/// The steps of `call` for the page, in the request's language.
pub fn steps(d: &Dashboard, call: &CallDetail, steps: Vec<TimelineStep>) -> Vec<StepView> {
    let lang = i18n::current();
    let flow = flow_of(d, call);
    let kinds = d.record_kinds();
    let kind_name = |kind: &str| {
        kinds
            .iter()
            .find(|k| k.name == kind)
            .map_or_else(|| kind.to_owned(), |k| k.one.clone())
    };
    steps
        .into_iter()
        .map(|step| {
            let label = flow
                .as_ref()
                .and_then(|flow| node_label(flow, &step.node, lang))
                .unwrap_or_else(|| step.node.clone());
            let fetched = flow.as_ref().is_some_and(|flow| {
                flow.node_named(&step.node)
                    .is_some_and(|id| matches!(flow.node(id).kind, NodeKind::Fetch(_)))
            });
            let (text, request) = if fetched && !step.text.is_empty() {
                (String::new(), Some(step.text))
            } else {
                (step.text, None)
            };
            let chose = step
                .outcome
                .strip_prefix("chose ")
                .filter(|_| step.digits.is_none())
                .map(str::to_owned);
            let outcome = if step.outcome.starts_with("chose ") {
                None
            } else {
                describe(lang, &step.outcome, &kind_name)
            };
            StepView {
                label,
                node: step.node,
                text,
                request,
                digits: step.digits,
                chose,
                outcome,
                created_at: step.created_at,
            }
        })
        .collect()
}

/// The flow version the call ran, or (evicted, or from another instance) the current flow of
/// that name: labels rarely change between versions, and a node missing from it shows its name.
fn flow_of(d: &Dashboard, call: &CallDetail) -> Option<Arc<Flow>> {
    call.flow_version
        .as_deref()
        .and_then(|version| d.registry.version(version))
        .or_else(|| {
            call.flow_name
                .as_deref()
                .and_then(|name| d.registry.current_named(name))
        })
}

/// The node's `label:` in the page's language (the flow's locale nearest to it).
fn node_label(flow: &Flow, node: &str, lang: Lang) -> Option<String> {
    let id = flow.node_named(node)?;
    let message = flow.node(id).label.as_deref()?;
    let locale = flow
        .locales
        .get(flow.locales.negotiate(lang.tag(), &flow.languages.default));
    locale.label(message, None)
}

/// An outcome line in plain words, or as stored when its form is unknown; none for `said`,
/// which the step's text shows.
/// `kind_name` names a record kind (`order` → `Order`).
pub fn describe(lang: Lang, outcome: &str, kind_name: &dyn Fn(&str) -> String) -> Option<String> {
    let t = |id: &str, args: &[(&str, FluentValue<'_>)]| i18n::text(lang, id, args);
    let s = |v: &str| FluentValue::from(v.to_owned());
    let text = match outcome {
        "said" => return None,
        "asked" => t("step-asked", &[]),
        "accepted" => t("step-accepted", &[]),
        "open" => t("step-open", &[]),
        "closed" => t("step-closed", &[]),
        "closed (no clock given)" => t("step-closed", &[]),
        "call already ended" => t("step-call-already-ended", &[]),
        "dial started" => t("step-dial-started", &[]),
        "dial answered" => t("step-dial-answered", &[]),
        "dial busy" => t("step-dial-busy", &[]),
        "dial no_answer" => t("step-dial-no-answer", &[]),
        "dial failed" => t("step-dial-failed", &[]),
        "dial not_configured" => t("step-dial-not-configured", &[]),
        "dial possible" => t("step-dial-possible", &[]),
        "voicemail started" => t("step-voicemail-started", &[]),
        "voicemail recorded" => t("step-voicemail-recorded", &[]),
        "voicemail empty" => t("step-voicemail-empty", &[]),
        "voicemail no_consent" => t("step-voicemail-no-consent", &[]),
        "too many steps without input" => t("step-too-many-steps", &[]),
        _ => {
            if let Some(rest) = outcome.strip_prefix("case ") {
                t("step-case", &[("value", s(rest))])
            } else if let Some(rest) = outcome.strip_prefix("period ") {
                t("step-period", &[("period", s(rest))])
            } else if let Some(rest) = outcome.strip_prefix("set ") {
                t("step-set", &[("names", s(rest))])
            } else if let Some(status) = between(outcome, "hangup (", ")") {
                t("step-hangup", &[("status", s(&status_word(lang, status)))])
            } else if let Some(fetched) = fetched(lang, outcome) {
                fetched
            } else if let Some((what, rest)) = outcome.split_once(", ") {
                match (input_problem(lang, what), rest) {
                    (Some(problem), "attempts exhausted") => {
                        t("step-attempts-exhausted", &[("problem", s(&problem))])
                    }
                    (Some(problem), rest) => match rest
                        .strip_suffix(" attempts left")
                        .and_then(|n| n.parse::<i64>().ok())
                    {
                        Some(left) => t(
                            "step-attempts-left",
                            &[("problem", s(&problem)), ("left", FluentValue::from(left))],
                        ),
                        None => outcome.to_owned(),
                    },
                    // A persist node's changes: `call processed, consent given`.
                    (None, _) => persisted(lang, outcome),
                }
            } else if outcome.starts_with("call ") || outcome.starts_with("consent ") {
                persisted(lang, outcome)
            } else {
                record_outcome(lang, outcome, kind_name).unwrap_or_else(|| outcome.to_owned())
            }
        }
    };
    Some(text)
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    text.strip_prefix(start)?.strip_suffix(end)
}

fn status_word(lang: Lang, status: &str) -> String {
    match status {
        "in_progress" | "processed" | "completed" | "problem" => {
            i18n::text(lang, &format!("status-{status}"), &[])
        }
        other => other.to_owned(),
    }
}

fn input_problem(lang: Lang, what: &str) -> Option<String> {
    match what {
        "invalid" => Some(i18n::text(lang, "step-invalid", &[])),
        "no input" => Some(i18n::text(lang, "step-no-input", &[])),
        "not understood" => Some(i18n::text(lang, "step-not-understood", &[])),
        _ => None,
    }
}

/// `call processed, consent given`: each change in words, joined.
fn persisted(lang: Lang, outcome: &str) -> String {
    outcome
        .split(", ")
        .map(|part| {
            if let Some(status) = part.strip_prefix("call ") {
                i18n::text(
                    lang,
                    "step-call-status",
                    &[("status", FluentValue::from(status_word(lang, status)))],
                )
            } else if let Some(consent) = part.strip_prefix("consent ") {
                match consent {
                    "given" => i18n::text(lang, "step-consent-given", &[]),
                    "refused" => i18n::text(lang, "step-consent-refused", &[]),
                    _ => part.to_owned(),
                }
            } else {
                part.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A fetch's line: `ok (HTTP 200, 12 ms)`, `timeout (after 2000 ms)`: its outcome in words, the
/// detail as stored.
fn fetched(lang: Lang, outcome: &str) -> Option<String> {
    let (word, detail) = outcome.split_once(" (")?;
    let detail = detail.strip_suffix(')')?;
    let id = match word {
        "ok" => "step-fetch-ok",
        "not_found" => "step-fetch-not-found",
        "error" => "step-fetch-error",
        "timeout" => "step-fetch-timeout",
        "not_configured" => "step-fetch-not-configured",
        _ => return None,
    };
    Some(i18n::text(
        lang,
        id,
        &[("detail", FluentValue::from(detail.to_owned()))],
    ))
}

/// `order saved (received)`, `order not saved`, `order found (shipped)`, `order missing`.
fn record_outcome(lang: Lang, outcome: &str, kind_name: &dyn Fn(&str) -> String) -> Option<String> {
    let s = |v: &str| FluentValue::from(v.to_owned());
    let kind = |k: &str| FluentValue::from(kind_name(k));
    if let Some(k) = outcome.strip_suffix(" not saved") {
        return Some(i18n::text(
            lang,
            "step-record-not-saved",
            &[("kind", kind(k))],
        ));
    }
    if let Some(k) = outcome.strip_suffix(" missing") {
        return Some(i18n::text(
            lang,
            "step-record-missing",
            &[("kind", kind(k))],
        ));
    }
    let (head, status) = outcome.split_once(" (")?;
    let status = status.strip_suffix(')')?;
    let (k, id) = if let Some(k) = head.strip_suffix(" saved") {
        (k, "step-record-saved")
    } else if let Some(k) = head.strip_suffix(" found") {
        (k, "step-record-found")
    } else {
        return None;
    };
    Some(i18n::text(
        lang,
        id,
        &[("kind", kind(k)), ("status", s(status))],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(kind: &str) -> String {
        if kind == "order" {
            "Order".into()
        } else {
            kind.into()
        }
    }

    #[test]
    fn outcomes_read_in_plain_words_in_both_languages() {
        let cases = [
            ("asked", "Asked", "Gefragt"),
            ("accepted", "Accepted", "Angenommen"),
            (
                "invalid, 2 attempts left",
                "Not valid; 2 attempts left",
                "Ungültig; noch 2 Versuche",
            ),
            (
                "no input, 1 attempts left",
                "Nothing entered; 1 attempt left",
                "Keine Eingabe; noch 1 Versuch",
            ),
            (
                "no input, attempts exhausted",
                "Nothing entered; no attempts left",
                "Keine Eingabe; keine Versuche mehr",
            ),
            (
                "not understood, 2 attempts left",
                "Words not understood; 2 attempts left",
                "Nicht verstanden; noch 2 Versuche",
            ),
            (
                "call processed, consent given",
                "Call marked processed; Consent given",
                "Anruf als bearbeitet markiert; Einwilligung erteilt",
            ),
            (
                "consent refused",
                "Consent refused",
                "Einwilligung abgelehnt",
            ),
            (
                "order saved (received)",
                "Order saved, status received",
                "Order gespeichert, Status received",
            ),
            ("order missing", "Order not found", "Order nicht gefunden"),
            (
                "ok (HTTP 200, 12 ms)",
                "The system answered (HTTP 200, 12 ms)",
                "Das System hat geantwortet (HTTP 200, 12 ms)",
            ),
            (
                "timeout (after 2000 ms)",
                "The system did not answer in time (after 2000 ms)",
                "Das System hat nicht rechtzeitig geantwortet (after 2000 ms)",
            ),
            (
                "hangup (completed)",
                "Call ended: completed",
                "Anruf beendet: abgeschlossen",
            ),
            (
                "case default",
                "Went on by: default",
                "Weiter über: default",
            ),
            (
                "open",
                "Within opening hours",
                "Innerhalb der Öffnungszeiten",
            ),
            (
                "dial no_answer",
                "Transfer: nobody answered",
                "Weiterleitung: niemand hat abgenommen",
            ),
            (
                "dial possible",
                "Transfer: a number is set up",
                "Weiterleitung: eine Nummer ist eingerichtet",
            ),
            (
                "voicemail no_consent",
                "Voicemail: not recorded (no consent)",
                "Sprachnachricht: nicht aufgenommen (keine Zustimmung)",
            ),
            ("something new", "something new", "something new"),
        ];
        for (stored, en, de) in cases {
            assert_eq!(
                describe(Lang::En, stored, &order).as_deref(),
                Some(en),
                "{stored}"
            );
            assert_eq!(
                describe(Lang::De, stored, &order).as_deref(),
                Some(de),
                "{stored}"
            );
        }
        assert_eq!(describe(Lang::En, "said", &order), None);
    }
}
