//! Opening hours through the server: the webhook's moment reaches the `hours` node. The
//! schedules here are open all week or never, so the answer does not depend on the day the
//! test runs (the offline flow tests pin moments with `at:`).

use crate::support::{repo_root, AppOptions};

fn flow(weekly: &str) -> String {
    format!(
        r#"name: hours-test
entry: when
languages:
  default: de-DE
schedules:
  shop:
    timezone: Europe/Berlin
    weekly: {weekly}
nodes:
  when:
    kind: hours
    schedule: shop
    open: hello
    closed: bye
  hello:
    kind: hangup
    say: greeting
  bye:
    kind: hangup
    say: goodbye
"#
    )
}

#[tokio::test]
async fn the_hours_node_answers_by_the_moment_the_webhook_arrived() {
    for (weekly, expected, not) in [
        (
            r#"{ "mon-sun": "00:00-24:00" }"#,
            "Hier ist Liza",
            "Auf Wiederhören",
        ),
        ("{}", "Auf Wiederhören", "Hier ist Liza"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hours-test.yaml"), flow(weekly)).unwrap();
        let app = AppOptions::default()
            .flows(dir.path())
            .locales(&repo_root().join("locales"))
            .spawn()
            .await;
        let call = app.call("CAhours", "+4915112345678").await;
        // The whole call, open all week and never open, as golden transcripts.
        let case = if weekly == "{}" { "closed" } else { "open" };
        let golden = repo_root().join(format!("engine/liza/tests/golden/hours/{case}.twiml"));
        crate::support::assert_golden(&golden, &call.transcript.join("\n"));
        assert!(call.says(expected), "{weekly}: {}", call.last.body);
        assert!(!call.says(not), "{weekly}: {}", call.last.body);
        assert!(call.hung_up());
        let outcome: String = sqlx::query_scalar(
            "SELECT s.outcome FROM steps s JOIN calls c ON c.id = s.call_id WHERE c.call_sid = 'CAhours' AND s.node = 'when'",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        let wanted = if weekly == "{}" { "closed" } else { "open" };
        assert_eq!(outcome, wanted);
    }
}
