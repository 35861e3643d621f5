//! Hot reload under a running server: new calls get a saved change within a second,
//! calls in progress keep their version, a broken save changes nothing but /health, and the
//! reload's own reads never trigger it again.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{flow_files_copy, AppOptions, TestApp};

/// Saves the way vim and VS Code do: write a temporary file, then rename it over the original.
fn save(path: &Path, text: &str) {
    let tmp = path.with_extension("yaml.swp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

async fn wait_for<F: std::future::Future<Output = bool>>(
    limit: Duration,
    mut check: impl FnMut() -> F,
) -> Duration {
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `/health` as anyone sees it: status code and JSON.
async fn health(app: &TestApp) -> (u16, serde_json::Value) {
    let (status, body) = app.get("/health").await;
    (status, serde_json::from_str(&body).unwrap())
}

/// The full diagnostics of a failed reload, as a signed-in admin sees them.
fn reload_error(app: &TestApp) -> Option<String> {
    app.state.engine.registry.reload_error()
}

const OLD_PROMPT: &str = "Dürfen wir Ihre Daten für dieses Gespräch verarbeiten?";
const NEW_PROMPT: &str = "Das habe ich nicht verstanden.";

#[tokio::test]
async fn saved_changes_reach_new_calls_while_old_calls_keep_their_version() {
    let dir = flow_files_copy();
    let flow_file = dir.path().join("flows/liza.yaml");
    let original = std::fs::read_to_string(&flow_file).unwrap();
    let app = AppOptions::default().flow_files(dir.path()).spawn().await;

    let mut before = app.call("CAbefore", "+4915112345678").await;
    assert!(before.says(OLD_PROMPT));

    // A product manager points the consent question at another message and saves.
    let changed = original.replacen("prompt: consent-question", "prompt: consent-invalid", 1);
    assert_ne!(changed, original);
    save(&flow_file, &changed);
    let mut n = 0;
    let took = wait_for(Duration::from_secs(1), || {
        n += 1;
        let sid = format!("CAafter{n}");
        let app = &app;
        async move { app.call(&sid, "+4915112345678").await.says(NEW_PROMPT) }
    })
    .await;
    assert!(took < Duration::from_secs(1), "took {took:?}");

    // The call that started before the save finishes on its old version.
    before.silence().await;
    assert!(before.says(OLD_PROMPT), "{}", before.last.body);
    before.press("1").await;
    before.press("12345").await;
    before.press("1").await;
    before.press("2").await;
    assert!(before.hung_up());
    let versions: Vec<String> = sqlx::query_scalar(
        "SELECT flow_version FROM calls GROUP BY flow_version ORDER BY MIN(started_at)",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        versions.len(),
        2,
        "old and new calls are pinned to different versions"
    );
    let known: i64 = app.scalar_i64("SELECT COUNT(*) FROM flow_versions").await;
    assert!(known >= 2, "every loaded version is recorded");

    // A broken save: the last good flow keeps serving, /health says what is wrong.
    save(
        &flow_file,
        &changed.replacen("next: consent", "next: consnet", 1),
    );
    wait_for(Duration::from_secs(2), || async {
        health(&app).await.1["status"] == "degraded"
    })
    .await;
    let error = reload_error(&app).unwrap();
    assert!(
        error.contains("liza.yaml:")
            && error.contains("`consnet` does not exist (did you mean `consent`?)"),
        "{error}"
    );
    let during = app.call("CAduring", "+4915112345678").await;
    assert!(during.says(NEW_PROMPT), "{}", during.last.body);

    // Restoring the file recovers.
    save(&flow_file, &original);
    wait_for(Duration::from_secs(2), || async {
        health(&app).await.1["status"] == "ok"
    })
    .await;
    assert_eq!(reload_error(&app), None);
    let restored = app.call("CArestored", "+4915112345678").await;
    assert!(restored.says(OLD_PROMPT), "{}", restored.last.body);
}

#[tokio::test]
async fn a_changed_translation_is_a_new_version_too() {
    let dir = flow_files_copy();
    let app = AppOptions::default().flow_files(dir.path()).spawn().await;
    let ftl = dir.path().join("locales/en/liza.ftl");
    let text = std::fs::read_to_string(&ftl).unwrap();
    std::fs::write(
        &ftl,
        text.replace("Hello! This is Liza", "Good day! This is Liza"),
    )
    .unwrap();
    let mut n = 0;
    wait_for(Duration::from_secs(1), || {
        n += 1;
        let sid = format!("CAftl{n}");
        let app = &app;
        async move {
            app.call(&sid, "+14155550123")
                .await
                .says("Good day! This is Liza")
        }
    })
    .await;
}

/// Counts the times any process opens a file under `dirs` while it lives (inotify: the
/// watcher the server uses sees the same events).
struct OpenCounter {
    opens: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    _watcher: notify::RecommendedWatcher,
}

impl OpenCounter {
    fn start(dirs: &[&Path]) -> Self {
        use notify::event::{AccessKind, EventKind};
        use notify::Watcher;
        let opens = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = opens.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event {
                    // Directories are opened by this watcher itself while it adds its watches.
                    let files = event.paths.iter().filter(|p| !p.is_dir()).count();
                    if matches!(event.kind, EventKind::Access(AccessKind::Open(_))) {
                        counted.fetch_add(files, std::sync::atomic::Ordering::SeqCst);
                    }
                }
            })
            .unwrap();
        for dir in dirs {
            watcher
                .watch(dir, notify::RecursiveMode::Recursive)
                .unwrap();
        }
        Self {
            opens,
            _watcher: watcher,
        }
    }

    fn count(&self) -> usize {
        self.opens.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The reload reads the files it watches; those reads must not count as changes. After a save
/// is served, an idle server opens nothing: over two seconds, zero opens and no further reload.
#[tokio::test]
async fn an_idle_server_opens_its_flow_files_zero_times() {
    let dir = flow_files_copy();
    let (flows, locales) = (dir.path().join("flows"), dir.path().join("locales"));
    let app = AppOptions::default()
        .flows(&flows)
        .locales(&locales)
        .spawn()
        .await;
    let flow_file = flows.join("liza.yaml");
    let original = std::fs::read_to_string(&flow_file).unwrap();
    save(
        &flow_file,
        &original.replacen("prompt: consent-question", "prompt: consent-invalid", 1),
    );
    let mut n = 0;
    wait_for(Duration::from_secs(2), || {
        n += 1;
        let sid = format!("CAidle{n}");
        let app = &app;
        async move { app.call(&sid, "+4915112345678").await.says(NEW_PROMPT) }
    })
    .await;
    // Let the reload's own reads settle (the debounce), then listen.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reloads_before = app.state.engine.registry.reload_counts();
    let counter = OpenCounter::start(&[&flows, &locales]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let opens = counter.count();
    assert_eq!(
        opens, 0,
        "an idle server opened its flow files {opens} times in 2 s"
    );
    assert_eq!(app.state.engine.registry.reload_counts(), reloads_before);
}

/// The metric lines `names` of /metrics.
async fn metric(app: &TestApp, name: &str) -> String {
    let (_, text) = app.get("/metrics").await;
    text.lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .to_owned()
}

/// A broken save is built once however long it stays: one failure counted, /health answers
/// 200 "degraded" with a line that names no path and quotes no source, /metrics says degraded.
/// Saving the same text again changes nothing; a different mistake counts again; the fix recovers.
#[tokio::test]
async fn a_broken_save_counts_once_and_health_says_degraded() {
    let dir = flow_files_copy();
    let app = AppOptions::default().flow_files(dir.path()).spawn().await;
    let flow_file = dir.path().join("flows/liza.yaml");
    let original = std::fs::read_to_string(&flow_file).unwrap();
    let broken = original.replacen("next: consent", "next: consnet", 1);
    assert_ne!(broken, original);

    save(&flow_file, &broken);
    wait_for(Duration::from_secs(2), || async {
        health(&app).await.1["status"] == "degraded"
    })
    .await;
    // Left broken for a while: still one failure.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (status, body) = app.get("/health").await;
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "degraded", "{body}");
    assert_eq!(json["database"], "writable", "{body}");
    assert_eq!(
        json["reload"]["state"], "degraded: 1 problem in liza.yaml",
        "{body}"
    );
    assert_eq!(json["reload"]["failures"], 1, "{body}");
    assert!(
        !body.contains(dir.path().to_str().unwrap()),
        "a path in {body}"
    );
    assert!(!body.contains("consnet"), "source text in {body}");
    assert_eq!(
        metric(&app, "liza_flows_degraded").await,
        "liza_flows_degraded 1"
    );
    assert_eq!(
        metric(&app, "liza_flow_reload_failures_total").await,
        "liza_flow_reload_failures_total 1"
    );
    // New calls are still served by the last good version.
    let call = app.call("CAdegraded", "+4915112345678").await;
    assert!(call.says(OLD_PROMPT), "{}", call.last.body);

    // The same text saved again (an editor's "save" without a change): nothing new.
    save(&flow_file, &broken);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(health(&app).await.1["reload"]["failures"], 1);

    // A different mistake is a new failure.
    save(
        &flow_file,
        &broken.replacen("next: consnet", "next: konsent", 1),
    );
    wait_for(Duration::from_secs(2), || async {
        health(&app).await.1["reload"]["failures"] == 2
    })
    .await;

    save(&flow_file, &original);
    wait_for(Duration::from_secs(2), || async {
        health(&app).await.1["status"] == "ok"
    })
    .await;
    let (status, json) = health(&app).await;
    assert_eq!(status, 200);
    assert_eq!(json["reload"]["state"], "ok");
    assert_eq!(json["reload"]["failures"], 2);
    assert_eq!(
        metric(&app, "liza_flows_degraded").await,
        "liza_flows_degraded 0"
    );
}

/// A server saved many times holds only the versions calls still use: once idle, old versions
/// leave memory (not the database), and a call pinned to an evicted version still finishes with
/// its own wording, compiled again from `flow_versions.source`.
#[tokio::test]
async fn reloaded_versions_no_call_uses_are_evicted_and_a_pinned_call_still_finishes() {
    use liza::registry::VERSION_IDLE_LIMIT;
    let dir = flow_files_copy();
    let flow_file = dir.path().join("flows/liza.yaml");
    let original = std::fs::read_to_string(&flow_file).unwrap();
    let app = AppOptions::default().flow_files(dir.path()).spawn().await;
    let registry = app.state.engine.registry.clone();

    let mut pinned = app.call("CApinned", "+4915112345678").await;
    assert!(pinned.says(OLD_PROMPT));

    // Saved five times: five new versions, the last one with the other prompt.
    let changed = original.replacen("prompt: consent-question", "prompt: consent-invalid", 1);
    for n in 1..=5 {
        let reloads = registry.reload_counts().0;
        save(&flow_file, &format!("{changed}\n# save {n}\n"));
        wait_for(Duration::from_secs(3), || async {
            registry.reload_counts().0 > reloads
        })
        .await;
    }
    assert_eq!(registry.versions_held(), 6);
    assert_eq!(
        metric(&app, "liza_flow_versions_held").await,
        "liza_flow_versions_held 6"
    );

    // Ten minutes on, no call has used the old versions: only the current one stays in memory.
    let evicted = registry.evict_idle(Instant::now() + VERSION_IDLE_LIMIT + Duration::from_secs(1));
    assert_eq!(evicted, 5);
    assert_eq!(
        metric(&app, "liza_flow_versions_held").await,
        "liza_flow_versions_held 1"
    );
    let stored = app.scalar_i64("SELECT COUNT(*) FROM flow_versions").await;
    assert!(
        stored >= 6,
        "evicted versions stay in the database ({stored})"
    );

    // The call pinned to the first version goes on with its own wording.
    pinned.silence().await;
    assert!(pinned.says(OLD_PROMPT), "{}", pinned.last.body);
    pinned.press("1").await;
    pinned.press("12345").await;
    pinned.press("1").await;
    pinned.press("2").await;
    assert!(pinned.hung_up(), "{}", pinned.last.body);
    assert_eq!(
        registry.versions_held(),
        2,
        "the pinned version is held again"
    );
    let problems = app
        .scalar_i64("SELECT COUNT(*) FROM calls WHERE status = 'problem'")
        .await;
    assert_eq!(problems, 0);
    // New calls still hear the current version.
    let new = app.call("CAnew", "+4915112345678").await;
    assert!(new.says(NEW_PROMPT), "{}", new.last.body);
    // The writers' batches are counted on /metrics too.
    let batches = metric(&app, "liza_store_batch_size_count").await;
    assert_ne!(batches, "liza_store_batch_size_count 0");
}
