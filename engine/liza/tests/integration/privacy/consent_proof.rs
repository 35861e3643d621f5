//! The proof of consent (docs/privacy.md, "Consent proof"): what the caller heard when asked,
//! stored with the decision and its time, shown in one line on the call's page and by
//! `liza calls show`.

use crate::support::app::ADMIN_PASSWORD;
use crate::support::{AppOptions, TestApp, TestDb, CALLER};

const QUESTION_DE: &str = "Dürfen wir Ihre Daten für dieses Gespräch verarbeiten? Drücken Sie die 1 für Ja oder die 2 für Nein.";

/// A signed-in dashboard session's cookie.
pub(crate) async fn login(app: &TestApp) -> String {
    let cookie_of = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(|v| v.split(';').next().unwrap().to_owned())
            .expect(name)
    };
    let page = app.client.get(app.url("/login")).send().await.unwrap();
    let csrf_cookie = cookie_of(&page, "liza_login_csrf");
    let html = page.text().await.unwrap();
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).unwrap() + marker.len();
    let csrf = &html[start..start + html[start..].find('"').unwrap()];
    let response = app
        .client
        .post(app.url("/login"))
        .header("cookie", csrf_cookie)
        .form(&[
            ("csrf", csrf),
            ("name", "admin"),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    cookie_of(&response, "liza_session")
}

pub(crate) async fn page(app: &TestApp, cookie: &str, path: &str) -> String {
    let response = app
        .client
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET {path}");
    response.text().await.unwrap()
}

/// The `<dd id="consent">` line of a call's page.
fn consent_line(html: &str) -> &str {
    let start = html.find(r#"<dd id="consent">"#).expect("the consent line") + 17;
    &html[start..start + html[start..].find("</dd>").unwrap()]
}

type Proof = (
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);

#[tokio::test]
async fn the_question_heard_is_stored_with_the_decision_and_shown_in_one_line() {
    let app = AppOptions::dashboard()
        .on(TestDb::from_env().await)
        .spawn()
        .await;
    let mut given = app.call("CAproofgiven", CALLER).await;
    given.press("9").await; // not a choice: asked again, the last question counts
    given.press("1").await;
    let mut refused = app.call("CAproofrefused", "+447700900123").await;
    refused.press("2").await;
    refused.completed("8").await;
    let mut unanswered = app.call("CAproofsilent", "+4916098765432").await;
    unanswered.completed("5").await;
    let mut live = app.call("CAprooflive", "+4917011122233").await;
    let _ = &mut live;

    let proof = |sid: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query_as::<_, Proof>(
                "SELECT consent, consent_at, consent_asked_at, consent_message, consent_locale,
                        consent_text, flow_version
                 FROM calls WHERE call_sid = $1",
            )
            .bind(sid)
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    let (consent, at, asked_at, message, locale, text, version) = proof("CAproofgiven").await;
    assert_eq!(consent.as_deref(), Some("given"));
    assert!(asked_at.unwrap() <= at.unwrap());
    assert_eq!(message.as_deref(), Some("consent-question"));
    assert_eq!(locale.as_deref(), Some("de-DE"));
    assert_eq!(text.as_deref(), Some(QUESTION_DE));
    let (consent, _, asked_at, _, locale, text, _) = proof("CAproofrefused").await;
    assert_eq!(consent.as_deref(), Some("refused"));
    assert!(asked_at.is_some());
    assert_eq!(locale.as_deref(), Some("en-GB"));
    assert!(text.unwrap().starts_with("May we process your data"));
    let (consent, at, asked_at, _, _, text, _) = proof("CAproofsilent").await;
    assert_eq!((consent, at), (None, None), "no answer");
    assert!(asked_at.is_some() && text.as_deref() == Some(QUESTION_DE));

    let cookie = login(&app).await;
    let id = |sid: &str| {
        let sql = format!("SELECT id FROM calls WHERE call_sid = '{sid}'");
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(&sql)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    let html = page(
        &app,
        &cookie,
        &format!("/calls/{}", id("CAproofgiven").await),
    )
    .await;
    let line = consent_line(&html);
    // The page's language (English here) writes the time: `1 Dec 2026, 14:03:07`.
    assert!(line.starts_with("Consent given "), "{line}");
    assert!(is_english_time(&line["Consent given ".len()..]), "{line}");
    assert!(
        line.ends_with(&format!(
            " to «{QUESTION_DE}» — de-DE, flow {}",
            &version[..8]
        )),
        "{line}"
    );
    // The number kept in clear, as a link to call the caller back.
    assert!(html.contains(&format!(
        r#"<span class="phone"><a href="tel:{CALLER}">{CALLER}</a></span>"#
    )));
    let html = page(
        &app,
        &cookie,
        &format!("/calls/{}", id("CAproofrefused").await),
    )
    .await;
    let line = consent_line(&html);
    assert!(line.starts_with("Consent refused "), "{line}");
    assert!(is_english_time(&line["Consent refused ".len()..]), "{line}");
    assert!(line.contains("— en-GB, flow"), "{line}");
    assert!(html.contains(r#"<span class="phone">+44 770 ••• ••23</span>"#));
    let html = page(
        &app,
        &cookie,
        &format!("/calls/{}", id("CAproofsilent").await),
    )
    .await;
    assert!(
        consent_line(&html).starts_with("No answer (asked "),
        "{html}"
    );
    let html = page(
        &app,
        &cookie,
        &format!("/calls/{}", id("CAprooflive").await),
    )
    .await;
    assert!(consent_line(&html).starts_with("Asked "), "{html}");
    assert!(is_english_time(&consent_line(&html)["Asked ".len()..]));
    assert!(consent_line(&html).contains("no answer yet"));

    // The dashboard's number search finds a caller without consent by the number typed whole.
    for typed in ["%2B4916098765432", "0049%20160%2098765432"] {
        let list = page(&app, &cookie, &format!("/calls?number={typed}")).await;
        assert!(list.contains("+49 160 ••• ••32"), "{typed}: {list}");
        assert!(!list.contains("+49 170"), "{typed}");
    }

    // `liza calls show` prints the same line.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_liza"))
        .args(["calls", "show", "CAproofgiven"])
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Consent    Consent given 20"), "{text}");
    assert!(
        text.contains(&format!("to «{QUESTION_DE}» — de-DE")),
        "{text}"
    );
}

/// `1 Dec 2026, 14:03:07 …`: a day, a month's name, a year and a time.
fn is_english_time(text: &str) -> bool {
    let mut words = text.split(' ');
    let day = words.next().unwrap_or("");
    let month = words.next().unwrap_or("");
    let year = words.next().unwrap_or("");
    let time = words.next().unwrap_or("").trim_end_matches(',');
    day.parse::<u32>().is_ok_and(|d| (1..=31).contains(&d))
        && month.len() == 3
        && month.chars().all(|c| c.is_ascii_alphabetic())
        && year.len() == 5
        && year.ends_with(',')
        && time.len() == 8
        && time.as_bytes()[2] == b':'
}
