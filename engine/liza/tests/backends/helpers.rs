//! The harness: a fresh database per test on either backend, Liza in-process (`spawn_app`)
//! or as a real `liza` process (`spawn_process`), signed webhook helpers and row readers.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use liza::settings::Settings;
use liza::startup::Application;
use liza::twilio::compute_signature;
use sqlx::{Connection, Executor, Row};

/// What Twilio signs with in these tests (a proxy's public name; the socket is elsewhere).
pub const PUBLIC_URL: &str = "https://liza.example.test";
pub const AUTH_TOKEN: &str = "test-auth-token-not-secret";
pub const CALLER: &str = "+4915112345678";
pub const SHOP_NUMBER: &str = "+4930123456";
/// True when `twiml` is the apology for a technical problem (locales' `engine-error`,
/// or speech.rs's English fallback when a flow's locale has none).
pub fn is_apology(twiml: &str) -> bool {
    ["technischen Problems", "technical problem"]
        .iter()
        .any(|words| twiml.contains(words))
}

/// CI's PostgreSQL (see .ci/postgres.sh); LIZA_TEST_PG_URL overrides it.
fn pg_admin_url() -> String {
    std::env::var("LIZA_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
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
    /// `None` when the backend is PostgreSQL and it is unreachable outside CI (the test
    /// is skipped with a note). In CI (CI=true) an unreachable PostgreSQL fails the test.
    pub async fn create(backend: Backend) -> Option<Self> {
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
                        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                            panic!("PostgreSQL at {admin} is unreachable in CI (run .ci/postgres.sh): {e}");
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
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("open sqlite");
                let rows = sqlx::query(sql).fetch_all(&mut conn).await.expect(sql);
                let out = rows
                    .iter()
                    .map(|r| {
                        (0..r.len())
                            .map(|i| r.get::<Option<String>, _>(i))
                            .collect()
                    })
                    .collect();
                let _ = conn.close().await;
                out
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("open postgres");
                let rows = sqlx::query(sql).fetch_all(&mut conn).await.expect(sql);
                let out = rows
                    .iter()
                    .map(|r| {
                        (0..r.len())
                            .map(|i| r.get::<Option<String>, _>(i))
                            .collect()
                    })
                    .collect();
                let _ = conn.close().await;
                out
            }
        }
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
                "SELECT CAST(r.turn AS TEXT), r.twiml FROM responses r JOIN calls c ON c.id = r.call_id
                 WHERE c.call_sid = '{call_sid}' ORDER BY r.turn"
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
        // Drop runs outside any runtime guarantee: a thread with its own runtime.
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

pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The environment a test server runs with.
pub fn test_env(database_url: &str) -> HashMap<String, String> {
    let repo = repo_dir();
    HashMap::from([
        ("TWILIO_AUTH_TOKEN".into(), AUTH_TOKEN.into()),
        ("DATABASE_URL".into(), database_url.into()),
        ("LIZA_BIND".into(), "127.0.0.1:0".into()),
        ("LIZA_PUBLIC_URL".into(), PUBLIC_URL.into()),
        (
            "LIZA_FLOWS".into(),
            repo.join("flows").display().to_string(),
        ),
        (
            "LIZA_LOCALES".into(),
            repo.join("locales").display().to_string(),
        ),
    ])
}

/// A Twilio stand-in: signs every request as Twilio would for `PUBLIC_URL`.
#[derive(Clone)]
pub struct Twilio {
    pub base: String,
    client: reqwest::Client,
}

impl Twilio {
    pub fn new(port: u16) -> Self {
        Self {
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
        }
    }

    /// POSTs a signed webhook to `path_and_query` (or to a public URL from TwiML).
    pub async fn post(&self, target: &str, params: &[(&str, &str)]) -> (u16, String) {
        self.try_post(target, params)
            .await
            .expect("webhook request")
    }

    /// Like `post`, but a connection failure is returned, not a panic.
    pub async fn try_post(
        &self,
        target: &str,
        params: &[(&str, &str)],
    ) -> Result<(u16, String), reqwest::Error> {
        let path = target.strip_prefix(PUBLIC_URL).unwrap_or(target);
        let pairs: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let signature = compute_signature(AUTH_TOKEN, &format!("{PUBLIC_URL}{path}"), &pairs);
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("X-Twilio-Signature", signature)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form(&pairs))
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.text().await?))
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    /// The call's first webhook.
    pub async fn start(&self, call_sid: &str) -> String {
        let (status, body) = self
            .post("/webhook/voice", &call_params(call_sid, None))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Answers the Gather in `twiml` with `digits`.
    pub async fn press(&self, twiml: &str, call_sid: &str, digits: &str) -> String {
        let action = gather_action(twiml).unwrap_or_else(|| panic!("no Gather in {twiml}"));
        let (status, body) = self
            .post(&action, &call_params(call_sid, Some(digits)))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Twilio's final status callback.
    pub async fn completed(&self, call_sid: &str) -> String {
        let mut params = call_params(call_sid, None);
        for p in params.iter_mut() {
            if p.0 == "CallStatus" {
                p.1 = "completed";
            }
        }
        params.push(("CallDuration", "42"));
        let (status, body) = self.post("/webhook/status", &params).await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

pub fn form(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Parameters Twilio always sends (twilio-facts.md), plus `Digits` after a Gather.
pub fn call_params<'a>(call_sid: &'a str, digits: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("CallSid", call_sid),
        ("AccountSid", "AC00000000000000000000000000000000"),
        ("From", CALLER),
        ("To", SHOP_NUMBER),
        ("CallStatus", "in-progress"),
        ("ApiVersion", "2010-04-01"),
        ("Direction", "inbound"),
    ];
    if let Some(d) = digits {
        params.push(("Digits", d));
    }
    params
}

/// The `action` of the first `<Gather>`, unescaped.
pub fn gather_action(twiml: &str) -> Option<String> {
    let gather = &twiml[twiml.find("<Gather")?..];
    let start = gather.find("action=\"")? + "action=\"".len();
    let end = gather[start..].find('"')?;
    Some(gather[start..start + end].replace("&amp;", "&"))
}

pub fn new_call_sid() -> String {
    format!("CA{:032x}", fastrand::u128(..))
}

/// Liza in this process, on a port of its own.
pub struct TestApp {
    pub twilio: Twilio,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

pub async fn spawn_app(database_url: &str) -> TestApp {
    let env = test_env(database_url);
    let settings = Settings::from_lookup(|name| env.get(name).cloned());
    let app = Application::build(settings).await.expect("build app");
    let port = app.port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    TestApp {
        twilio: Twilio::new(port),
        shutdown: Some(tx),
        server: Some(server),
    }
}

impl TestApp {
    /// Graceful shutdown, as on SIGTERM; waits until the database is closed.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

/// A real `liza serve` process.
pub struct LizaProcess {
    pub twilio: Twilio,
    pub port: u16,
    pub child: Child,
    pub log: Arc<Mutex<String>>,
}

/// Starts `liza serve` with the test environment and waits until it listens.
pub fn spawn_process(database_url: &str) -> LizaProcess {
    spawn_process_with(database_url, &[])
}

/// [`spawn_process`] with some variables of the test environment replaced.
pub fn spawn_process_with(database_url: &str, overrides: &[(&str, String)]) -> LizaProcess {
    let mut env = test_env(database_url);
    for (name, value) in overrides {
        env.insert((*name).to_owned(), value.clone());
    }
    let mut command = Command::new(env!("CARGO_BIN_EXE_liza"));
    command
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info,sqlx=warn")
        .envs(env)
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start liza");
    let log = Arc::new(Mutex::new(String::new()));
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    for stream in [
        Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().expect("stderr")),
    ] {
        let log = log.clone();
        let port_tx = port_tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if let Some(port) = listening_port(&line) {
                    let _ = port_tx.send(port);
                }
                let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                log.push_str(&line);
                log.push('\n');
            }
        });
    }
    let started = Instant::now();
    let port = loop {
        match port_rx.recv_timeout(Duration::from_millis(100)) {
            Ok(port) => break port,
            Err(_) => {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "liza exited ({status}) before listening:\n{}",
                        log.lock().unwrap()
                    );
                }
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "liza did not listen within 30 s:\n{}",
                    log.lock().unwrap()
                );
            }
        }
    };
    LizaProcess {
        twilio: Twilio::new(port),
        port,
        child,
        log,
    }
}

