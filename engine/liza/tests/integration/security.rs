//! Signed webhooks only; secrets never printed.

use std::process::Command;

use crate::support::{call_params, form_body, spawn_app, PUBLIC_URL};

#[tokio::test]
async fn forged_or_missing_signatures_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let params = call_params("CAforged", "+4915112345678", None);
    let forged = liza::twilio::compute_signature(
        "not-the-token",
        &format!("{PUBLIC_URL}/webhook/voice"),
        &params,
    );
    let answer = app.post_raw("/webhook/voice", &params, Some(&forged)).await;
    assert_eq!(answer.status, 403);
    let answer = app.post_raw("/webhook/voice", &params, None).await;
    assert_eq!(answer.status, 403);
    // Signed for another URL (a replay against a different path).
    let elsewhere = liza::twilio::compute_signature(
        crate::support::AUTH_TOKEN,
        &format!("{PUBLIC_URL}/webhook/order"),
        &params,
    );
    let answer = app
        .post_raw("/webhook/voice", &params, Some(&elsewhere))
        .await;
    assert_eq!(answer.status, 403);
    // Signed, then a parameter changed in transit.
    let good = liza::twilio::compute_signature(
        crate::support::AUTH_TOKEN,
        &format!("{PUBLIC_URL}/webhook/voice"),
        &params,
    );
    let mut tampered = params.clone();
    tampered.push(("Digits".into(), "1".into()));
    let answer = app
        .post_body("/webhook/voice", form_body(&tampered), Some(&good))
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM calls").await, 0);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM steps").await, 0);
}

#[tokio::test]
async fn serve_refuses_to_start_without_an_auth_token_unless_told_it_is_development() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_liza"))
        .arg("serve")
        .current_dir(crate::support::repo_root())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/x.db", dir.path().display()),
        )
        .env("LIZA_BIND", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("TWILIO_AUTH_TOKEN is not set"), "{stderr}");
    assert!(stderr.contains("--insecure-dev"), "{stderr}");
}

#[tokio::test]
async fn secrets_never_reach_the_output() {
    let dir = tempfile::tempdir().unwrap();
    // Start-up fails on an unusable listen address after the token and database URL were read.
    let output = Command::new(env!("CARGO_BIN_EXE_liza"))
        .arg("serve")
        .current_dir(crate::support::repo_root())
        .env("TWILIO_AUTH_TOKEN", "tok-SECRET-4f9a")
        .env(
            "DATABASE_URL",
            format!(
                "sqlite://{}/x.db?password=db-SECRET-77",
                dir.path().display()
            ),
        )
        .env("LIZA_BIND", "256.1.1.1:99999")
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!all.contains("tok-SECRET-4f9a"), "{all}");
    assert!(!all.contains("db-SECRET-77"), "{all}");
    assert!(
        all.contains("cannot"),
        "start-up should explain what failed: {all}"
    );
}
