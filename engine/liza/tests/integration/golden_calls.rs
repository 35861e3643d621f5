//! Every TwiML response of Liza's call, per scenario, against golden files.
//! A scenario is a flow test (`liza::tools::scenario`, the format `liza test` runs):
//! tests/golden/calls/<case>.yaml → <case>.twiml. Its `expect` status, consent and records
//! are checked against the rows the server stored; `liza test` checks them offline too.

use std::path::Path;

use std::time::Duration;

use liza::tools::fetchstub::{FetchStub, StubOutcome};
use liza::tools::scenario::{Input, ScenarioFile};

use crate::support::shop::{refused_url, Behaviour, FakeShop};
use crate::support::{assert_golden, AppOptions};

/// The fake shop API a scenario's `given.fetch` describes (Liza's flow has one fetch node,
/// `shop-status`), and Liza's settings for it; `None`: the shop is not configured.
async fn shop_for(stub: Option<&FetchStub>) -> (Option<FakeShop>, AppOptions) {
    let options = AppOptions::default();
    let Some(stub) = stub else {
        return (None, options);
    };
    let (shop, url) = match stub.outcome {
        Some(StubOutcome::NotConfigured) => return (None, options),
        Some(StubOutcome::Error) => (None, refused_url().await),
        Some(StubOutcome::Timeout) => {
            let shop = FakeShop::start(Behaviour::slow(Duration::from_secs(5), "{}")).await;
            let url = shop.url.clone();
            (Some(shop), url)
        }
        None => {
            let body = stub
                .body
                .as_ref()
                .map(|b| b.to_string())
                .unwrap_or_default();
            let shop = FakeShop::start(Behaviour::json(stub.status.unwrap_or(200), &body)).await;
            let url = shop.url.clone();
            (Some(shop), url)
        }
    };
    let options = options
        .set("SHOP_API_URL", url)
        .set("SHOP_API_TOKEN", "golden-token");
    (shop, options)
}

#[tokio::test]
async fn every_call_scenario_matches_its_golden_transcript() {
    play_golden_calls("calls", "liza", 9).await;
}

/// The example flows' calls (tests/golden/example-calls/, each against examples/<flow>.yaml
/// alone): the nodes Liza's own flow does not use, played through the server the same way.
#[tokio::test]
async fn every_example_call_matches_its_golden_transcript() {
    play_golden_calls("example-calls", "examples", 1).await;
}

