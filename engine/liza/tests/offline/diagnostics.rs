//! `liza check` on broken flows and locales: every diagnostic against a golden file.
//! One folder per mistake under tests/golden/diagnostics/; adding a case = adding a folder.

use std::path::Path;
use std::process::Command;

use crate::support::{assert_golden, repo_root};

#[test]
fn every_broken_fixture_is_reported_with_file_line_and_column() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/diagnostics");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("flow.yaml").exists())
        .collect();
    cases.sort();
    assert!(cases.len() >= 12, "fixtures missing");
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let locales = if case.join("locales").exists() {
            format!("{name}/locales")
        } else {
            "locales".to_owned()
        };
        let output = Command::new(env!("CARGO_BIN_EXE_liza"))
            .args(["check", &format!("{name}/flow.yaml"), "--locales", &locales])
            .current_dir(&root)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let code = output.status.code().unwrap();
        // Warnings alone still pass; any error fails the check.
        let expected_code = if name.starts_with("warnings") { 0 } else { 1 };
        assert_eq!(
            code, expected_code,
            "{name}: `liza check` exit code:\n{stdout}"
        );
        assert!(
            stdout.contains(&format!("{name}/")),
            "{name}: diagnostics name the file:\n{stdout}"
        );
        let actual =
            format!("$ liza check {name}/flow.yaml --locales {locales}\nexit: {code}\n{stdout}");
        assert_golden(&case.join("expected.txt"), &actual);
    }
}

#[test]
fn check_exits_zero_on_the_shipped_flows_and_two_on_unreadable_input() {
    let repo = repo_root();
    let ok = Command::new(env!("CARGO_BIN_EXE_liza"))
        .arg("check")
        .current_dir(&repo)
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("ok: liza"));
    let missing = Command::new(env!("CARGO_BIN_EXE_liza"))
        .args(["check", "no/such/dir"])
        .current_dir(&repo)
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
}
