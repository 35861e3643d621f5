//! Orders and calls side by side: the order column and the order-number filter on `/calls`, the
//! caller and the call count on `/records/order`, and the record page's call list with its
//! total, paged. On SQLite, and on PostgreSQL with LIZA_TEST_BACKEND=postgres.

use reqwest::StatusCode;

use super::{spawn_app, TestApp, CALL_ROW};

impl TestApp {
    /// The id of the order with this number.
    async fn order_id(&self, key: &str) -> i64 {
        self.scalar_i64(&format!(
            "SELECT id FROM records WHERE kind = 'order' AND key = '{key}'"
        ))
        .await
    }

    async fn calls_of(&self, record_id: i64) -> i64 {
        self.scalar_i64(&format!(
            "SELECT COUNT(*) FROM record_calls WHERE record_id = {record_id}"
        ))
        .await
    }
}

/// The ids of the calls a page links to (`/calls/<id>`), in order.
fn call_links(html: &str) -> Vec<i64> {
    html.match_indices("<a href=\"/calls/")
        .filter_map(|(i, m)| {
            let rest = &html[i + m.len()..];
            let end = rest.find(|c: char| !c.is_ascii_digit())?;
            rest[..end].parse().ok()
        })
        .collect()
}

#[tokio::test]
async fn calls_show_their_order_and_filter_by_its_number() {
    let app = spawn_app().await;
    app.seed(60).await;
    app.place_call("CAorder1", "+4915112345678", &["1", "12345", "1"])
        .await;
    app.place_call("CAorder2", "+4915112345679", &["1", "12345", "1"])
        .await;
    let session = app.login().await;
    let order = app.order_id("12345").await;
    let link = format!(r#"<a href="/records/order/{order}">12345</a>"#);

    // The column, named after the flow's one kind, and its filter field.
    let list = app.page(&session, "/calls").await;
    assert!(list.contains(r#"<th scope="col">Order</th>"#), "{list}");
    assert!(list.contains(r#"<label for="f-record">Order number</label>"#));
    assert!(list.contains(&link), "{list}");

    // The filter: the calls about that order, as many as SQL links to it, each showing it.
    let filtered = app.page(&session, "/calls?record=12345").await;
    let rows = filtered.matches(CALL_ROW).count() as i64;
    assert!(rows >= 2);
    assert_eq!(rows, app.calls_of(order).await.min(50));
    assert_eq!(filtered.matches(&link).count() as i64, rows, "{filtered}");
    assert!(filtered.contains(r#"name="record" value="12345""#));
    // With the other filters: only the first caller's call.
    let one = app
        .page(&session, "/calls?record=12345&number=%2B4915112345678")
        .await;
    assert_eq!(one.matches(CALL_ROW).count(), 1, "{one}");
    // A number no order has: nothing, said plainly; a part of a number is not an order number.
    let none = app.page(&session, "/calls?record=99999999").await;
    assert!(none.contains("No calls match."), "{none}");
    let part = app.page(&session, "/calls?record=1234").await;
    assert_eq!(part.matches(&link).count(), 0);

    // A call opened from the filtered list leads back to it.
    let id = call_links(&one)[0];
    assert!(
        one.contains(&format!(
            "/calls/{id}?back=%2Fcalls%3Frecord%3D12345%26number%3D%252B4915112345678"
        )),
        "{one}"
    );
    let call = app
        .page(
            &session,
            &format!("/calls/{id}?back=%2Fcalls%3Frecord%3D12345"),
        )
        .await;
    assert!(
        call.contains(r#"href="&#x2f;calls?record=12345" id="back""#),
        "{call}"
    );
    // The export of that filter has the same calls.
    let csv = app
        .get(&session.cookie, "/calls/export.csv?record=12345")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count() as i64 - 1, app.calls_of(order).await);
    assert!(
        csv.lines().skip(1).all(|l| l.ends_with(",order:12345")),
        "{csv}"
    );
}

#[tokio::test]
async fn orders_show_their_caller_masked_and_their_calls_counted() {
    let app = spawn_app().await;
    app.seed(60).await;
    app.place_call("CAcount1", "+4915112345678", &["1", "12345", "1"])
        .await;
    app.place_call("CAcount2", "+4915112345679", &["1", "12345", "1"])
        .await;
    let session = app.login().await;
    let order = app.order_id("12345").await;
    let list = app.page(&session, "/records/order?number=12345").await;
    assert!(list.contains(r#"<th scope="col">Caller</th>"#), "{list}");
    let row_start = list
        .find(&format!(r#"href="/records/order/{order}""#))
        .expect("the order is listed");
    let row = &list[row_start..row_start + list[row_start..].find("</tr>").unwrap()];
    // The caller of the call that saved it, masked as on /calls.
    assert!(
        row.contains(r#"<td data-label="Caller" class="phone">+49 151 ••• ••78</td>"#),
        "{row}"
    );
    let calls = app.calls_of(order).await;
    assert!(calls >= 2);
    assert!(
        row.contains(&format!(
            r#"<td data-label="Calls" class="num">{calls}</td>"#
        )),
        "{row}"
    );
    assert!(!list.contains("+4915112345678"), "numbers are masked");

    // Every listed order's count is the one SQL finds.
    let all = app.page(&session, "/records/order").await;
    for (i, _) in all.match_indices(r#"<a href="/records/order/"#).take(10) {
        let rest = &all[i + r#"<a href="/records/order/"#.len()..];
        let id: i64 = rest[..rest.find('"').unwrap()].parse().unwrap();
        let cell = r#"<td data-label="Calls" class="num">"#;
        let at = rest.find(cell).unwrap() + cell.len();
        let shown: i64 = rest[at..at + rest[at..].find('<').unwrap()]
            .replace(',', "")
            .parse()
            .unwrap();
        assert_eq!(shown, app.calls_of(id).await, "order {id}");
    }
}

#[tokio::test]
async fn an_orders_calls_are_paged_with_their_total_and_its_history_comes_first() {
    let app = spawn_app().await;
    app.seed(130).await;
    app.place_call("CApaged", "+4915112345678", &["1", "12345", "1"])
        .await;
    let order = app.order_id("12345").await;
    // Every call asked about this order (as a busy order's calls would).
    sqlx::query(&format!(
        "INSERT INTO record_calls (record_id, call_id, created_at)
         SELECT {order}, id, started_at FROM calls
         WHERE id NOT IN (SELECT call_id FROM record_calls WHERE record_id = {order})"
    ))
    .execute(&app.db)
    .await
    .unwrap();
    let total = app.calls_of(order).await;
    assert_eq!(total, app.scalar_i64("SELECT COUNT(*) FROM calls").await);
    let session = app.login().await;
    let path = format!("/records/order/{order}");

    let first = app.page(&session, &path).await;
    assert!(
        first.contains(&format!(
            r##"<a href="#calls" id="record-calls-total">{total} calls</a>"##
        )),
        "{first}"
    );
    assert!(first.contains(&format!("Calls 1–50 of {total}, newest first.")));
    // The history is found before the long list, and the top of the page leads to both.
    let history = first.find(r#"<h2 id="history">History</h2>"#).unwrap();
    let calls = first.find(r#"<h2 id="calls">"#).unwrap();
    assert!(history < calls);
    assert!(first.contains(r##"<a href="#history">History</a>"##));
    assert!(first.contains(&format!(r##"href="{path}?page=2#calls" rel="next""##)));
    assert!(!first.contains(r#"rel="prev""#));

    // Every page, newest first, no call twice, all of them.
    let pages = (total + 49) / 50;
    let mut seen = Vec::new();
    for page in 1..=pages {
        let html = app.page(&session, &format!("{path}?page={page}")).await;
        let ids = call_links(&html);
        let expected = if page < pages {
            50
        } else {
            total - 50 * (pages - 1)
        };
        assert_eq!(ids.len() as i64, expected, "page {page}");
        assert!(html.contains(&format!("Page {page} of {pages}")), "{html}");
        seen.extend(ids);
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "a call on two pages");
    assert_eq!(seen.len() as i64, total);
    let newest: i64 = app
        .scalar_i64("SELECT id FROM calls ORDER BY started_at DESC, id DESC LIMIT 1")
        .await;
    assert_eq!(seen[0], newest);

    // Pages that are not there: a message, not an error.
    for (query, says) in [
        (
            format!("?page={}", pages + 1),
            format!("There is no page {}; the last page is {pages}.", pages + 1),
        ),
        ("?page=0".to_owned(), "is not a page number".to_owned()),
        ("?page=abc".to_owned(), "is not a page number".to_owned()),
    ] {
        let response = app.get(&session.cookie, &format!("{path}{query}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let text = response.text().await.unwrap();
        assert!(text.contains(&says), "{query}: {text}");
    }
}
