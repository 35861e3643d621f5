//! Staying up: SIGTERM drains, kill -9 loses nothing that was confirmed, a database outage
//! is an apology and a 503 that heals by itself, and /metrics counts all of it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::{Connection, Executor};
use tokio::net::{TcpListener, TcpStream};

use crate::both;
use crate::support::*;

/// /metrics speaks Prometheus and counts webhooks by node and outcome.
async fn metrics_count_webhooks(db: &TestDb) {
    let app = spawn_app_on(&db.url).await;
    let call = new_call_sid();
    let greeting = app.twilio.start(&call).await;
    app.twilio.press(&greeting, &call, "1").await;
    app.twilio.press(&greeting, &call, "1").await; // Twilio's retry: replayed
    let (status, text) = app.twilio.get("/metrics").await;
    assert_eq!(status, 200);
    for line in [
        "liza_webhook_requests_total{node=\"voice\",outcome=\"answered\"} 1\n",
        "liza_webhook_requests_total{node=\"consent\",outcome=\"answered\"} 1\n",
        "liza_webhook_requests_total{node=\"consent\",outcome=\"replayed\"} 1\n",
        "liza_webhook_duration_seconds_count 3\n",
        "liza_webhook_duration_seconds_bucket{le=\"+Inf\"} 3\n",
        "liza_database_errors_total 0\n",
        "liza_flow_reloads_total 0\n",
        "liza_flow_reload_failures_total 0\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    app.stop().await;
}
both!(metrics_count_webhooks);

/// SIGTERM while webhooks wait for the database: they still finish with the real answer,
/// new connections are refused, the process exits 0 and SQLite is closed cleanly (WAL gone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_requests_in_flight_and_closes_the_database() {
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let mut liza = spawn_process(&db.url);
    // Hold SQLite's write lock so the webhooks below are in flight when SIGTERM arrives.
    let mut blocker = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    blocker.execute("BEGIN EXCLUSIVE").await.unwrap();
    let calls: Vec<String> = (0..4).map(|_| new_call_sid()).collect();
    let in_flight: Vec<_> = calls
        .iter()
        .map(|call| {
            let twilio = liza.twilio.clone();
            let call = call.clone();
            tokio::spawn(async move {
                twilio
                    .try_post("/webhook/voice", &call_params(&call, CALLER, None))
                    .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(400)).await;
    liza.signal(15);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let late = reqwest::Client::new()
        .get(format!("{}/health", liza.twilio.base))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(
        late.is_err(),
        "a new connection was accepted after SIGTERM: {late:?}"
    );
    blocker.execute("COMMIT").await.unwrap();
    blocker.close().await.unwrap();
    for request in in_flight {
        let (status, twiml) = request.await.unwrap().expect("in-flight request finished");
        assert_eq!(status, 200, "{twiml}");
        assert!(twiml.contains("webhook/consent?seq=1"), "{twiml}");
        assert!(!is_apology(&twiml), "{twiml}");
    }
    let exit = liza.wait_exit(Duration::from_secs(15));
    assert!(exit.success(), "{exit}\n{}", liza.log());
    assert!(liza.log().contains("Liza stopped."), "{}", liza.log());
    let wal = db.dir.path().join("liza.db-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "the WAL was left behind: the database was not closed"
    );
    for call in &calls {
        assert_eq!(
            db.value(&format!(
                "SELECT CAST(turn AS TEXT) FROM calls WHERE call_sid = '{call}'"
            ))
            .await
            .as_deref(),
            Some("1"),
            "call {call}"
        );
    }
}

/// Where a caller was when the server died.
struct Interrupted {
    call: String,
    /// The webhook that got no answer, and what was pressed for it.
    url: String,
    digits: Option<String>,
    /// Presses still to come after it.
    rest: Vec<String>,
}

/// Plays order calls back to back until the server dies; returns where it stopped.
async fn caller(twilio: Twilio, id: usize, confirmed: Arc<Mutex<Vec<String>>>) -> Interrupted {
    for n in 0.. {
        let call = new_call_sid();
        let order = format!("9{id:03}{n:04}");
        let script = [
            "1".to_owned(),
            order.clone(),
            "1".to_owned(),
            "2".to_owned(),
        ];
        let mut url = "/webhook/voice".to_owned();
        let mut digits: Option<String> = None;
        for step in 0..=script.len() {
            let mut params = call_params(&call, CALLER, None);
            if let Some(d) = &digits {
                params.push(("Digits".into(), d.clone()));
            }
            match twilio.try_post(&url, &params).await {
                Ok((200, twiml)) => {
                    assert!(!is_apology(&twiml), "{twiml}");
                    if step == 3 {
                        // The answer to "1 = yes, that is my order": the order is confirmed.
                        assert!(twiml.contains("webhook/help"), "{twiml}");
                        confirmed.lock().unwrap().push(order.clone());
                    }
                    if step == script.len() {
                        break;
                    }
                    url = gather_action(&twiml).expect("gather");
                    digits = Some(script[step].clone());
                }
                Ok((status, body)) => panic!("HTTP {status}: {body}"),
                Err(_) => {
                    return Interrupted {
                        call,
                        url,
                        digits,
                        rest: script[step..].to_vec(),
                    }
                }
            }
        }
    }
    unreachable!()
}

/// kill -9 under load: after a restart every confirmed order is in the database, and every
/// interrupted call continues (Twilio's retry of the lost webhook, then the rest of the call).
async fn kill_9_loses_no_confirmed_order(db: &TestDb) {
    let liza = spawn_process(&db.url);
    let confirmed = Arc::new(Mutex::new(Vec::new()));
    let callers: Vec<_> = (0..24)
        .map(|id| tokio::spawn(caller(liza.twilio.clone(), id, confirmed.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    liza.signal(9);
    let mut interrupted = Vec::new();
    for c in callers {
        interrupted.push(c.await.expect("caller"));
    }
    drop(liza);
    let confirmed = confirmed.lock().unwrap().clone();
    assert!(
        confirmed.len() >= 10,
        "too little load: {} orders",
        confirmed.len()
    );

    let liza = spawn_process(&db.url);
    let stored: std::collections::HashSet<String> = db
        .rows("SELECT key FROM records WHERE kind = 'order'")
        .await
        .into_iter()
        .filter_map(|r| r[0].clone())
        .collect();
    for order in &confirmed {
        assert!(stored.contains(order), "confirmed order {order} was lost");
    }
    for stop in interrupted {
        let mut params = call_params(&stop.call, CALLER, None);
        if let Some(d) = &stop.digits {
            params.push(("Digits".into(), d.clone()));
        }
        let (status, mut twiml) = liza.twilio.post(&stop.url, &params).await;
        assert_eq!(status, 200);
        assert!(
            !is_apology(&twiml),
            "call {} cannot continue: {twiml}",
            stop.call
        );
        for digits in &stop.rest {
            assert!(!is_apology(&twiml), "{twiml}");
            twiml = liza.twilio.press(&twiml, &stop.call, digits).await;
        }
        assert!(twiml.contains("<Hangup/>"), "{twiml}");
        assert!(!is_apology(&twiml), "{twiml}");
    }
}
both!(kill_9_loses_no_confirmed_order);

/// A TCP proxy in front of PostgreSQL that the test can cut and restore.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    cut: tokio::sync::watch::Sender<u64>,
}

impl Proxy {
    async fn start(upstream: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let (cut, _) = tokio::sync::watch::channel(0u64);
        let (flag, cuts) = (up.clone(), cut.subscribe());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    continue; // dropped: the database is "unreachable"
                }
                let mut cuts = cuts.clone();
                // Only cuts after this connection was made end it.
                cuts.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        Self { port, up, cut }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// PostgreSQL goes away mid-call: the caller hears a short apology as valid TwiML, /health
/// says 503, /metrics counts the database errors, and service resumes by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_apologises_and_recovers() {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let proxy = Proxy::start("127.0.0.1:5432").await;
    let url = db
        .url
        .replace("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port));
    assert_ne!(
        url, db.url,
        "the test database must be reached through the proxy"
    );
    let app = spawn_app_on(&url).await;
    let call = new_call_sid();
    let greeting = app.twilio.start(&call).await;
    let order_prompt = app.twilio.press(&greeting, &call, "1").await;

    proxy.down();
    let started = Instant::now();
    let apology = app.twilio.press(&order_prompt, &call, "12345").await;
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?}",
        started.elapsed()
    );
    assert!(apology.starts_with("<?xml"), "{apology}");
    assert!(is_apology(&apology), "{apology}");
    assert!(
        apology.trim_end().ends_with("</Response>") && apology.contains("<Hangup/>"),
        "{apology}"
    );
    let (status, health) = app.twilio.get("/health").await;
    assert_eq!(status, 503, "{health}");
    let (_, metrics) = app.twilio.get("/metrics").await;
    assert!(
        metrics.contains("liza_webhook_requests_total{node=\"order\",outcome=\"apologised\"} 1\n"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("liza_database_errors_total 0\n"),
        "{metrics}"
    );

    proxy.up();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, _) = app.twilio.get("/health").await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "/health did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let next = new_call_sid();
    let greeting = app.twilio.start(&next).await;
    assert!(greeting.contains("webhook/consent?seq=1"), "{greeting}");
    app.stop().await;
}

/// SQLite's file is locked by another process for a moment. Shorter than the writer's busy
/// timeout: the caller only waits. Longer: the caller hears the apology as valid TwiML,
/// /health says 503, and the next call is served as soon as the lock is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_locked_for_a_moment_apologises_and_recovers() {
    let db = TestDb::create(Backend::Sqlite).await.expect("sqlite");
    let app = spawn_app_on(&db.url).await;
    let path = db.dir.path().join("liza.db");
    let lock_for = |held: Duration| {
        let path = path.clone();
        let (locked, is_locked) = std::sync::mpsc::channel();
        let holder = std::thread::spawn(move || {
            let conn = rusqlite::Connection::open(&path).expect("open the database");
            conn.execute_batch("BEGIN EXCLUSIVE").expect("lock");
            locked.send(()).unwrap();
            std::thread::sleep(held);
            conn.execute_batch("ROLLBACK").expect("unlock");
        });
        is_locked.recv().unwrap();
        holder
    };

    // Locked for half a second: the answer comes late, but it is the answer.
    let call = new_call_sid();
    let greeting = app.twilio.start(&call).await;
    let holder = lock_for(Duration::from_millis(500));
    let started = Instant::now();
    let order_prompt = app.twilio.press(&greeting, &call, "1").await;
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    assert!(!is_apology(&order_prompt), "{order_prompt}");
    assert!(
        order_prompt.contains("webhook/order?seq=2"),
        "{order_prompt}"
    );
    holder.join().unwrap();

    // Locked for longer than the writer waits: an apology within seconds, and a 503.
    let holder = lock_for(Duration::from_secs(5));
    let started = Instant::now();
    let apology = app.twilio.press(&order_prompt, &call, "12345").await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(apology.starts_with("<?xml"), "{apology}");
    assert!(is_apology(&apology), "{apology}");
    assert!(apology.contains("<Hangup/>"), "{apology}");
    let (status, health) = app.twilio.get("/health").await;
    assert_eq!(status, 503, "{health}");
    holder.join().unwrap();

    let (status, health) = app.twilio.get("/health").await;
    assert_eq!(status, 200, "{health}");
    let next = new_call_sid();
    let greeting = app.twilio.start(&next).await;
    assert!(greeting.contains("webhook/consent?seq=1"), "{greeting}");
    // The apologised call is marked as a problem once the database is back.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status_sql = format!("SELECT status FROM calls WHERE call_sid = '{call}'");
    while db.value(&status_sql).await.as_deref() != Some("problem") {
        assert!(
            Instant::now() < deadline,
            "the call was not marked `problem`"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.stop().await;
}
