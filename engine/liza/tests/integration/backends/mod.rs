//! Stories run against SQLite and PostgreSQL, several instances on one database, and the
//! server staying up (SIGTERM, kill -9, database outage). PostgreSQL: 127.0.0.1:5432,
//! database `test` (.ci/postgres.sh starts it); every test makes and drops its own database.

mod health;
mod loadtest;
mod logins;
mod logs;
mod operator;
mod plans;
mod staying_up;
mod stories;
mod tls;
mod two_instances;

/// Runs a story on SQLite and on PostgreSQL: `both!(story)` defines `story::sqlite` and
/// `story::postgres`, each with a fresh database; `story(db: &TestDb)` is the async test body.
/// Outside CI a PostgreSQL that does not answer skips its half with a note.
#[macro_export]
macro_rules! both {
    ($story:ident) => {
        mod $story {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::support::TestDb::create($crate::support::Backend::Sqlite)
                    .await
                    .expect("sqlite");
                super::$story(&db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) =
                    $crate::support::TestDb::create($crate::support::Backend::Postgres).await
                else {
                    return;
                };
                super::$story(&db).await;
            }
        }
    };
}
