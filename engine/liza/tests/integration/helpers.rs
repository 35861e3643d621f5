//! `spawn_app()`: the real server on a loopback port with a fresh database, and a
//! Twilio-like client that signs its requests and follows TwiML.
//!
//! The database is SQLite, or PostgreSQL with LIZA_TEST_BACKEND=postgres (a database of its
//! own per test on 127.0.0.1:5432, dropped afterwards; LIZA_TEST_PG_URL overrides the server).
//! `app.db` is an `AnyPool`, so every story reads its rows the same way on both.

use std::path::{Path, PathBuf};

use liza::settings::Settings;
use liza::startup::Application;
use liza::twilio::compute_signature;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Connection, Executor};

pub const AUTH_TOKEN: &str = "test-auth-token-0123456789";
pub const PUBLIC_URL: &str = "https://liza.example.com";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub struct TestApp {
    pub address: String,
    pub state: std::sync::Arc<liza::web::AppState>,
    pub client: reqwest::Client,
    pub db: AnyPool,
    /// Holds the SQLite file; removed when the app is dropped.
    _dir: tempfile::TempDir,
    /// The PostgreSQL database to drop when the app is dropped.
    pg_database: Option<String>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

pub struct AppOptions {
    pub flows: PathBuf,
    pub locales: PathBuf,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            flows: repo_root().join("flows"),
            locales: repo_root().join("locales"),
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(AppOptions::default()).await
}

pub async fn spawn_app_with(options: AppOptions) -> TestApp {
    spawn_app_full(options, &[]).await
}

/// The app with extra settings (`LIZA_HEADER_TIMEOUT`, …) on top of the test defaults.
pub async fn spawn_app_env(env: &[(&str, &str)]) -> TestApp {
    spawn_app_full(AppOptions::default(), env).await
}

async fn spawn_app_full(options: AppOptions, env: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("db").join("liza.db");
    let (database_url, pg_database) = match std::env::var("LIZA_TEST_BACKEND").as_deref() {
        Ok("postgres") => {
            let (url, name) = create_pg_database().await;
            (url, Some(name))
        }
        Ok("sqlite") | Err(_) => (format!("sqlite://{}", db_path.display()), None),
        Ok(other) => panic!("LIZA_TEST_BACKEND={other}: expected sqlite or postgres"),
    };
    let flows = options.flows.display().to_string();
    let locales = options.locales.display().to_string();
    let settings = Settings::from_lookup(|name| {
        if let Some((_, value)) = env.iter().find(|(n, _)| *n == name) {
            return Some(value.to_string());
        }
        Some(match name {
            "TWILIO_AUTH_TOKEN" => AUTH_TOKEN.to_owned(),
            "LIZA_PUBLIC_URL" => PUBLIC_URL.to_owned(),
            "DATABASE_URL" => database_url.clone(),
            "LIZA_BIND" => "127.0.0.1:0".to_owned(),
            "LIZA_FLOWS" => flows.clone(),
            "LIZA_LOCALES" => locales.clone(),
            "COMPANY_NAME" => "Muster & Söhne".to_owned(),
            "WEBSITE_URL" => "www.muster.example".to_owned(),
            _ => return None,
        })
    });
    let app = Application::build(settings).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    sqlx::any::install_default_drivers();
    let db = AnyPoolOptions::new()
        .max_connections(2)
        .connect(&database_url)
        .await
        .unwrap();
    TestApp {
        address,
        state,
        client: reqwest::Client::new(),
        db,
        _dir: dir,
        pg_database,
        shutdown: Some(tx),
    }
}

fn pg_admin_url() -> String {
    std::env::var("LIZA_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh PostgreSQL database; an unreachable server fails the test (no silent skip).
async fn create_pg_database() -> (String, String) {
    let admin = pg_admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
        panic!("LIZA_TEST_BACKEND=postgres but PostgreSQL at {admin} is unreachable (run .ci/postgres.sh): {e}")
    });
    let name = format!("liza_test_{}", fastrand::u64(..));
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create the test database");
    let _ = conn.close().await;
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    (format!("{base}/{name}"), name)
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(name) = self.pg_database.take() {
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
                            .execute(
                                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                            )
                            .await;
                        let _ = conn.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// A response as a test sees it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl TestApp {
    /// POSTs a form to `path_and_query`, signed the way Twilio signs it.
    pub async fn post_signed(&self, path_and_query: &str, params: &[(&str, &str)]) -> Answer {
        let owned: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let signature =
            compute_signature(AUTH_TOKEN, &format!("{PUBLIC_URL}{path_and_query}"), &owned);
        self.post_raw(path_and_query, &owned, Some(&signature))
            .await
    }

    pub async fn post_raw(
        &self,
        path_and_query: &str,
        params: &[(String, String)],
        signature: Option<&str>,
    ) -> Answer {
        let body = form_body(params);
        self.post_body(path_and_query, body, signature).await
    }

    pub async fn post_body(
        &self,
        path_and_query: &str,
        body: String,
        signature: Option<&str>,
    ) -> Answer {
        let mut request = self
            .client
            .post(format!("{}{path_and_query}", self.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(signature) = signature {
            request = request.header("x-twilio-signature", signature);
        }
        let response = request.send().await.expect("request is answered");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or("").to_owned())
            .unwrap_or_default();
        Answer {
            status,
            content_type,
            body: response.text().await.unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// POSTs Twilio's usual call parameters (and `Digits`, if any) to `path_and_query`, signed.
    pub async fn post_for_call(
        &self,
        path_and_query: &str,
        sid: &str,
        from: &str,
        digits: Option<&str>,
    ) -> Answer {
        let params = call_params(sid, from, digits);
        self.post_signed(path_and_query, &as_refs(&params)).await
    }

    /// Starts a call as Twilio does.
    pub async fn call(&self, sid: &str, from: &str) -> Call<'_> {
        let params = call_params(sid, from, None);
        let answer = self.post_signed("/webhook/voice", &as_refs(&params)).await;
        assert_valid_twiml(&answer);
        Call {
            app: self,
            sid: sid.to_owned(),
            from: from.to_owned(),
            transcript: vec![
                format!(">>> POST /webhook/voice From={from}"),
                answer.body.clone(),
            ],
            last: answer,
        }
    }

    pub async fn scalar_i64(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.db).await.unwrap()
    }
}

pub fn form_body(params: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish()
}

fn as_refs(params: &[(String, String)]) -> Vec<(&str, &str)> {
    params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// The parameters Twilio sends on every voice webhook.
pub fn call_params(sid: &str, from: &str, digits: Option<&str>) -> Vec<(String, String)> {
    let mut params = vec![
        ("AccountSid", "AC00000000000000000000000000000000"),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", sid),
        ("CallStatus", "in-progress"),
        ("Called", "+4930123456"),
        ("Caller", from),
        ("Direction", "inbound"),
        ("From", from),
        ("FromCountry", "DE"),
        ("To", "+4930123456"),
    ];
    if let Some(d) = digits {
        params.push(("Digits", d));
    }
    params
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// A call in progress, driven by what the last TwiML asked for.
pub struct Call<'a> {
    pub app: &'a TestApp,
    pub sid: String,
    pub from: String,
    pub last: Answer,
    pub transcript: Vec<String>,
}

impl Call<'_> {
    /// Presses keys at the current Gather (posts Digits to its action URL).
    pub async fn press(&mut self, digits: &str) -> &Answer {
        let url =
            attribute(&self.last.body, "Gather", "action").expect("the last answer has a Gather");
        let params = call_params(&self.sid, &self.from, Some(digits));
        self.send(&url, params, &format!("Digits={digits}")).await
    }

    /// Lets the Gather time out: Twilio follows the Redirect without Digits.
    pub async fn silence(&mut self) -> &Answer {
        let url =
            element_text(&self.last.body, "Redirect").expect("the last answer has a Redirect");
        let params = call_params(&self.sid, &self.from, None);
        self.send(&url, params, "(no input)").await
    }

    async fn send(&mut self, url: &str, params: Vec<(String, String)>, label: &str) -> &Answer {
        let path = url
            .strip_prefix(PUBLIC_URL)
            .expect("TwiML URLs use LIZA_PUBLIC_URL");
        let answer = self.app.post_signed(path, &as_refs(&params)).await;
        assert_valid_twiml(&answer);
        self.transcript.push(format!(">>> POST {path} {label}"));
        self.transcript.push(answer.body.clone());
        self.last = answer;
        &self.last
    }

    /// Twilio's status callback at the end of the call.
    pub async fn completed(&mut self, duration_secs: &str) -> Answer {
        let mut params = call_params(&self.sid, &self.from, None);
        for (k, v) in params.iter_mut() {
            if k == "CallStatus" {
                *v = "completed".into();
            }
        }
        params.push(("CallDuration".into(), duration_secs.into()));
        params.push(("CallbackSource".into(), "call-progress-events".into()));
        params.push(("SequenceNumber".into(), "3".into()));
        let answer = self
            .app
            .post_signed("/webhook/status", &as_refs(&params))
            .await;
        assert_eq!(answer.status, 200);
        answer
    }

    pub fn says(&self, text: &str) -> bool {
        self.last.body.contains(text)
    }

    pub fn hung_up(&self) -> bool {
        self.last.body.contains("<Hangup/>")
    }
}

/// Asserts a 200 with well-formed TwiML and no Fluent isolation marks.
pub fn assert_valid_twiml(answer: &Answer) {
    assert_eq!(
        answer.status, 200,
        "webhook answered {}: {}",
        answer.status, answer.body
    );
    assert!(
        answer.content_type.starts_with("text/xml"),
        "content type {}",
        answer.content_type
    );
    assert!(
        answer
            .body
            .starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        "{}",
        answer.body
    );
    assert!(
        !answer.body.contains('\u{2068}') && !answer.body.contains('\u{2069}'),
        "isolation marks in {}",
        answer.body
    );
    let mut reader = quick_xml::Reader::from_str(&answer.body);
    let mut depth = 0i32;
    let mut root = None;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e)) => {
                if depth == 0 {
                    root = Some(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                }
                depth += 1;
            }
            Ok(quick_xml::events::Event::End(_)) => depth -= 1,
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("invalid XML ({e}): {}", answer.body),
        }
    }
    assert_eq!(depth, 0, "unbalanced XML: {}", answer.body);
    assert_eq!(root.as_deref(), Some("Response"), "{}", answer.body);
}

