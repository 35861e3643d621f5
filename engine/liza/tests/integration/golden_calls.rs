//! Every TwiML response of Liza's call, per scenario, against golden files.
//! A scenario is a data file: tests/golden/calls/<case>.yaml → <case>.twiml.

use std::path::Path;

use crate::helpers::{assert_golden, spawn_app};

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
        let text = std::fs::read_to_string(&case).unwrap();
        let (scenario, _) = liza::flow::yaml::parse(&text).unwrap();
        let from = scenario["from"].as_str().unwrap();
        let app = spawn_app().await;
        let sid = format!(
            "CA{}",
            case.file_stem().unwrap().to_string_lossy().replace('-', "")
        );
        let mut call = app.call(&sid, from).await;
        for step in scenario["steps"].as_array().unwrap() {
            let step = step.as_str().unwrap();
            assert!(
                !call.hung_up(),
                "{}: call ended before step {step}",
                case.display()
            );
            if step == "-" {
                call.silence().await;
            } else {
                call.press(step).await;
            }
        }
        assert!(
            call.hung_up(),
            "{}: call should end with a hang-up",
            case.display()
        );
        let transcript = call.transcript.join("\n");
        assert_golden(&case.with_extension("twiml"), &transcript);
    }
}
