//! The dashboard in German and English: chosen from `Accept-Language`, switched with
//! `?lang=` (kept in a cookie), numbers and dates in the language's forms, error pages inside
//! the layout in plain words.

use reqwest::StatusCode;

use super::{set_cookie, spawn_app, Session, TestApp};

impl TestApp {
    /// `GET path` with the session and these extra headers.
    async fn get_with(
        &self,
        session: &Session,
        path: &str,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .client
            .get(self.url(path))
            .header("cookie", &session.cookie);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    async fn page_in(&self, session: &Session, path: &str, accept_language: &str) -> String {
        let response = self
            .get_with(session, path, &[("accept-language", accept_language)])
            .await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }
}

#[tokio::test]
async fn accept_language_chooses_german_or_english_pages() {
    let app = spawn_app().await;
    let session = app.login().await;

    let german = app.page_in(&session, "/", "de-DE,de;q=0.9,en;q=0.8").await;
    assert!(german.contains(r#"<html lang="de">"#), "{german}");
    assert!(
        german.contains(r#"<a href="/" aria-current="page">Übersicht</a>"#),
        "{german}"
    );
    assert!(german.contains(r#"<a href="/calls">Anrufe</a>"#));
    assert!(german.contains("Anrufe heute") && german.contains("Abmelden"));
    assert!(!german.contains("calls today"), "{german}");
    // The record kinds in the menu are named from the flow's German locale.
    assert!(
        german.contains(r#"<a href="/records/order">Bestellungen</a>"#),
        "{german}"
    );

    let english = app.page_in(&session, "/", "en-GB,en;q=0.9").await;
    assert!(english.contains(r#"<html lang="en">"#));
    assert!(english.contains(r#"<a href="/" aria-current="page">Overview</a>"#));
    assert!(english.contains("calls today") && english.contains("Log out"));
    assert!(english.contains(r#"<a href="/records/order">Orders</a>"#));

    // A language the dashboard does not speak: the first one it does, else English.
    let french_then_german = app.page_in(&session, "/calls", "fr-FR,de;q=0.5").await;
    assert!(french_then_german.contains(r#"<html lang="de">"#));
    assert!(french_then_german.contains("<h1>Anrufe</h1>"));
    let french = app.page_in(&session, "/calls", "fr-FR").await;
    assert!(french.contains(r#"<html lang="en">"#) && french.contains("<h1>Calls</h1>"));

    // Every page speaks it, the login page too (no session needed).
    for (path, german_words) in [
        ("/calls", "Telefonnummer"),
        ("/records/order", "Bestellnummer"),
        ("/stats", "Anrufe pro Tag"),
        ("/privacy", "Datenschutz"),
        ("/account", "Sitzungen"),
    ] {
        let page = app.page_in(&session, path, "de").await;
        assert!(page.contains(r#"<html lang="de">"#), "{path}");
        assert!(page.contains(german_words), "{path}: {page}");
    }
    let login = app
        .client
        .get(app.url("/login"))
        .header("accept-language", "de-AT")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login.contains(r#"<html lang="de">"#) && login.contains("Benutzername"));
}

#[tokio::test]
async fn the_switch_sets_the_language_and_a_cookie_keeps_it() {
    let app = spawn_app().await;
    let session = app.login().await;
    let english = app.page_in(&session, "/calls?status=problem", "en").await;
    // The switch links to this very page in each language, filters kept.
    assert!(
        english.contains(
            r#"href="&#x2f;calls?status=problem&amp;lang=de" lang="de" hreflang="de">Deutsch</a>"#
        ),
        "{english}"
    );

    let response = app
        .get_with(
            &session,
            "/calls?status=problem&lang=de",
            &[("accept-language", "en")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let kept = set_cookie(response.headers(), "liza_lang").expect("the choice is kept");
    assert_eq!(kept, "liza_lang=de");
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"<html lang="de">"#) && page.contains("<h1>Anrufe</h1>"));
    assert!(page.contains(r#"lang="de" hreflang="de" aria-current="true">Deutsch</a>"#));

    // The cookie wins over the browser's language on the next pages.
    let with_cookie = Session {
        cookie: format!("{}; {kept}", session.cookie),
        csrf: session.csrf.clone(),
    };
    let next = app.page_in(&with_cookie, "/stats", "en-US").await;
    assert!(next.contains(r#"<html lang="de">"#), "{next}");
    // A language it does not speak changes nothing and sets no cookie.
    let response = app
        .get_with(&session, "/?lang=xx", &[("accept-language", "en")])
        .await;
    assert!(set_cookie(response.headers(), "liza_lang").is_none());
    assert!(response
        .text()
        .await
        .unwrap()
        .contains(r#"<html lang="en">"#));
}

#[tokio::test]
async fn numbers_and_dates_take_the_languages_forms() {
    let app = spawn_app().await;
    app.seed(1200).await;
    let session = app.login().await;
    let german = app.page_in(&session, "/stats", "de").await;
    assert!(german.contains("1.200 Anrufe"), "{german}");
    let english = app.page_in(&session, "/stats", "en").await;
    assert!(english.contains("1,200 calls"), "{english}");

    let german = app.page_in(&session, "/calls", "de").await;
    let english = app.page_in(&session, "/calls", "en").await;
    let german_date = regex_like(&german, |w| {
        // 01.12.2026, 14:03:07
        w.len() == 10 && w.as_bytes()[2] == b'.' && w.as_bytes()[5] == b'.'
    });
    assert!(german_date, "German dates are DD.MM.YYYY: {german}");
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    assert!(
        months.iter().any(|m| english.contains(&format!(" {m} 20"))),
        "English dates name the month: {english}"
    );
    assert!(!german.contains(" UTC</a>") && !english.contains(" UTC</a>"));
}

/// True when some whitespace- or tag-separated word of `html` satisfies `test`.
fn regex_like(html: &str, test: impl Fn(&str) -> bool) -> bool {
    html.split(|c: char| c.is_whitespace() || c == '>' || c == '<' || c == ',')
        .any(test)
}

#[tokio::test]
async fn error_pages_are_inside_the_layout_in_plain_words() {
    let app = spawn_app().await;
    let session = app.login().await;

    // 404 of a signed-in user: the menu, the language, no internal words.
    let response = app
        .get_with(&session, "/calls/424242", &[("accept-language", "de")])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"<html lang="de">"#));
    assert!(page.contains("<h1>Seite nicht gefunden</h1>"), "{page}");
    assert!(
        page.contains(r#"<nav aria-label="Hauptmenü">"#),
        "the menu: {page}"
    );
    // A path no route has: the same page, also with the menu.
    let response = app
        .get_with(&session, "/no/such/page", &[("accept-language", "en")])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let page = response.text().await.unwrap();
    assert!(page.contains("<h1>Page not found</h1>"), "{page}");
    assert!(page.contains(r#"<nav aria-label="Main">"#), "{page}");

    // 400: what was wrong and how to write it, without backticks.
    for (path, words) in [
        ("/calls?from=31.12.2026", "„31.12.2026“ ist kein Datum"),
        ("/calls?status=lost", "Den Status „lost“ gibt es nicht"),
        ("/calls?before=garbage", "Seitenlink ist beschädigt"),
    ] {
        let response = app
            .get_with(&session, path, &[("accept-language", "de")])
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        let page = response.text().await.unwrap();
        assert!(page.contains("<h1>Nicht angenommen</h1>"), "{path}: {page}");
        assert!(page.contains(words), "{path}: {page}");
        assert!(page.contains(r#"<nav aria-label="Hauptmenü">"#), "{path}");
        assert!(!page.contains('`'), "{path}: {page}");
    }

    // 403: a form without its token.
    let response = app
        .client
        .post(app.url("/calls/1/status"))
        .header("cookie", &session.cookie)
        .header("accept-language", "en")
        .form(&[("status", "problem")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let page = response.text().await.unwrap();
    assert!(page.contains("<h1>Form expired</h1>"), "{page}");
    assert!(
        page.contains("Reload the page") && !page.contains("CSRF"),
        "{page}"
    );
    assert!(page.contains(r#"<nav aria-label="Main">"#));

    // Not signed in: the error page has no menu (and shows nothing of the dashboard).
    let response = app
        .client
        .get(app.url("/no/such/page"))
        .header("accept-language", "de")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let page = response.text().await.unwrap();
    assert!(page.contains("<h1>Seite nicht gefunden</h1>"));
    assert!(
        !page.contains("Hauptmenü") && !page.contains("/records/order"),
        "{page}"
    );
}

#[tokio::test]
async fn the_timeline_says_the_time_since_the_start_and_the_keys_as_keys() {
    let app = spawn_app().await;
    app.place_call("CAtimeline", "+4915112345678", &["1"]).await;
    let session = app.login().await;
    let list = app.page_in(&session, "/calls", "en").await;
    let start = list.find("href=\"/calls/").expect("the call in the list") + 6;
    let path = &list[start..start + list[start..].find('"').unwrap()];
    let page = app.page_in(&session, path, "en").await;
    let timeline = &page[page.find(r#"id="timeline""#).expect("a timeline")..];
    assert!(timeline.contains(">+0:00</time>"), "{timeline}");
    assert!(timeline.contains("<kbd>1</kbd>"), "{timeline}");
    assert!(!timeline.contains("chose 1"), "{timeline}");
}
