//! The operator commands as an operator runs them, against a database Liza filled:
//! `liza calls` (list, filters, masking, `show`, `--json`) and `liza backup` (while calls are
//! being played: the copy opens and holds every call committed before it started).

use std::collections::HashSet;
use std::process::{Command, Output};
use std::time::Duration;

use liza_loadtest as loadtest;

use crate::both;
use crate::support::*;

/// `liza ARGS` on `database_url`, with nothing else from the test's environment.
fn liza(database_url: &str, args: &[&str]) -> Output {
    liza_with(database_url, args, &[])
}

/// [`liza`] with more environment variables.
fn liza_with(database_url: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_liza"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run liza")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `liza calls ARGS --json`: the listed calls.
fn listed(database_url: &str, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["calls", "--json"];
    all.extend_from_slice(args);
    let out = liza(database_url, &all);
    assert!(
        out.status.success(),
        "liza {all:?}: {}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str::<Vec<serde_json::Value>>(&stdout(&out)).expect("a JSON array")
}

/// Three whole calls from the default caller and one from a UK number, then the listing.
async fn calls_lists_filters_and_shows(db: &TestDb) {
    let app = spawn_app_on(&db.url).await;
    for (calls, from) in [(3, CALLER), (1, "+447700900123")] {
        let mut args = loadtest_args(&app.twilio.base, calls, 1, Duration::ZERO, from);
        args.expect = None; // the English goodbye for the UK caller
        let report = loadtest::run(&args, Some(AUTH_TOKEN.into())).await.unwrap();
        assert_eq!(report.failed, 0, "{:?}", report.first_errors);
    }
    // A call still going on: its first webhook only.
    let live = new_call_sid();
    app.twilio.start(&live).await;
    app.stop().await;

    let all = listed(&db.url, &[]);
    assert_eq!(all.len(), 5);
    assert_eq!(all[0]["call_sid"], live.as_str(), "newest first");
    let numbers: HashSet<&str> = all
        .iter()
        .map(|c| c["from_number"].as_str().unwrap())
        .collect();
    assert_eq!(
        numbers,
        HashSet::from(["+49 151 ••• ••78", "+44 770 ••• ••23"]),
        "masked as the dashboard's list masks them"
    );
    let full = listed(&db.url, &["--show-numbers"]);
    assert!(full.iter().any(|c| c["from_number"] == CALLER));

    assert_eq!(listed(&db.url, &["--status", "completed"]).len(), 4);
    assert_eq!(listed(&db.url, &["--status", "in_progress"]).len(), 1);
    assert_eq!(listed(&db.url, &["--status", "problem"]).len(), 0);
    let uk = listed(&db.url, &["--number-part", "7700900"]);
    assert_eq!(uk.len(), 1);
    assert_eq!(uk[0]["language"], "en-GB");
    // The live call has no consent: its number is kept only as a hash and a masked form, so
    // no part of it finds the call.
    assert_eq!(listed(&db.url, &["--number-part", "+49"]).len(), 3);
    // The whole number finds it, by the number's keyed hash.
    assert_eq!(listed(&db.url, &["--number-part", CALLER]).len(), 4);
    assert_eq!(
        listed(&db.url, &["--number-part", "0049 151 12345678"]).len(),
        4
    );
    assert_eq!(listed(&db.url, &["--language", "de-DE"]).len(), 4);
    assert_eq!(listed(&db.url, &["--language", "en-GB"]).len(), 1);
    assert_eq!(listed(&db.url, &["--limit", "2"]).len(), 2);
    assert_eq!(listed(&db.url, &["--since", "1h"]).len(), 5);
    assert_eq!(listed(&db.url, &["--since", "2999-01-01"]).len(), 0);

    // The table: a header, one line per call, no full number anywhere.
    let out = liza(&db.url, &["calls", "--status", "completed"]);
    let table = stdout(&out);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("STARTED"), "{table}");
    assert!(
        lines[0].contains("CALL SID") && lines[0].contains("DURATION"),
        "{table}"
    );
    assert_eq!(lines.len(), 5, "{table}");
    assert!(
        table.contains("+49 151 ••• ••78") && table.contains("completed"),
        "{table}"
    );
    assert!(!table.contains(CALLER), "{table}");

    // One call's conversation.
    let sid = uk[0]["call_sid"].as_str().unwrap();
    let out = liza(&db.url, &["calls", "show", sid]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("Call SID   {sid}")), "{text}");
    assert!(text.contains("From       +44 770 ••• ••23"), "{text}");
    assert!(text.contains("Conversation:"), "{text}");
    assert!(text.contains("Caller pressed: 12345"), "{text}");
    assert!(text.contains("Liza: "), "{text}");
    assert!(
        text.contains("Records:") && text.contains("12345"),
        "{text}"
    );
    assert!(!text.contains("+447700900123"), "{text}");
    let out = liza(&db.url, &["calls", "show", sid, "--json", "--show-numbers"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(json["call"]["summary"]["from_number"], "+447700900123");
    let steps = json["conversation"].as_array().unwrap();
    assert!(steps.iter().any(|s| s["digits"] == "12345"), "{json}");

    let out = liza(&db.url, &["calls", "show", "CAnothere"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no call `CAnothere`"));
    let out = liza(&db.url, &["calls", "--status", "lost"]);
    assert_eq!(out.status.code(), Some(2), "clap refuses an unknown status");
}
both!(calls_lists_filters_and_shows);

/// SQLite: a backup taken while calls are being played opens, passes the integrity check and
/// holds every call that had ended before it began. PostgreSQL: pg_dump is explained, exit 2,
/// and the password in DATABASE_URL is not printed.
async fn backup_while_calls_are_played(db: &TestDb) {
    let copy = db.dir.path().join("copy.db");
    if db.backend == Backend::Postgres {
        let out = liza(&db.url, &["backup", copy.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains("pg_dump -Fc \"$DATABASE_URL\""), "{said}");
        assert!(!copy.exists());
        return;
    }
    let app = spawn_app_on(&db.url).await;
    let load = {
        let args = loadtest_args(&app.twilio.base, 120, 8, Duration::from_millis(40), CALLER);
        tokio::spawn(async move { loadtest::run(&args, Some(AUTH_TOKEN.into())).await })
    };
    let ended_sql = "SELECT call_sid FROM calls WHERE ended_at IS NOT NULL";
    let mut committed = Vec::new();
    for _ in 0..200 {
        committed = db.rows(ended_sql).await;
        if committed.len() >= 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(committed.len() >= 10, "calls did not get going");
    let (url, path) = (db.url.clone(), copy.clone());
    let out = tokio::task::spawn_blocking(move || liza(&url, &["backup", path.to_str().unwrap()]))
        .await
        .unwrap();
    assert!(
        !load.is_finished(),
        "the backup should run while calls are being played"
    );
    let said = stdout(&out);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = load.await.unwrap().unwrap();
    assert_eq!(report.failed, 0, "{:?}", report.first_errors);
    app.stop().await;

    let conn =
        rusqlite::Connection::open_with_flags(&copy, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("the copy opens");
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let mut statement = conn.prepare(ended_sql).unwrap();
    let in_copy: HashSet<String> = statement
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for row in &committed {
        let sid = row[0].as_deref().unwrap();
        assert!(
            in_copy.contains(sid),
            "{sid} ended before the backup but is not in it"
        );
    }
    let calls: i64 = conn
        .query_row("SELECT COUNT(*) FROM calls", [], |r| r.get(0))
        .unwrap();
    assert!(
        said.contains(&format!(": {calls} calls,")),
        "the command reports what the copy holds: {said}"
    );
    assert!(
        calls < 120,
        "the copy is a snapshot taken mid-load ({calls} calls)"
    );
    let journal: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "delete", "one self-contained file");

    // A second backup to the same name is refused; --force replaces it.
    let out = liza(&db.url, &["backup", copy.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let out = liza(&db.url, &["backup", "--force", copy.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(stdout(&out).contains(": 120 calls,"), "{}", stdout(&out));
}
both!(backup_while_calls_are_played);

/// `liza --version` names the commit; completions are scripts for the shells they name, with
/// nothing logged among them.
#[test]
fn version_and_completions() {
    let out = liza("sqlite://unused.db", &["--version"]);
    let version = stdout(&out);
    assert!(
        regex::Regex::new(r"^liza \d+\.\d+\.\d+ \(commit ([0-9a-f]{7,40}|unknown)\)\n$")
            .unwrap()
            .is_match(&version),
        "{version}"
    );
    for (shell, marker) in [
        ("bash", "complete -F _liza"),
        ("zsh", "#compdef liza"),
        ("fish", "complete -c liza"),
    ] {
        let out = liza("sqlite://unused.db", &["completions", shell]);
        let script = stdout(&out);
        assert!(
            out.status.success() && script.contains(marker),
            "{shell}: {script}"
        );
        for command in ["calls", "backup", "loadtest", "serve"] {
            assert!(script.contains(command), "{shell} completes {command}");
        }
    }
    // A warning while it runs goes to standard error, not into the script.
    let out = liza_with(
        "sqlite://unused.db",
        &["completions", "bash"],
        &[("LIZA_LOG_FORMAT", "bogus")],
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("LIZA_LOG_FORMAT=bogus is neither"),
        "the warning: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !stdout(&out).contains("LIZA_LOG_FORMAT"),
        "{}",
        stdout(&out)
    );
    let checked = Command::new("bash")
        .args(["-n", "-c", &stdout(&out)])
        .status()
        .unwrap();
    assert!(checked.success(), "the bash script parses");
}
