//! PostgreSQL's writers read rows by key, whatever the planner's statistics say. On a new
//! database a table's few rows made PostgreSQL plan sequential scans for the writers' batch
//! statements and foreign-key checks, and keep those plans (docs/BENCHMARKS.md, "Writers
//! without sequential scans").

use crate::support::*;

/// `replays` (each turn's upsert, the final callback's delete) and `step_kinds` (the turns'
/// join on a step's kind; step rows have no foreign keys on PostgreSQL since the migration
/// `steps_unchecked`) are read only by the writers
/// while calls are answered: (sequential scans, index scans) of each, as PostgreSQL counted
/// them. A server's connections flush their counts when they close, so this is read after a
/// server stopped, and again until the counts stop changing.
async fn scans(db: &TestDb) -> Vec<(String, i64, i64)> {
    let read = || async {
        db.rows(
            "SELECT CAST(relname AS TEXT), CAST(seq_scan AS TEXT), CAST(idx_scan AS TEXT)
             FROM pg_stat_user_tables WHERE relname IN ('replays', 'step_kinds') ORDER BY relname",
        )
        .await
        .into_iter()
        .map(|r| {
            let number = |i: usize| r[i].as_deref().unwrap().parse::<i64>().unwrap();
            (r[0].clone().unwrap(), number(1), number(2))
        })
        .collect::<Vec<_>>()
    };
    let mut last = read().await;
    for _ in 0..20 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let now = read().await;
        if now == last {
            break;
        }
        last = now;
    }
    last
}

/// Whole calls on a new database (no statistics yet, a handful of rows): the tables only the
/// writers read were read by key, never scanned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writers_read_by_key_on_a_new_database() {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    // A first start migrates the database; what that reads is not the writers'.
    spawn_app_on(&db.url).await.stop().await;
    let before = scans(&db).await;
    let app = spawn_app_on(&db.url).await;
    for _ in 0..3 {
        let call = new_call_sid();
        let mut last = app.twilio.start(&call).await;
        for digits in ["1", "12345", "1", "2"] {
            last = app.twilio.press(&last, &call, digits).await;
        }
        app.twilio.completed(&call).await;
    }
    app.stop().await;
    let after = scans(&db).await;
    for ((table, seq_before, idx_before), (_, seq_after, idx_after)) in before.iter().zip(&after) {
        assert_eq!(
            seq_after - seq_before,
            0,
            "{table} was scanned: {before:?} → {after:?}"
        );
        assert!(
            idx_after > idx_before,
            "{table} was not read by key: {before:?} → {after:?}"
        );
    }
    assert_eq!(after.len(), 2, "{after:?}");
}
