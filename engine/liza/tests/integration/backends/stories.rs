//! One story, two backends: the same webhooks give the same TwiML and rows on SQLite and PostgreSQL.

use crate::both;
use crate::support::*;

/// A whole call: consent, order number, read-back, status, goodbye, status callback.
async fn full_order_call(db: &TestDb) {
    let app = spawn_app_on(&db.url).await;
    let call = new_call_sid();
    let greeting = app.twilio.start(&call).await;
    assert!(greeting.starts_with("<?xml"), "{greeting}");
    assert_eq!(
        gather_action(&greeting).as_deref(),
        Some("https://liza.example.com/webhook/consent?seq=1"),
        "{greeting}"
    );
    let order_prompt = app.twilio.press(&greeting, &call, "1").await;
    assert_eq!(
        gather_action(&order_prompt).as_deref(),
        Some("https://liza.example.com/webhook/order?seq=2")
    );
    // Twilio delivers the consent answer again during the call: the same answer, replayed.
    let replayed = app.twilio.press(&greeting, &call, "1").await;
    assert_eq!(replayed, order_prompt);
    let readback = app.twilio.press(&order_prompt, &call, "12345").await;
    assert!(
        readback.contains(r#"<say-as interpret-as="digits">12345</say-as>"#),
        "{readback}"
    );
    let status = app.twilio.press(&readback, &call, "1").await;
    assert_eq!(
        gather_action(&status).as_deref(),
        Some("https://liza.example.com/webhook/help?seq=4"),
        "{status}"
    );
    let goodbye = app.twilio.press(&status, &call, "2").await;
    assert!(goodbye.contains("<Hangup/>"), "{goodbye}");
    assert!(!goodbye.contains("<Gather"), "{goodbye}");
    // The call keeps its last answer, the one Twilio could ask for again.
    let replay = format!(
        "SELECT r.twiml FROM replays r JOIN calls c ON c.id = r.call_id WHERE c.call_sid = '{call}'"
    );
    assert_eq!(db.value(&replay).await, Some(goodbye.clone()));
    let ack = app.twilio.completed(&call).await;
    assert!(ack.contains("<Response"), "{ack}");

    let row = &db
        .rows(&format!(
            "SELECT status, consent, CAST(turn AS TEXT), CAST(duration_secs AS TEXT), language
             FROM calls WHERE call_sid = '{call}'"
        ))
        .await[0];
    assert_eq!(
        row,
        &vec![
            Some("completed".to_owned()),
            Some("given".to_owned()),
            Some("5".to_owned()),
            Some("42".to_owned()),
            Some("de-DE".to_owned()),
        ]
    );
    let nodes: Vec<_> = db
        .rows(&format!(
            "SELECT s.node, s.digits FROM steps s JOIN calls c ON c.id = s.call_id
             WHERE c.call_sid = '{call}' ORDER BY s.turn, s.position"
        ))
        .await
        .into_iter()
        .map(|r| {
            format!(
                "{}:{}",
                r[0].clone().unwrap(),
                r[1].clone().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(nodes.first().map(String::as_str), Some("greeting:"));
    assert!(nodes.contains(&"order:12345".to_owned()), "{nodes:?}");
    assert!(nodes.contains(&"save-order:".to_owned()), "{nodes:?}");
    assert_eq!(
        nodes.last().map(String::as_str),
        Some("goodbye:"),
        "{nodes:?}"
    );
    assert_eq!(
        db.rows(&format!(
            "SELECT r.kind, r.key, r.status FROM records r JOIN record_calls rc ON rc.record_id = r.id
             JOIN calls c ON c.id = rc.call_id WHERE c.call_sid = '{call}'"
        ))
        .await,
        vec![vec![
            Some("order".to_owned()),
            Some("12345".to_owned()),
            Some("received".to_owned())
        ]]
    );
    // Once the call ended Twilio delivers no webhook of it again: its replay data is gone,
    // what the dashboard shows (the steps above) stays.
    assert_eq!(db.value(&replay).await, None);
    assert_eq!(
        db.value("SELECT CAST(COUNT(*) AS TEXT) FROM replays")
            .await
            .as_deref(),
        Some("0")
    );
    app.stop().await;
}
both!(full_order_call);

/// The call is pinned to the flow version (content hash) it started with, which is in the database.
async fn flow_version_is_stored(db: &TestDb) {
    let app = spawn_app_on(&db.url).await;
    let call = new_call_sid();
    app.twilio.start(&call).await;
    let pinned = db
        .value(&format!(
            "SELECT flow_version FROM calls WHERE call_sid = '{call}'"
        ))
        .await
        .expect("pinned version");
    assert_eq!(
        db.rows(&format!(
            "SELECT name FROM flow_versions WHERE version = '{pinned}'"
        ))
        .await,
        vec![vec![Some("liza".to_owned())]]
    );
    app.stop().await;
}
both!(flow_version_is_stored);

/// A call has its language from the moment its row is made, and keeps it: the first webhook
/// writes it with the call, and a row the status callback made first (Twilio's callbacks can
/// overtake each other) gets it from the first webhook that comes after.
async fn the_language_is_kept_from_the_first_webhook(db: &TestDb) {
    let app = spawn_app_on(&db.url).await;
    let language = |call: String| {
        let db = &db;
        async move {
            db.value(&format!(
                "SELECT COALESCE(language, 'none') FROM calls WHERE call_sid = '{call}'"
            ))
            .await
        }
    };
    let call = new_call_sid();
    let greeting = app.twilio.start(&call).await;
    assert_eq!(language(call.clone()).await.as_deref(), Some("de-DE"));
    app.twilio.press(&greeting, &call, "1").await;
    assert_eq!(language(call.clone()).await.as_deref(), Some("de-DE"));

    let overtaken = new_call_sid();
    app.twilio.completed(&overtaken).await;
    assert_eq!(language(overtaken.clone()).await.as_deref(), Some("none"));
    app.twilio.start(&overtaken).await;
    assert_eq!(language(overtaken).await.as_deref(), Some("de-DE"));
    app.stop().await;
}
both!(the_language_is_kept_from_the_first_webhook);

/// Twilio retries: the same webhook delivered five times at once is answered once and replayed.
async fn concurrent_duplicates_are_replayed(db: &TestDb) {
    let app = spawn_app_on(&db.url).await;
    let call = new_call_sid();
    let greeting = app.twilio.start(&call).await;
    let answers = futures_join(
        (0..5)
            .map(|_| {
                let twilio = app.twilio.clone();
                let greeting = greeting.clone();
                let call = call.clone();
                tokio::spawn(async move { twilio.press(&greeting, &call, "1").await })
            })
            .collect(),
    )
    .await;
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert!(answers[0].contains("webhook/order?seq=2"), "{}", answers[0]);
    assert_eq!(
        db.value(&format!(
            "SELECT CAST(COUNT(*) AS TEXT) FROM steps s JOIN calls c ON c.id = s.call_id
             WHERE c.call_sid = '{call}' AND s.turn = 1"
        ))
        .await,
        db.value(&format!(
            "SELECT CAST(COUNT(DISTINCT s.position) AS TEXT) FROM steps s JOIN calls c ON c.id = s.call_id
             WHERE c.call_sid = '{call}' AND s.turn = 1"
        ))
        .await,
    );
    assert_eq!(
        db.value(&format!(
            "SELECT CAST(turn AS TEXT) FROM calls WHERE call_sid = '{call}'"
        ))
        .await
        .as_deref(),
        Some("2")
    );
    app.stop().await;
}
both!(concurrent_duplicates_are_replayed);

/// A call keeps only its last answer for replays. A webhook older than that (delivered late,
/// two turns on) hears the question the call is at, and its stale input changes nothing.
async fn an_older_webhook_hears_the_last_answer(db: &TestDb) {
    let app = spawn_app_on(&db.url).await;
    let call = new_call_sid();
    let greeting = app.twilio.start(&call).await;
    let order_prompt = app.twilio.press(&greeting, &call, "1").await;
    let readback = app.twilio.press(&order_prompt, &call, "12345").await;
    let written = |call: String| async move {
        db.rows(&format!(
            "SELECT CAST(c.turn AS TEXT), CAST(COUNT(s.call_id) AS TEXT) FROM calls c
             LEFT JOIN steps s ON s.call_id = c.id WHERE c.call_sid = '{call}' GROUP BY c.turn"
        ))
        .await
    };
    let before = written(call.clone()).await;
    assert_eq!(before[0][0].as_deref(), Some("3"), "{before:?}");

    // The consent answer, two turns late; the first webhook, three turns late.
    assert_eq!(app.twilio.press(&greeting, &call, "1").await, readback);
    assert_eq!(app.twilio.start(&call).await, readback);
    assert_eq!(written(call.clone()).await, before);
    // The call goes on from where it is.
    let status = app.twilio.press(&readback, &call, "1").await;
    assert!(status.contains("webhook/help?seq=4"), "{status}");
    app.stop().await;
}
both!(an_older_webhook_hears_the_last_answer);

/// An operator who deletes a call by hand deletes its steps with it, and cannot delete a step
/// kind that steps still use, by DELETE or TRUNCATE (PostgreSQL keeps this with triggers,
/// not foreign keys: the migration `steps_unchecked`).
async fn rows_deleted_by_hand_leave_no_step_without_its_call_or_kind(db: &TestDb) {
    let app = spawn_app_on(&db.url).await;
    let (kept, deleted) = (new_call_sid(), new_call_sid());
    for call in [&kept, &deleted] {
        let greeting = app.twilio.start(call).await;
        app.twilio.press(&greeting, call, "1").await;
    }
    app.stop().await;
    let kept_steps = db
        .value(&format!(
            "SELECT CAST(COUNT(*) AS TEXT) FROM steps s JOIN calls c ON c.id = s.call_id
             WHERE c.call_sid = '{kept}'"
        ))
        .await;
    assert!(
        kept_steps.as_deref().is_some_and(|n| n != "0"),
        "{kept_steps:?}"
    );
    let step_rows = || db.value("SELECT CAST(COUNT(*) AS TEXT) FROM step_rows");

    let deleting = format!("DELETE FROM calls WHERE call_sid = '{deleted}'");
    assert_eq!(db.execute(&deleting).await.unwrap(), 1);
    assert_eq!(
        step_rows().await,
        kept_steps,
        "only the kept call's steps are left"
    );

    let refused = db.execute("DELETE FROM step_kinds").await.unwrap_err();
    assert_eq!(
        refused.as_database_error().map(|e| e.kind()),
        Some(sqlx::error::ErrorKind::ForeignKeyViolation),
        "{refused}"
    );
    assert_eq!(step_rows().await, kept_steps);

    if matches!(db.backend, Backend::Postgres) {
        // TRUNCATE too (SQLite has none): refused for kinds in use; calls need CASCADE, as
        // they always did, and take their steps.
        let refused = db.execute("TRUNCATE step_kinds").await.unwrap_err();
        assert_eq!(
            refused.as_database_error().map(|e| e.kind()),
            Some(sqlx::error::ErrorKind::ForeignKeyViolation),
            "{refused}"
        );
        db.execute("TRUNCATE calls CASCADE").await.unwrap();
    } else {
        db.execute("DELETE FROM calls").await.unwrap();
    }
    // With no step left, the kinds can go.
    assert_eq!(step_rows().await.as_deref(), Some("0"));
    db.execute("DELETE FROM step_kinds").await.unwrap();
}
both!(rows_deleted_by_hand_leave_no_step_without_its_call_or_kind);

/// A webhook without a valid signature is refused and writes nothing.
async fn unsigned_webhook_is_refused(db: &TestDb) {
    let app = spawn_app_on(&db.url).await;
    let response = reqwest::Client::new()
        .post(format!("{}/webhook/voice", app.twilio.base))
        .header("X-Twilio-Signature", "bm90IGEgc2lnbmF0dXJl")
        .body("CallSid=CAforged&From=%2B1&To=%2B2")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert_eq!(
        db.value("SELECT CAST(COUNT(*) AS TEXT) FROM calls")
            .await
            .as_deref(),
        Some("0")
    );
    app.stop().await;
}
both!(unsigned_webhook_is_refused);

pub async fn futures_join<T: std::fmt::Debug>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.expect("task"));
    }
    out
}
