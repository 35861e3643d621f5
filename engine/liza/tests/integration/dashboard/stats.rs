//! `/stats` over a chosen period: the page's numbers against the same counts made in SQL over
//! the period's local bounds (Europe/Berlin), the top records linking to their pages, and a
//! period the page cannot show answered with a message. On SQLite, and on PostgreSQL with
//! LIZA_TEST_BACKEND=postgres.

use reqwest::StatusCode;

use super::{seed_plan, spawn_app};
use liza::dev;
use liza::store::now_ms;
use liza::web::dashboard::{format_day, Zone};

/// The numbers of a chart's table (`<table id="table-ID">`): (row label, value) in order.
fn table(html: &str, id: &str) -> Vec<(String, i64)> {
    let start = html
        .find(&format!(r#"<table id="table-{id}">"#))
        .unwrap_or_else(|| panic!("table {id}: {html}"));
    let body = &html[start..start + html[start..].find("</table>").unwrap()];
    body.split(r#"<th scope="row">"#)
        .skip(1)
        .map(|row| {
            let label = &row[..row.find("</th>").unwrap()];
            let cell = &row[row.find(r#"<td class="num">"#).unwrap() + 16..];
            let value = cell[..cell.find("</td>").unwrap()].replace(',', "");
            (label.to_owned(), value.parse().unwrap())
        })
        .collect()
}

/// The calls in the period's top record table of `kind`: (href, key, calls).
fn top_rows(html: &str, kind: &str) -> Vec<(String, String, i64)> {
    let start = html.find(&format!(r#"<table id="top-{kind}">"#)).unwrap();
    let body = &html[start..start + html[start..].find("</table>").unwrap()];
    body.split(r#"<td><a href=""#)
        .skip(1)
        .map(|row| {
            let (href, rest) = row.split_once(r#"">"#).unwrap();
            let (key, rest) = rest.split_once("</a>").unwrap();
            let cell = &rest[rest.find(r#"<td class="num">"#).unwrap() + 16..];
            let calls = cell[..cell.find("</td>").unwrap()].replace(',', "");
            (href.to_owned(), key.to_owned(), calls.parse().unwrap())
        })
        .collect()
}

/// A day as the English page writes it (`1 Dec 2026`).
fn day_en(day: i64) -> String {
    let (y, m, d) = {
        let text = format_day(day);
        let mut parts = text.split('-').map(|p| p.parse::<u32>().unwrap());
        (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        )
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!("{d} {} {y}", MONTHS[m as usize - 1])
}

#[tokio::test]
async fn a_chosen_period_shows_the_counts_sql_makes_of_it() {
    let app = spawn_app().await;
    dev::seed(app.store.as_ref(), &seed_plan(400, 30, 17))
        .await
        .unwrap();
    let session = app.login().await;
    let zone = Zone::named("Europe/Berlin").unwrap();
    let today = zone.day_of(now_ms());
    let (first, last) = (today - 20, today - 4);
    let (from, to) = (format_day(first), format_day(last));
    let html = app
        .page(&session, &format!("/stats?from={from}&to={to}"))
        .await;
    let (since, until) = (zone.day_start(first), zone.day_start(last + 1));

    // Per day: every day of the period once, each with the calls SQL finds between its
    // local midnights.
    let per_day = table(&html, "over-time");
    assert_eq!(per_day.len() as i64, last - first + 1, "{per_day:?}");
    let mut total = 0;
    for (day, (label, shown)) in (first..=last).zip(&per_day) {
        let counted: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM calls WHERE started_at >= $1 AND started_at < $2",
        )
        .bind(zone.day_start(day))
        .bind(zone.day_start(day + 1))
        .fetch_one(&app.db)
        .await
        .unwrap();
        assert_eq!(*shown, counted, "{label}");
        total += counted;
    }
    assert!(total > 100, "the seed fills the period: {total}");
    let in_period: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM calls WHERE started_at >= $1 AND started_at < $2")
            .bind(since)
            .bind(until)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(total, in_period);
    assert!(
        html.contains(&format!("{total} calls, ")),
        "the summary line names the total"
    );
    // Calendar weeks beside: the same calls, in Monday-to-Sunday weeks.
    let weeks = table(&html, "coarser");
    assert_eq!(weeks.iter().map(|w| w.1).sum::<i64>(), total);
    assert!(
        weeks.iter().all(|(label, _)| label.starts_with("week ")),
        "{weeks:?}"
    );

    // By hour of day: the local hour of every call's start.
    let starts: Vec<i64> = sqlx::query_scalar(
        "SELECT started_at FROM calls WHERE started_at >= $1 AND started_at < $2",
    )
    .bind(since)
    .bind(until)
    .fetch_all(&app.db)
    .await
    .unwrap();
    let mut hours = [0i64; 24];
    for at in &starts {
        hours[zone.hour_of(*at) as usize] += 1;
    }
    let shown: Vec<i64> = table(&html, "by-hour").iter().map(|h| h.1).collect();
    assert_eq!(shown, hours);
    let weekdays: Vec<i64> = table(&html, "by-weekday").iter().map(|h| h.1).collect();
    assert_eq!(weekdays.len(), 7);
    assert_eq!(weekdays.iter().sum::<i64>(), total);

    // Consent: given and refused as SQL counts them; the rest is said to be left out.
    let consent = |answer: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM calls WHERE consent = $1 AND started_at >= $2 AND started_at < $3",
            )
            .bind(answer)
            .bind(since)
            .bind(until)
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    let (given, refused) = (consent("given").await, consent("refused").await);
    assert!(given > 0);
    let unanswered = total - given - refused;
    assert!(
        html.contains(&format!(
            "The consent rate is consent given ÷ (given + refused): {given} given, {refused} refused. {unanswered} calls without an answer"
        )),
        "{html}"
    );
    let rate = (given * 100 + (given + refused) / 2) / (given + refused);
    assert!(html.contains(&format!(
        r#"<p id="consent-rate" class="rate">{rate} %</p>"#
    )));
    assert_eq!(
        table(&html, "consent"),
        [
            ("given".to_owned(), given),
            ("refused".to_owned(), refused),
            ("no answer".to_owned(), unanswered)
        ]
    );

    // The orders asked about most in the period's last 7 days, as SQL ranks them, each
    // linking to its page.
    assert!(html.contains(&format!(
        "Orders called about most, {} to {}",
        day_en(last - 6),
        day_en(last)
    )));
    assert!(html.contains("Counted over the last 7 days of the period"));
    let top: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT r.id, r.key, COUNT(*) AS calls FROM record_calls rc JOIN records r ON r.id = rc.record_id
         WHERE r.kind = 'order' AND rc.created_at >= $1 AND rc.created_at < $2
         GROUP BY r.id, r.key ORDER BY calls DESC, r.key LIMIT 10",
    )
    .bind(zone.day_start(last - 6))
    .bind(until)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert!(!top.is_empty(), "the seed saves orders");
    let shown = top_rows(&html, "order");
    let expected: Vec<(String, String, i64)> = top
        .iter()
        .map(|(id, key, calls)| (format!("/records/order/{id}"), key.clone(), *calls))
        .collect();
    assert_eq!(shown, expected);
    let (href, key, _) = &shown[0];
    let record = app.page(&session, href).await;
    assert!(record.contains(key.as_str()), "{record}");

    // A preset: the last 7 days, today running and marked.
    let week = app.page(&session, "/stats?days=7").await;
    let days = table(&week, "over-time");
    assert_eq!(days.len(), 7);
    assert!(week.contains(r#"<tr class="partial"><th scope="row">"#));
    assert!(week.contains("so far (not over)"));
    assert!(week.contains(r#"<a href="/stats?days=7" aria-current="page">"#));
    // A year: calendar weeks, and months beside.
    let year = app.page(&session, "/stats?days=365").await;
    let weeks = table(&year, "over-time");
    assert!((53..=54).contains(&weeks.len()), "{}", weeks.len());
    assert_eq!(
        weeks.iter().map(|w| w.1).sum::<i64>(),
        400,
        "every seeded call is in the last year"
    );
    assert!(table(&year, "coarser").len() >= 12);
}

#[tokio::test]
async fn a_period_the_page_cannot_show_gets_a_message() {
    let app = spawn_app().await;
    let session = app.login().await;
    for (query, message) in [
        (
            "from=2026-11-20&to=2026-11-10",
            "The first day (2026-11-20) is after the last day (2026-11-10). Swap them.",
        ),
        ("from=31.12.2026", "“31.12.2026” is not a date."),
        (
            "from=2026-02-30&to=2026-03-01",
            "“2026-02-30” is not a date.",
        ),
        ("days=12", "There is no period of “12” days"),
        ("days=%3Cb%3E", "There is no period of “&lt;b&gt;” days"),
        ("to=2026-11-10", "From which day?"),
        ("from=2000-01-01", "at most 1098 days (three years)"),
        (
            "from=9999-01-01",
            "The period starts in the future (9999-01-01).",
        ),
    ] {
        let response = app.get(&session.cookie, &format!("/stats?{query}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let html = response.text().await.unwrap();
        assert!(html.contains(message), "{query}: {html}");
        assert!(
            html.contains(r#"role="alert" id="period-error""#),
            "{query}"
        );
        // The form is there to correct it, with what was typed.
        assert!(html.contains(r#"<input type="date" id="period-from" name="from""#));
        assert!(
            !html.contains("<svg viewBox"),
            "{query}: no charts of a wrong period"
        );
    }
    // In German too.
    let response = app.get(&session.cookie, "/stats?days=12&lang=de").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Einen Zeitraum von „12“ Tagen gibt es nicht"));
}
