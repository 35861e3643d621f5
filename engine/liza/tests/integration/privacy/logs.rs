//! No personal data in logs (docs/privacy.md, "Logs"): whole calls through a real `liza serve`
//! at `RUST_LOG=info`, then its log searched for the callers' numbers in every written form
//! and for the digits they entered or the words they said.

use std::time::Duration;

use crate::support::{AppOptions, TestDb, CALLER};

const REFUSER: &str = "+447700900123";
const ORDER: &str = "55512345678";
const STRAY_KEYS: &str = "4711081542";
/// What the refusing caller says (Twilio's `SpeechResult`): never in the log either.
const SPOKEN: &str = "Kupferkessel vier sieben elf";

#[tokio::test]
async fn the_servers_log_holds_no_number_and_no_digits_entered() {
    let liza = AppOptions::default()
        .on(TestDb::from_env().await)
        .set("RUST_LOG", "info")
        .process();
    let twilio = &liza.twilio;
    // Consented, with an order number read back, saved and its status told.
    let mut call = twilio.call("CAlogsconsented", CALLER).await;
    call.press("1").await;
    call.press(ORDER).await;
    call.press("1").await;
    call.press("2").await;
    assert!(call.hung_up());
    call.completed("40").await;
    // Refused after keys the question did not ask for.
    let mut refused = twilio.call("CAlogsrefused", REFUSER).await;
    refused.press(STRAY_KEYS).await;
    refused.say(SPOKEN, "0.87").await;
    refused.press("2").await;
    refused.completed("12").await;
    // Webhooks that fail: an unknown node, an unsigned request, both carrying the number.
    let answer = twilio
        .post_for_call("/webhook/nosuch", "CAlogsconsented", CALLER, Some(ORDER))
        .await;
    assert_eq!(answer.status, 200);
    let unsigned = twilio
        .post_raw(
            "/webhook/voice",
            &crate::support::call_params("CAlogsunsigned", CALLER, Some(STRAY_KEYS)),
            Some("not-a-signature"),
        )
        .await;
    assert_eq!(unsigned.status, 403);

    // The log lines arrive through pipes: wait until the last call's end and the refused
    // request (the last thing done) are in.
    let started = std::time::Instant::now();
    while liza.log().matches("Call ended.").count() < 2
        || !liza.log().contains("Rejected a webhook")
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}",
            liza.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = liza.log();
    assert!(log.matches("Call started.").count() >= 2, "{log}");
    assert!(log.contains("Webhook cannot continue the call"), "{log}");
    assert!(log.contains("Rejected a webhook"), "{log}");
    // Every form of a number contains its national significant number.
    for (number, national) in [(CALLER, "15112345678"), (REFUSER, "7700900123")] {
        for form in [
            number.to_owned(),
            number.replacen('+', "00", 1),
            number[1..].to_owned(),
            national.to_owned(),
        ] {
            assert!(!log.contains(&form), "{form} in the log:\n{log}");
        }
    }
    for digits in [ORDER, STRAY_KEYS] {
        assert!(!log.contains(digits), "{digits} in the log:\n{log}");
    }
    assert!(
        !log.contains("Kupferkessel"),
        "SpeechResult in the log:\n{log}"
    );
}
