//! `liza test`: flow tests as data (flows/tests/*.yaml, in the format of [`crate::scenario`]),
//! run without a server.
//!
//! A test names a caller, the keys pressed, and what must come out: the messages said
//! (by Fluent id), texts heard, the path of nodes, records stored, the final call status.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::offline::{MemoryRecords, OfflineCall};
use crate::scenario::{Input, Scenario, ScenarioFile};
use liza_core::flow::{Flow, NodeKind};
use liza_core::speech::SpeechConfig;

/// The result of a run: counts and the report to print.
#[derive(Debug, Default)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub report: String,
}

/// Test files in `paths` (files, or directories of `*.yaml`), sorted.
pub fn test_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("{}: cannot read: {e}", path.display()))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
                .collect();
            found.sort();
            files.extend(found);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(format!(
                "{}: cannot read: no such file or directory",
                path.display()
            ));
        }
    }
    Ok(files)
}

/// Runs every test in `files` against `flows`. Err: a file cannot be read or understood.
pub fn run(
    files: &[PathBuf],
    flows: &[Arc<Flow>],
    speech: &SpeechConfig,
) -> Result<Summary, String> {
    let mut summary = Summary::default();
    for file in files {
        let (tests, spans) = ScenarioFile::read(file)?;
        let Some(flow) = flows.iter().find(|f| f.name == tests.flow) else {
            let names: Vec<&str> = flows.iter().map(|f| f.name.as_str()).collect();
            return Err(format!(
                "{}: flow `{}` is not loaded (loaded: {})",
                file.display(),
                tests.flow,
                names.join(", ")
            ));
        };
        let _ = writeln!(
            summary.report,
            "{} ({} tests, flow `{}`)",
            file.display(),
            tests.tests.len(),
            flow.name
        );
        for (i, case) in tests.tests.iter().enumerate() {
            let line = spans.key(&format!("/tests/{i}")).line;
            match run_case(flow, speech, case) {
                Ok(()) => {
                    summary.passed += 1;
                    let _ = writeln!(summary.report, "  ok    {}", case.name);
                }
                Err(failure) => {
                    summary.failed += 1;
                    let _ = writeln!(
                        summary.report,
                        "  FAIL  {} ({}:{line})",
                        case.name,
                        file.display()
                    );
                    for l in failure.lines() {
                        let _ = writeln!(summary.report, "        {l}");
                    }
                }
            }
        }
    }
    let _ = writeln!(
        summary.report,
        "\n{} passed, {} failed",
        summary.passed, summary.failed
    );
    Ok(summary)
}

fn diff(what: &str, expected: &[String], actual: &[String]) -> Option<String> {
    if expected == actual {
        return None;
    }
    let expected = expected.join("\n") + "\n";
    let actual = actual.join("\n") + "\n";
    let diff = similar::TextDiff::from_lines(&expected, &actual);
    let mut out = format!("{what} differs (- expected, + actual):\n");
    for change in diff.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => "-",
            similar::ChangeTag::Insert => "+",
            similar::ChangeTag::Equal => " ",
        };
        let _ = write!(out, "  {sign} {change}");
    }
    Some(out)
}

fn run_case(flow: &Flow, speech: &SpeechConfig, case: &Scenario) -> Result<(), String> {
    let mut records = MemoryRecords::default();
    for r in &case.given.records {
        records.insert(&r.kind, &r.key, &r.status);
    }
    // A test reads only the environment values it gives (`given.env`).
    let speech = SpeechConfig {
        env: liza_core::speech::FlowEnv::from_map(case.given.env.clone()),
        ..speech.clone()
    };
    let mut call = OfflineCall::new(flow, speech, records);
    if let Some(at) = &case.at {
        let zone = flow.schedules.first().map(|s| &s.zone);
        call = call
            .at(liza_core::flow::hours::parse_instant(at, zone).map_err(|e| format!("at: {e}"))?);
    }
    call.fetches = case.given.fetch.clone();
    if !case.given.sms {
        call = call.without_texting();
    }
    call.start(&case.from);
    let mut problems = Vec::new();
    for (i, input) in case.input.iter().enumerate() {
        if call.ended() {
            let keys = match input {
                Input::Keys(keys) => keys.as_str(),
                Input::NoInput => "",
                Input::HangUp => "hangup",
                Input::Dial(status) => status.as_str(),
                Input::Recorded => "recorded",
                Input::Said { words, .. } => words.as_str(),
            };
            problems.push(format!("the call ended before input {} ({keys:?})", i + 1));
            break;
        }
        if *input == Input::HangUp {
            call.hang_up();
            break;
        }
        match (input, input.dial_status()) {
            (Input::Recorded, _) => call.recorded(),
            (Input::Said { words, confidence }, _) => call.say(words, *confidence),
            (_, Some(status)) => call.dialed(status),
            _ => call.press(input.digits()),
        };
    }
    // A test that meets opening hours must say when it calls, or it passes or fails by the
    // hour it runs.
    if case.at.is_none() {
        let hours = call.path().into_iter().find(|name| {
            flow.node_named(name)
                .is_some_and(|id| matches!(flow.node(id).kind, NodeKind::Hours { .. }))
        });
        if let Some(node) = hours {
            problems.push(format!(
                "the call passes the `hours` node `{node}`, so what it hears depends on when the \
                 test runs: give the test a moment, e.g. `at: 2026-12-01T10:00`"
            ));
        }
    }
    let expect = &case.expect;
    if let Some(says) = &expect.says {
        let actual: Vec<String> = call.said.iter().map(|s| s.message.clone()).collect();
        problems.extend(diff("messages said", says, &actual));
    }
    if let Some(path) = &expect.path {
        problems.extend(diff("path", path, &call.path()));
    }
    if let Some(texts) = &expect.text {
        let heard: String = call
            .said
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        for text in texts {
            if !heard.contains(text.as_str()) {
                problems.push(format!("text not heard: {text:?}"));
            }
        }
    }
    if let Some(expected) = &expect.records {
        let mut expected: Vec<String> = expected
            .iter()
            .map(|r| format!("{} {}: {}", r.kind, r.key, r.status))
            .collect();
        expected.sort();
        let actual: Vec<String> = call
            .records
            .all()
            .into_iter()
            .map(|(k, key, s)| format!("{k} {key}: {s}"))
            .collect();
        problems.extend(diff("records", &expected, &actual));
    }
    if let Some(status) = &expect.status {
        if status != call.status.as_str() {
            problems.push(format!(
                "call status: expected `{status}`, got `{}`",
                call.status.as_str()
            ));
        }
    }
    if let Some(sms) = &expect.sms {
        let actual: Vec<String> = call.texts.iter().map(|t| t.message.clone()).collect();
        problems.extend(diff("text messages queued", sms, &actual));
    }
    if let Some(consent) = &expect.consent {
        let actual = call.consent.map_or("none", |c| c.as_str());
        if consent != actual {
            problems.push(format!("consent: expected `{consent}`, got `{actual}`"));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let mut out = problems.join("\n");
    out.push_str("\ntranscript:\n");
    for line in call.visits.iter().flat_map(|v| v.transcript()) {
        let _ = writeln!(out, "  {line}");
    }
    Err(out)
}

/// Where flow tests live by default: `<flows dir>/tests`.
pub fn default_dir(flows_dir: &Path) -> PathBuf {
    flows_dir.join("tests")
}
