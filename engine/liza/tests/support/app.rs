//! Liza for a test: in this process ([`AppOptions::spawn`]) or as a real `liza serve`
//! process ([`AppOptions::process`]), on a fresh database, with the repository's flows and
//! locales and the test settings below — each of them replaceable.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use liza::settings::Settings;
use liza::startup::Application;
use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;

use super::db::TestDb;
use super::files::repo_root;
use super::twilio::{Twilio, AUTH_TOKEN, PUBLIC_URL};

/// The password of the `admin` account in [`AppOptions::dashboard`].
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// How to start Liza: the settings it reads (`LIZA_*`, `DATABASE_URL`, …) and the database.
/// Without [`Self::database`] a fresh one of `LIZA_TEST_BACKEND`'s kind is made and dropped
/// with the app.
pub struct AppOptions {
    settings: BTreeMap<String, Option<String>>,
    database_url: Option<String>,
    test_db: Option<TestDb>,
}

impl Default for AppOptions {
    /// Signed webhooks for [`PUBLIC_URL`], the repository's flows and locales, a listener on a
    /// free loopback port.
    fn default() -> Self {
        let root = repo_root();
        let settings = [
            ("TWILIO_AUTH_TOKEN", AUTH_TOKEN.to_owned()),
            ("LIZA_PUBLIC_URL", PUBLIC_URL.to_owned()),
            ("LIZA_BIND", "127.0.0.1:0".to_owned()),
            ("LIZA_FLOWS", root.join("flows").display().to_string()),
            ("LIZA_LOCALES", root.join("locales").display().to_string()),
            ("COMPANY_NAME", "Muster & Söhne".to_owned()),
            ("WEBSITE_URL", "www.muster.example".to_owned()),
        ];
        Self {
            settings: settings
                .into_iter()
                .map(|(name, value)| (name.to_owned(), Some(value)))
                .collect(),
            database_url: None,
            test_db: None,
        }
    }
}

impl AppOptions {
    /// The dashboard's tests: an `admin` account with [`ADMIN_PASSWORD`], unsigned webhooks
    /// (`LIZA_INSECURE_DEV=1`) and no public URL, so plain-HTTP cookies.
    pub fn dashboard() -> Self {
        Self::default()
            .unset("TWILIO_AUTH_TOKEN")
            .unset("LIZA_PUBLIC_URL")
            .set("LIZA_INSECURE_DEV", "1")
            .set("LIZA_ADMIN_PASSWORD", ADMIN_PASSWORD)
    }

    /// Sets one setting (a name from `liza::settings::SETTINGS`).
    pub fn set(mut self, name: &str, value: impl Into<String>) -> Self {
        self.settings.insert(name.to_owned(), Some(value.into()));
        self
    }

    /// Leaves one setting unset.
    pub fn unset(mut self, name: &str) -> Self {
        self.settings.insert(name.to_owned(), None);
        self
    }

    /// The flow files (`LIZA_FLOWS`).
    pub fn flows(self, dir: &Path) -> Self {
        self.set("LIZA_FLOWS", dir.display().to_string())
    }

    /// The Fluent files (`LIZA_LOCALES`).
    pub fn locales(self, dir: &Path) -> Self {
        self.set("LIZA_LOCALES", dir.display().to_string())
    }

    /// The flows and locales in `dir/flows` and `dir/locales` (see `files::flow_files_copy`).
    pub fn flow_files(self, dir: &Path) -> Self {
        self.flows(&dir.join("flows")).locales(&dir.join("locales"))
    }

    /// Runs on this database; the test keeps it (a [`TestDb`], a proxy in front of one…).
    pub fn database(mut self, url: &str) -> Self {
        self.database_url = Some(url.to_owned());
        self
    }

    /// Runs on `db`, which is dropped with the app.
    pub fn on(mut self, db: TestDb) -> Self {
        self.database_url = Some(db.url.clone());
        self.test_db = Some(db);
        self
    }

    /// The settings as the server would read them, on the database at `database_url`.
    pub fn settings_map(&self, database_url: &str) -> BTreeMap<String, String> {
        let mut settings: BTreeMap<String, String> = self
            .settings
            .iter()
            .filter_map(|(name, value)| Some((name.clone(), value.clone()?)))
            .collect();
        settings.insert("DATABASE_URL".into(), database_url.to_owned());
        settings
    }

