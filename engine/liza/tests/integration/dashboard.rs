//! The admin dashboard over HTTP: a real server on port 0, a fresh SQLite file per test
//! (LIZA_TEST_BACKEND=postgres: a fresh PostgreSQL database per test), logins and their
//! limits, accounts (sessions, API tokens) through the pages, the API and `liza admin`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use liza::dev::{self, SeedPlan};
use liza::settings::Settings;
use liza::startup::Application;
use liza::store::admin::AdminStore;
use liza::store::now_ms;
use liza::store::Store;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::StatusCode;

use crate::support::app::ADMIN_PASSWORD;
use crate::support::{flow_files_copy, futures_join_all, AppOptions, Backend, TestDb};

/// The app as the dashboard's tests use it, with its store at hand to seed it and make tokens.
struct TestApp {
    app: crate::support::TestApp,
    admin: Arc<dyn AdminStore>,
    store: Arc<dyn Store>,
}

impl std::ops::Deref for TestApp {
    type Target = crate::support::TestApp;

    fn deref(&self) -> &crate::support::TestApp {
        &self.app
    }
}

/// The audit row of a status the admin changed.
const AUDIT_ADMIN_STATUS: &str =
    r#"<td data-label="Who">admin</td><td data-label="What">Status</td>"#;
/// The caller's cell, once per row of the calls list.
const CALL_ROW: &str = r#"<td data-label="From" class="phone">"#;

/// A signed-in browser: its session cookie and the CSRF token its forms carry.
struct Session {
    cookie: String,
    csrf: String,
}

/// The app with the dashboard's settings ([`AppOptions::dashboard`]) and `extra` on top.
fn options(extra: &[(&str, &str)]) -> AppOptions {
    extra
        .iter()
        .fold(AppOptions::dashboard(), |options, (name, value)| {
            options.set(name, *value)
        })
}

async fn spawn(options: AppOptions) -> TestApp {
    let app = options.spawn().await;
    let admin = app.admin();
    let store = app.state.engine.store.clone();
    TestApp { app, admin, store }
}

/// The app on a fresh database of `LIZA_TEST_BACKEND`'s kind.
async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    spawn(options(extra)).await
}

/// The app on a fresh PostgreSQL database, or `None` (skipped) when none answers outside CI.
async fn spawn_pg_app_with(extra: &[(&str, &str)]) -> Option<TestApp> {
    let db = TestDb::create(Backend::Postgres).await?;
    Some(spawn(options(extra).on(db)).await)
}

async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// `name=value` of the cookie `name` set by a response.
fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or("").to_owned())
}

