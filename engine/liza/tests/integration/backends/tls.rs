//! How Liza reaches PostgreSQL: over TLS as `sslmode` in DATABASE_URL says (sqlx with rustls),
//! or through the server's Unix socket (`?host=/var/run/postgresql`). The local PostgreSQL
//! offers TLS with its own self-signed certificate (Debian's default); a stand-in server plays
//! one without TLS.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

/// `liza migrate` against `database_url`: its exit success and everything it printed.
async fn migrate(database_url: &str) -> (bool, String) {
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_liza"))
            .arg("migrate")
            .env("DATABASE_URL", database_url)
            .env("RUST_LOG", "warn")
            .output(),
    )
    .await
    .expect("liza migrate finishes")
    .expect("liza runs");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), printed)
}

/// Whether each of Liza's own connections to `db` (application_name `liza`) is encrypted.
async fn liza_connections_encrypted(db: &TestDb) -> Vec<Option<String>> {
    db.rows(
        "SELECT CAST(s.ssl AS TEXT) FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid
         WHERE a.application_name = 'liza' AND a.datname = current_database()",
    )
    .await
    .into_iter()
    .map(|row| row.into_iter().next().flatten())
    .collect()
}

#[tokio::test]
async fn sslmode_require_against_a_server_without_tls_fails_clearly_and_sends_nothing_in_clear() {
    // Answers the SSLRequest with `N` (no TLS here), as PostgreSQL with ssl=off does.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 8];
        socket.read_exact(&mut request).await.unwrap();
        socket.write_all(b"N").await.unwrap();
        let mut after = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut after)).await;
        (request, after)
    });
    let (ok, printed) = migrate(&format!(
        "postgres://liza:secret-pw@127.0.0.1:{port}/liza?sslmode=require"
    ))
    .await;
    assert!(!ok, "{printed}");
    assert!(printed.contains("cannot open the database"), "{printed}");
    assert!(
        printed.contains("server does not support TLS"),
        "the error should say why: {printed}"
    );
    assert!(!printed.contains("secret-pw"), "{printed}");
    let (request, after) = server.await.unwrap();
    // 8 bytes: length 8, code 80877103 (SSLRequest).
    assert_eq!(request, [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
    assert!(
        after.is_empty(),
        "nothing may follow in plaintext, got {:?}",
        String::from_utf8_lossy(&after)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liza_encrypts_its_connections_when_the_server_offers_tls_and_sslmode_is_honoured() {
    let Some(probe) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let offered = probe.value("SHOW ssl").await;
    if offered.as_deref() != Some("on") {
        eprintln!("SKIPPED: this PostgreSQL has no TLS (SHOW ssl = {offered:?})");
        return;
    }
    // No sslmode means `prefer`: encrypted when the server offers it (it was plaintext before
    // sqlx had a TLS backend). `disable` is honoured too.
    for (sslmode, encrypted) in [
        ("", "true"),
        ("?sslmode=require", "true"),
        ("?sslmode=disable", "false"),
    ] {
        let Some(db) = TestDb::create(Backend::Postgres).await else {
            return;
        };
        let app = spawn_app_on(&format!("{}{sslmode}", db.url)).await;
        // A whole webhook: the writers connected as well as the pool.
        let twiml = app.twilio.start(&new_call_sid()).await;
        assert!(twiml.contains("<Gather"), "{twiml}");
        let connections = liza_connections_encrypted(&db).await;
        assert!(connections.len() >= 2, "{sslmode}: {connections:?}");
        assert!(
            connections.iter().all(|c| c.as_deref() == Some(encrypted)),
            "{sslmode}: ssl per connection {connections:?}"
        );
        app.stop().await;
    }
}

/// A PostgreSQL on Liza's own host is reached through its Unix socket: no TCP, and no TLS to pay
/// for on a connection that never leaves the machine (docs/BENCHMARKS.md, "PostgreSQL through
/// its Unix socket"). Every connection of Liza's (the writers' and the pool's) is on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unix_socket_in_the_url_carries_every_connection() {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let directories = db.value("SHOW unix_socket_directories").await;
    let Some(directory) = directories
        .as_deref()
        .and_then(|d| d.split(',').map(str::trim).find(|d| d.starts_with('/')))
        .filter(|d| std::path::Path::new(d).is_dir())
    else {
        eprintln!("SKIPPED: this PostgreSQL listens on no Unix socket here ({directories:?})");
        return;
    };
    let url = format!("{}?host={directory}", db.url);
    let app = spawn_app_on(&url).await;
    let sid = new_call_sid();
    let twiml = app.twilio.start(&sid).await;
    assert!(twiml.contains("<Gather"), "{twiml}");
    let on_tcp = db
        .rows(
            "SELECT CAST(client_addr AS TEXT) FROM pg_stat_activity
             WHERE application_name = 'liza' AND datname = current_database()",
        )
        .await;
    assert!(on_tcp.len() >= 2, "Liza's connections: {on_tcp:?}");
    assert!(
        on_tcp.iter().all(|row| row[0].is_none()),
        "every connection on the socket (no client address): {on_tcp:?}"
    );
    // The turn was written through the socket.
    let status = db
        .value(&format!(
            "SELECT status FROM calls WHERE call_sid = '{sid}'"
        ))
        .await;
    assert_eq!(status.as_deref(), Some("in_progress"));
    app.stop().await;
}

#[tokio::test]
async fn verify_full_checks_the_certificate_and_its_name() {
    let Some(db) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    if db.value("SHOW ssl").await.as_deref() != Some("on") {
        eprintln!("SKIPPED: this PostgreSQL has no TLS");
        return;
    }
    // Its certificate is self-signed: not trusted without sslrootcert.
    let (ok, printed) = migrate(&format!("{}?sslmode=verify-full", db.url)).await;
    assert!(!ok, "{printed}");
    assert!(printed.contains("certificate"), "{printed}");

    let Some(cert) = db.value("SHOW ssl_cert_file").await else {
        return;
    };
    let cert = std::path::Path::new(&cert);
    if !cert.is_file() {
        eprintln!(
            "SKIPPED: the server's certificate {} is not readable here",
            cert.display()
        );
        return;
    }
    // Trusted, and the name it was issued for (Debian's: localhost) matches.
    if !db.url.contains("@127.0.0.1:") {
        eprintln!("SKIPPED: verify-full by name needs the server at 127.0.0.1 (localhost)");
        return;
    }
    let trusted = format!(
        "{}?sslmode=verify-full&sslrootcert={}",
        db.url.replace("@127.0.0.1:", "@localhost:"),
        cert.display()
    );
    let (ok, printed) = migrate(&trusted).await;
    assert!(ok, "{printed}");
    assert!(printed.contains("Migrations applied."), "{printed}");
}