/// An attribute of the first element named `tag`, unescaped.
pub fn attribute(xml: &str, tag: &str, name: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event().ok()? {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)
                if e.name().as_ref() == tag.as_bytes() =>
            {
                return e
                    .try_get_attribute(name)
                    .ok()
                    .flatten()
                    .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()));
            }
            quick_xml::events::Event::Eof => return None,
            _ => {}
        }
    }
}

/// A parsed TwiML node, as a reader of the document sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlItem {
    /// Element name and its attributes, sorted.
    Start(String, Vec<(String, String)>),
    End(String),
    /// Text with entities resolved; adjacent pieces merged.
    Text(String),
}

/// Parses a document into elements and text (quick-xml reports `&amp;` as its own event).
pub fn xml_items(xml: &str) -> Vec<XmlItem> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut items = Vec::new();
    let mut text = String::new();
    let flush = |text: &mut String, items: &mut Vec<XmlItem>| {
        if !text.trim().is_empty() {
            items.push(XmlItem::Text(std::mem::take(text)));
        }
        text.clear();
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                flush(&mut text, &mut items);
                items.push(start_item(&e));
            }
            Event::Empty(e) => {
                flush(&mut text, &mut items);
                let item = start_item(&e);
                let XmlItem::Start(name, _) = &item else {
                    unreachable!()
                };
                let name = name.clone();
                items.push(item);
                items.push(XmlItem::End(name));
            }
            Event::End(e) => {
                flush(&mut text, &mut items);
                items.push(XmlItem::End(
                    String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                ));
            }
            Event::Text(t) => text.push_str(&t.decode().unwrap()),
            Event::GeneralRef(r) => {
                if let Some(c) = r.resolve_char_ref().unwrap() {
                    text.push(c);
                } else {
                    let name = r.decode().unwrap();
                    text.push_str(
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .expect("predefined entity"),
                    );
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    items
}

fn start_item(e: &quick_xml::events::BytesStart<'_>) -> XmlItem {
    let mut attrs: Vec<(String, String)> = e
        .attributes()
        .map(|a| {
            let a = a.unwrap();
            (
                String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                a.unescape_value().unwrap().into_owned(),
            )
        })
        .collect();
    attrs.sort();
    XmlItem::Start(
        String::from_utf8_lossy(e.name().as_ref()).into_owned(),
        attrs,
    )
}

/// The text of the first element named `tag`.
pub fn element_text(xml: &str, tag: &str) -> Option<String> {
    let items = xml_items(xml);
    let at = items
        .iter()
        .position(|i| matches!(i, XmlItem::Start(name, _) if name == tag))?;
    match items.get(at + 1) {
        Some(XmlItem::Text(t)) => Some(t.clone()),
        _ => None,
    }
}

/// Compares `actual` with a golden file; `LIZA_BLESS=1` rewrites the file instead.
pub fn assert_golden(path: &Path, actual: &str) {
    if std::env::var_os("LIZA_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|_| {
        panic!(
            "golden file {} is missing: run with LIZA_BLESS=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (e, a))| e != a)
            .take(5)
            .map(|(i, (e, a))| format!("line {}:\n  golden: {e}\n  actual: {a}", i + 1))
            .collect();
        panic!(
            "{} differs from the output ({} vs {} lines); rerun with LIZA_BLESS=1 if the change is intended\n{}",
            path.display(),
            expected.lines().count(),
            actual.lines().count(),
            diff.join("\n")
        );
    }
}