/// The value of the first hidden `csrf` field in a page.
fn csrf_field(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).expect("the page has a CSRF field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

impl TestApp {
    /// Posts the login form (with its CSRF cookie and field) and returns the answer.
    async fn try_login(&self, name: &str, password: &str) -> reqwest::Response {
        self.try_login_with(name, password, &[]).await
    }

    /// The login form's CSRF cookie and field (double submit: one pair serves many posts).
    async fn login_csrf(&self) -> (String, String) {
        let page = self.client.get(self.url("/login")).send().await.unwrap();
        let cookie = set_cookie(page.headers(), "liza_login_csrf").expect("login CSRF cookie");
        (cookie, csrf_field(&page.text().await.unwrap()))
    }

    /// [`Self::try_login`] with extra headers on the POST (e.g. `X-Forwarded-For`).
    async fn try_login_with(
        &self,
        name: &str,
        password: &str,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let (cookie, csrf) = self.login_csrf().await;
        self.post_login(&cookie, &csrf, name, password, headers)
            .await
    }

    async fn post_login(
        &self,
        cookie: &str,
        csrf: &str,
        name: &str,
        password: &str,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url("/login"))
            .header("cookie", cookie);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request
            .form(&[("csrf", csrf), ("name", name), ("password", password)])
            .send()
            .await
            .unwrap()
    }

    /// A logged-in session from `liza_session` set by a successful login.
    async fn session_of(&self, response: reqwest::Response) -> Session {
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let cookie = set_cookie(response.headers(), "liza_session").expect("session cookie");
        let home = self.get(&cookie, "/").await;
        assert_eq!(home.status(), StatusCode::OK);
        let csrf = csrf_field(&home.text().await.unwrap());
        Session { cookie, csrf }
    }

    /// The value of an unlabelled series on /metrics.
    async fn metric(&self, name: &str) -> u64 {
        let text = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
            .parse()
            .unwrap()
    }

    /// Runs `liza ARGS` against this app's database, `stdin` piped in.
    fn cli(&self, args: &[&str], stdin: &str) -> Cli {
        let dir = tempfile::tempdir().unwrap();
        let output = crate::support::run_with_stdin(
            std::process::Command::new(env!("CARGO_BIN_EXE_liza"))
                .args(args)
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("DATABASE_URL", &self.database_url)
                .env("RUST_LOG", "warn")
                .env("NO_COLOR", "1")
                .current_dir(dir.path()),
            stdin,
        );
        Cli {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// The status of an API write made with `Authorization: Bearer <token>` (call 1 exists).
    async fn bearer_status(&self, token: &str) -> StatusCode {
        self.client
            .post(self.url("/api/calls/1/status"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(r#"{"status":"completed"}"#)
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn login(&self) -> Session {
        let response = self.try_login("admin", ADMIN_PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let cookie = set_cookie(response.headers(), "liza_session").expect("session cookie");
        let home = self.get(&cookie, "/").await;
        assert_eq!(home.status(), StatusCode::OK);
        let csrf = csrf_field(&home.text().await.unwrap());
        Session { cookie, csrf }
    }

    async fn get(&self, cookie: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
    }

    async fn page(&self, session: &Session, path: &str) -> String {
        let response = self.get(&session.cookie, path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }

    async fn post_form(
        &self,
        session: &Session,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("cookie", &session.cookie)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Plays one call through the real webhooks: voice, then each keypad answer.
    async fn place_call(&self, call_sid: &str, from: &str, answers: &[&str]) {
        let mut call = self.call(call_sid, from).await;
        for digits in answers {
            call.press(digits).await;
        }
    }

    async fn seed(&self, calls: usize) {
        let plan = seed_plan(calls, 3, 7);
        dev::seed(self.store.as_ref(), &plan).await.unwrap();
    }

    async fn api(
        &self,
        auth: (&str, &str),
        path: &str,
        body: &str,
    ) -> (StatusCode, serde_json::Value) {
        let response = self
            .client
            .post(self.url(path))
            .header(auth.0, auth.1)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    async fn api_token(&self) -> String {
        let user = self.admin.user_by_name("admin").await.unwrap().unwrap();
        let token = liza::auth::new_token();
        self.admin
            .create_api_token(
                &liza::auth::token_hash(&token),
                user.id,
                "tests",
                now_ms(),
                None,
            )
            .await
            .unwrap();
        token
    }
}

/// `calls` calls of the shipped flow over `days` days, played through its state machine.
fn seed_plan(calls: usize, days: i64, rng_seed: u64) -> SeedPlan {
    seed_plan_of("flows", "locales", calls, days, rng_seed)
}

/// The same for the flow in `flows` (under the repository) with its `locales`.
fn seed_plan_of(flows: &str, locales: &str, calls: usize, days: i64, rng_seed: u64) -> SeedPlan {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let flows = liza::flow::load_flows(&root.join(flows), &root.join(locales)).unwrap();
    SeedPlan {
        calls,
        days,
        now_ms: now_ms() - 3_600_000,
        // The flow that answers a call to no listed number (examples/: the support line).
        flow: liza::flow::flow_for_number(&flows, "").unwrap().clone(),
        speech: liza::speech::SpeechConfig {
            company: "Liza Shop".into(),
            website: "liza.example".into(),
            default_voice: "Polly.Vicki".into(),
            base_url: String::new(),
            env: liza::speech::FlowEnv::none(),
        },
        rng_seed,
        privacy_key: None,
    }
}

/// What a `liza` command did.
#[derive(Debug)]
struct Cli {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn location(response: &reqwest::Response) -> &str {
    response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test]
async fn every_page_and_api_route_needs_a_login() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/calls",
        "/calls/1",
        "/records/order",
        "/records/order/1",
        "/stats",
        "/calls?status=problem",
        "/account",
        "/privacy",
        "/privacy?phone=%2B4915112345678",
        "/privacy/export?phone=%2B4915112345678",
    ] {
        let response = app.get("", path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "GET {path}");
        assert_eq!(location(&response), "/login", "GET {path}");
    }
    for path in [
        "/calls/1/status",
        "/records/order/1/status",
        "/records/order/1/notes",
        "/logout",
        "/account/sessions/1/end",
        "/account/tokens/1/revoke",
        "/privacy/erase",
    ] {
        let response = app
            .client
            .post(app.url(path))
            .form(&[("status", "completed")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "POST {path}");
        assert_eq!(location(&response), "/login", "POST {path}");
    }
    for path in ["/api/calls/1/status", "/api/records/order/1/status"] {
        let (status, body) = app
            .api(("x-none", "1"), path, r#"{"status":"completed"}"#)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "POST {path}");
        assert!(body["error"].as_str().unwrap().contains("login required"));
        let (status, _) = app
            .api(
                ("authorization", "Bearer not-a-token"),
                path,
                r#"{"status":"completed"}"#,
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "POST {path} with a wrong token"
        );
    }
    // A forged or stale session cookie is no session.
    let response = app.get("liza_session=forged", "/calls").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn login_sets_a_strict_http_only_cookie_and_pages_render() {
    let app = spawn_app().await;
    let response = app.try_login("admin", ADMIN_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let raw = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("liza_session="))
        .unwrap();
    assert!(raw.contains("HttpOnly"), "{raw}");
    assert!(raw.contains("SameSite=Strict"), "{raw}");
    assert!(
        !raw.contains("Secure"),
        "plain http must not get Secure: {raw}"
    );

    app.seed(30).await;
    let session = app.login().await;
    let overview = app.page(&session, "/").await;
    assert!(overview.contains("calls today"));
    assert!(
        overview.contains(r#"<td data-label="Flow">liza</td>"#),
        "the loaded flow is listed"
    );
    let stats = app.page(&session, "/stats").await;
    assert!(stats.contains("<svg"), "charts are drawn server-side");
    assert!(stats.contains("Calls per day"));
    assert!(stats.contains("de-DE"));
    let orders = app.page(&session, "/records/order").await;
    assert!(
        orders.contains("/records/order/1\""),
        "seeded orders are listed"
    );
    assert!(
        orders.contains("<h1>Orders</h1>"),
        "named by the flow: {orders}"
    );
    assert!(
        orders.contains(r#"<a href="/records/order" aria-current="page">Orders</a>"#),
        "in the navigation: {orders}"
    );
}

#[tokio::test]
async fn cookies_are_secure_behind_an_https_public_url() {
    let app = spawn_app_with(&[("LIZA_PUBLIC_URL", "https://liza.example.com")]).await;
    let response = app.try_login("admin", ADMIN_PASSWORD).await;
    let raw = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("liza_session="))
        .unwrap();
    assert!(raw.contains("; Secure"), "{raw}");
}

#[tokio::test]
async fn every_page_sends_security_headers() {
    let app = spawn_app().await;
    let session = app.login().await;
    for path in ["/login", "/", "/calls", "/stats"] {
        let cookie = if path == "/login" {
            ""
        } else {
            &session.cookie
        };
        let response = app.get(cookie, path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert!(headers.contains_key("referrer-policy"), "{path}");
    }
}

#[tokio::test]
async fn the_privacy_page_finds_a_caller_by_any_form_of_the_number_and_erases_them_with_confirmation(
) {
    let app = spawn_app().await;
    let number = "+4917098765432";
    app.place_call("CAprivacypage1", number, &["1", "55555", "1"])
        .await;
    app.place_call("CAprivacypage2", "+4915112345678", &["1"])
        .await;
    let session = app.login().await;

    // Found by the national form (the flows' default language is de-DE), spaced.
    let page = app.page(&session, "/privacy?phone=0170+98765432").await;
    assert!(page.contains("+49 170 ••• ••32"), "{page}");
    assert!(page.contains("CAprivacypage1"), "{page}");
    assert!(!page.contains("CAprivacypage2"), "only this caller's calls");
    assert!(page.contains("55555"), "the order the call saved: {page}");
    // The number is shown masked; only the form fields and the download link hold it.
    assert_eq!(page.matches("98765432").count(), 3, "{page}");
    assert!(
        page.contains(r#"value="0170 98765432""#) && page.contains(r#"value="+4917098765432""#)
    );
    // A malformed number: the form to use, not an error page.
    let page = app.page(&session, "/privacy?phone=12").await;
    assert!(
        page.contains(r#"role="alert""#) && page.contains("+4915112345678"),
        "{page}"
    );

    // The download is the export document, audited without the number.
    let response = app
        .get(&session.cookie, "/privacy/export?phone=%2B4917098765432")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let document: serde_json::Value = response.json().await.unwrap();
    assert_eq!(document["number"], number);
    assert_eq!(document["calls"].as_array().unwrap().len(), 1);

    // Erasing needs the session's CSRF token and the confirmation.
    let erase = |csrf: &str, confirm: bool| {
        let mut form = vec![
            ("csrf", csrf.to_owned()),
            ("phone", "0170 98765432".to_owned()),
        ];
        if confirm {
            form.push(("confirm", "yes".to_owned()));
        }
        form
    };
    let post = |form: Vec<(&'static str, String)>| {
        app.client
            .post(app.url("/privacy/erase"))
            .header("cookie", &session.cookie)
            .form(&form)
            .send()
    };
    let response = post(erase("wrong-token", true)).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = post(erase(&session.csrf, false)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Nothing was erased"));
    let kept = app
        .scalar_i64("SELECT COUNT(*) FROM steps WHERE digits = '55555'")
        .await;
    assert_eq!(kept, 1, "nothing erased without the confirmation");

    // A call still in progress is left whole, and named.
    let response = post(erase(&session.csrf, true)).await.unwrap();
    let page = response.text().await.unwrap();
    assert!(page.contains("0 calls made anonymous"), "{page}");
    assert!(
        page.contains("Left alone because still in progress: <code>CAprivacypage1</code>"),
        "{page}"
    );
    app.completed("CAprivacypage1").await;
    let response = post(erase(&session.csrf, true)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("1 call made anonymous"), "{page}");
    assert!(
        page.contains("Nothing is stored about this number any more"),
        "{page}"
    );
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM steps WHERE digits = '55555'")
            .await,
        0
    );
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM records WHERE key = '55555'")
            .await,
        1,
        "the order stays"
    );
    // The audit lists the export and the erasure by the hash's start, never the number.
    let page = app.page(&session, "/privacy").await;
    let audit = &page[page.find(r#"id="privacy-audit""#).unwrap()..];
    assert!(
        audit.contains("erase") && audit.contains("export"),
        "{audit}"
    );
    assert!(audit.contains("caller "), "{audit}");
    assert!(!audit.contains("98765432"), "{audit}");
    // The other caller is untouched.
    assert_eq!(
        app.scalar_i64(
            "SELECT COUNT(*) FROM calls WHERE call_sid = 'CAprivacypage2' AND purged_at IS NULL"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn the_overview_shows_the_retention_in_force_and_the_last_purge() {
    let app = spawn_app_with(&[("LIZA_RETENTION_DAYS", "30")]).await;
    let session = app.login().await;
    let page = app.page(&session, "/").await;
    assert!(page.contains("30 days"), "{page}");
    let cli = app.cli(&["privacy", "purge"], "");
    assert!(cli.ok, "{}", cli.stderr);
    let page = app.page(&session, "/").await;
    let tile = &page[page.find(r#"id="retention""#).unwrap()..];
    assert!(tile.contains("last purge"), "{tile}");
}

#[tokio::test]
async fn a_call_opened_from_a_filtered_list_leads_back_to_it_after_a_save() {
    let app = spawn_app().await;
    app.place_call("CAback1", "+4915112345678", &["2"]).await;
    app.completed("CAback1").await;
    let session = app.login().await;
    let list = app
        .page(&session, "/calls?status=completed&language=de-DE")
        .await;
    let back = "back=%2Fcalls%3Fstatus%3Dcompleted%26language%3Dde-DE";
    assert!(
        list.contains(&format!(r#"href="/calls/1?{back}""#)),
        "{list}"
    );

    // The address of "← Calls", as a browser reads the attribute.
    let back_link = |page: &str| {
        let end = page.find(r#"" id="back""#).expect("a back link");
        let start = page[..end].rfind(r#"href=""#).unwrap() + 6;
        page[start..end]
            .replace("&#x2f;", "/")
            .replace("&amp;", "&")
    };
    let page = app.page(&session, &format!("/calls/1?{back}")).await;
    assert_eq!(back_link(&page), "/calls?status=completed&language=de-DE");
    // The rules are stated; `in_progress` is not offered, and refused when sent anyway.
    assert!(page.contains("no call goes back to it"), "{page}");
    assert!(!page.contains(r#"<option value="in_progress""#), "{page}");
    let csrf = session.csrf.as_str();
    let response = app
        .post_form(
            &session,
            "/calls/1/status",
            &[("csrf", csrf), ("status", "in_progress")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("cannot be set back to in progress"));

    // A save keeps the list to go back to, and says what it did.
    let form = [
        ("csrf", csrf),
        ("status", "completed"),
        ("back", "/calls?status=completed&language=de-DE"),
    ];
    let response = app.post_form(&session, "/calls/1/status", &form).await;
    assert_eq!(
        location(&response),
        format!("/calls/1?saved=unchanged&{back}")
    );
    let page = app.page(&session, location(&response)).await;
    assert!(
        page.contains("Nothing changed: the call already was"),
        "{page}"
    );
    assert_eq!(back_link(&page), "/calls?status=completed&language=de-DE");
    // Another site is never a way back.
    let form = [
        ("csrf", csrf),
        ("status", "problem"),
        ("back", "https://evil.example/calls"),
    ];
    let response = app.post_form(&session, "/calls/1/status", &form).await;
    assert_eq!(location(&response), "/calls/1?saved=status");
    let page = app.page(&session, "/calls/1?back=%2F%2Fevil.example").await;
    assert_eq!(back_link(&page), "/calls");
}

#[tokio::test]
async fn form_posts_without_a_valid_csrf_token_are_forbidden() {
    let app = spawn_app().await;
    app.seed(5).await;
    let session = app.login().await;
    for form in [
        vec![("status", "problem")],
        vec![("status", "problem"), ("csrf", "wrong-token")],
    ] {
        let response = app.post_form(&session, "/calls/1/status", &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let response = app
            .post_form(&session, "/records/order/1/notes", &[("notes", "x")])
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let response = app.post_form(&session, "/logout", &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    // Nothing changed: no audit entry.
    let page = app.page(&session, "/calls/1").await;
    assert!(page.contains("No changes yet."));

    // The login form is protected too.
    let response = app
        .client
        .post(app.url("/login"))
        .form(&[("name", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn status_and_notes_edits_are_saved_and_audited() {
    let app = spawn_app().await;
    app.place_call("CA1", "+4915112345678", &["1", "12345", "1"])
        .await;
    app.place_call("CA2", "+4915112345679", &["2"]).await;
    let session = app.login().await;
    let csrf = session.csrf.as_str();

    let response = app
        .post_form(
            &session,
            "/calls/2/status",
            &[("csrf", csrf), ("status", "problem")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/calls/2?saved=status");
    let page = app.page(&session, "/calls/2?saved=status").await;
    assert!(page.contains(r#"id="call-status">problem<"#), "{page}");
    assert!(
        page.contains("Status saved: the call is now problem"),
        "{page}"
    );
    assert!(page.contains(AUDIT_ADMIN_STATUS), "audit entry: {page}");
    assert!(page.contains(r#"<td data-label="New">problem</td>"#));

    let response = app
        .post_form(
            &session,
            "/calls/2/status",
            &[("csrf", csrf), ("status", "lost")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("There is no status “lost”"));

    let response = app
        .post_form(
            &session,
            "/records/order/1/status",
            &[("csrf", csrf), ("status", "shipped")],
        )
        .await;
    assert!(
        response.status() == StatusCode::SEE_OTHER,
        "{:?}",
        response.text().await
    );
    // `teleported` is not a status the flow declares for orders.
    let response = app
        .post_form(
            &session,
            "/records/order/1/status",
            &[("csrf", csrf), ("status", "teleported")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let response = app
        .post_form(
            &session,
            "/records/order/1/notes",
            &[("csrf", csrf), ("notes", "Customer <b>called</b> twice")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = app.page(&session, "/records/order/1").await;
    assert!(page.contains(r#"id="record-status">shipped<"#));
    assert!(page.contains("<h1>Order 12345</h1>"), "{page}");
    assert!(
        page.contains("Customer &lt;b&gt;called&lt;&#x2f;b&gt; twice</textarea>"),
        "{page}"
    );
    assert!(page.contains(r#"<td data-label="Who">admin</td><td data-label="What">Notes</td>"#));
    assert!(page.contains(r#"<td data-label="New">shipped</td>"#));

    let response = app
        .post_form(
            &session,
            "/calls/999999/status",
            &[("csrf", csrf), ("status", "problem")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_api_changes_statuses_and_explains_400_and_404() {
    let app = spawn_app().await;
    app.place_call("CA1", "+4915112345678", &["1", "12345", "1"])
        .await;
    let token = app.api_token().await;
    let bearer = format!("Bearer {token}");
    let auth = ("authorization", bearer.as_str());

    let (status, body) = app
        .api(auth, "/api/calls/1/status", r#"{"status":"problem"}"#)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "problem");
    assert_eq!(body["changed"], true);

    let (status, body) = app
        .api(auth, "/api/calls/1/status", r#"{"status":"exploded"}"#)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = body["error"].as_str().unwrap();
    assert!(
        message.contains("unknown call status `exploded`"),
        "{message}"
    );
    assert!(
        message.contains("expected one of: processed, completed, problem"),
        "{message}"
    );
    // Only a running call is in progress: no edit sets a call back to it.
    let (status, body) = app
        .api(auth, "/api/calls/1/status", r#"{"status":"in_progress"}"#)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("cannot be set to `in_progress`"),
        "{body}"
    );

    let (status, body) = app
        .api(auth, "/api/calls/424242/status", r#"{"status":"problem"}"#)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].as_str().unwrap().contains("424242"));

    let (status, _) = app.api(auth, "/api/calls/1/status", "not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, body) = app
        .api(
            auth,
            "/api/records/order/1/status",
            r#"{"status":"delivered"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "delivered");

    let (status, body) = app
        .api(auth, "/api/records/order/1/status", r#"{"status":"lost"}"#)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("received, processing, shipped"),
        "{body}"
    );

    let (status, _) = app
        .api(
            auth,
            "/api/records/order/999999/status",
            r#"{"status":"delivered"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The session cookie works too, and the change is audited under the user's name.
    let session = app.login().await;
    let (status, _) = app
        .api(
            ("cookie", session.cookie.as_str()),
            "/api/calls/1/status",
            r#"{"status":"completed"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let page = app.page(&session, "/calls/1").await;
    assert_eq!(page.matches(AUDIT_ADMIN_STATUS).count(), 2, "{page}");
}

#[tokio::test]
async fn repeated_wrong_passwords_are_rate_limited() {
    let app = spawn_app().await;
    for attempt in 1..=5 {
        let response = app.try_login("admin", "wrong-password").await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("Wrong user name or password."));
    }
    // Now even the right password is refused for a while.
    let response = app.try_login("admin", ADMIN_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(set_cookie(response.headers(), "liza_session").is_none());
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Too many failed logins"));
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    let session = app.login().await;
    let response = app
        .post_form(&session, "/logout", &[("csrf", session.csrf.as_str())])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login");
    // The old cookie is worthless now, even if the browser kept it.
    let response = app.get(&session.cookie, "/calls").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login");
}

#[tokio::test]
async fn caller_controlled_text_is_escaped_and_numbers_are_masked_in_lists() {
    let app = spawn_app().await;
    app.place_call("CAxss", "<script>alert(1)</script>", &["1", "12345", "1"])
        .await;
    app.place_call("CAreal", "+4915112345678", &["1"]).await;
    let session = app.login().await;

    let list = app.page(&session, "/calls").await;
    assert!(!list.contains("<script>"), "{list}");
    assert!(list.contains("+49 151 ••• ••78"), "{list}");
    assert!(!list.contains("+4915112345678"), "lists mask numbers");

    let xss_id = app
        .admin
        .list_calls(&liza::store::admin::CallFilter {
            number: Some("script".into()),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()[0]
        .id;
    let page = app.page(&session, &format!("/calls/{xss_id}")).await;
    assert!(!page.contains("<script>"), "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
            || page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    // The real conversation is on the timeline: consent, the order number, its read-back.
    assert!(page.contains("<kbd>12345</kbd>"), "{page}");
    assert!(page.contains("consent"));
}

#[tokio::test]
async fn calls_filter_and_paginate_by_keyset() {
    let app = spawn_app().await;
    app.seed(130).await;
    let session = app.login().await;
    let rows = |html: &str| html.matches(CALL_ROW).count();

    let first = app.page(&session, "/calls").await;
    assert_eq!(rows(&first), 50);
    let start = first.find("/calls?before=").expect("a next-page link") + 6;
    let next = first[start..start + first[start..].find('"').unwrap()].replace("&amp;", "&");
    let second = app.page(&session, &format!("/calls{next}")).await;
    assert_eq!(rows(&second), 50);
    let links = |html: &str| -> Vec<String> {
        html.match_indices("<a href=\"/calls/")
            .map(|(i, _)| html[i..i + 30].to_owned())
            .collect()
    };
    let (a, b) = (links(&first), links(&second));
    assert!(a.iter().all(|link| !b.contains(link)), "pages overlap");

    let problems = app.page(&session, "/calls?status=problem").await;
    assert!(rows(&problems) > 0);
    // The list's rows, before the legend that shows every status.
    let list = &problems[..problems.find(r#"id="status-legend""#).expect("the legend")];
    assert_eq!(
        list.matches("status status-").count(),
        list.matches("status status-problem").count()
    );

    let german = app
        .page(&session, "/calls?language=en-GB&consent=given")
        .await;
    let en_gb_rows = german
        .matches(r#"<td data-label="Language">en-GB</td>"#)
        .count();
    assert_eq!(rows(&german), en_gb_rows);
    assert!(!german.contains(r#"<td data-label="Language">de-DE</td>"#));

    let response = app.get(&session.cookie, "/calls?status=lost").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = app.get(&session.cookie, "/calls?from=31.12.2026").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn stats_follow_status_edits_of_old_calls() {
    let app = spawn_app().await;
    let plan = seed_plan(200, 20, 11);
    dev::seed(app.store.as_ref(), &plan).await.unwrap();
    let session = app.login().await;
    let problems = |html: &str| -> (i64, i64) {
        let end = html.find(" with problems.").expect("the summary line");
        let line = &html[html[..end].rfind("Berlin. ").unwrap() + 8..end];
        let (calls, problems) = line.split_once(" calls, ").unwrap();
        (calls.parse().unwrap(), problems.parse().unwrap())
    };
    let cookie = ("cookie", session.cookie.as_str());
    // Call 1 is the oldest: its day's sums are kept in stats_days after the first /stats.
    app.api(cookie, "/api/calls/1/status", r#"{"status":"completed"}"#)
        .await;
    let (calls, before) = problems(&app.page(&session, "/stats").await);
    assert_eq!(calls, 200);
    let (status, _) = app
        .api(cookie, "/api/calls/1/status", r#"{"status":"problem"}"#)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (calls, after) = problems(&app.page(&session, "/stats").await);
    assert_eq!((calls, after), (200, before + 1));
}

#[tokio::test]
async fn old_order_addresses_lead_to_the_records_pages() {
    let app = spawn_app().await;
    app.place_call("CA1", "+4915112345678", &["1", "12345", "1"])
        .await;
    let session = app.login().await;
    for (old, new) in [
        ("/orders", "/records/order"),
        ("/orders/1", "/records/order/1"),
        (
            "/orders?status=shipped&number=12",
            "/records/order?status=shipped&number=12",
        ),
    ] {
        let response = app.get(&session.cookie, old).await;
        assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT, "{old}");
        assert_eq!(location(&response), new, "{old}");
    }
    // A form and an API client are sent on with their method and body (308).
    let token = app.api_token().await;
    let following = reqwest::Client::new();
    let response = following
        .post(app.url("/api/orders/1/status"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(r#"{"status":"shipped"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.url().path(), "/api/records/order/1/status");
    assert_eq!(response.status(), StatusCode::OK);
    let page = app.page(&session, "/records/order/1").await;
    assert!(page.contains(r#"id="record-status">shipped<"#), "{page}");
    // Only a declared kind has an old address.
    // The icon is served, to browsers that ask without a `<link>` too.
    let icon = app.get(&session.cookie, "/favicon.ico").await;
    assert_eq!(icon.status(), StatusCode::OK);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    for path in ["/widgets", "/widgets/1", "/order", "/robots.txt"] {
        let response = app.get(&session.cookie, path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        // An extractor's or handler's error is the error page, with the security headers.
        assert!(response.headers().contains_key("content-security-policy"));
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("There is nothing at this address."));
    }
}

#[tokio::test]
async fn a_flow_that_is_not_liza_gets_its_records_on_the_dashboard() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let flows = format!("{root}/examples");
    let locales = format!("{root}/examples/locales");
    let app = spawn_app_with(&[
        ("LIZA_FLOWS", flows.as_str()),
        ("LIZA_LOCALES", locales.as_str()),
    ])
    .await;
    // The support line's menu: 3 asks for a callback, saved under the customer number.
    app.place_call("CAcb", "+15550001111", &["3", "4711"]).await;
    let session = app.login().await;

    let overview = app.page(&session, "/").await;
    assert!(
        overview.contains(r#"<a href="/records/ticket">Tickets</a>"#),
        "the flow's kinds in its own words: {overview}"
    );
    assert!(overview.contains(r#"<a href="/records/callback">Callbacks</a>"#));
    assert!(
        !overview.contains("Orders") && !overview.contains("/records/order"),
        "nothing of Liza's: {overview}"
    );
    assert!(overview.contains("Callbacks called about most this week"));
    assert!(overview.contains(">4711</a> (1 call)"), "{overview}");

    let list = app.page(&session, "/records/callback").await;
    assert!(list.contains("<h1>Callbacks</h1>"), "{list}");
    assert!(list.contains(r#"<th scope="col">Customer number</th>"#));
    let start = list
        .find("href=\"/records/callback/")
        .expect("the callback is listed")
        + 24;
    let id: i64 = list[start..start + list[start..].find('"').unwrap()]
        .parse()
        .unwrap();
    let tickets = app.page(&session, "/records/ticket").await;
    assert!(tickets.contains("No tickets match."), "{tickets}");

    let path = format!("/records/callback/{id}");
    let page = app.page(&session, &path).await;
    assert!(page.contains("<h1>Callback 4711</h1>"), "{page}");
    assert!(page.contains(r#"id="record-status">requested<"#));
    assert!(page.contains(r#"<option value="called_back">"#));
    let csrf = session.csrf.as_str();
    let response = app
        .post_form(
            &session,
            &format!("{path}/status"),
            &[("csrf", csrf), ("status", "called_back")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), path);
    let response = app
        .post_form(
            &session,
            &format!("{path}/status"),
            &[("csrf", csrf), ("status", "shipped")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let text = response.text().await.unwrap();
    assert!(
        text.contains(
            "There is no status “shipped” for a Callback. Pick one of: requested, called_back."
        ),
        "{text}"
    );
    let response = app
        .post_form(
            &session,
            &format!("{path}/notes"),
            &[("csrf", csrf), ("notes", "Called at 10:00.")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = app.page(&session, &path).await;
    assert!(
        page.contains(r#"id="record-status">called_back<"#),
        "{page}"
    );
    assert!(page.contains("Called at 10:00.</textarea>"));

    let token = app.api_token().await;
    let bearer = format!("Bearer {token}");
    let (status, body) = app
        .api(
            ("authorization", bearer.as_str()),
            &format!("/api/records/callback/{id}/status"),
            r#"{"status":"requested"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["previous"], "called_back");
    // A ticket id is no callback, and a kind no flow declares has no pages.
    let (status, _) = app
        .api(
            ("authorization", bearer.as_str()),
            &format!("/api/records/ticket/{id}/status"),
            r#"{"status":"open"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for path in ["/records/order", "/records/order/1", "/orders"] {
        let response = app.get(&session.cookie, path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }

    let call = app.page(&session, "/calls/1").await;
    assert!(call.contains("<h2>Callbacks</h2>"), "{call}");
    assert!(call.contains(&format!(r#"<a href="/records/callback/{id}">4711</a>"#)));
    assert!(call.contains("<h2>Tickets</h2>") && call.contains("No tickets."));
    let stats = app.page(&session, "/stats").await;
    assert!(stats.contains(r#"<table id="top-callback">"#), "{stats}");
    assert!(stats.contains(r#"<table id="top-ticket">"#));
    assert!(stats.contains(&format!(
        r#"<tr><td><a href="/records/callback/{id}">4711</a></td><td class="num">1</td></tr>"#
    )));
}

#[tokio::test]
async fn seeded_calls_are_the_flows_own_calls() {
    let app = spawn_app().await;
    app.seed(60).await;
    let session = app.login().await;
    // Liza's texts from her locales on a seeded call's timeline, as the webhooks keep them:
    // from the caller's consent on (the greeting before it is not kept).
    let consented = app
        .admin
        .list_calls(&liza::store::admin::CallFilter {
            consent: Some(liza::store::admin::ConsentFilter::Answer(
                liza::model::Consent::Given,
            )),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    let call = app
        .page(&session, &format!("/calls/{}", consented[0].id))
        .await;
    assert!(
        call.contains("Bitte geben Sie Ihre Bestellnummer ein")
            || call.contains("Please type your order number"),
        "{call}"
    );
    assert!(!call.contains("Hier ist Liza") && !call.contains("This is Liza"));
    // With the proof of what the caller was asked, as a webhook stores it.
    assert!(
        call.contains(r#"<dd id="consent">Consent given "#) && call.contains(" to «"),
        "{call}"
    );
    // Every seeded order is linked to the calls that asked about it.
    let order = app.page(&session, "/records/order/1").await;
    assert!(!order.contains("No calls."), "{order}");

    // Another flow seeds its own kinds: the support line's callbacks.
    let support = seed_plan_of("examples", "examples/locales", 300, 3, 5);
    dev::seed(app.store.as_ref(), &support).await.unwrap();
    let callbacks = app
        .admin
        .list_records(&liza::store::admin::RecordFilter {
            kind: "callback".into(),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!callbacks.is_empty(), "callers pressed 3 and left a number");
    assert!(callbacks
        .iter()
        .all(|r| ["requested", "called_back"].contains(&r.status.as_str())));
}

#[tokio::test]
async fn the_dashboard_runs_on_postgresql_too() {
    let Some(app) = spawn_pg_app_with(&[]).await else {
        return;
    };
    app.seed(120).await;
    app.place_call("CApg1", "+4915112345678", &["1", "12345", "1"])
        .await;
    let session = app.login().await;
    let rows = |html: &str| html.matches(CALL_ROW).count();
    let first = app.page(&session, "/calls").await;
    assert_eq!(rows(&first), 50);
    assert!(first.contains("/calls?before="));
    assert!(rows(&app.page(&session, "/calls?status=problem").await) > 0);
    let prefix = app.page(&session, "/calls?number=%2B4915112345678").await;
    assert_eq!(rows(&prefix), 1, "{prefix}");
    assert!(rows(&app.page(&session, "/calls?number=5678").await) >= 1);
    let stats = app.page(&session, "/stats").await;
    assert!(stats.contains("<svg"), "{stats}");
    assert!(
        stats.contains(r#"<tr><td><a href="/records/order/"#),
        "seeded orders are counted: {stats}"
    );
    assert!(app
        .page(&session, "/records/order?number=12345")
        .await
        .contains(">12345</a>"));

    let token = app.api_token().await;
    let bearer = format!("Bearer {token}");
    let (status, body) = app
        .api(
            ("authorization", bearer.as_str()),
            "/api/calls/1/status",
            r#"{"status":"problem"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app
        .api(
            ("authorization", bearer.as_str()),
            "/api/calls/1/status",
            r#"{"status":"nope"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let page = app.page(&session, "/calls/1").await;
    assert!(page.contains(r#"id="call-status">problem<"#));
    assert!(page.contains(AUDIT_ADMIN_STATUS));
    // Seeded ids moved the sequence: a new call still gets a row of its own.
    app.place_call("CApg2", "+4915112345679", &["1"]).await;
    let page = app.page(&session, "/calls?number=%2B4915112345679").await;
    assert_eq!(rows(&page), 1, "{page}");
}

/// Anyone sees /health's state in one line without paths or source text; the diagnostics of a
/// broken save (file paths, source lines) only a signed-in admin gets, with `?details` (session
/// or API token) or on the overview.
#[tokio::test]
async fn health_details_are_for_signed_in_admins_only() {
    let files = flow_files_copy();
    let flows = files.path().join("flows");
    let locales = files.path().join("locales");
    let app = spawn_app_with(&[
        ("LIZA_FLOWS", flows.to_str().unwrap()),
        ("LIZA_LOCALES", locales.to_str().unwrap()),
    ])
    .await;
    let flow_file = flows.join("liza.yaml");
    let original = std::fs::read_to_string(&flow_file).unwrap();
    std::fs::write(
        &flow_file,
        original.replacen("next: consent", "next: consnet", 1),
    )
    .unwrap();
    let started = std::time::Instant::now();
    loop {
        let body = app.get("", "/health").await.text().await.unwrap();
        if body.contains("\"degraded\"") {
            break;
        }
        assert!(started.elapsed().as_secs() < 5, "{body}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let dir = files.path().to_str().unwrap();
    for path in ["/health", "/api/health", "/health?details"] {
        let response = app.get("", path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body = response.text().await.unwrap();
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["status"], "degraded", "{body}");
        assert_eq!(json["reload"]["state"], "degraded: 1 problem in liza.yaml");
        assert!(json.get("details").is_none(), "{path}: {body}");
        assert!(!body.contains(dir), "{path} shows a path: {body}");
        assert!(
            !body.contains("consnet"),
            "{path} shows source text: {body}"
        );
    }
    let wrong = app
        .client
        .get(app.url("/health?details"))
        .header("authorization", "Bearer not-a-token")
        .send()
        .await
        .unwrap();
    assert!(!wrong.text().await.unwrap().contains("details"));

    let session = app.login().await;
    let token = app.api_token().await;
    for (header, value) in [
        ("cookie", session.cookie.clone()),
        ("authorization", format!("Bearer {token}")),
    ] {
        let response = app
            .client
            .get(app.url("/health?details"))
            .header(header, value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let json: serde_json::Value = response.json().await.unwrap();
        let error = json["details"]["reload_error"].as_str().unwrap();
        assert!(
            error.contains(&format!("{dir}/flows/liza.yaml:")),
            "{header}: {error}"
        );
        assert!(error.contains("next: consnet"), "the source line: {error}");
        assert_eq!(
            json["details"]["flows"][0]["path"],
            format!("{dir}/flows/liza.yaml")
        );
    }
    let overview = app.page(&session, "/").await;
    assert!(overview.contains("next: consnet"), "{overview}");
}

// ---- Logins: limits counted before the password check, per account and address ----

/// Waves of 60 wrong logins from one address at once: every attempt is counted before its
/// password is checked, so no more than the limit (5) are ever checked, however many run in
/// parallel; the rest are refused with 429 at once (limit reached, or the server already
/// checking as many passwords as it may at once).
async fn parallel_wrong_logins_check_at_most_the_limit(app: &TestApp) {
    let (cookie, csrf) = app.login_csrf().await;
    let mut checked = 0;
    for wave in 1..=10 {
        let attempts: Vec<_> = (0..60)
            .map(|i| {
                let (cookie, csrf) = (cookie.clone(), csrf.clone());
                let password = format!("wrong-password-{wave}-{i}");
                async move {
                    app.post_login(&cookie, &csrf, "admin", &password, &[])
                        .await
                        .status()
                }
            })
            .collect();
        let statuses = futures_join_all(attempts).await;
        let failed = statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count() as u64;
        let refused = statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count();
        assert_eq!(failed as usize + refused, 60, "{statuses:?}");
        let checked_now = app.metric("liza_password_checks_total").await;
        assert_eq!(
            checked_now - checked,
            failed,
            "one Argon2 run per checked password"
        );
        checked = checked_now;
        assert!(
            checked <= 5,
            "{checked} wrong passwords checked by wave {wave}"
        );
        if checked == 5 {
            break;
        }
    }
    assert_eq!(checked, 5, "the limit is reached");
    // The address is locked for this account now, even with the right password.
    let response = app.try_login("admin", ADMIN_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.metric("liza_password_checks_total").await, 5);
}

#[tokio::test]
async fn parallel_wrong_logins_from_one_address_check_at_most_five_passwords() {
    parallel_wrong_logins_check_at_most_the_limit(&spawn_app().await).await;
}

fn forwarded_for(ip: &str) -> [(&'static str, &str); 1] {
    [("x-forwarded-for", ip)]
}

/// Behind a trusted proxy: five failures from one address lock that address out of the
/// account, not the owner at another address, and not other clients of the proxy.
async fn failures_elsewhere_do_not_lock_the_owner_out(app: &TestApp) {
    let attacker = forwarded_for("203.0.113.5");
    for attempt in 1..=5 {
        let response = app
            .try_login_with("admin", "wrong-password", &attacker)
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    let response = app.try_login_with("admin", ADMIN_PASSWORD, &attacker).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "900");
    assert!(set_cookie(response.headers(), "liza_session").is_none());
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Too many failed logins"));
    // The owner, elsewhere, gets in.
    let response = app
        .try_login_with("admin", ADMIN_PASSWORD, &forwarded_for("198.51.100.7"))
        .await;
    let session = app.session_of(response).await;
    assert_eq!(
        app.get(&session.cookie, "/calls").await.status(),
        StatusCode::OK
    );
    // `Forwarded` (RFC 7239) names clients as well; IPv6 here.
    let response = app
        .try_login_with(
            "admin",
            ADMIN_PASSWORD,
            &[("forwarded", r#"for="[2001:db8::7]:4711";proto=https"#)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn failures_from_one_address_do_not_lock_the_owner_out_from_another() {
    let app = spawn_app_with(&[("LIZA_TRUSTED_PROXIES", "127.0.0.1")]).await;
    failures_elsewhere_do_not_lock_the_owner_out(&app).await;
}

/// Failures from many addresses slow the account down for everyone, the owner included, but
/// never refuse it: the owner still gets in.
#[tokio::test]
async fn an_account_attacked_from_many_addresses_is_slowed_down_not_locked() {
    let app = spawn_app_with(&[("LIZA_TRUSTED_PROXIES", "127.0.0.1")]).await;
    for attacker in ["203.0.113.5", "203.0.113.6"] {
        for _ in 0..5 {
            let response = app
                .try_login_with("admin", "wrong-password", &forwarded_for(attacker))
                .await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
    }
    // Ten failures for `admin` from everywhere: every further attempt waits a second first.
    let started = Instant::now();
    let response = app
        .try_login_with("admin", "still-wrong", &forwarded_for("203.0.113.99"))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(started.elapsed() >= Duration::from_secs(1));
    let started = Instant::now();
    let response = app
        .try_login_with("admin", ADMIN_PASSWORD, &forwarded_for("198.51.100.7"))
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "slowed, not locked"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // Each slowed login holds a connection while it waits: many at once are not allowed to
    // wait, so they cannot take the connections webhooks need. 40 at once: at most 16 wait
    // (and are answered after the slow-down), the others are refused as busy at once.
    let attempts: Vec<_> = (0..40)
        .map(|i| {
            let app = &app;
            async move {
                // One after another, as an attacker paces them: each finds the password
                // checks free, since a slowed login gives its slot back while it waits.
                tokio::time::sleep(Duration::from_millis(20 * i)).await;
                let address = format!("203.0.113.{}", 100 + i);
                let headers = forwarded_for(&address);
                let started = Instant::now();
                let status = app
                    .try_login_with("admin", "wrong-again", &headers)
                    .await
                    .status();
                (status, started.elapsed())
            }
        })
        .collect();
    let answers = futures_join_all(attempts).await;
    let waited = answers
        .iter()
        .filter(|(_, elapsed)| *elapsed >= Duration::from_secs(1))
        .count();
    assert!(
        waited <= 16,
        "{waited} logins held their connection through the slow-down: {answers:?}"
    );
    assert!(
        answers
            .iter()
            .all(|(status, elapsed)| *elapsed >= Duration::from_secs(1)
                || *status == StatusCode::TOO_MANY_REQUESTS),
        "a login that did not wait was refused: {answers:?}"
    );
}

/// Without LIZA_TRUSTED_PROXIES a client cannot pick its address: forwarding headers are
/// ignored and the socket's address counts.
#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
    let app = spawn_app().await;
    for i in 0..5 {
        let spoofed = format!("203.0.113.{i}");
        let response = app
            .try_login_with("admin", "wrong-password", &forwarded_for(&spoofed))
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    for headers in [
        forwarded_for("198.51.100.7"),
        [("forwarded", "for=198.51.100.7")],
    ] {
        let response = app.try_login_with("admin", ADMIN_PASSWORD, &headers).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    // A trusted proxy's header counts: the same story with 127.0.0.1 trusted lets the owner in.
    let app = spawn_app_with(&[("LIZA_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")]).await;
    for i in 0..5 {
        let spoofed = format!("203.0.113.5, 10.0.0.{i}");
        let response = app
            .try_login_with("admin", "wrong-password", &forwarded_for(&spoofed))
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = app
        .try_login_with("admin", ADMIN_PASSWORD, &forwarded_for("203.0.113.5"))
        .await;
    assert_eq!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "same client"
    );
    let response = app
        .try_login_with("admin", ADMIN_PASSWORD, &forwarded_for("198.51.100.7"))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_bad_trusted_proxy_list_stops_the_start_with_its_entry() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::from_lookup(|name| match name {
        "DATABASE_URL" => Some(format!("sqlite://{}", dir.path().join("l.db").display())),
        "LIZA_INSECURE_DEV" => Some("1".into()),
        "LIZA_BIND" => Some("127.0.0.1:0".into()),
        "LIZA_FLOWS" => Some(concat!(env!("CARGO_MANIFEST_DIR"), "/../../flows").into()),
        "LIZA_LOCALES" => Some(concat!(env!("CARGO_MANIFEST_DIR"), "/../../locales").into()),
        "LIZA_TRUSTED_PROXIES" => Some("127.0.0.1, 10.0.0.0/33".into()),
        _ => None,
    });
    let error = Application::build(settings).await.err().expect("refused");
    assert!(format!("{error:#}").contains("`10.0.0.0/33`"), "{error:#}");
}

// ---- Accounts: new passwords, sessions, API tokens ----

/// A new password (`liza admin add-user` on an existing user) ends its sessions and revokes
/// its API tokens; the old password no longer works, the new one does.
async fn a_new_password_ends_sessions_and_tokens(app: &TestApp) {
    app.seed(3).await;
    let session = app.login().await;
    let token = app.cli(&["admin", "add-token", "admin", "--label", "ci"], "");
    assert!(token.ok, "{token:?}");
    let token = token.stdout.trim().to_owned();
    assert_eq!(app.bearer_status(&token).await, StatusCode::OK);

    let changed = app.cli(&["admin", "add-user", "admin"], "a-brand-new-password\n");
    assert!(changed.ok, "{changed:?}");
    assert_eq!(
        changed.stdout.trim(),
        "Password of `admin` changed: 1 session(s) ended, 1 API token(s) revoked."
    );
    let response = app.get(&session.cookie, "/calls").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login");
    assert_eq!(app.bearer_status(&token).await, StatusCode::UNAUTHORIZED);
    let response = app.try_login("admin", ADMIN_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = app.try_login("admin", "a-brand-new-password").await;
    let session = app.session_of(response).await;
    // The account page's history says what happened.
    let page = app.page(&session, "/account").await;
    assert!(
        page.contains(r#"<td data-label="Who">liza admin</td><td data-label="What">Password</td><td data-label="Old"></td><td data-label="New">changed; 1 session(s) ended, 1 API token(s) revoked</td>"#),
        "{page}"
    );
}

#[tokio::test]
async fn a_new_password_ends_the_users_sessions_and_api_tokens() {
    a_new_password_ends_sessions_and_tokens(&spawn_app().await).await;
}

/// `liza admin add-token --expires`, `list-tokens`, `revoke-token`; expired tokens refused.
async fn tokens_expire_and_are_listed_and_revoked(app: &TestApp) {
    app.seed(3).await;
    let added = app.cli(
        &[
            "admin",
            "add-token",
            "admin",
            "--label",
            "deploy",
            "--expires",
            "90d",
        ],
        "",
    );
    assert!(added.ok, "{added:?}");
    let token = added.stdout.trim().to_owned();
    assert_eq!(token.len(), 43, "only the token on stdout: {added:?}");
    assert!(
        added
            .stderr
            .contains("(deploy, scope dashboard); expires: 20"),
        "{added:?}"
    );

    let listed = app.cli(&["admin", "list-tokens", "admin"], "");
    assert!(listed.ok, "{listed:?}");
    let lines: Vec<&str> = listed.stdout.lines().collect();
    assert!(
        lines[0].starts_with("ID  USER   LABEL   CREATED"),
        "{listed:?}"
    );
    assert_eq!(lines.len(), 2, "{listed:?}");
    let id = lines[1].split_whitespace().next().unwrap().to_owned();
    assert!(lines[1].contains(" admin  deploy "), "{listed:?}");
    let last_used = lines[0].find("LAST USED").unwrap();
    assert!(
        lines[1][last_used..].starts_with("never "),
        "unused: {listed:?}"
    );
    assert!(lines[1].ends_with(" UTC"), "expires: {listed:?}");

    assert_eq!(app.bearer_status(&token).await, StatusCode::OK);
    let listed = app.cli(&["admin", "list-tokens"], "");
    assert!(!listed.stdout.contains("never"), "now used: {listed:?}");

    let revoked = app.cli(&["admin", "revoke-token", &id], "");
    assert!(revoked.ok, "{revoked:?}");
    assert_eq!(
        revoked.stdout.trim(),
        format!("API token {id} (deploy) of `admin` revoked.")
    );
    assert_eq!(app.bearer_status(&token).await, StatusCode::UNAUTHORIZED);
    let again = app.cli(&["admin", "revoke-token", &id], "");
    assert!(!again.ok);
    assert!(
        again.stderr.contains(&format!("no API token with id {id}")),
        "{again:?}"
    );
    assert_eq!(
        app.cli(&["admin", "list-tokens"], "").stdout.trim(),
        "No API tokens."
    );

    // A token past its expiry is refused, and listed as expired.
    let user = app.admin.user_by_name("admin").await.unwrap().unwrap();
    let expired = liza::auth::new_token();
    app.admin
        .create_api_token(
            &liza::auth::token_hash(&expired),
            user.id,
            "old",
            now_ms() - 10_000,
            Some(now_ms() - 1),
        )
        .await
        .unwrap();
    let (status, body) = app
        .api(
            ("authorization", &format!("Bearer {expired}")),
            "/api/calls/1/status",
            r#"{"status":"completed"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    let listed = app.cli(&["admin", "list-tokens"], "");
    assert!(listed.stdout.contains("  expired 20"), "{listed:?}");

    let bad = app.cli(&["admin", "add-token", "admin", "--expires", "90x"], "");
    assert!(!bad.ok);
    assert!(bad.stderr.contains("not a lifetime"), "{bad:?}");
    let unknown = app.cli(&["admin", "list-tokens", "nobody"], "");
    assert!(!unknown.ok);
    assert!(unknown.stderr.contains("no user `nobody`"), "{unknown:?}");
}

#[tokio::test]
async fn api_tokens_expire_are_listed_and_revoked_from_the_command_line() {
    tokens_expire_and_are_listed_and_revoked(&spawn_app().await).await;
}

#[tokio::test]
async fn logout_all_ends_every_session_of_the_user() {
    let app = spawn_app().await;
    let (first, second) = (app.login().await, app.login().await);
    let ended = app.cli(&["admin", "logout-all", "admin"], "");
    assert!(ended.ok, "{ended:?}");
    assert_eq!(ended.stdout.trim(), "2 session(s) of `admin` ended.");
    for session in [first, second] {
        let response = app.get(&session.cookie, "/").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/login");
    }
    let unknown = app.cli(&["admin", "logout-all", "nobody"], "");
    assert!(!unknown.ok);
    assert!(unknown.stderr.contains("no user `nobody`"), "{unknown:?}");
}

/// The account page lists the user's own sessions and API tokens (not other users'), and
/// its buttons end a session or revoke a token: CSRF-checked, audited.
async fn the_account_page_ends_own_sessions_and_tokens(app: &TestApp) {
    app.seed(3).await;
    let (mine, other) = (app.login().await, app.login().await);
    let token = app.api_token().await;
    let hash = liza::auth::hash_password(&"bobs-password-123".to_owned().into()).unwrap();
    app.admin
        .upsert_user("bob", &hash, "tests", now_ms())
        .await
        .unwrap();
    let bob = app.cli(&["admin", "add-token", "bob", "--label", "bobs"], "");
    assert!(bob.ok, "{bob:?}");

    let page = app.page(&mine, "/account").await;
    assert_eq!(page.matches("/account/sessions/").count(), 2, "{page}");
    assert_eq!(page.matches("<strong>this session</strong>").count(), 1);
    assert!(
        page.contains(r#"<td data-label="Label">tests</td>"#),
        "{page}"
    );
    assert!(!page.contains("bobs"), "another user's token is not shown");
    assert!(page.contains("aria-current=\"page\">Account</a>"));

    let tokens = app.admin.list_api_tokens(None).await.unwrap();
    let own = tokens.iter().find(|t| t.label == "tests").unwrap().id;
    let bobs = tokens.iter().find(|t| t.label == "bobs").unwrap().id;
    // Without the CSRF token: refused, nothing revoked.
    let response = app
        .post_form(&mine, &format!("/account/tokens/{own}/revoke"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.bearer_status(&token).await, StatusCode::OK);
    // Bob's token is not admin's to revoke.
    let csrf = [("csrf", mine.csrf.as_str())];
    let response = app
        .post_form(&mine, &format!("/account/tokens/{bobs}/revoke"), &csrf)
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app
        .post_form(&mine, &format!("/account/tokens/{own}/revoke"), &csrf)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/account");
    assert_eq!(app.bearer_status(&token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.admin.list_api_tokens(None).await.unwrap().len(), 1);

    // End the other session: it is signed out, this one stays.
    let page = app.page(&mine, "/account").await;
    let ids: Vec<String> = page
        .match_indices("/account/sessions/")
        .map(|(i, _)| page[i + 18..].split('/').next().unwrap().to_owned())
        .collect();
    let this_row = &page[page.find("<strong>this session</strong>").unwrap()..];
    let current = this_row[this_row.find("/account/sessions/").unwrap() + 18..]
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let other_id = ids.iter().find(|id| **id != current).unwrap();
    let response = app
        .post_form(&mine, &format!("/account/sessions/{other_id}/end"), &csrf)
        .await;
    assert_eq!(location(&response), "/account");
    assert_eq!(
        app.get(&other.cookie, "/").await.status(),
        StatusCode::SEE_OTHER
    );
    let page = app.page(&mine, "/account").await;
    assert_eq!(page.matches("/account/sessions/").count(), 1);
    assert!(
        page.contains(r#"<td data-label="Who">admin</td><td data-label="What">API token</td>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"tests</td><td data-label="New">revoked</td>"#),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            r#"<td data-label="Who">admin</td><td data-label="What">Session</td><td data-label="Old">#{other_id}</td><td data-label="New">ended</td>"#
        )),
        "{page}"
    );
    // Ending this session signs out.
    let response = app
        .post_form(&mine, &format!("/account/sessions/{current}/end"), &csrf)
        .await;
    assert_eq!(location(&response), "/login");
    assert!(response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("liza_session=; ")));
    assert_eq!(
        app.get(&mine.cookie, "/").await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn the_account_page_shows_and_ends_own_sessions_and_api_tokens() {
    the_account_page_ends_own_sessions_and_tokens(&spawn_app().await).await;
}

/// The stories above on PostgreSQL (its reservation takes a table lock, its numbering of
/// sessions and tokens differs).
#[tokio::test]
async fn logins_and_accounts_work_on_postgresql_too() {
    let Some(app) = spawn_pg_app_with(&[]).await else {
        return;
    };
    parallel_wrong_logins_check_at_most_the_limit(&app).await;
    drop(app);
    let Some(app) = spawn_pg_app_with(&[("LIZA_TRUSTED_PROXIES", "127.0.0.1")]).await else {
        return;
    };
    failures_elsewhere_do_not_lock_the_owner_out(&app).await;
    drop(app);
    for story in 0..3 {
        let Some(app) = spawn_pg_app_with(&[]).await else {
            return;
        };
        match story {
            0 => a_new_password_ends_sessions_and_tokens(&app).await,
            1 => tokens_expire_and_are_listed_and_revoked(&app).await,
            _ => the_account_page_ends_own_sessions_and_tokens(&app).await,
        }
    }
}

#[tokio::test]
async fn seeded_calls_are_stored_as_their_webhooks_would_have_stored_them() {
    let app = spawn_app().await;
    app.seed(200).await;
    let calls = app
        .admin
        .list_calls(&liza::store::admin::CallFilter {
            limit: 1_000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(calls.len(), 200);
    let mut problems = 0;
    let mut consents = 0;
    for call in &calls {
        let steps = app.admin.call_timeline(call.id).await.unwrap();
        let turns: std::collections::BTreeSet<i64> = steps.iter().map(|s| s.turn).collect();
        assert_eq!(
            turns,
            (0..turns.len() as i64).collect(),
            "turns are numbered from 0 without gaps: {}",
            call.call_sid
        );
        // The state machine's outcomes say what each turn changed: `consent given`,
        // `hangup (problem)` and the like (runtime's traces).
        let answered = steps.iter().find_map(|s| {
            ["given", "refused"]
                .into_iter()
                .find(|c| s.outcome.contains(&format!("consent {c}")))
        });
        assert_eq!(call.consent.as_deref(), answered, "{}", call.call_sid);
        consents += usize::from(answered.is_some());
        // A call that became `problem` stays so: Twilio's final status callback does not
        // turn it `completed`.
        if steps
            .iter()
            .any(|s| s.outcome.contains("(problem)") || s.outcome.contains("call problem"))
        {
            problems += 1;
            assert_eq!(call.status, "problem", "{}", call.call_sid);
        } else {
            assert_ne!(call.status, "problem", "{}", call.call_sid);
        }
    }
    assert!(problems > 0, "the seed makes some problem calls");
    assert!(
        consents > 100,
        "most seeded callers answer the consent question: {consents}"
    );
}

/// Moves a call's start (and its steps) to `at_ms`.
async fn start_call_at(app: &TestApp, call_sid: &str, at_ms: i64) {
    sqlx::query("UPDATE calls SET started_at = $1 WHERE call_sid = $2")
        .bind(at_ms)
        .bind(call_sid)
        .execute(&app.db)
        .await
        .unwrap();
}

/// Ms of a UTC date and time (`2026-03-28`, 22, 30).
fn utc(date: &str, hour: i64, minute: i64) -> i64 {
    liza::web::dashboard::date_to_ms(date).unwrap() + hour * 3_600_000 + minute * 60_000
}

/// 2026-03-29 is the day Berlin moves to summer time (02:00 CET → 03:00 CEST): a local day of
/// 23 hours, from 2026-03-28 23:00 UTC to 2026-03-29 22:00 UTC.
async fn days_are_berlin_days_across_a_dst_change(app: &TestApp) {
    let session = app.login().await;
    // (call, UTC start, its local time in Berlin as the English page writes it)
    let calls = [
        ("CAdst1", utc("2026-03-28", 22, 30), "28 Mar 2026, 23:30:00"),
        ("CAdst2", utc("2026-03-28", 23, 30), "29 Mar 2026, 00:30:00"),
        ("CAdst3", utc("2026-03-29", 21, 30), "29 Mar 2026, 23:30:00"),
        ("CAdst4", utc("2026-03-29", 22, 30), "30 Mar 2026, 00:30:00"),
    ];
    for (i, (sid, at, _)) in calls.iter().enumerate() {
        app.place_call(sid, &format!("+4915100000{i:03}"), &[])
            .await;
        start_call_at(app, sid, *at).await;
    }
    let all = app
        .page(&session, "/calls?from=2026-03-28&to=2026-03-30")
        .await;
    for (_, _, local) in &calls {
        assert!(all.contains(&format!(">{local}</a>")), "{local} in\n{all}");
    }
    // minijinja writes `/` as `&#x2f;` in HTML.
    assert!(
        all.contains("in the time zone <span id=\"zone\">Europe&#x2f;Berlin</span>"),
        "{all}"
    );
    assert!(!all.contains("UTC"), "no UTC left on the page");
    // The 29th in Berlin: the calls at 00:30 and 23:30 local time, not the two beside it.
    let day = app
        .page(&session, "/calls?from=2026-03-29&to=2026-03-29")
        .await;
    let shown: Vec<&str> = calls
        .iter()
        .filter(|(_, _, local)| day.contains(&format!(">{local}</a>")))
        .map(|(sid, _, _)| *sid)
        .collect();
    assert_eq!(shown, ["CAdst2", "CAdst3"]);

    // The statistics count the same local days, and the hours of those days.
    let zone = liza::web::dashboard::Zone::named("Europe/Berlin").unwrap();
    let first = liza::web::dashboard::parse_day("2026-03-27").unwrap();
    let days: Vec<_> = (first..first + 5).map(|day| zone.span(day)).collect();
    assert_eq!(days[2].end_ms - days[2].start_ms, 23 * 3_600_000);
    let hour_of = |ms: i64| zone.hour_of(ms);
    let local = liza::store::admin::LocalDays {
        zone: zone.name(),
        days: &days,
        hour_of: &hour_of,
    };
    // Twice: the first sums and keeps the closed days, the second reads them back.
    for _ in 0..2 {
        let counted = app.admin.stats(&local).await.unwrap();
        let mut per_day: Vec<(String, i64)> = Vec::new();
        for bucket in &counted.buckets {
            let day = liza::web::dashboard::format_day(bucket.day);
            match per_day.iter_mut().find(|(d, _)| *d == day) {
                Some((_, calls)) => *calls += bucket.calls,
                None => per_day.push((day, bucket.calls)),
            }
        }
        per_day.sort();
        assert_eq!(
            per_day,
            [
                ("2026-03-28".to_owned(), 1),
                ("2026-03-29".to_owned(), 2),
                ("2026-03-30".to_owned(), 1)
            ]
        );
        let mut hours: Vec<(String, i64, i64)> = counted
            .hours
            .iter()
            .map(|h| (liza::web::dashboard::format_day(h.day), h.hour, h.calls))
            .collect();
        hours.sort();
        assert_eq!(
            hours,
            [
                ("2026-03-28".to_owned(), 23, 1),
                ("2026-03-29".to_owned(), 0, 1),
                ("2026-03-29".to_owned(), 23, 1),
                ("2026-03-30".to_owned(), 0, 1)
            ]
        );
    }
}

#[tokio::test]
async fn days_are_local_days_across_a_dst_change() {
    days_are_berlin_days_across_a_dst_change(&spawn_app().await).await;
}

#[tokio::test]
async fn days_are_local_days_across_a_dst_change_on_postgresql() {
    let Some(app) = spawn_pg_app_with(&[]).await else {
        return;
    };
    days_are_berlin_days_across_a_dst_change(&app).await;
}

/// "Today" begins at midnight in Berlin: a call a minute after it is today's, one at 23:30 the
/// evening before is not (in UTC both fall on the same date in winter, or neither in summer).
#[tokio::test]
async fn today_begins_at_local_midnight() {
    let app = spawn_app().await;
    let zone = liza::web::dashboard::Zone::default();
    let now = now_ms();
    let today = zone.day_start(zone.day_of(now));
    let after_midnight = (today + 60_000).min(now - 1_000);
    let evening_before = today - 30 * 60_000;
    for (sid, at) in [("CAtoday", after_midnight), ("CAevening", evening_before)] {
        app.place_call(sid, "+4915100000001", &[]).await;
        start_call_at(&app, sid, at).await;
    }
    let session = app.login().await;
    let overview = app.page(&session, "/").await;
    let end = overview.find("</span> calls today").expect("the tile");
    let number = &overview[overview[..end].rfind('>').unwrap() + 1..end];
    assert_eq!(number, "1", "calls today");
}

/// A zone the tz database does not know stops the start, naming the setting and its value.
#[tokio::test]
async fn an_unknown_time_zone_stops_the_start_with_its_name() {
    let settings = Settings::from_lookup(|name| match name {
        "LIZA_TIMEZONE" => Some("Europe/Berln".to_owned()),
        "LIZA_INSECURE_DEV" => Some("1".to_owned()),
        "DATABASE_URL" => Some("sqlite::memory:".to_owned()),
        _ => None,
    });
    let error = Application::build(settings).await.err().expect("refused");
    let text = format!("{error:#}");
    assert!(text.contains("LIZA_TIMEZONE=Europe/Berln"), "{text}");
}
mod export;
mod language;
mod orders;
mod stats;
mod work_queue;
