//! A database of its own for each test: a SQLite file in a temporary folder, or a PostgreSQL
//! database on 127.0.0.1:5432 (`LIZA_TEST_PG_URL` overrides the server, .ci/postgres.sh starts
//! CI's), dropped when the test is done.

use sqlx::{Connection, Executor, Row};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `LIZA_TEST_BACKEND`: `sqlite` (the default) or `postgres`.
    pub fn from_env() -> Self {
        match std::env::var("LIZA_TEST_BACKEND").as_deref() {
            Ok("postgres") => Backend::Postgres,
            Ok("sqlite") | Ok("") | Err(_) => Backend::Sqlite,
            Ok(other) => panic!("LIZA_TEST_BACKEND={other}: expected sqlite or postgres"),
        }
    }
}

/// CI's PostgreSQL (see .ci/postgres.sh); LIZA_TEST_PG_URL overrides it.
pub fn pg_admin_url() -> String {
    std::env::var("LIZA_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A database of its own for one test, removed when dropped.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    /// The SQLite file lives here.
    pub dir: tempfile::TempDir,
    pg_name: Option<String>,
}

impl TestDb {
    /// The backend `LIZA_TEST_BACKEND` names. A PostgreSQL that does not answer fails the
    /// test: the variable asked for it.
    pub async fn from_env() -> Self {
        let backend = Backend::from_env();
        match Self::connect_or_skip(backend, true).await {
            Some(db) => db,
            None => unreachable!("required databases panic instead"),
        }
    }

    /// `None` when the backend is PostgreSQL and it is unreachable outside CI (the test
    /// is skipped with a note). In CI (CI=true) an unreachable PostgreSQL fails the test.
    pub async fn create(backend: Backend) -> Option<Self> {
        let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        Self::connect_or_skip(backend, in_ci).await
    }

    async fn connect_or_skip(backend: Backend, required: bool) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", dir.path().join("liza.db").display());
                Some(Self {
                    backend,
                    url,
                    dir,
                    pg_name: None,
                })
            }
            Backend::Postgres => {
                let admin = pg_admin_url();
                let mut conn = match sqlx::PgConnection::connect(&admin).await {
                    Ok(c) => c,
                    Err(e) => {
                        if required {
                            panic!(
                                "PostgreSQL at {admin} is unreachable (run .ci/postgres.sh): {e}"
                            );
                        }
                        eprintln!("SKIPPED: PostgreSQL at {admin} is unreachable ({e}); run .ci/postgres.sh");
                        return None;
                    }
                };
                let name = format!("liza_test_{}", fastrand::u64(..));
                conn.execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .expect("create test database");
                let _ = conn.close().await;
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                Some(Self {
                    backend,
                    url: format!("{base}/{name}"),
                    dir,
                    pg_name: Some(name),
                })
            }
        }
    }

    /// Rows of `sql` with every column read as text (write `CAST(x AS TEXT)` for non-text columns).
    pub async fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.url)
            .await
            .expect("open the test database");
        let rows = sqlx::query(sql).fetch_all(&mut conn).await.expect(sql);
        let _ = conn.close().await;
        rows.iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| r.get::<Option<String>, _>(i))
                    .collect()
            })
            .collect()
    }

    /// Runs one statement as an operator would by hand: the rows it touched, or the
    /// database's refusal.
    pub async fn execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.url)
            .await
            .expect("open the test database");
        let done = sqlx::query(sql).execute(&mut conn).await;
        let _ = conn.close().await;
        done.map(|done| done.rows_affected())
    }

    /// One text value.
    pub async fn value(&self, sql: &str) -> Option<String> {
        self.rows(sql)
            .await
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next().flatten())
    }

    /// The call's rows as the two-instance test compares them (no ids, no times).
    pub async fn call_snapshot(&self, call_sid: &str) -> Vec<Vec<Option<String>>> {
        let mut rows = self
            .rows(&format!(
                "SELECT status, consent, language, flow_name, flow_version, CAST(turn AS TEXT), state
                 FROM calls WHERE call_sid = '{call_sid}'"
            ))
            .await;
        rows.extend(
            self.rows(&format!(
                "SELECT CAST(s.turn AS TEXT), CAST(s.position AS TEXT), s.node, s.message_ids, s.text, s.digits, s.outcome
                 FROM steps s JOIN calls c ON c.id = s.call_id WHERE c.call_sid = '{call_sid}'
                 ORDER BY s.turn, s.position"
            ))
            .await,
        );
        rows.extend(
            self.rows(&format!(
                "SELECT CAST(r.turn AS TEXT), r.twiml FROM replays r JOIN calls c ON c.id = r.call_id
                 WHERE c.call_sid = '{call_sid}'"
            ))
            .await,
        );
        rows.extend(
            self.rows(&format!(
                "SELECT r.kind, r.key, r.status FROM records r JOIN record_calls rc ON rc.record_id = r.id
                 JOIN calls c ON c.id = rc.call_id WHERE c.call_sid = '{call_sid}' ORDER BY r.key"
            ))
            .await,
        );
        rows
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop may run outside a runtime: a thread with its own.
        let admin = pg_admin_url();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = conn
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}