/// The port in "Liza is listening. port=NNNN" (ANSI colours stripped), or in its JSON form
/// (LIZA_LOG_FORMAT=json).
fn listening_port(line: &str) -> Option<u16> {
    if !line.contains("Liza is listening") {
        return None;
    }
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(line) {
        return json["port"].as_u64().and_then(|p| u16::try_from(p).ok());
    }
    let plain = regex::Regex::new("\x1b\\[[0-9;]*m")
        .ok()?
        .replace_all(line, "");
    let rest = &plain[plain.find("port=")? + "port=".len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

impl LizaProcess {
    /// Sends a signal by number (15 = SIGTERM, 9 = SIGKILL).
    pub fn signal(&self, signal: i32) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit, at most `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(started.elapsed() < limit, "liza did not exit in {limit:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for LizaProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a story on SQLite and on PostgreSQL: `both!(story)` defines `story::sqlite` and
/// `story::postgres`, each with a fresh database; `story(db: &TestDb)` is the async test body.
#[macro_export]
macro_rules! both {
    ($story:ident) => {
        mod $story {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::helpers::TestDb::create($crate::helpers::Backend::Sqlite)
                    .await
                    .expect("sqlite");
                super::$story(&db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) =
                    $crate::helpers::TestDb::create($crate::helpers::Backend::Postgres).await
                else {
                    return;
                };
                super::$story(&db).await;
            }
        }
    };
}
