//! Two `liza` processes on different ports share one PostgreSQL database. A call whose
//! webhooks alternate between them gets exactly the TwiML and rows one instance gives.

use crate::support::*;

/// Plays the order call, webhook `i` going to `instances[i % len]`; returns the TwiML transcript.
async fn play(instances: &[&Twilio], call: &str) -> Vec<String> {
    let pick = |i: usize| instances[i % instances.len()];
    let mut transcript = vec![pick(0).start(call).await];
    for (i, digits) in ["1", "12345", "1", "2"].into_iter().enumerate() {
        let last = transcript.last().unwrap().clone();
        transcript.push(pick(i + 1).press(&last, call, digits).await);
    }
    transcript.push(pick(transcript.len()).completed(call).await);
    transcript
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_alternating_between_two_instances_equals_one_instance() {
    let Some(shared) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let Some(single) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let a = spawn_process(&shared.url);
    let b = spawn_process(&shared.url);
    assert_ne!(a.port, b.port);
    let reference = spawn_process(&single.url);
    let call = new_call_sid();

    let alternating = play(&[&a.twilio, &b.twilio], &call).await;
    let alone = play(&[&reference.twilio], &call).await;

    assert_eq!(alternating, alone);
    assert!(alternating[4].contains("<Hangup/>"), "{}", alternating[4]);
    let rows = shared.call_snapshot(&call).await;
    assert_eq!(rows, single.call_snapshot(&call).await);
    // Not vacuous: the call row, 15 steps and the order were compared (the replay data was
    // dropped at the call's end on both).
    assert_eq!(rows.len(), 17, "{rows:?}");
    assert_eq!(rows[0][0].as_deref(), Some("completed"));
    // Both instances really answered: each logged its share of the call.
    assert!(a.log().contains("Call started."), "{}", a.log());
    assert!(b.log().contains("Call ended."), "{}", b.log());
}

/// Both instances answer the same webhook at the same moment (a retry landing on the other
/// instance): the row lock serialises them, one answers, the other replays the same TwiML.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_webhook_on_both_instances_at_once_is_answered_once() {
    let Some(shared) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let a = spawn_process(&shared.url);
    let b = spawn_process(&shared.url);
    for _ in 0..5 {
        let call = new_call_sid();
        let greeting = a.twilio.start(&call).await;
        let (first, second) = tokio::join!(
            a.twilio.press(&greeting, &call, "1"),
            b.twilio.press(&greeting, &call, "1")
        );
        assert_eq!(first, second);
        assert_eq!(
            shared
                .value(&format!(
                    "SELECT CAST(turn AS TEXT) FROM calls WHERE call_sid = '{call}'"
                ))
                .await
                .as_deref(),
            Some("2")
        );
    }
}

/// Instance A serves a newer wording than instance B (A was reloaded, B not yet). A call that
/// started on A keeps A's version when its next webhooks reach B: B reads that version from
/// the database. B's own new calls keep B's wording.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_keeps_its_flow_version_on_an_instance_that_never_loaded_it() {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let newer = tempfile::tempdir().unwrap();
    for lang in ["de", "en"] {
        let from = repo_root().join("locales").join(lang);
        let to = newer.path().join(lang);
        std::fs::create_dir_all(&to).unwrap();
        for file in std::fs::read_dir(&from).unwrap() {
            let file = file.unwrap().path();
            let text = std::fs::read_to_string(&file).unwrap().replace(
                "Bitte geben Sie Ihre Bestellnummer ein",
                "Neu: Bitte tippen Sie Ihre Bestellnummer",
            );
            std::fs::write(to.join(file.file_name().unwrap()), text).unwrap();
        }
    }
    let a = AppOptions::default()
        .database(&db.url)
        .locales(newer.path())
        .process();
    let b = spawn_process(&db.url);

    let call = new_call_sid();
    let greeting = a.twilio.start(&call).await;
    let order_prompt = b.twilio.press(&greeting, &call, "1").await;
    assert!(
        order_prompt.contains("Neu: Bitte tippen Sie Ihre Bestellnummer"),
        "B answered with its own version: {order_prompt}"
    );
    let confirm = b.twilio.press(&order_prompt, &call, "12345").await;
    assert!(!is_apology(&confirm), "{confirm}");
    assert!(
        b.log().contains("Flow version loaded from the database"),
        "{}",
        b.log()
    );

    let other = new_call_sid();
    let greeting = b.twilio.start(&other).await;
    let own = b.twilio.press(&greeting, &other, "1").await;
    assert!(
        own.contains("Bitte geben Sie Ihre Bestellnummer ein"),
        "{own}"
    );
    let versions = db
        .value("SELECT CAST(COUNT(DISTINCT flow_version) AS TEXT) FROM calls")
        .await;
    assert_eq!(versions.as_deref(), Some("2"));
}

/// Twenty new calls at once, the first webhook of each delivered to both instances at the same
/// moment (Twilio's retry landing on the other instance), three times. Each instance opens a
/// batch's new calls together; when the other instance opened one meanwhile (most runs, not
/// every one), the batch runs again one webhook at a time. Each call is opened once and both
/// answers are its greeting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_webhook_on_both_instances_at_once_opens_the_call_once() {
    let Some(shared) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let a = spawn_process(&shared.url);
    let b = spawn_process(&shared.url);
    for _ in 0..3 {
        let calls: Vec<String> = (0..20).map(|_| new_call_sid()).collect();
        let answers = futures_join_all(
            calls
                .iter()
                .map(|call| async { tokio::join!(a.twilio.start(call), b.twilio.start(call)) })
                .collect(),
        )
        .await;
        for (call, (first, second)) in calls.iter().zip(&answers) {
            assert_eq!(first, second, "{call}");
            assert!(first.contains("<Gather"), "{first}");
            assert_eq!(
                shared
                    .value(&format!(
                        "SELECT CAST(COUNT(*) AS TEXT) || ' ' || CAST(MAX(turn) AS TEXT) FROM calls WHERE call_sid = '{call}'"
                    ))
                    .await
                    .as_deref(),
                Some("1 1")
            );
        }
        // A call goes on from its greeting.
        let next = b.twilio.press(&answers[0].0, &calls[0], "1").await;
        assert!(!is_apology(&next), "{next}");
    }
    assert_eq!(
        shared
            .value("SELECT CAST(COUNT(*) AS TEXT) FROM calls")
            .await
            .as_deref(),
        Some("60")
    );
}
