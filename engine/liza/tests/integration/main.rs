//! The server's tests, one binary: the real server over loopback HTTP, signed requests, a
//! fresh database per test (SQLite, or PostgreSQL with LIZA_TEST_BACKEND=postgres); the
//! dashboard over HTTP; `backends`' stories on both databases and real `liza` processes.

#[path = "../support/mod.rs"]
mod support;

mod backends;
mod bad_input;
mod calls;
mod dashboard;
mod edges;
mod fetch;
mod golden_calls;
mod hours;
mod oracle;
mod outbox;
mod privacy;
mod records_api;
mod reload;
mod security;
mod speech;
mod ssml;
mod transfer;
mod voicemail;
