//! Every TwiML response of Liza's call, per scenario, against golden files.
//! A scenario is a flow test (`liza::tools::scenario`, the format `liza test` runs):
//! tests/golden/calls/<case>.yaml → <case>.twiml. Its `expect` status, consent and records
//! are checked against the rows the server stored; `liza test` checks them offline too.

use std::path::Path;

use liza::tools::scenario::{Input, ScenarioFile};

use crate::support::{assert_golden, spawn_app};

#[tokio::test]
async fn every_call_scenario_matches_its_golden_transcript() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/calls");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 9, "scenarios missing in {}", dir.display());
    for case in cases {
        let (file, _) = ScenarioFile::read(&case).unwrap();
        assert_eq!(file.flow, "liza", "{}", case.display());
        let [scenario] = &file.tests[..] else {
            panic!("{}: one scenario per golden transcript", case.display());
        };
        let app = spawn_app().await;
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
                (_, Some(digits)) => call.press(digits).await,
                (_, None) => call.silence().await,
            };
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
