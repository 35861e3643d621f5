//! The key of the callers' hashes: generated once and kept, or set; never silently replaced.

use liza::settings::Settings;
use liza::startup::Application;

use crate::support::{AppOptions, TestDb};

const KEY_A: &str = "a-privacy-key-for-tests-0123456789abcdef";
const KEY_B: &str = "another-privacy-key-for-tests-0123456789";

/// Builds the server on `db` with `key` (None: LIZA_PRIVACY_KEY unset) and returns why it did
/// not start, if it did not.
async fn start(db: &TestDb, key: Option<&str>) -> Result<(), String> {
    let options = AppOptions::default().database(&db.url);
    let options = match key {
        Some(key) => options.set("LIZA_PRIVACY_KEY", key),
        None => options.unset("LIZA_PRIVACY_KEY"),
    };
    let settings = options.settings_map(&db.url);
    match Application::build(Settings::from_lookup(|name| settings.get(name).cloned())).await {
        Ok(app) => {
            app.state.engine.store.close().await;
            Ok(())
        }
        Err(e) => Err(format!("{e:#}")),
    }
}

#[tokio::test]
async fn a_server_refuses_to_start_with_another_key_than_the_hashes_were_made_with() {
    let db = TestDb::from_env().await;
    start(&db, Some(KEY_A))
        .await
        .expect("first start with key A");
    start(&db, Some(KEY_A)).await.expect("the same key again");
    let error = start(&db, Some(KEY_B)).await.unwrap_err();
    assert!(
        error.contains("LIZA_PRIVACY_KEY is not the key this database's callers were hashed with"),
        "{error}"
    );
    let error = start(&db, None).await.unwrap_err();
    assert!(error.contains("LIZA_PRIVACY_KEY is not set"), "{error}");
    assert!(!error.contains(KEY_A), "the key must not be shown: {error}");
    let check = db
        .value("SELECT key_check FROM privacy_key")
        .await
        .expect("the check value is kept");
    assert!(!check.contains(KEY_A));
    assert_eq!(
        db.value("SELECT generated_key FROM privacy_key").await,
        None
    );
}

#[tokio::test]
async fn without_a_key_setting_liza_generates_one_keeps_it_and_uses_it_again() {
    let db = TestDb::from_env().await;
    start(&db, None).await.expect("first start generates a key");
    let generated = db
        .value("SELECT generated_key FROM privacy_key")
        .await
        .expect("the generated key is kept");
    assert_eq!(generated.len(), 64);
    start(&db, None)
        .await
        .expect("second start uses the kept key");
    assert_eq!(
        db.value("SELECT generated_key FROM privacy_key").await,
        Some(generated.clone())
    );
    // Setting a key later would make new hashes nobody could match with the old ones.
    let error = start(&db, Some(KEY_A)).await.unwrap_err();
    assert!(error.contains("is not the key"), "{error}");
    start(&db, Some(&generated))
        .await
        .expect("the generated key, set explicitly");
}

#[tokio::test]
async fn a_short_key_is_refused_with_how_to_make_one() {
    let db = TestDb::from_env().await;
    let error = start(&db, Some("short")).await.unwrap_err();
    assert!(error.contains("at least 32"), "{error}");
    assert!(error.contains("openssl rand -hex 32"), "{error}");
}
