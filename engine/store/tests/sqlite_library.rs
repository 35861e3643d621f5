//! SQLite's process-wide settings, in a process of their own: they hold only if the store
//! applies them before anything in the process opens a database, which a test binary shared
//! with other tests could not show.

#![allow(unsafe_code)]

/// Memory statistics are off once a store has opened: SQLite counts no memory in use although
/// the store holds open connections, nor after one more is opened and read. With the statistics
/// on, every allocation of SQLite's would take one process-wide mutex.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_a_store_turns_sqlite_memory_statistics_off() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("liza.db").display());
    let store = liza_store::connect(&url).await.expect("open the store");
    // SAFETY: reads a counter; no arguments.
    let used = unsafe { rusqlite::ffi::sqlite3_memory_used() };
    assert_eq!(used, 0, "SQLite counts memory: its statistics are on");
    // A connection opened after the store, and used, counts nothing either.
    let conn = rusqlite::Connection::open(dir.path().join("liza.db")).expect("open");
    let _: i64 = conn
        .query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))
        .expect("read the schema");
    // SAFETY: as above.
    assert_eq!(unsafe { rusqlite::ffi::sqlite3_memory_used() }, 0);
    drop(conn);
    drop(store);
}
