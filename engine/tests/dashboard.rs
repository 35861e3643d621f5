//! The admin dashboard over HTTP: a real server on port 0, a fresh SQLite file per test.

use std::collections::HashMap;
use std::sync::Arc;

use liza::dev::{self, SeedPlan};
use liza::settings::Settings;
use liza::startup::Application;
use liza::store::admin::AdminStore;
use liza::store::now_ms;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode};

const ADMIN_PASSWORD: &str = "admin-password-for-tests";

struct TestApp {
    address: String,
    client: Client,
    admin: Arc<dyn AdminStore>,
    _dir: tempfile::TempDir,
}

/// A signed-in browser: its session cookie and the CSRF token its forms carry.
struct Session {
    cookie: String,
    csrf: String,
}

async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut env: HashMap<String, String> = [
        (
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("liza.db").display()),
        ),
        ("LIZA_BIND", "127.0.0.1:0".into()),
        ("LIZA_INSECURE_DEV", "1".into()),
        ("LIZA_FLOWS", format!("{root}/flows")),
        ("LIZA_LOCALES", format!("{root}/locales")),
        ("LIZA_ADMIN_PASSWORD", ADMIN_PASSWORD.into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    let settings = Settings::from_lookup(|name| env.get(name).cloned());
    let app = Application::build(settings).await.expect("the app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let admin = app
        .state
        .dashboard
        .as_ref()
        .expect("SQLite has a dashboard")
        .admin
        .clone();
    tokio::spawn(app.run_until(std::future::pending()));
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        address,
        client,
        admin,
        _dir: dir,
    }
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
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Posts the login form (with its CSRF cookie and field) and returns the answer.
    async fn try_login(&self, name: &str, password: &str) -> reqwest::Response {
        let page = self.client.get(self.url("/login")).send().await.unwrap();
        let cookie = set_cookie(page.headers(), "liza_login_csrf").expect("login CSRF cookie");
        let csrf = csrf_field(&page.text().await.unwrap());
        self.client
            .post(self.url("/login"))
            .header("cookie", cookie)
            .form(&[
                ("csrf", csrf.as_str()),
                ("name", name),
                ("password", password),
            ])
            .send()
            .await
            .unwrap()
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
        let mut twiml = self
            .client
            .post(self.url("/webhook/voice"))
            .form(&[("CallSid", call_sid), ("From", from), ("To", "+4930123456")])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for digits in answers {
            let start = twiml.find("action=\"").expect("TwiML waits for input") + 8;
            let action =
                twiml[start..start + twiml[start..].find('"').unwrap()].replace("&amp;", "&");
            let path = &action[action.find("/webhook/").unwrap()..];
            twiml = self
                .client
                .post(self.url(path))
                .form(&[
                    ("CallSid", call_sid),
                    ("From", from),
                    ("To", "+4930123456"),
                    ("Digits", digits),
                ])
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
        }
    }

    async fn seed(&self, calls: usize) {
        let plan = SeedPlan {
            calls,
            days: 3,
            now_ms: now_ms() - 3_600_000,
            order_statuses: vec!["received".into(), "shipped".into()],
            flow_name: "liza".into(),
            flow_version: "test".into(),
            rng_seed: 7,
        };
        dev::seed(self.admin.as_ref(), &plan).await.unwrap();
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
            .create_api_token(&liza::auth::token_hash(&token), user.id, "tests", now_ms())
            .await
            .unwrap();
        token
    }
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
        "/orders",
        "/orders/1",
        "/stats",
        "/calls?status=problem",
    ] {
        let response = app.get("", path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "GET {path}");
        assert_eq!(location(&response), "/login", "GET {path}");
    }
    for path in [
        "/calls/1/status",
        "/orders/1/status",
        "/orders/1/notes",
        "/logout",
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
    for path in ["/api/calls/1/status", "/api/orders/1/status"] {
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
        overview.contains("<td>liza</td>"),
        "the loaded flow is listed"
    );
    let stats = app.page(&session, "/stats").await;
    assert!(stats.contains("<svg"), "charts are drawn server-side");
    assert!(stats.contains("Calls per day"));
    assert!(stats.contains("de-DE"));
    let orders = app.page(&session, "/orders").await;
    assert!(orders.contains("/orders/1\""), "seeded orders are listed");
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
            .post_form(&session, "/orders/1/notes", &[("notes", "x")])
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
    assert_eq!(location(&response), "/calls/2");
    let page = app.page(&session, "/calls/2").await;
    assert!(page.contains(r#"id="call-status">problem<"#), "{page}");
    assert!(
        page.contains("<td>admin</td><td>status</td>"),
        "audit entry: {page}"
    );
    assert!(page.contains("<td>problem</td>"));

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
        .contains("unknown call status `lost`"));

    let response = app
        .post_form(
            &session,
            "/orders/1/status",
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
            "/orders/1/status",
            &[("csrf", csrf), ("status", "teleported")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let response = app
        .post_form(
            &session,
            "/orders/1/notes",
            &[("csrf", csrf), ("notes", "Customer <b>called</b> twice")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = app.page(&session, "/orders/1").await;
    assert!(page.contains(r#"id="order-status">shipped<"#));
    assert!(
        page.contains("Customer &lt;b&gt;called&lt;&#x2f;b&gt; twice</textarea>"),
        "{page}"
    );
    assert!(page.contains("<td>admin</td><td>notes</td>"));
    assert!(page.contains("<td>shipped</td>"));

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
        message.contains("in_progress, processed, completed, problem"),
        "{message}"
    );

    let (status, body) = app
        .api(auth, "/api/calls/424242/status", r#"{"status":"problem"}"#)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].as_str().unwrap().contains("424242"));

    let (status, _) = app.api(auth, "/api/calls/1/status", "not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, body) = app
        .api(auth, "/api/orders/1/status", r#"{"status":"delivered"}"#)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "delivered");

    let (status, body) = app
        .api(auth, "/api/orders/1/status", r#"{"status":"lost"}"#)
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
            "/api/orders/999999/status",
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
    assert_eq!(
        page.matches("<td>admin</td><td>status</td>").count(),
        2,
        "{page}"
    );
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
    assert!(list.contains("+49 151 •••• 5678"), "{list}");
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
    let rows = |html: &str| html.matches("<td class=\"phone\">").count();

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
    assert_eq!(
        problems.matches("status status-").count(),
        problems.matches("status status-problem").count()
    );

    let german = app
        .page(&session, "/calls?language=en-GB&consent=given")
        .await;
    let en_gb_rows = german.matches("<td>en-GB</td>").count();
    assert_eq!(rows(&german), en_gb_rows);
    assert!(!german.contains("<td>de-DE</td>"));

    let response = app.get(&session.cookie, "/calls?status=lost").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = app.get(&session.cookie, "/calls?from=31.12.2026").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn stats_follow_status_edits_of_old_calls() {
    let app = spawn_app().await;
    let plan = SeedPlan {
        calls: 200,
        days: 20,
        now_ms: now_ms() - 3_600_000,
        order_statuses: vec!["received".into()],
        flow_name: "liza".into(),
        flow_version: "test".into(),
        rng_seed: 11,
    };
    dev::seed(app.admin.as_ref(), &plan).await.unwrap();
    let session = app.login().await;
    let problems = |html: &str| -> (i64, i64) {
        let end = html.find(" with problems.").expect("the summary line");
        let line = &html[html[..end].rfind("UTC. ").unwrap() + 5..end];
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

fn pg_admin_url() -> String {
    std::env::var("LIZA_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh PostgreSQL database (CI's, see .ci/postgres.sh) and its name, or `None` outside CI
/// when PostgreSQL does not answer.
async fn postgres_url() -> Option<(String, String)> {
    use sqlx::{Connection, Executor};
    let admin = pg_admin_url();
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(conn) => conn,
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => {
            panic!("PostgreSQL at {admin} is unreachable in CI: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED: PostgreSQL at {admin} is unreachable ({e}); run .ci/postgres.sh");
            return None;
        }
    };
    let name = format!(
        "liza_dashboard_{}",
        liza::auth::new_token()
            .to_lowercase()
            .replace(['-', '_'], "")[..16]
            .to_owned()
    );
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    Some((format!("{base}/{name}"), name))
}

#[tokio::test]
async fn the_dashboard_runs_on_postgresql_too() {
    let Some((url, name)) = postgres_url().await else {
        return;
    };
    let app = spawn_app_with(&[("DATABASE_URL", url.as_str())]).await;
    app.seed(120).await;
    app.place_call("CApg1", "+4915112345678", &["1", "12345", "1"])
        .await;
    let session = app.login().await;
    let rows = |html: &str| html.matches("<td class=\"phone\">").count();
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
        stats.contains("<tr><td>1000"),
        "seeded orders are counted: {stats}"
    );
    assert!(app
        .page(&session, "/orders?number=12345")
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
    assert!(page.contains("<td>admin</td><td>status</td>"));
    // Seeded ids moved the sequence: a new call still gets a row of its own.
    app.place_call("CApg2", "+4915112345679", &["1"]).await;
    let page = app.page(&session, "/calls?number=%2B4915112345679").await;
    assert_eq!(rows(&page), 1, "{page}");
    drop(app);
    use sqlx::{Connection, Executor};
    let mut conn = sqlx::PgConnection::connect(&pg_admin_url()).await.unwrap();
    conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
        .unwrap();
}

/// A copy of the shipped flows and locales that a test may break.
fn flow_files_copy() -> tempfile::TempDir {
    fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let path = entry.unwrap().path();
            let target = to.join(path.file_name().unwrap());
            if path.is_dir() {
                copy_dir(&path, &target);
            } else {
                std::fs::copy(&path, &target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    copy_dir(&root.join("flows"), &dir.path().join("flows"));
    copy_dir(&root.join("locales"), &dir.path().join("locales"));
    dir
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
