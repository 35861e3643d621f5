//! Unit tests of the state machine on the shipped Liza flow.

use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::flow::load_flows;

fn liza() -> Arc<Flow> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let flows = load_flows(&root.join("flows"), &root.join("locales")).expect("liza flow loads");
    flows.into_iter().find(|f| f.name == "liza").unwrap()
}

fn no_records(_: &RecordRequest) -> Option<RecordInfo> {
    None
}

/// The state after a call from `from` answered with `keys`, one turn each (no records).
fn after(flow: &Flow, from: &str, keys: &[&str]) -> CallState {
    let start = Input::Start { from: from.into() };
    let mut state = Turn::new(flow, CallState::default(), start)
        .run_with(no_records)
        .state;
    for key in keys {
        state = Turn::new(flow, state, Input::Digits((*key).into()))
            .run_with(no_records)
            .state;
    }
    state
}

fn said(out: &TurnOutput) -> Vec<String> {
    out.steps.iter().flat_map(|s| s.messages.clone()).collect()
}

#[test]
fn start_greets_and_asks_for_consent_in_the_prefix_language() {
    let flow = liza();
    let out = Turn::new(
        &flow,
        CallState::default(),
        Input::Start {
            from: "+447700900123".into(),
        },
    )
    .run_with(no_records);
    assert_eq!(out.state.language, "en-GB");
    assert_eq!(out.state.waiting.as_deref(), Some("consent"));
    assert_eq!(said(&out), ["greeting", "consent-question"]);
    let out = Turn::new(
        &flow,
        CallState::default(),
        Input::Start {
            from: "anonymous".into(),
        },
    )
    .run_with(no_records);
    assert_eq!(out.state.language, "de-DE");
}

#[test]
fn three_failed_answers_end_the_call_as_a_problem() {
    let flow = liza();
    let state = after(&flow, "+4915112345678", &["1"]);
    assert_eq!(state.waiting.as_deref(), Some("order"));
    let first = Turn::new(&flow, state, Input::Digits("12".into())).run_with(no_records);
    assert_eq!(said(&first), ["order-invalid", "order-prompt"]);
    let second = Turn::new(&flow, first.state, Input::NoInput).run_with(no_records);
    assert_eq!(said(&second), ["order-no-input", "order-prompt"]);
    let third = Turn::new(&flow, second.state, Input::Digits("12ab".into())).run_with(no_records);
    assert_eq!(said(&third), ["order-failed"]);
    assert!(third.state.ended);
    assert!(third.effects.status.eq(&Some(CallStatus::Problem)));
    assert_eq!(third.actions.last(), Some(&Action::Hangup));
}

#[test]
fn confirmed_order_is_saved_or_found_and_its_status_spoken() {
    let flow = liza();
    let state = after(&flow, "+4915112345678", &["1", "12345"]);
    assert_eq!(state.vars["order_number"], "12345");
    let mut requests = Vec::new();
    let out = Turn::new(&flow, state, Input::Digits("1".into())).run_with(|r| {
        requests.push(r.clone());
        Some(RecordInfo {
            id: 7,
            status: "shipped".into(),
        })
    });
    assert_eq!(
        requests,
        [RecordRequest {
            kind: "order".into(),
            key: "12345".into(),
            create_with_status: Some("received".into())
        }]
    );
    assert_eq!(out.state.vars["order_status"], "shipped");
    assert_eq!(out.effects.records, vec![7]);
    assert_eq!(said(&out), ["order-status", "help-question"]);
}

#[test]
fn pressing_two_at_read_back_asks_for_the_number_again() {
    let flow = liza();
    let state = after(&flow, "+15551234567", &["1", "9999"]);
    let out = Turn::new(&flow, state, Input::Digits("2".into())).run_with(no_records);
    assert_eq!(out.state.waiting.as_deref(), Some("order"));
    assert_eq!(out.state.attempts, 0);
    assert_eq!(said(&out), ["order-prompt"]);
}

#[test]
fn input_after_the_call_ended_just_hangs_up() {
    let flow = liza();
    let state = after(&flow, "+4915112345678", &["2"]);
    assert!(state.ended);
    let out = Turn::new(&flow, state, Input::Digits("1".into())).run_with(no_records);
    assert_eq!(out.actions, [Action::Hangup]);
}

#[test]
fn a_text_needs_the_settings_then_consent_then_a_mobile_number() {
    let mobile = Texting {
        caller: "+4915112345678".into(),
        configured: true,
    };
    let landline = Texting {
        caller: "+493012345678".into(),
        configured: true,
    };
    let off = Texting {
        configured: false,
        ..mobile.clone()
    };
    let given = Some(Consent::Given);
    assert_eq!(TextVerdict::of(&mobile, given), TextVerdict::Possible);
    assert_eq!(TextVerdict::of(&off, given), TextVerdict::NotConfigured);
    assert_eq!(TextVerdict::of(&mobile, None), TextVerdict::NoConsent);
    assert_eq!(
        TextVerdict::of(&mobile, Some(Consent::Refused)),
        TextVerdict::NoConsent
    );
    assert_eq!(TextVerdict::of(&landline, given), TextVerdict::NotMobile);
}

#[test]
fn an_ended_call_keeps_its_language_and_consent_and_still_hangs_up() {
    let flow = liza();
    let mut state = after(&flow, "+4915112345678", &["1"]);
    state.vars.insert("order".into(), "12345".into());
    let kept = state.after_end();
    let json = serde_json::to_string(&kept).unwrap();
    assert_eq!(
        json,
        r#"{"language":"de-DE","ended":true,"consent":"given"}"#
    );
    let read: CallState = serde_json::from_str(&json).unwrap();
    assert_eq!(read, kept);
    let out = Turn::new(&flow, read, Input::Digits("1".into())).run_with(no_records);
    assert_eq!(out.actions, [Action::Hangup]);
    // A state stored before (every field written out) still reads.
    let old =
        r#"{"language":"en-GB","waiting":"order","attempts":2,"vars":{"order":"1"},"ended":false}"#;
    let old: CallState = serde_json::from_str(old).unwrap();
    assert_eq!(old.waiting.as_deref(), Some("order"));
    assert_eq!(old.attempts, 2);
}