/// Plays every scenario in tests/golden/<folder>/ against the flows of `flows` (`liza`: the
/// repository's flows/; `examples`: examples/ with examples/locales).
async fn play_golden_calls(folder: &str, flows: &str, at_least: usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(folder);
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= at_least,
        "scenarios missing in {}",
        dir.display()
    );
    for case in cases {
        let (file, _) = ScenarioFile::read(&case).unwrap();
        if flows == "liza" {
            assert_eq!(file.flow, "liza", "{}", case.display());
        }
        let [scenario] = &file.tests[..] else {
            panic!("{}: one scenario per golden transcript", case.display());
        };
        let fetch = &scenario.given.fetch;
        assert!(
            fetch.keys().all(|node| node == "shop-status"),
            "{}: Liza's flow fetches at `shop-status` only",
            case.display()
        );
        let (_shop, mut options) = shop_for(fetch.get("shop-status")).await;
        for (name, value) in &scenario.given.env {
            options = options.set(name, value);
        }
        // A server that sends texts (the scenario's default, as `liza test` plays it) sends
        // them to a fake Twilio REST API; `given: sms: false` plays one without Twilio's
        // account for texts.
        let twilio = if scenario.given.sms {
            Some(
                FakeShop::start(Behaviour::json(
                    201,
                    r#"{"sid":"SMgolden","status":"queued"}"#,
                ))
                .await,
            )
        } else {
            None
        };
        let options = match &twilio {
            Some(twilio) => options
                .set("TWILIO_ACCOUNT_SID", "AC0000000000000000000000000000golden")
                .set("LIZA_SMS_FROM", "+4930555000111")
                .set("TWILIO_API_BASE", &twilio.url),
            None => options,
        };
        // An example flow is served alone, so it answers the test's called number.
        let alone = tempfile::tempdir().unwrap();
        let options = if flows == "liza" {
            options
        } else {
            let root = crate::support::repo_root().join(flows);
            let name = format!("{}.yaml", file.flow);
            std::fs::copy(root.join(&name), alone.path().join(&name)).unwrap();
            options.flows(alone.path()).locales(&root.join("locales"))
        };
        let app = options.spawn().await;
        for record in &scenario.given.records {
            sqlx::query("INSERT INTO records (kind, key, status, created_at, updated_at) VALUES ($1, $2, $3, 0, 0)")
                .bind(&record.kind)
                .bind(&record.key)
                .bind(&record.status)
                .execute(&app.db)
                .await
                .unwrap();
        }
        let sid = format!(
            "CA{}",
            case.file_stem().unwrap().to_string_lossy().replace('-', "")
        );
        let mut call = app.call(&sid, &scenario.from).await;
        let mut hung_up_by_caller = false;
        for input in &scenario.input {
            assert!(
                !call.hung_up(),
                "{}: call ended before input {input:?}",
                case.display()
            );
            match (input, input.digits()) {
                (Input::HangUp, _) => {
                    hung_up_by_caller = true;
                    break;
                }
                (Input::Dial(status), _) => call.dial_ended(status).await,
                (Input::Recorded, _) => call.recorded().await,
                (Input::Said { words, confidence }, _) => {
                    let confidence = format!("{:.3}", f64::from(*confidence) / 1000.0);
                    call.say(words, &confidence).await
                }
                (_, Some(digits)) => call.press(digits).await,
                (_, None) => call.silence().await,
            };
            // A transfer with a whisper: the person answers and hears it first.
            if call.last.body.contains("<Number url=") {
                call.whisper().await;
            }
        }
        assert!(
            hung_up_by_caller || call.hung_up(),
            "{}: call should end with a hang-up",
            case.display()
        );
        let transcript = call.transcript.join("\n");
        assert_golden(&case.with_extension("twiml"), &transcript);

        call.completed("30").await;
        let expect = &scenario.expect;
        let (status, consent): (String, Option<String>) =
            sqlx::query_as("SELECT status, consent FROM calls WHERE call_sid = $1")
                .bind(&sid)
                .fetch_one(&app.db)
                .await
                .unwrap();
        if let Some(expected) = &expect.status {
            assert_eq!(&status, expected, "{}: call status", case.display());
        }
        if let Some(expected) = &expect.consent {
            let consent = consent.as_deref().unwrap_or("none");
            assert_eq!(consent, expected, "{}: consent", case.display());
        }
        if let Some(expected) = &expect.sms {
            let queued: Vec<String> = sqlx::query_scalar(
                "SELECT o.label FROM outbox o JOIN calls c ON c.id = o.call_id \
                 WHERE c.call_sid = $1 AND o.kind = 'sms' ORDER BY o.id",
            )
            .bind(&sid)
            .fetch_all(&app.db)
            .await
            .unwrap();
            assert_eq!(&queued, expected, "{}: texts queued", case.display());
        }
        if let Some(expected) = &expect.records {
            let stored: Vec<(String, String, String)> =
                sqlx::query_as("SELECT kind, key, status FROM records ORDER BY kind, key")
                    .fetch_all(&app.db)
                    .await
                    .unwrap();
            let mut expected: Vec<(String, String, String)> = expected
                .iter()
                .map(|r| (r.kind.clone(), r.key.clone(), r.status.clone()))
                .collect();
            expected.sort();
            assert_eq!(stored, expected, "{}: records", case.display());
        }
    }
}
