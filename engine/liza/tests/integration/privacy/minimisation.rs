//! What is kept of a caller before, without and after consent (docs/privacy.md, "What is
//! kept before and after consent"), on the backend LIZA_TEST_BACKEND names, checked on a full
//! dump of the database: every table, every column as text.

use liza::privacy::mask;

use super::dump::{full_dump, lines_with};
use crate::support::{repo_root, AppOptions, TestDb, CALLER};

/// A caller who refuses (twice), after keying something the consent question did not ask for.
const REFUSER: &str = "+4915771234567";
/// A caller who hears the question and hangs up, or says nothing until Liza hangs up.
const SILENT: &str = "+4916098765432";
/// Keys pressed by the refuser at the consent question: long enough to be found in a dump.
const STRAY_KEYS: &str = "4711081542";

/// The national significant number: every written form of the number contains it
/// (`+49…`, `0049…`, `0…`, digits only).
fn national(number: &str) -> &str {
    number.strip_prefix("+49").unwrap()
}

#[tokio::test]
async fn refused_and_unanswered_calls_leave_no_number_text_or_digits() {
    let app = AppOptions::default()
        .on(TestDb::from_env().await)
        .spawn()
        .await;
    // Refused after a stray answer, and refused again: one caller, two calls.
    let mut refused = app.call("CAprivacyrefused1", REFUSER).await;
    refused.press(STRAY_KEYS).await;
    assert!(refused.says("Das habe ich nicht verstanden"));
    refused.press("2").await;
    assert!(refused.hung_up());
    refused.completed("20").await;
    let mut again = app.call("CAprivacyrefused2", REFUSER).await;
    again.press("2").await;
    again.completed("9").await;
    // Asked, and the caller hangs up: no answer.
    let mut hung_up = app.call("CAprivacysilent1", SILENT).await;
    hung_up.completed("7").await;
    // Asked three times without a key: Liza hangs up; no answer either.
    let mut silent = app.call("CAprivacysilent2", SILENT).await;
    for _ in 0..3 {
        silent.silence().await;
    }
    assert!(silent.hung_up());
    silent.completed("30").await;

    let dump = full_dump(&app.db, &app.database_url).await;
    for number in [REFUSER, SILENT] {
        assert_eq!(
            lines_with(&dump, national(number)),
            Vec::<&str>::new(),
            "{number} in clear"
        );
    }
    assert_eq!(lines_with(&dump, STRAY_KEYS), Vec::<&str>::new());
    // What Liza said, except the consent question kept as the proof of what was asked. (The
    // flow's stored versions hold the texts as written, not as any call heard them.)
    let calls_data: String = dump
        .lines()
        .filter(|l| !l.starts_with("flow_versions: "))
        .map(|l| format!("{l}\n"))
        .collect();
    for said in [
        "Hier ist Liza",
        "Das habe ich nicht verstanden",
        "Schade, dann können wir",
        "Leider habe ich keine gültige Auswahl",
    ] {
        assert_eq!(lines_with(&calls_data, said), Vec::<&str>::new(), "{said}");
    }
    let proofs = lines_with(&calls_data, "Dürfen wir");
    assert_eq!(proofs.len(), 4, "every call was asked");
    for line in proofs {
        assert!(line.starts_with("calls: "), "only as the proof: {line}");
    }

    // The rows: a hash and a mask, no number; the steps' nodes and outcomes, nothing said.
    let calls = sqlx::query_as::<_, (String, String, String, String, Option<String>)>(
        "SELECT call_sid, from_number, caller_hash, caller_masked, consent FROM calls ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(calls.len(), 4);
    let key = &app.state.engine.privacy;
    for (sid, from, hash, masked, consent) in &calls {
        let number = if sid.contains("refused") {
            REFUSER
        } else {
            SILENT
        };
        assert_eq!(from, "", "{sid}");
        assert_eq!(hash, &key.caller_hash(number), "{sid}");
        assert_eq!(masked, &mask(number), "{sid}");
        let expected = sid.contains("refused").then(|| "refused".to_owned());
        assert_eq!(consent, &expected, "{sid}");
    }
    assert_eq!(mask(REFUSER), "+49 157 ••• ••67");
    let steps = sqlx::query_as::<_, (String, String, String, Option<String>, String)>(
        "SELECT c.call_sid, s.node, s.text, s.digits, s.outcome FROM steps s
         JOIN calls c ON c.id = s.call_id ORDER BY c.id, s.turn, s.position",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    for (sid, node, text, digits, _) in &steps {
        assert_eq!((text.as_str(), digits), ("", &None), "{sid} {node}");
    }
    let outcomes: Vec<(&str, &str)> = steps
        .iter()
        .filter(|s| s.0 == "CAprivacyrefused1")
        .map(|s| (s.1.as_str(), s.4.as_str()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("greeting", "said"),
            ("consent", "asked"),
            ("consent", "invalid, 2 attempts left"),
            ("consent", "asked"),
            ("consent", "chose 2"),
            ("consent-refused", "consent refused"),
            ("goodbye-refused", "hangup (completed)"),
        ],
        "statistics keep working"
    );
    // Repeat callers are counted by their hash.
    let repeat = sqlx::query_as::<_, (String, i64)>(
        "SELECT caller_hash, COUNT(*) FROM calls GROUP BY caller_hash ORDER BY 2 DESC, 1",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(repeat.len(), 2, "two callers");
    assert!(repeat.iter().all(|(_, calls)| *calls == 2));
    // No replay data outlives its call.
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM replays").await, 0);
}

#[tokio::test]
async fn a_consented_call_keeps_number_and_conversation_from_consent_on() {
    let app = AppOptions::default()
        .on(TestDb::from_env().await)
        .spawn()
        .await;
    let mut call = app.call("CAprivacyconsent", CALLER).await;
    call.press("1").await;
    call.press("55512345678").await;
    assert!(call.says("eingegeben"));
    call.press("1").await;
    call.press("2").await;
    assert!(call.hung_up());
    call.completed("60").await;

    let (from, masked): (String, String) =
        sqlx::query_as("SELECT from_number, caller_masked FROM calls")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(from, CALLER, "kept from the consent on");
    assert_eq!(masked, "+49 151 ••• ••78");
    let steps = sqlx::query_as::<_, (i64, String, String, Option<String>, String)>(
        "SELECT turn, node, text, digits, outcome FROM steps ORDER BY turn, position",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let kept: Vec<(i64, &str, bool, Option<&str>)> = steps
        .iter()
        .map(|(turn, node, text, digits, _)| {
            (*turn, node.as_str(), !text.is_empty(), digits.as_deref())
        })
        .collect();
    assert_eq!(
        &kept[..6],
        [
            (0, "greeting", false, None),
            (0, "consent", false, None),
            (1, "consent", false, None),
            (1, "consent-given", false, None),
            (1, "order", true, None),
            (2, "order", false, Some("55512345678")),
        ],
        "nothing before the consent, everything after it"
    );
    assert!(steps
        .iter()
        .any(|s| s.2 == "Sie haben 5 5 5 1 2 3 4 5 6 7 8 eingegeben. Drücken Sie die 1, wenn das richtig ist, oder die 2, um die Nummer erneut einzugeben."));
    // The order stays, a business record.
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM records WHERE key = '55512345678'")
            .await,
        1
    );
}

/// A flow that asks for a number before it asks for consent: what the caller typed lives in
/// the call's state while the call goes on, and is forgotten when it ends without consent.
const NUMBER_FIRST: &str = r#"
name: number-first
entry: order
languages:
  default: de-DE
privacy:
  consent: consent
  covers: [caller_number, conversation]
nodes:
  order:
    kind: gather-digits
    webhook: order
    prompt: order-prompt
    into: order_number
    max_length: 12
    on_exhausted: bye
    next: consent
  consent:
    kind: confirm
    webhook: consent
    prompt: consent-question
    choices:
      "1": given
      "2": refused
    on_exhausted: bye
  given:
    kind: persist
    consent: given
    next: bye
  refused:
    kind: persist
    consent: refused
    next: bye
  bye:
    kind: hangup
    say: goodbye
"#;

#[tokio::test]
async fn what_a_caller_without_consent_typed_is_forgotten_when_the_call_ends() {
    let flows = tempfile::tempdir().unwrap();
    std::fs::write(flows.path().join("number-first.yaml"), NUMBER_FIRST).unwrap();
    let app = AppOptions::default()
        .flows(flows.path())
        .locales(&repo_root().join("locales"))
        .on(TestDb::from_env().await)
        .spawn()
        .await;
    // Refuses after typing a number: Liza hangs up.
    let mut refused = app.call("CAnumberfirst1", REFUSER).await;
    refused.press("90817263445").await;
    let state: String =
        sqlx::query_scalar("SELECT state FROM calls WHERE call_sid = 'CAnumberfirst1'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(
        state.contains("90817263445"),
        "the call still needs it: {state}"
    );
    refused.press("2").await;
    assert!(refused.hung_up());
    // Hangs up at the consent question after typing a number.
    let mut gone = app.call("CAnumberfirst2", SILENT).await;
    gone.press("80706050403").await;
    gone.completed("15").await;

    let dump = full_dump(&app.db, &app.database_url).await;
    for typed in ["90817263445", "80706050403"] {
        assert_eq!(lines_with(&dump, typed), Vec::<&str>::new(), "{typed}");
    }
    for number in [REFUSER, SILENT] {
        assert_eq!(lines_with(&dump, national(number)), Vec::<&str>::new());
    }
}
