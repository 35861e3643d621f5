//! Liza's TwiML and signatures checked against Twilio's own Python library
//! (PyPI `twilio`, installed by .ci/run). Outside CI, a machine without it skips.

use std::process::Command;

use serde_json::json;

use crate::support::{
    call_params, run_with_stdin, spawn_app, xml_items, XmlItem, AUTH_TOKEN, PUBLIC_URL,
};

pub(crate) fn oracle(request: serde_json::Value) -> Option<String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracle/twilio_oracle.py");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let available = Command::new(&python)
        .args(["-c", "import twilio"])
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        assert!(
            std::env::var_os("CI").is_none(),
            "the `twilio` Python package is required in CI"
        );
        eprintln!("skipping: python3 with the `twilio` package is not installed");
        return None;
    }
    let output = run_with_stdin(Command::new(&python).arg(script), &request.to_string());
    assert!(
        output.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8(output.stdout).unwrap().trim().to_owned())
}

/// Elements, attributes and non-blank text: what Twilio reads of a document.
fn canonical(xml: &str) -> Vec<XmlItem> {
    xml_items(xml)
}

#[tokio::test]
async fn twilio_library_computes_the_same_signatures() {
    let params = call_params("CA0123", "+4915112345678", Some("1234"));
    let url = format!("{PUBLIC_URL}/webhook/order?seq=2");
    let Some(theirs) =
        oracle(json!({ "op": "signature", "token": AUTH_TOKEN, "url": url, "params": params }))
    else {
        return;
    };
    assert_eq!(
        liza::twilio::compute_signature(AUTH_TOKEN, &url, &params),
        theirs
    );
}

#[tokio::test]
async fn greeting_and_readback_twiml_match_twilios_library() {
    let app = spawn_app().await;
    let mut call = app.call("CAoracle", "+447700900123").await;
    let action = format!("{PUBLIC_URL}/webhook/consent?seq=1");
    let Some(expected) = oracle(json!({
        "op": "consent_twiml", "voice": "Polly.Amy", "language": "en-GB", "action": action,
        "greeting": "Hello! This is Liza, the voice assistant of Muster & Söhne.",
        "prompt": "May we process your data for this call? Press 1 for yes or 2 for no.",
    })) else {
        return;
    };
    assert_eq!(canonical(&call.last.body), canonical(&expected));

    call.press("1").await;
    call.press("4711").await;
    let expected = oracle(json!({
        "op": "readback_twiml", "voice": "Polly.Amy", "language": "en-GB",
        "action": format!("{PUBLIC_URL}/webhook/order_confirm?seq=3"),
        "before": "You entered ", "digits": "4711", "after": ". Press 1 if that is correct, or 2 to enter it again.",
    }))
    .unwrap();
    assert_eq!(canonical(&call.last.body), canonical(&expected));
}