    fn public_url(&self) -> Option<&str> {
        self.settings
            .get("LIZA_PUBLIC_URL")
            .and_then(|v| v.as_deref())
    }

    /// The settings with `DATABASE_URL`, and the database made for them, if any.
    async fn resolve(&mut self) -> (BTreeMap<String, String>, Option<TestDb>) {
        let (url, db) = match (&self.database_url, self.settings.get("DATABASE_URL")) {
            (Some(url), _) => (url.clone(), self.test_db.take()),
            (None, Some(Some(url))) => (url.clone(), None),
            _ => {
                let db = TestDb::from_env().await;
                (db.url.clone(), Some(db))
            }
        };
        (self.settings_map(&url), db)
    }

    /// Liza in this process, listening on a port of its own.
    pub async fn spawn(mut self) -> TestApp {
        let (settings, test_db) = self.resolve().await;
        let database_url = settings["DATABASE_URL"].clone();
        let lookup = settings.clone();
        let app = Application::build(Settings::from_shared_lookup(Arc::new(move |name: &str| {
            lookup.get(name).cloned()
        })))
        .await
        .expect("the app builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let state = app.state.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        sqlx::any::install_default_drivers();
        let db = AnyPoolOptions::new()
            .max_connections(2)
            .connect_lazy(&database_url)
            .expect("a database URL");
        TestApp {
            twilio: Twilio::new(address.clone(), self.public_url()),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            address,
            state,
            db,
            database_url,
            shutdown: Some(tx),
            server: Some(server),
            _test_db: test_db,
        }
    }

    /// A real `liza serve` process; returns once it listens. Needs [`Self::database`] or
    /// [`Self::on`].
    pub fn process(mut self) -> LizaProcess {
        let database_url = self
            .database_url
            .clone()
            .expect("a process needs its database: AppOptions::database or AppOptions::on");
        let public_url = self.public_url().map(str::to_owned);
        let mut command = Command::new(env!("CARGO_BIN_EXE_liza"));
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info,sqlx=warn")
            .envs(
                self.settings
                    .iter()
                    .filter_map(|(name, value)| Some((name, value.as_ref()?))),
            )
            .env("DATABASE_URL", database_url)
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
            twilio: Twilio::new(format!("http://127.0.0.1:{port}"), public_url.as_deref()),
            port,
            child,
            log,
            _test_db: self.test_db.take(),
        }
    }
}

/// Liza in this process with the test settings, on a fresh database.
pub async fn spawn_app() -> TestApp {
    AppOptions::default().spawn().await
}

/// Liza in this process with the test settings, on the database at `database_url`.
pub async fn spawn_app_on(database_url: &str) -> TestApp {
    AppOptions::default().database(database_url).spawn().await
}

/// Liza in this process. Derefs to its [`Twilio`], so a story reads `app.call(…)`.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    pub twilio: Twilio,
    /// A plain HTTP client that does not follow redirects (a browser's view of the pages).
    pub client: reqwest::Client,
    pub state: Arc<liza::web::AppState>,
    /// The app's database, to read rows the same way on both backends.
    pub db: AnyPool,
    /// The database the server uses; `liza admin` runs against it too.
    pub database_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// The database made for this app, dropped with it.
    _test_db: Option<TestDb>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// The dashboard's store, to seed and read what the dashboard reads.
    pub fn admin(&self) -> Arc<dyn liza::store::admin::AdminStore> {
        self.state
            .dashboard
            .as_ref()
            .expect("the app has a dashboard")
            .admin
            .clone()
    }

    pub async fn scalar_i64(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.db).await.unwrap()
    }

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

impl std::ops::Deref for TestApp {
    type Target = Twilio;

    fn deref(&self) -> &Twilio {
        &self.twilio
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A real `liza serve` process.
pub struct LizaProcess {
    pub twilio: Twilio,
    pub port: u16,
    pub child: Child,
    pub log: Arc<Mutex<String>>,
    /// The database given with [`AppOptions::on`], dropped with the process.
    _test_db: Option<TestDb>,
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

/// A real `liza serve` with the test settings on the database at `database_url`.
pub fn spawn_process(database_url: &str) -> LizaProcess {
    AppOptions::default().database(database_url).process()
}
